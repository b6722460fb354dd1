"""The customer's figures on the party page (loaded there with HTMX), each with one line of
explanation."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import path
from django.utils.formats import number_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from kreis.analytics.customer import lifecycle
from kreis.analytics.customer.models import ClvFit, CustomerValue, MarginBasis, PhaseChange
from kreis.analytics.runs.models import AnalyticsSettings
from kreis.core.templatetags.kreis import money
from kreis.parties.models import LifecyclePhase
from kreis.parties.queries import party_get_for_user


def _abc_line(party, cfg: AnalyticsSettings) -> str:
    if not party.abc_class:
        return ""
    metric = _("revenue") if cfg.abc_metric == "revenue" else _("contribution margin")
    bounds = {"A": (0, cfg.abc_a), "B": (cfg.abc_a, cfg.abc_b), "C": (cfg.abc_b, 100)}
    low, high = bounds[party.abc_class]
    return _(
        "Class %(cls)s: among the customers who make %(low)s–%(high)s %% of the %(metric)s "
        "of the last %(months)s months."
    ) % {
        "cls": party.abc_class,
        "low": f"{float(low):g}",
        "high": f"{float(high):g}",
        "metric": metric,
        "months": cfg.abc_months,
    }


def _clv_lines(party, value: CustomerValue | None, fit: ClvFit | None) -> dict[str, str]:
    """How the total CLV is made up, what the next 12 months hold and what the expected
    margin per purchase rests on (DOMAIN.md §7.5)."""
    if value is None or party.clv is None:
        return {}
    years = round(fit.horizon_years) if fit is not None else 10
    lines = {
        "total": _(
            "Historical value %(historical)s plus %(residual)s expected over the next "
            "%(years)s years, discounted."
        )
        % {
            "historical": money(party.historical_value),
            "residual": money(value.residual),
            "years": years,
        }
    }
    if party.p_alive is not None and party.expected_purchases is not None:
        lines["next_12"] = _(
            "Probability still active %(p)s, %(n)s purchases expected in the next 12 months."
        ) % {
            "p": number_format(party.p_alive, 2),
            "n": number_format(party.expected_purchases, 1),
        }
    margin = money(round(value.expected_margin, 2))
    if value.margin_basis == MarginBasis.OWN_MEAN:
        lines["basis"] = _(
            "Valued at their own mean margin of %(margin)s per purchase, which is not "
            "positive: a model estimate would be positive."
        ) % {"margin": margin}
    elif value.margin_basis == MarginBasis.POPULATION:
        lines["basis"] = _(
            "One purchase so far: valued at the mean margin of all customers, %(margin)s per "
            "purchase."
        ) % {"margin": margin}
    else:
        lines["basis"] = _(
            "Expected margin per purchase %(margin)s (Gamma-Gamma estimate from their purchases)."
        ) % {"margin": margin}
    return lines


# Marked for translation here, translated when shown.
RFM_LINES = {
    "champions": gettext_noop("Bought recently, buys often and spends the most."),
    "loyal": gettext_noop("Buys regularly and responds to attention."),
    "potential_loyalist": gettext_noop("Recent customer with more than one purchase."),
    "new": gettext_noop("Bought for the first time only recently."),
    "promising": gettext_noop("Recent buyer who has not bought often yet."),
    "need_attention": gettext_noop("Average recency and frequency: a nudge keeps them."),
    "about_to_sleep": gettext_noop("Has not bought for a while and rarely buys."),
    "at_risk": gettext_noop("Used to buy often, but not lately."),
    "cant_lose": gettext_noop("Was among the most frequent buyers and has been silent for long."),
    "hibernating": gettext_noop("Long since the last purchase, and few purchases."),
    "lost": gettext_noop("Lowest recency and frequency."),
}


@login_required
def party_figures(request: HttpRequest, pk: int) -> HttpResponse:
    party = party_get_for_user(user=request.user, pk=pk, related=False)
    cfg = AnalyticsSettings.load()
    changes = list(PhaseChange.objects.filter(party=party).select_related("changed_by")[:6])
    for change in changes:
        change.text = (
            change.note if change.manual else lifecycle.describe(change.reason, change.facts)
        )
    context = {
        "party": party,
        "phase_line": (
            lifecycle.describe(party.lifecycle_reason, party.lifecycle_facts)
            if party.lifecycle_reason
            else ""
        ),
        "abc_line": _abc_line(party, cfg),
        "rfm_line": _(RFM_LINES[party.rfm_segment]) if party.rfm_segment in RFM_LINES else "",
        "changes": changes,
        "phases": LifecyclePhase.choices,
        "customer_value": (value := CustomerValue.objects.filter(party=party).first()),
        "clv_lines": _clv_lines(party, value, ClvFit.objects.first()),
        "can_change": request.user.has_perm("core.change_record", party),
    }
    return render(request, "analytics/_party_figures.html", context)


party_urlpatterns = [path("party/<int:pk>/figures/", party_figures, name="party_figures")]
