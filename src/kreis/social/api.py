"""API routes of social listening: keywords, sources (with "poll now"), mentions with filters,
what a mention becomes (lead, case, logged reply), and the charts' figures."""

import datetime as dt
from typing import Annotated, Literal

from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from ninja import Field, Router, Schema, Status
from ninja.pagination import paginate

from kreis.commerce.models import Product
from kreis.core.api_support import (
    PROBLEM_RESPONSES,
    IdValue,
    Input,
    ObjectId,
    Pagination,
    check_if_match,
    etag,
    if_match_write,
    with_etag,
)
from kreis.parties.models import Party
from kreis.parties.queries import party_get_for_user
from kreis.service.models import CaseCategory, Severity
from kreis.social import fetching, queries, services
from kreis.social.models import KeywordKind, Mention, Sentiment, SourceKind

router = Router(tags=["social"])

KindName = Literal[tuple(KeywordKind.values)]  # type: ignore[valid-type]
SourceKindName = Literal[tuple(SourceKind.values)]  # type: ignore[valid-type]
SentimentName = Literal[tuple(Sentiment.values)]  # type: ignore[valid-type]
SeverityName = Literal[tuple(Severity.values)]  # type: ignore[valid-type]
# (NUL is refused for every field by ``Input``; free text has no pattern of its own.)
Term = Annotated[str, Field(min_length=1, max_length=120)]
Name = Annotated[str, Field(min_length=1, max_length=120)]
Url = Annotated[str, Field(max_length=500, pattern=r"^(https?://[^\x00\s]+)?$")]
Query = Annotated[str, Field(max_length=200)]


class KeywordOut(Schema):
    id: int
    term: str
    kind: str
    product_id: int | None
    competitor_id: int | None
    is_active: bool
    created_at: dt.datetime
    updated_at: dt.datetime


class KeywordWrite(Input):
    kind: KindName | None = None
    product_id: IdValue | None = None
    competitor_id: IdValue | None = None
    is_active: bool | None = None


class KeywordCreateIn(KeywordWrite):
    term: Term


class KeywordUpdateIn(KeywordWrite):
    term: Term | None = None


class SourceOut(Schema):
    id: int
    name: str
    kind: str
    url: str
    query: str
    language: str
    has_access_token: bool
    allow_private: bool
    is_active: bool
    poll_minutes: int
    webhook_path: str | None = Field(
        None, description="Where the network posts (signed webhook sources, for their owners)."
    )
    last_polled_at: dt.datetime | None
    last_error: str
    owner_id: int | None
    team_id: int | None
    created_at: dt.datetime
    updated_at: dt.datetime

    @staticmethod
    def resolve_has_access_token(obj) -> bool:
        return bool(obj.access_token)

    @staticmethod
    def resolve_webhook_path(obj) -> str | None:
        if obj.kind != SourceKind.WEBHOOK:
            return None
        return f"/social/hooks/{obj.webhook_token}/"


class SourceSecretOut(SourceOut):
    webhook_secret: str | None = Field(None, description="Only for signed webhook sources.")

    @staticmethod
    def resolve_webhook_secret(obj) -> str | None:
        return (obj.webhook_secret or None) if obj.kind == SourceKind.WEBHOOK else None


class SourceWrite(Input):
    url: Url | None = None
    query: Query | None = None
    language: Literal["", "de", "en"] | None = None
    access_token: str | None = Field(None, max_length=500, pattern=r"^[^\x00\s]*$")
    allow_private: bool | None = None
    is_active: bool | None = None
    poll_minutes: int | None = Field(None, ge=5, le=10080)


class SourceCreateIn(SourceWrite):
    name: Name
    kind: SourceKindName


class SourceUpdateIn(SourceWrite):
    name: Name | None = None
    kind: SourceKindName | None = None


class PollOut(Schema):
    received: int
    stored: int
    duplicates: int
    unmatched: int


class MentionOut(Schema):
    id: int
    source_id: int
    external_id: str
    url: str
    author_handle: str
    author_name: str
    author_url: str
    text: str
    published_at: dt.datetime
    language: str
    sentiment: str
    sentiment_score: float
    keywords: list[str]
    party_id: int | None
    lead_id: int | None
    case_id: int | None
    reply_id: int | None
    created_at: dt.datetime
    updated_at: dt.datetime

    @staticmethod
    def resolve_keywords(obj) -> list[str]:
        return [k.term for k in obj.keywords.all()]


class CaseIn(Input):
    category_id: IdValue | None = Field(None, description="Default: the first active category.")
    party_id: IdValue | None = Field(None, description="Default: the author's party, else new.")
    severity: SeverityName = "medium"


class ReplyIn(Input):
    text: str = Field(min_length=1, max_length=5000)
    party_id: IdValue | None = None


class ChartOut(Schema):
    grain: str
    buckets: list[dt.date]
    volume: dict[str, list[int]] = Field(description="Mentions per bucket, per keyword term.")
    totals: list[int]
    positive_share: list[float | None] = Field(description="% positive per bucket.")
    negative_share: list[float | None] = Field(description="% negative per bucket.")


# --- keywords ---------------------------------------------------------------------------------


def _keyword_fields(payload: Input) -> dict:
    data = payload.model_dump(exclude_unset=True)
    fields = {k: v for k, v in data.items() if v is not None and not k.endswith("_id")}
    if "product_id" in data:
        pid = data["product_id"]
        fields["product"] = get_object_or_404(Product, pk=pid) if pid else None
    if "competitor_id" in data:
        pid = data["competitor_id"]
        fields["competitor"] = (
            get_object_or_404(Party, pk=pid, deleted_at__isnull=True) if pid else None
        )
    return fields


@router.get(
    "/social/keywords",
    response=list[KeywordOut],
    summary="List monitored keywords",
    operation_id="social_keyword_list",
)
@paginate(Pagination)
def keyword_list(request: HttpRequest, active: bool | None = None):
    qs = queries.keyword_list()
    return qs if active is None else qs.filter(is_active=active)


@router.post(
    "/social/keywords",
    response={201: KeywordOut, **PROBLEM_RESPONSES},
    summary="Monitor a keyword (administrators and marketing)",
    operation_id="social_keyword_create",
)
def keyword_create(request: HttpRequest, payload: KeywordCreateIn, response: HttpResponse):
    if not request.auth.has_perm(services.MANAGE_KEYWORDS):
        raise PermissionDenied
    keyword = services.keyword_create(actor=request.auth, **_keyword_fields(payload))
    response["ETag"] = etag(keyword)
    return Status(201, keyword)


@router.get(
    "/social/keywords/{keyword_id}",
    response={200: KeywordOut, **PROBLEM_RESPONSES},
    summary="A monitored keyword",
    operation_id="social_keyword_detail",
)
def keyword_detail(request: HttpRequest, keyword_id: ObjectId, response: HttpResponse):
    return with_etag(response, queries.keyword_get(pk=keyword_id))


@router.patch(
    "/social/keywords/{keyword_id}",
    response={200: KeywordOut, **PROBLEM_RESPONSES},
    summary="Change or pause a keyword (is_active=false)",
    operation_id="social_keyword_update",
)
def keyword_update(
    request: HttpRequest, keyword_id: ObjectId, payload: KeywordUpdateIn, response: HttpResponse
):
    if not request.auth.has_perm(services.MANAGE_KEYWORDS):
        raise PermissionDenied
    fields = _keyword_fields(payload)
    return if_match_write(
        request,
        queries.keyword_get(pk=keyword_id),
        lambda keyword: services.keyword_update(actor=request.auth, keyword=keyword, **fields),
        response,
    )


@router.delete(
    "/social/keywords/{keyword_id}",
    response={204: None, **PROBLEM_RESPONSES},
    summary="Stop monitoring a keyword",
    operation_id="social_keyword_delete",
)
def keyword_delete(request: HttpRequest, keyword_id: ObjectId):
    if not request.auth.has_perm(services.MANAGE_KEYWORDS):
        raise PermissionDenied
    if_match_write(
        request,
        queries.keyword_get(pk=keyword_id),
        lambda keyword: services.keyword_delete(actor=request.auth, keyword=keyword),
    )
    return Status(204, None)


# --- sources ----------------------------------------------------------------------------------


def _source_fields(payload: Input) -> tuple[dict, str | None]:
    data = payload.model_dump(exclude_unset=True)
    token = data.pop("access_token", None)
    return {k: v for k, v in data.items() if v is not None}, token


@router.get(
    "/social/sources",
    response=list[SourceOut],
    summary="List the listening sources you may see",
    operation_id="social_source_list",
)
@paginate(Pagination)
def source_list(request: HttpRequest, kind: SourceKindName | None = None):
    qs = queries.source_list_for_user(user=request.auth)
    return qs.filter(kind=kind) if kind else qs


@router.post(
    "/social/sources",
    response={201: SourceSecretOut, **PROBLEM_RESPONSES},
    summary="Add a feed, Mastodon hashtag or search, or signed webhook source",
    operation_id="social_source_create",
)
def source_create(request: HttpRequest, payload: SourceCreateIn, response: HttpResponse):
    fields, token = _source_fields(payload)
    source = services.source_create(actor=request.auth, access_token=token or "", **fields)
    response["ETag"] = etag(source)
    return Status(201, source)


@router.get(
    "/social/sources/{source_id}",
    response={200: SourceSecretOut, **PROBLEM_RESPONSES},
    summary="A listening source (the webhook secret for those who may change it)",
    operation_id="social_source_detail",
)
def source_detail(request: HttpRequest, source_id: ObjectId, response: HttpResponse):
    source = queries.source_get_for_user(user=request.auth, pk=source_id)
    if not request.auth.has_perm("core.change_record", source):
        source.webhook_secret = ""  # not saved: this answer only
    return with_etag(response, source)


@router.patch(
    "/social/sources/{source_id}",
    response={200: SourceOut, **PROBLEM_RESPONSES},
    summary="Change a source (a new address or query polls from scratch)",
    operation_id="social_source_update",
)
def source_update(
    request: HttpRequest, source_id: ObjectId, payload: SourceUpdateIn, response: HttpResponse
):
    fields, token = _source_fields(payload)
    return if_match_write(
        request,
        queries.source_get_for_user(user=request.auth, pk=source_id, write=True),
        lambda source: services.source_update(
            actor=request.auth, source=source, access_token=token, **fields
        ),
        response,
    )


@router.delete(
    "/social/sources/{source_id}",
    response={204: None, **PROBLEM_RESPONSES},
    summary="Delete a source with its mentions",
    operation_id="social_source_delete",
)
def source_delete(request: HttpRequest, source_id: ObjectId):
    if_match_write(
        request,
        queries.source_get_for_user(user=request.auth, pk=source_id, write=True),
        lambda source: services.source_delete(actor=request.auth, source=source),
    )
    return Status(204, None)


@router.post(
    "/social/sources/{source_id}/poll",
    response={200: PollOut, **PROBLEM_RESPONSES},
    summary="Poll a feed or Mastodon source now",
    operation_id="social_source_poll",
)
def source_poll(request: HttpRequest, source_id: ObjectId):
    source = queries.source_get_for_user(user=request.auth, pk=source_id, write=True)
    check_if_match(request, source)
    try:
        return services.source_poll(actor=request.auth, source=source)
    except fetching.FetchError as exc:
        raise ValidationError({"source": str(exc)}) from exc


# --- mentions ---------------------------------------------------------------------------------


@router.get(
    "/social/mentions",
    response=list[MentionOut],
    summary="List mentions (newest first)",
    operation_id="social_mention_list",
)
@paginate(Pagination)
def mention_list(
    request: HttpRequest,
    keyword_id: IdValue | None = None,
    source_id: IdValue | None = None,
    sentiment: SentimentName | None = None,
    since: dt.date | None = None,
    until: dt.date | None = None,
    party_id: IdValue | None = None,
    q: Annotated[str, Field(max_length=100)] = "",
):
    filters = queries.MentionFilters(
        keyword_id=keyword_id,
        source_id=source_id,
        sentiment=sentiment or "",
        since=since,
        until=until,
        party_id=party_id,
        search=q.replace("\x00", ""),
    )
    return queries.mention_list_for_user(user=request.auth, filters=filters)


@router.get(
    "/social/mentions/{mention_id}",
    response={200: MentionOut, **PROBLEM_RESPONSES},
    summary="A mention",
    operation_id="social_mention_detail",
)
def mention_detail(request: HttpRequest, mention_id: ObjectId, response: HttpResponse):
    return with_etag(response, queries.mention_get_for_user(user=request.auth, pk=mention_id))


def _converted(mention, new: bool):
    mention = Mention.objects.prefetch_related("keywords").get(pk=mention.pk)
    return Status(201 if new else 200, mention)


@router.post(
    "/social/mentions/{mention_id}/lead",
    response={200: MentionOut, 201: MentionOut, **PROBLEM_RESPONSES},
    summary="Turn a mention into a lead (once: 200 with the existing one)",
    operation_id="social_mention_lead",
)
def mention_lead(request: HttpRequest, mention_id: ObjectId):
    mention = queries.mention_get_for_user(user=request.auth, pk=mention_id, write=True)
    check_if_match(request, mention)
    return _converted(*services.mention_to_lead(actor=request.auth, mention=mention))


@router.post(
    "/social/mentions/{mention_id}/case",
    response={200: MentionOut, 201: MentionOut, **PROBLEM_RESPONSES},
    summary="Turn a mention into a complaint case (once: 200 with the existing one)",
    operation_id="social_mention_case",
)
def mention_case(request: HttpRequest, mention_id: ObjectId, payload: CaseIn):
    mention = queries.mention_get_for_user(user=request.auth, pk=mention_id, write=True)
    check_if_match(request, mention)
    category = (
        get_object_or_404(CaseCategory, pk=payload.category_id, is_active=True)
        if payload.category_id
        else None
    )
    party = (
        party_get_for_user(user=request.auth, pk=payload.party_id, related=False)
        if payload.party_id
        else None
    )
    return _converted(
        *services.mention_to_case(
            actor=request.auth,
            mention=mention,
            category=category,
            party=party,
            severity=payload.severity,
        )
    )


@router.post(
    "/social/mentions/{mention_id}/reply",
    response={200: MentionOut, 201: MentionOut, **PROBLEM_RESPONSES},
    summary="Log the reply given to a mention on the timeline (once)",
    operation_id="social_mention_reply",
)
def mention_reply(request: HttpRequest, mention_id: ObjectId, payload: ReplyIn):
    mention = queries.mention_get_for_user(user=request.auth, pk=mention_id, write=True)
    check_if_match(request, mention)
    party = (
        party_get_for_user(user=request.auth, pk=payload.party_id, related=False)
        if payload.party_id
        else None
    )
    return _converted(
        *services.mention_reply(actor=request.auth, mention=mention, text=payload.text, party=party)
    )


@router.get(
    "/social/charts",
    response=ChartOut,
    summary="Mention volume per keyword and the sentiment trend",
    operation_id="social_charts",
)
def charts(
    request: HttpRequest,
    days: Annotated[int, Field(ge=1, le=366)] = 30,
    grain: Literal["day", "week"] = "day",
    keyword_id: IdValue | None = None,
    source_id: IdValue | None = None,
):
    data = queries.chart_data(
        user=request.auth,
        days=days,
        grain=grain,
        filters=queries.MentionFilters(keyword_id=keyword_id, source_id=source_id),
    )
    return {
        "grain": grain,
        "buckets": data.buckets,
        "volume": data.volume,
        "totals": data.totals,
        "positive_share": data.positive_share,
        "negative_share": data.negative_share,
    }
