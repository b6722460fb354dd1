"""Writes of social listening: keywords, sources, polling, the signed webhook, re-scoring, and
turning a mention into a lead, a case or a logged reply — one transaction each."""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections.abc import Iterable
from dataclasses import dataclass

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.html import escape
from django.utils.translation import gettext as _
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from kreis.activities.models import ActivityKind
from kreis.activities.services import activity_create
from kreis.commerce.models import Product
from kreis.core.crypto import encrypt
from kreis.core.models import Team, User
from kreis.core.search import index_record, index_records
from kreis.core.services import check_assignment
from kreis.leads.services import lead_create
from kreis.parties.models import ContactKind, ContactPoint, Party
from kreis.parties.services import party_create
from kreis.service.models import CaseCategory, Channel
from kreis.service.services import case_create
from kreis.social import fetching, sentiment
from kreis.social.matching import KeywordMatcher, handle_key, html_to_text
from kreis.social.models import (
    POLLED_KINDS,
    Keyword,
    KeywordKind,
    Mention,
    Source,
    SourceKind,
    WebhookReceipt,
    new_webhook_secret,
)

log = logging.getLogger("kreis.social")

MANAGE_KEYWORDS = "social.manage_keywords"
MAX_WEBHOOK_BYTES = 64 * 1024
RECEIPT_DAYS = 1
# A case made from a mention came in on social media (Pareto by channel counts it there).
CASE_CHANNEL = Channel.SOCIAL


# --- keywords ---------------------------------------------------------------------------------


def _check_manage(actor: User | None) -> None:
    if actor is not None and not actor.has_perm(MANAGE_KEYWORDS):
        raise PermissionDenied


def _save_keyword(keyword: Keyword) -> Keyword:
    keyword.term = " ".join(keyword.term.split())
    if keyword.kind not in KeywordKind.values:
        raise ValidationError({"kind": _("Unknown kind of keyword.")})
    if not keyword.term:
        raise ValidationError({"term": _("Enter the word or name to listen for.")})
    clash = Keyword.objects.filter(term__iexact=keyword.term).exclude(pk=keyword.pk)
    if clash.exists():
        raise ValidationError({"term": _("This keyword is monitored already.")})
    if keyword.kind != KeywordKind.PRODUCT:
        keyword.product = None
    if keyword.kind != KeywordKind.COMPETITOR:
        keyword.competitor = None
    keyword.full_clean(validate_constraints=False)
    keyword.save()
    return keyword


@transaction.atomic
def keyword_create(
    *,
    actor: User | None,
    term: str,
    kind: str = KeywordKind.BRAND,
    product: Product | None = None,
    competitor: Party | None = None,
    is_active: bool = True,
) -> Keyword:
    """Monitor a brand, company, product or competitor name (administrators and marketing)."""
    _check_manage(actor)
    return _save_keyword(
        Keyword(term=term, kind=kind, product=product, competitor=competitor, is_active=is_active)
    )


@transaction.atomic
def keyword_update(*, actor: User | None, keyword: Keyword, **changes) -> Keyword:
    """Change a keyword; ``is_active=False`` pauses it (old mentions keep their match)."""
    _check_manage(actor)
    allowed = {"term", "kind", "product", "competitor", "is_active"}
    for name, value in changes.items():
        if name not in allowed:
            raise ValidationError({name: _("This field cannot be set.")})
        setattr(keyword, name, value)
    return _save_keyword(keyword)


@transaction.atomic
def keyword_delete(*, actor: User | None, keyword: Keyword) -> None:
    _check_manage(actor)
    keyword.delete()


# --- sources ----------------------------------------------------------------------------------


SOURCE_FIELDS = {
    "name",
    "kind",
    "url",
    "query",
    "language",
    "allow_private",
    "is_active",
    "poll_minutes",
}


def _save_source(source: Source, *, actor: User | None) -> Source:
    source.name = source.name.strip()
    source.query = source.query.strip()
    errors = {}
    if source.kind in POLLED_KINDS and not source.url:
        errors["url"] = _("Enter the feed's or the Mastodon server's address.")
    if source.kind in (SourceKind.MASTODON_TAG, SourceKind.MASTODON_SEARCH) and not source.query:
        errors["query"] = _("Enter the hashtag or the words to search for.")
    if source.poll_minutes < 5:
        errors["poll_minutes"] = _("Poll at most every 5 minutes.")
    if errors:
        raise ValidationError(errors)
    if source.url and source.kind in POLLED_KINDS:
        from kreis.core import netguard

        try:
            target = netguard.parse_target(source.url)
            netguard.refuse_metadata(target.host)
            if not source.allow_private:
                literal = netguard.literal_address(target.host)
                if literal is not None and not netguard.address_is_public(str(literal)):
                    raise netguard.TargetRefused(
                        _("This is a private address; allow private addresses to use it.")
                    )
        except netguard.TargetRefused as exc:
            raise ValidationError({"url": str(exc)}) from exc
    if source.allow_private and actor is not None and not actor.is_admin:
        raise ValidationError(
            {"allow_private": _("Only an administrator may allow private addresses.")}
        )
    source.full_clean()
    source.save()
    return source


@transaction.atomic
def source_create(
    *,
    actor: User | None,
    owner: User | None = None,
    team: Team | None = None,
    access_token: str = "",
    **fields,
) -> Source:
    """A feed, Mastodon hashtag or search, or signed webhook to listen to. Its mentions belong
    to its owner and team (without them: the actor and the actor's first team)."""
    if actor is not None and actor.is_read_only:
        raise PermissionDenied
    unknown = set(fields) - SOURCE_FIELDS
    if unknown:
        raise ValidationError({f: _("This field cannot be set.") for f in sorted(unknown)})
    if owner is None and actor is not None:
        owner = actor
    if team is None and actor is not None:
        team = Team.objects.filter(pk__in=actor.team_ids()).order_by("pk").first()
    check_assignment(actor=actor, owner=owner, team=team)
    source = Source(owner=owner, team=team, **fields)
    if access_token:
        source.access_token = encrypt(access_token.strip())
    return _save_source(source, actor=actor)


@transaction.atomic
def source_update(
    *, actor: User | None, source: Source, access_token: str | None = None, **changes
) -> Source:
    """Change a source; a new address or query starts polling from scratch (the cursor and
    the feed's cache headers are dropped). ``access_token=""`` removes the token."""
    if actor is not None and not actor.has_perm("core.change_record", source):
        raise PermissionDenied
    unknown = set(changes) - SOURCE_FIELDS - {"owner", "team"}
    if unknown:
        raise ValidationError({f: _("This field cannot be set.") for f in sorted(unknown)})
    if "owner" in changes or "team" in changes:
        check_assignment(actor=actor, owner=changes.get("owner"), team=changes.get("team"))
    before = (source.kind, source.url, source.query)
    for name, value in changes.items():
        setattr(source, name, value)
    if (source.kind, source.url, source.query) != before:
        source.cursor = source.etag = source.last_modified = ""
    if access_token is not None:
        source.access_token = encrypt(access_token.strip()) if access_token.strip() else ""
    return _save_source(source, actor=actor)


@transaction.atomic
def source_delete(*, actor: User | None, source: Source) -> None:
    """Delete a source with its mentions (leads, cases and replies made of them stay)."""
    if actor is not None and not actor.has_perm("core.change_record", source):
        raise PermissionDenied
    ids = list(source.mentions.values_list("pk", flat=True))
    source.delete()
    from kreis.core.models import SearchEntry

    SearchEntry.objects.filter(entity="mention", object_id__in=ids).delete()


@transaction.atomic
def source_rotate_secret(*, actor: User | None, source: Source) -> Source:
    """A new webhook secret (the old one stops working at once)."""
    if actor is not None and not actor.has_perm("core.change_record", source):
        raise PermissionDenied
    source.webhook_secret = new_webhook_secret()
    source.save(update_fields=["webhook_secret", "updated_at"])
    return source


# --- storing mentions -------------------------------------------------------------------------


def party_for_handle(key: str) -> Party | None:
    """The live party with this social handle among its contact points (the contact point's
    value normalised the same way); the oldest when several have it."""
    if not key:
        return None
    name = key.split("@", 1)[0]
    points = (
        ContactPoint.objects.filter(
            kind=ContactKind.SOCIAL, value__icontains=name, party__deleted_at__isnull=True
        )
        .select_related("party")
        .order_by("party_id", "pk")
    )
    for point in points:
        if handle_key(point.value) == key:
            return point.party
    return None


@dataclass
class StoreResult:
    received: int = 0
    stored: int = 0
    duplicates: int = 0
    unmatched: int = 0


def mentions_store(
    *, source: Source, posts: Iterable[fetching.Post], matcher: KeywordMatcher | None = None
) -> tuple[StoreResult, list[Mention]]:
    """Store the posts that match an active keyword and are not yet stored for this source,
    with their sentiment and the party their author is known as. Call inside a transaction."""
    matcher = matcher or KeywordMatcher(Keyword.objects.filter(is_active=True))
    result = StoreResult()
    posts = list(posts)
    result.received = len(posts)
    known = set(
        Mention.objects.filter(
            source=source, external_id__in=[p.external_id for p in posts]
        ).values_list("external_id", flat=True)
    )
    created, seen = [], set()
    parties: dict[str, Party | None] = {}
    for post in posts:
        if post.external_id in known or post.external_id in seen:
            result.duplicates += 1
            continue
        seen.add(post.external_id)
        keywords = matcher(post.text)
        if not keywords:
            result.unmatched += 1
            continue
        key = post.author_key or handle_key(post.author_handle)
        if key not in parties:
            parties[key] = party_for_handle(key)
        score = sentiment.analyse(post.text, source.language or post.language)
        mention = Mention.objects.create(
            source=source,
            external_id=post.external_id,
            url=post.url,
            author_handle=post.author_handle,
            author_name=post.author_name,
            author_url=post.author_url,
            author_key=key[:200],
            text=post.text,
            published_at=post.published_at,
            language=score.language,
            sentiment=score.label,
            sentiment_score=score.compound,
            party=parties[key],
            owner=source.owner,
            team=source.team,
        )
        mention.keywords.set(keywords)
        created.append(mention)
    result.stored = len(created)
    if created:
        index_records(created, created=True)
    return result, created


def source_poll(*, actor: User | None, source: Source) -> StoreResult:
    """Fetch the source now and store what is new. A failure is recorded on the source (and
    raised as ``fetching.FetchError``); the cursor moves only with a successful store."""
    if actor is not None and not actor.has_perm("core.change_record", source):
        raise PermissionDenied
    if not source.is_polled:
        raise ValidationError(_("A webhook source is not polled: the network posts to it."))
    try:
        batch = fetching.fetch(source)
    except fetching.FetchError as exc:
        Source.objects.filter(pk=source.pk).update(
            last_polled_at=timezone.now(), last_error=str(exc)[:500]
        )
        source.last_error = str(exc)[:500]
        raise
    with transaction.atomic():
        result, _created = mentions_store(source=source, posts=batch.posts)
        source.cursor = batch.cursor or source.cursor
        source.etag, source.last_modified = batch.etag, batch.last_modified
        source.last_polled_at = timezone.now()
        source.last_error = ""
        source.save(
            update_fields=[
                "cursor",
                "etag",
                "last_modified",
                "last_polled_at",
                "last_error",
                "updated_at",
            ]
        )
    return result


def sources_poll_due(*, now: dt.datetime | None = None, force: bool = False) -> dict[str, int]:
    """Poll every active polled source whose interval has passed (``force``: all of them).
    One failing source does not stop the others. Also forgets webhook receipts older than a
    day (the signature's tolerance is five minutes)."""
    now = now or timezone.now()
    totals = {"sources": 0, "stored": 0, "failed": 0}
    for source in Source.objects.filter(is_active=True, kind__in=POLLED_KINDS).order_by("pk"):
        due = source.last_polled_at is None or source.last_polled_at <= now - dt.timedelta(
            minutes=source.poll_minutes
        )
        if not (due or force):
            continue
        totals["sources"] += 1
        try:
            totals["stored"] += source_poll(actor=None, source=source).stored
        except fetching.FetchError as exc:
            totals["failed"] += 1
            log.warning("social source %s failed: %s", source.pk, exc)
    WebhookReceipt.objects.filter(received_at__lt=now - dt.timedelta(days=RECEIPT_DAYS)).delete()
    return totals


# --- the signed webhook -------------------------------------------------------------------------


class WebhookRefused(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def _parse_time(value) -> dt.datetime:
    from django.utils.dateparse import parse_datetime

    if isinstance(value, int | float):
        return dt.datetime.fromtimestamp(value, tz=dt.UTC)
    parsed = parse_datetime(str(value or ""))
    if parsed is None:
        return timezone.now()
    return parsed if timezone.is_aware(parsed) else timezone.make_aware(parsed, dt.UTC)


def webhook_receive(*, token: str, body: bytes, headers: dict[str, str]) -> tuple[str, int]:
    """A post from another network, signed as Standard Webhooks with the source's secret:
    ``{"text": …, "author": "@handle", "author_name": …, "url": …, "published_at": ISO 8601
    or epoch seconds, "language": "de"|"en", "id": …}``. Returns (outcome, mentions stored):
    ``stored``, ``unmatched`` (no keyword), ``duplicate`` (post or delivery seen before)."""
    source = Source.objects.filter(webhook_token=token, kind=SourceKind.WEBHOOK).first()
    if source is None:
        raise WebhookRefused(404, "Unknown webhook.")
    if len(body) > MAX_WEBHOOK_BYTES:
        raise WebhookRefused(413, "The body is too large.")
    try:
        Webhook(source.webhook_secret).verify(body, headers)
    except WebhookVerificationError as exc:
        raise WebhookRefused(401, f"Signature not valid: {exc}") from exc
    if not source.is_active:
        raise WebhookRefused(409, "The source is paused.")
    try:
        data = json.loads(body)
    except ValueError as exc:
        raise WebhookRefused(400, "The body is not JSON.") from exc
    if not isinstance(data, dict) or not str(data.get("text") or "").strip():
        raise WebhookRefused(400, "The body must be a JSON object with a text.")
    webhook_id = headers.get("webhook-id", "")[:200]
    text = html_to_text(str(data["text"]))[:20000]
    url = str(data.get("url") or "")[:1000]
    if url and not url.startswith(("http://", "https://")):
        raise WebhookRefused(400, "The url must be an http or https address.")
    author = str(data.get("author") or "")[:200]
    post = fetching.Post(
        external_id=str(data.get("id") or url or webhook_id)[:500],
        url=url,
        text=text,
        published_at=min(_parse_time(data.get("published_at")), timezone.now()),
        author_handle=author,
        author_name=str(data.get("author_name") or "")[:200],
        author_url=str(data.get("author_url") or "")[:500]
        if str(data.get("author_url") or "").startswith(("http://", "https://"))
        else "",
        language=str(data.get("language") or "")[:2].lower(),
    )
    with transaction.atomic():
        _receipt, new = WebhookReceipt.objects.get_or_create(source=source, webhook_id=webhook_id)
        if not new:
            return "duplicate", 0
        result, _created = mentions_store(source=source, posts=[post])
    if result.duplicates:
        return "duplicate", 0
    return ("stored" if result.stored else "unmatched"), result.stored


# --- re-scoring -------------------------------------------------------------------------------


def mentions_rescore(*, queryset=None, batch: int = 500) -> dict[str, int]:
    """Score every mention's sentiment again, match the active keywords again (a paused one
    stays on the mentions it matched) and link authors to parties anew — after a change of
    lexicon, keywords or contact points."""
    matcher = KeywordMatcher(Keyword.objects.filter(is_active=True))
    counts = {"mentions": 0, "changed": 0, "linked": 0}
    qs = (queryset if queryset is not None else Mention.objects.all()).select_related("source")
    ids = list(qs.order_by("pk").values_list("pk", flat=True))
    parties: dict[str, Party | None] = {}
    for start in range(0, len(ids), batch):
        with transaction.atomic():
            chunk = list(
                Mention.objects.filter(pk__in=ids[start : start + batch])
                .select_related("source")
                .prefetch_related("keywords")
            )
            for mention in chunk:
                counts["mentions"] += 1
                score = sentiment.analyse(mention.text, mention.source.language or mention.language)
                if mention.author_key not in parties:
                    parties[mention.author_key] = party_for_handle(mention.author_key)
                party = parties[mention.author_key]
                changed = (
                    score.label != mention.sentiment
                    or score.compound != mention.sentiment_score
                    or score.language != mention.language
                    or (party is not None and party.pk != mention.party_id)
                )
                if party is not None and party.pk != mention.party_id:
                    counts["linked"] += 1
                    mention.party = party
                mention.sentiment, mention.sentiment_score = score.label, score.compound
                mention.language = score.language
                paused = [k for k in mention.keywords.all() if not k.is_active]
                keywords = set(matcher(mention.text)) | set(paused)
                if keywords != set(mention.keywords.all()):
                    mention.keywords.set(keywords)
                    changed = True
                if changed:
                    counts["changed"] += 1
                    mention.save()
    return counts


# --- what a mention becomes -------------------------------------------------------------------


def _lock(actor: User | None, mention: Mention) -> Mention:
    if actor is not None and not actor.has_perm("core.change_record", mention):
        raise PermissionDenied
    return (
        Mention.objects.select_for_update(of=("self",))
        .select_related("source", "party")
        .get(pk=mention.pk)
    )


def _reference(mention: Mention) -> str:
    where = mention.url or mention.source.name
    who = mention.author_handle or mention.author_name or _("unknown author")
    return _("Social mention by %(who)s (%(where)s)") % {"who": who, "where": where}


def _author_socials(mention: Mention) -> list[dict[str, str]]:
    value = mention.author_url or mention.author_handle
    if not value:
        return []
    return [{"value": value, "label": mention.source.get_kind_display()[:40]}]


@transaction.atomic
def mention_to_lead(*, actor: User | None, mention: Mention) -> tuple[Mention, bool]:
    """A lead from the mention (its author as the name, the text and link as notes), once:
    the second call returns the mention with the lead it already has. Returns (mention, new)."""
    mention = _lock(actor, mention)
    if mention.lead_id is not None:
        return mention, False
    name = mention.author_name or mention.author_handle or _("Unknown author")
    lead = lead_create(
        actor=actor,
        owner=mention.owner if actor is None else None,
        team=mention.team if actor is None else None,
        last_name=name[:100],
        source=_("Social listening: %(source)s") % {"source": mention.source.name[:60]},
        website=mention.author_url[:200],
        notes=f"{_reference(mention)}\n\n{mention.text}",
    )
    mention.lead = lead
    mention.save(update_fields=["lead", "updated_at"])
    return mention, True


@transaction.atomic
def mention_to_case(
    *,
    actor: User | None,
    mention: Mention,
    category: CaseCategory | None = None,
    party: Party | None = None,
    severity: str = "medium",
) -> tuple[Mention, bool]:
    """A complaint case from the mention, once. The customer is ``party``, else the author's
    known party, else a new person with the author's name and social profile (so the next
    mention finds them). Returns (mention, new)."""
    mention = _lock(actor, mention)
    if mention.case_id is not None:
        return mention, False
    party = party or mention.party
    if party is None:
        party = party_create(
            actor=actor,
            kind="person",
            last_name=(mention.author_name or mention.author_handle or _("Unknown author"))[:100],
            socials=_author_socials(mention),
            owner=mention.owner if actor is None else None,
            team=mention.team if actor is None else None,
        )
        mention.party = party
    category = category or CaseCategory.objects.filter(is_active=True).order_by("pk").first()
    if category is None:
        raise ValidationError({"category_id": _("Create a case category first.")})
    subject = mention.text.replace("\n", " ")
    case = case_create(
        actor=actor,
        channel=CASE_CHANNEL,
        category=category,
        subject=subject if len(subject) <= 200 else subject[:199] + "…",
        party=party,
        description=f"{mention.text}\n\n{_reference(mention)}",
        severity=severity,
        language=mention.language,
        acknowledge=False,  # the customer wrote in public: there is no address to answer
    )
    mention.case = case
    mention.save(update_fields=["case", "party", "updated_at"])
    index_record(mention)
    return mention, True


@transaction.atomic
def mention_reply(
    *, actor: User | None, mention: Mention, text: str, party: Party | None = None
) -> tuple[Mention, bool]:
    """Log the reply given to the mention (on the network, by hand) as a note on the
    timeline of the author's party, once. Returns (mention, new)."""
    mention = _lock(actor, mention)
    if mention.reply_id is not None:
        return mention, False
    text = (text or "").strip()
    if not text:
        raise ValidationError({"text": _("Write the reply you gave.")})
    who = mention.author_handle or mention.author_name or _("unknown author")
    body = f"<p>{escape(text)}</p><blockquote>{escape(mention.text)}</blockquote>" + (
        f'<p><a href="{escape(mention.url)}">{escape(mention.url)}</a></p>' if mention.url else ""
    )
    activity = activity_create(
        actor=actor,
        kind=ActivityKind.NOTE,
        party=party or mention.party,
        subject=(_("Reply to %(who)s") % {"who": who})[:200],
        body=body,
    )
    mention.reply = activity
    mention.save(update_fields=["reply", "updated_at"])
    return mention, True
