"""Social listening's pages: mentions with filters and charts, a mention and what it becomes,
the keywords, the sources (with "poll now"), the party page's panel, and the public signed
webhook."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.dateparse import parse_date
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from kreis.core import publicforms
from kreis.parties.queries import party_get_for_user
from kreis.social import fetching, queries, services
from kreis.social.forms import CaseForm, KeywordForm, ReplyForm, SourceForm
from kreis.social.models import Sentiment, SourceKind

WEBHOOK_PER_HOUR = 600
PAGE_SIZE = 50
SENTIMENT_COLORS = {"positive": "#198754", "negative": "#dc3545"}


def _int(value: str | None) -> int | None:
    return int(value) if value and value.isdigit() else None


def _filters(request: HttpRequest) -> queries.MentionFilters:
    get = request.GET
    return queries.MentionFilters(
        keyword_id=_int(get.get("keyword")),
        source_id=_int(get.get("source")),
        sentiment=get.get("sentiment", "") if get.get("sentiment") in Sentiment.values else "",
        since=parse_date(get.get("since") or "") if _valid_date(get.get("since")) else None,
        until=parse_date(get.get("until") or "") if _valid_date(get.get("until")) else None,
        search=(get.get("q") or "").strip()[:100],
    )


def _valid_date(value: str | None) -> bool:
    try:
        return bool(value) and parse_date(value) is not None
    except ValueError:
        return False


def _charts(data: queries.ChartData, grain: str) -> dict:
    """The ECharts options of volume per keyword and the sentiment trend (analytics/charts.js
    draws them)."""
    labels = [b.isoformat() for b in data.buckets]
    volume = {
        "empty": not any(data.totals),
        "option": {
            "grid": {"left": 40, "right": 16, "top": 40, "bottom": 32},
            "tooltip": {"trigger": "axis"},
            "legend": {"type": "scroll", "top": 0},
            "xAxis": {"type": "category", "data": labels},
            "yAxis": {"type": "value", "minInterval": 1},
            "series": [
                {"name": term, "type": "bar", "stack": "volume", "data": counts}
                for term, counts in sorted(data.volume.items())
            ],
        },
    }
    trend = {
        "empty": not any(data.totals),
        "option": {
            "grid": {"left": 40, "right": 16, "top": 40, "bottom": 32},
            "tooltip": {"trigger": "axis"},
            "legend": {"top": 0},
            "xAxis": {"type": "category", "data": labels},
            "yAxis": {"type": "value", "min": 0, "max": 100, "name": "%"},
            "series": [
                {
                    "name": _("Positive"),
                    "type": "line",
                    "connectNulls": True,
                    "itemStyle": {"color": SENTIMENT_COLORS["positive"]},
                    "data": data.positive_share,
                },
                {
                    "name": _("Negative"),
                    "type": "line",
                    "connectNulls": True,
                    "itemStyle": {"color": SENTIMENT_COLORS["negative"]},
                    "data": data.negative_share,
                },
            ],
        },
    }
    return {"volume": volume, "trend": trend, "grain": grain}


@login_required
def mention_list(request: HttpRequest) -> HttpResponse:
    """Mentions the user may see, filtered by keyword, source, sentiment and date; above them
    the volume per keyword and the sentiment trend of the same selection."""
    filters = _filters(request)
    mentions = queries.mention_list_for_user(user=request.user, filters=filters)
    page = Paginator(mentions, PAGE_SIZE).get_page(request.GET.get("page"))
    context = {"page": page, "mentions": page.object_list, "filters": filters}
    if request.headers.get("HX-Request"):
        return render(request, "social/_rows.html", context)
    grain = "week" if request.GET.get("grain") == "week" else "day"
    days = 84 if grain == "week" else 30
    data = queries.chart_data(user=request.user, days=days, grain=grain, filters=filters)
    context |= {
        "charts": _charts(data, grain),
        "days": days,
        "keywords": queries.keyword_list(),
        "sources": queries.source_list_for_user(user=request.user),
        "sentiments": Sentiment.choices,
    }
    return render(request, "social/list.html", context)


@login_required
def mention_detail(request: HttpRequest, pk: int) -> HttpResponse:
    mention = queries.mention_get_for_user(user=request.user, pk=pk)
    return render(
        request,
        "social/detail.html",
        {
            "mention": mention,
            "can_change": request.user.has_perm("core.change_record", mention),
            "case_form": CaseForm(),
            "reply_form": ReplyForm(),
            "party": mention.party or services.party_for_handle(mention.author_key),
        },
    )


def _conversion_done(request, mention, new: bool, what: str) -> HttpResponse:
    if new:
        messages.success(request, what)
    else:
        messages.info(request, _("This mention was turned into that already; here it is."))
    return redirect("social:mention_detail", mention.pk)


@login_required
@require_POST
def mention_lead(request: HttpRequest, pk: int) -> HttpResponse:
    mention = queries.mention_get_for_user(user=request.user, pk=pk, write=True)
    try:
        mention, new = services.mention_to_lead(actor=request.user, mention=mention)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect("social:mention_detail", pk)
    return _conversion_done(request, mention, new, _("Lead created from the mention."))


@login_required
@require_POST
def mention_case(request: HttpRequest, pk: int) -> HttpResponse:
    mention = queries.mention_get_for_user(user=request.user, pk=pk, write=True)
    form = CaseForm(request.POST)
    if mention.case_id is None and not form.is_valid():
        messages.error(request, _("Choose a category for the case."))
        return redirect("social:mention_detail", pk)
    try:
        mention, new = services.mention_to_case(
            actor=request.user,
            mention=mention,
            category=form.cleaned_data.get("category") if form.is_valid() else None,
            severity=form.cleaned_data.get("severity", "medium") if form.is_valid() else "medium",
        )
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect("social:mention_detail", pk)
    return _conversion_done(request, mention, new, _("Case created from the mention."))


@login_required
@require_POST
def mention_reply(request: HttpRequest, pk: int) -> HttpResponse:
    mention = queries.mention_get_for_user(user=request.user, pk=pk, write=True)
    try:
        mention, new = services.mention_reply(
            actor=request.user, mention=mention, text=request.POST.get("text", "")
        )
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect("social:mention_detail", pk)
    return _conversion_done(request, mention, new, _("Reply logged on the timeline."))


# --- keywords -----------------------------------------------------------------------------------


def _form_errors(form, exc: ValidationError) -> None:
    if hasattr(exc, "error_dict"):
        for name, errors in exc.message_dict.items():
            form.add_error(name if name in form.fields else None, errors)
    else:
        form.add_error(None, exc.messages)


@login_required
def keyword_list(request: HttpRequest) -> HttpResponse:
    can_manage = request.user.has_perm(services.MANAGE_KEYWORDS)
    form = KeywordForm(request.POST or None) if can_manage else None
    if request.method == "POST":
        if form is None:
            raise PermissionDenied
        if form.is_valid():
            try:
                services.keyword_create(
                    actor=request.user,
                    **{k: form.cleaned_data[k] for k in form.Meta.fields},
                )
            except ValidationError as exc:
                _form_errors(form, exc)
            else:
                messages.success(request, _("Keyword added."))
                return redirect("social:keyword_list")
    return render(
        request,
        "social/keywords.html",
        {"keywords": queries.keyword_list(), "form": form, "can_manage": can_manage},
    )


@login_required
def keyword_edit(request: HttpRequest, pk: int) -> HttpResponse:
    if not request.user.has_perm(services.MANAGE_KEYWORDS):
        raise PermissionDenied
    keyword = queries.keyword_get(pk=pk)
    form = KeywordForm(request.POST or None, instance=keyword)
    if request.method == "POST" and form.is_valid():
        try:
            services.keyword_update(
                actor=request.user,
                keyword=keyword,
                **{k: form.cleaned_data[k] for k in form.Meta.fields},
            )
        except ValidationError as exc:
            _form_errors(form, exc)
        else:
            messages.success(request, _("Keyword saved."))
            return redirect("social:keyword_list")
    return render(request, "social/keyword_form.html", {"form": form, "keyword": keyword})


@login_required
@require_POST
def keyword_toggle(request: HttpRequest, pk: int) -> HttpResponse:
    keyword = queries.keyword_get(pk=pk)
    services.keyword_update(actor=request.user, keyword=keyword, is_active=not keyword.is_active)
    messages.success(request, _("Keyword resumed.") if keyword.is_active else _("Keyword paused."))
    return redirect("social:keyword_list")


@login_required
@require_POST
def keyword_delete(request: HttpRequest, pk: int) -> HttpResponse:
    services.keyword_delete(actor=request.user, keyword=queries.keyword_get(pk=pk))
    messages.success(request, _("Keyword deleted."))
    return redirect("social:keyword_list")


# --- sources ------------------------------------------------------------------------------------


@login_required
def source_list(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "social/sources.html",
        {"sources": queries.source_list_for_user(user=request.user)},
    )


def _source_fields(form: SourceForm) -> dict:
    fields = {k: form.cleaned_data[k] for k in form.Meta.fields}
    if "allow_private" in form.fields:
        fields["allow_private"] = form.cleaned_data["allow_private"]
    return fields


@login_required
def source_create(request: HttpRequest) -> HttpResponse:
    if request.user.is_read_only:
        raise PermissionDenied
    form = SourceForm(request.POST or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        try:
            source = services.source_create(
                actor=request.user,
                access_token=form.cleaned_data["access_token"],
                **_source_fields(form),
            )
        except ValidationError as exc:
            _form_errors(form, exc)
        else:
            messages.success(request, _("Source added."))
            return redirect("social:source_detail", source.pk)
    return render(request, "social/source_form.html", {"form": form, "source": None})


@login_required
def source_detail(request: HttpRequest, pk: int) -> HttpResponse:
    source = queries.source_get_for_user(user=request.user, pk=pk)
    can_change = request.user.has_perm("core.change_record", source)
    hook = ""
    if source.kind == SourceKind.WEBHOOK:
        hook = request.build_absolute_uri(reverse("social:webhook", args=[source.webhook_token]))
    recent = queries.mention_list_for_user(
        user=request.user, filters=queries.MentionFilters(source_id=source.pk)
    )[:10]
    return render(
        request,
        "social/source_detail.html",
        {"source": source, "can_change": can_change, "hook": hook, "mentions": recent},
    )


@login_required
def source_edit(request: HttpRequest, pk: int) -> HttpResponse:
    source = queries.source_get_for_user(user=request.user, pk=pk, write=True)
    form = SourceForm(request.POST or None, instance=source, user=request.user)
    if request.method == "POST" and form.is_valid():
        token = form.cleaned_data["access_token"]
        try:
            services.source_update(
                actor=request.user,
                source=source,
                access_token=token or None,
                **_source_fields(form),
            )
        except ValidationError as exc:
            _form_errors(form, exc)
        else:
            messages.success(request, _("Source saved."))
            return redirect("social:source_detail", source.pk)
    return render(request, "social/source_form.html", {"form": form, "source": source})


@login_required
@require_POST
def source_delete(request: HttpRequest, pk: int) -> HttpResponse:
    source = queries.source_get_for_user(user=request.user, pk=pk, write=True)
    services.source_delete(actor=request.user, source=source)
    messages.success(request, _("Source deleted with its mentions."))
    return redirect("social:source_list")


@login_required
@require_POST
def source_poll(request: HttpRequest, pk: int) -> HttpResponse:
    source = queries.source_get_for_user(user=request.user, pk=pk, write=True)
    try:
        result = services.source_poll(actor=request.user, source=source)
    except fetching.FetchError as exc:
        messages.error(request, _("Polling failed: %(error)s") % {"error": exc})
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(
            request,
            _("%(received)s posts read, %(stored)s new mentions stored.")
            % {"received": result.received, "stored": result.stored},
        )
    return redirect("social:source_detail", source.pk)


@login_required
@require_POST
def source_rotate(request: HttpRequest, pk: int) -> HttpResponse:
    source = queries.source_get_for_user(user=request.user, pk=pk, write=True)
    services.source_rotate_secret(actor=request.user, source=source)
    messages.success(request, _("New secret made. The old one no longer works."))
    return redirect("social:source_detail", source.pk)


# --- the party page -------------------------------------------------------------------------------


@login_required
def party_panel(request: HttpRequest, pk: int) -> HttpResponse:
    party = party_get_for_user(user=request.user, pk=pk)
    mentions = queries.party_mentions_for_user(user=request.user, party=party)
    return render(request, "social/_party_panel.html", {"party": party, "mentions": mentions})


# --- the public webhook ---------------------------------------------------------------------------


@csrf_exempt
@require_POST
def webhook(request: HttpRequest, token: str) -> HttpResponse:
    """Posts from another network (no sign-in: the secret address and the Standard Webhooks
    signature say who sends). Rate-limited per address like the other public endpoints."""
    wait = publicforms.seconds_until_allowed(
        request, scope="social-webhook", per_hour=WEBHOOK_PER_HOUR
    )
    if wait is not None:
        return publicforms.throttled(JsonResponse({"title": "Too many requests."}), wait)
    headers = {k.lower(): v for k, v in request.headers.items()}
    try:
        outcome, stored = services.webhook_receive(token=token, body=request.body, headers=headers)
    except services.WebhookRefused as exc:
        return JsonResponse({"title": str(exc)}, status=exc.status)
    return JsonResponse({"outcome": outcome, "stored": stored}, status=202)
