"""The predictive lead scoring page (/marketing/scoring/): the current model's cross-validated
AUC, the features that weigh most, the trainings so far, "Train now" and the MQL threshold.
Marketing users and everyone who sees lead management read it; administrators train and
change the settings. While a training queued with "Train now" runs, the page shows its step
in a progress bar that refreshes itself every two seconds (HTMX asks the page for the bar
alone) and reloads the page when the training has finished."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST

from kreis.core.web import is_htmx
from kreis.marketing.models import LeadScoringModel, MarketingSettings
from kreis.marketing.predictive import services
from kreis.marketing.predictive.charts import weights_svg
from kreis.marketing.predictive.features import NONE, label_of
from kreis.marketing.predictive.forms import ScoringSettingsForm
from kreis.marketing.predictive.tasks import lead_scoring_train_enqueue

TOP_FEATURES = 10
HISTORY = 20


def _require(request: HttpRequest, perm: str) -> None:
    if not request.user.has_perm(perm):
        raise PermissionDenied


def _features(row: LeadScoringModel | None) -> list[dict]:
    if row is None:
        return []
    out = []
    # Features whose shuffling does not lower the AUC carry no weight: not shown.
    weighty = [item for item in row.importances if item["weight"] > 0]
    for item in weighty[:TOP_FEATURES]:
        value = item.get("value", "")
        out.append(
            {
                "label": label_of(item["feature"]),
                "value": "" if value == NONE else value,
                "weight": float(item["weight"]),
                "up": item.get("direction", "+") == "+",
            }
        )
    return out


def _training(entry: dict | None) -> dict | None:
    """The running training as the progress bar shows it."""
    if entry is None:
        return None
    return {
        "started_at": entry["started_at"],
        "percent": services.progress_percent(entry),
        "text": services.progress_text(entry),
    }


def _page(request: HttpRequest, form: ScoringSettingsForm | None = None, status: int = 200):
    current = services.current_model()
    latest = services.latest_training()
    features = _features(current)
    config = MarketingSettings.load()
    can_configure = request.user.has_perm("marketing.configure")
    context = {
        "current": current,
        "latest": latest,
        "features": features,
        "chart": weights_svg(features, title=_("The features that weigh most"))
        if features
        else None,
        "history": LeadScoringModel.objects.defer("model").order_by("-trained_at", "-pk")[:HISTORY],
        "config": config,
        "form": form or (ScoringSettingsForm(instance=config) if can_configure else None),
        "can_configure": can_configure,
        "training": _training(services.running_training()),
        "open_count": services.open_leads().count(),
        "mql_count": services.open_leads().filter(mql_at__isnull=False).count(),
    }
    return render(request, "marketing/predictive/page.html", context, status=status)


@login_required
def scoring_page(request: HttpRequest) -> HttpResponse:
    """The page; asked by its own progress bar (HTMX), the bar alone — or, once the training
    has finished, a reload of the whole page with the new model."""
    _require(request, "marketing.view")
    if is_htmx(request):
        training = _training(services.running_training())
        response = render(
            request, "marketing/predictive/_training_progress.html", {"training": training}
        )
        if training is None:
            response["HX-Refresh"] = "true"
        return response
    return _page(request)


@login_required
@require_POST
def scoring_train(request: HttpRequest) -> HttpResponse:
    """Train now (administrators): queued for the job worker; the page follows its progress.
    When the job was done before the page is shown again (a quick worker, or tests that run
    jobs at once), the message says what came out."""
    _require(request, "marketing.configure")
    try:
        training_id = lead_scoring_train_enqueue()
    except ValidationError as error:
        messages.warning(request, " ".join(error.messages))
        return redirect("marketing:scoring:page")
    entry = services.training_progress(training_id)
    row = None
    if entry and entry["finished"] and entry["row"]:
        row = LeadScoringModel.objects.defer("model").filter(pk=entry["row"]).first()
    if row is None:
        messages.info(request, _("The training has started; this page shows how far it is."))
    elif row.usable:
        messages.success(
            request,
            _("Model trained: AUC %(auc).2f from %(samples)d decided leads; open leads scored.")
            % {"auc": row.auc, "samples": row.samples},
        )
    else:
        messages.warning(request, row.message)
    return redirect("marketing:scoring:page")


@login_required
@require_POST
def scoring_settings(request: HttpRequest) -> HttpResponse:
    _require(request, "marketing.configure")
    form = ScoringSettingsForm(request.POST, instance=MarketingSettings.load())
    if not form.is_valid():
        return _page(request, form=form, status=422)
    form.save()
    checked = services.check_mql()
    messages.success(
        request,
        ngettext(
            "Settings saved. %(count)d lead newly reached the MQL threshold.",
            "Settings saved. %(count)d leads newly reached the MQL threshold.",
            len(checked),
        )
        % {"count": len(checked)},
    )
    return redirect("marketing:scoring:page")
