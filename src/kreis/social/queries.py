"""Reads of social listening, permission-aware: sources and mentions follow their owner and
team (``visible_records``), the keywords are shared. Also the charts' figures: mention volume
per day or week and keyword, and the sentiment trend (share positive and negative)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.core.exceptions import PermissionDenied
from django.db.models import Count, Q, QuerySet
from django.db.models.functions import TruncDate, TruncWeek
from django.http import Http404
from django.utils import timezone

from kreis.core.models import User
from kreis.core.queries import visible_records
from kreis.parties.models import ContactKind, Party
from kreis.social.matching import handle_key
from kreis.social.models import Keyword, Mention, Sentiment, Source


def keyword_list() -> QuerySet[Keyword]:
    return Keyword.objects.select_related("product", "competitor").annotate(
        n_mentions=Count("mentions")
    )


def keyword_get(*, pk: int) -> Keyword:
    keyword = Keyword.objects.filter(pk=pk).first()
    if keyword is None:
        raise Http404
    return keyword


def source_list_for_user(*, user: User) -> QuerySet[Source]:
    return visible_records(Source.objects.all(), user=user).select_related("owner", "team")


def source_get_for_user(*, user: User, pk: int, write: bool = False) -> Source:
    """The source, or 404 for one the user may not see; 403 for a change they may not make."""
    source = source_list_for_user(user=user).filter(pk=pk).first()
    if source is None:
        raise Http404
    if write and not user.has_perm("core.change_record", source):
        raise PermissionDenied
    return source


@dataclass
class MentionFilters:
    keyword_id: int | None = None
    source_id: int | None = None
    sentiment: str = ""
    since: dt.date | None = None
    until: dt.date | None = None
    party_id: int | None = None
    search: str = ""


def mention_list_for_user(*, user: User, filters: MentionFilters | None = None) -> QuerySet:
    f = filters or MentionFilters()
    qs = visible_records(Mention.objects.all(), user=user)
    if f.keyword_id:
        qs = qs.filter(keywords__id=f.keyword_id)
    if f.source_id:
        qs = qs.filter(source_id=f.source_id)
    if f.sentiment in Sentiment.values:
        qs = qs.filter(sentiment=f.sentiment)
    if f.since:
        qs = qs.filter(published_at__date__gte=f.since)
    if f.until:
        qs = qs.filter(published_at__date__lte=f.until)
    if f.party_id:
        qs = qs.filter(party_id=f.party_id)
    if f.search:
        qs = qs.filter(Q(text__icontains=f.search) | Q(author_handle__icontains=f.search))
    return qs.select_related("source", "party").prefetch_related("keywords")


def mention_get_for_user(*, user: User, pk: int, write: bool = False) -> Mention:
    mention = (
        visible_records(Mention.objects.all(), user=user)
        .select_related("source", "party", "lead", "case", "reply", "owner", "team")
        .prefetch_related("keywords")
        .filter(pk=pk)
        .first()
    )
    if mention is None:
        raise Http404
    if write and not user.has_perm("core.change_record", mention):
        raise PermissionDenied
    return mention


def party_mentions_for_user(*, user: User, party: Party, limit: int = 10) -> QuerySet:
    """Mentions by the party: linked when stored, or by one of its social handles now (a
    handle added after the mention came in still finds it)."""
    keys = {
        handle_key(point.value)
        for point in party.contact_points.all()
        if point.kind == ContactKind.SOCIAL
    } - {""}
    condition = Q(party_id=party.pk)
    if keys:
        condition |= Q(author_key__in=keys)
    return (
        visible_records(Mention.objects.filter(condition), user=user)
        .select_related("source")
        .order_by("-published_at", "-pk")[:limit]
    )


@dataclass
class ChartData:
    buckets: list[dt.date] = field(default_factory=list)
    volume: dict[str, list[int]] = field(default_factory=dict)  # keyword term → counts
    positive_share: list[float | None] = field(default_factory=list)
    negative_share: list[float | None] = field(default_factory=list)
    totals: list[int] = field(default_factory=list)


def chart_data(
    *, user: User, days: int = 30, grain: str = "day", filters: MentionFilters | None = None
) -> ChartData:
    """Mentions per day (or ISO week, starting Monday) and keyword over the last ``days``, and
    per bucket the share of positive and of negative mentions in % (None for an empty one)."""
    today = timezone.localdate()
    start = today - dt.timedelta(days=days - 1)
    f = filters or MentionFilters()
    f = MentionFilters(**{**f.__dict__, "since": max(f.since or start, start)})
    qs = mention_list_for_user(user=user, filters=f).order_by()
    trunc = TruncWeek if grain == "week" else TruncDate
    tz = timezone.get_current_timezone()
    if grain == "week":
        first = start - dt.timedelta(days=start.weekday())
        buckets = [first + dt.timedelta(weeks=i) for i in range((today - first).days // 7 + 1)]
    else:
        buckets = [start + dt.timedelta(days=i) for i in range(days)]
    index = {b: i for i, b in enumerate(buckets)}

    def bucket(value) -> dt.date:
        return value.date() if isinstance(value, dt.datetime) else value

    data = ChartData(buckets=buckets)
    per_keyword = (
        qs.filter(keywords__isnull=False)
        .annotate(bucket=trunc("published_at", tzinfo=tz))
        .values("bucket", "keywords__term")
        .annotate(n=Count("pk"))
    )
    for row in per_keyword:
        series = data.volume.setdefault(row["keywords__term"], [0] * len(buckets))
        i = index.get(bucket(row["bucket"]))
        if i is not None:
            series[i] += row["n"]
    per_sentiment = (
        qs.annotate(bucket=trunc("published_at", tzinfo=tz))
        .values("bucket", "sentiment")
        .annotate(n=Count("pk"))
    )
    counts = [{"positive": 0, "negative": 0, "neutral": 0} for _ in buckets]
    for row in per_sentiment:
        i = index.get(bucket(row["bucket"]))
        if i is not None:
            counts[i][row["sentiment"]] += row["n"]
    for c in counts:
        total = sum(c.values())
        data.totals.append(total)
        data.positive_share.append(round(100 * c["positive"] / total, 1) if total else None)
        data.negative_share.append(round(100 * c["negative"] / total, 1) if total else None)
    return data
