"""Reading the polled sources: RSS/Atom feeds (``feedparser``) and Mastodon's hashtag
timeline and status search. Every request goes through ``kreis.core.netguard`` (http/https
only, no private or loopback targets unless the source allows them, cloud metadata never,
each redirect checked), within a time and a size limit.

Mastodon (https://docs.joinmastodon.org/methods/timelines/#tag and
https://docs.joinmastodon.org/methods/search/#v2): ``GET /api/v1/timelines/tag/:hashtag`` and
``GET /api/v2/search?q=…&type=statuses``, both with ``min_id`` so that only statuses newer
than the last one seen come back (the page right after it, oldest first among them); pages
are followed until one comes back short. Status ids are numeric strings (Snowflake-like), so
"newer" is compared as a number.
"""

from __future__ import annotations

import calendar
import datetime as dt
import json
from dataclasses import dataclass
from urllib.parse import quote, urlencode

import feedparser
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _

from kreis.core import netguard
from kreis.core.crypto import decrypt
from kreis.social.matching import handle_key, html_to_text
from kreis.social.models import Source, SourceKind

TIMEOUT = 20.0
MAX_FEED_BYTES = 5 * 1024 * 1024
MAX_PAGE_BYTES = 2 * 1024 * 1024
PAGE_SIZE = 40
MAX_PAGES = 5


class FetchError(Exception):
    """The source could not be read; the message says why, for the source's page."""


@dataclass
class Post:
    external_id: str
    url: str
    text: str
    published_at: dt.datetime
    author_handle: str = ""
    author_name: str = ""
    author_url: str = ""
    author_key: str = ""
    language: str = ""


@dataclass
class Batch:
    posts: list[Post]
    cursor: str = ""  # the newest Mastodon status id seen
    etag: str = ""
    last_modified: str = ""
    not_modified: bool = False


def _get(source: Source, url: str, *, max_bytes: int, headers: dict[str, str]) -> netguard.Response:
    try:
        return netguard.fetch(
            url,
            headers=headers,
            timeout=TIMEOUT,
            max_bytes=max_bytes,
            allow_private=source.allow_private,
        )
    except netguard.TargetRefused as exc:
        raise FetchError(str(exc)) from exc
    except netguard.ResponseTooLarge as exc:
        raise FetchError(str(exc)) from exc
    except TimeoutError as exc:
        raise FetchError(_("The server did not answer in time.")) from exc
    except OSError as exc:
        raise FetchError(str(exc) or type(exc).__name__) from exc


def _language(value: str) -> str:
    code = (value or "").strip().lower()[:2]
    return code if code in ("de", "en") else ""


def _struct_time(value) -> dt.datetime | None:
    if not value:
        return None
    return dt.datetime.fromtimestamp(calendar.timegm(value), tz=dt.UTC)


def fetch_feed(source: Source) -> Batch:
    """The feed's entries; nothing when the server says it has not changed (ETag or
    Last-Modified from the previous poll)."""
    headers = {"Accept": "application/rss+xml, application/atom+xml, application/xml;q=0.9"}
    if source.etag:
        headers["If-None-Match"] = source.etag
    if source.last_modified:
        headers["If-Modified-Since"] = source.last_modified
    answer = _get(source, source.url, max_bytes=MAX_FEED_BYTES, headers=headers)
    if answer.status == 304:
        return Batch(
            posts=[], not_modified=True, etag=source.etag, last_modified=source.last_modified
        )
    if answer.status != 200:
        raise FetchError(_("The feed answered with HTTP %(status)s.") % {"status": answer.status})
    parsed = feedparser.parse(answer.body)
    if parsed.bozo and not parsed.entries:
        raise FetchError(_("This is not an RSS or Atom feed."))
    feed_language = _language(parsed.feed.get("language", ""))
    now = timezone.now()
    posts = []
    for entry in parsed.entries:
        link = entry.get("link", "")
        external_id = (entry.get("id") or link or "").strip()
        if not external_id:
            continue
        summary = ""
        if entry.get("content"):
            summary = entry["content"][0].get("value", "")
        summary = summary or entry.get("summary", "")
        title = html_to_text(entry.get("title", ""))
        body = html_to_text(summary)
        text = f"{title}\n\n{body}".strip() if body and body != title else title or body
        author = entry.get("author", "")
        published = (
            _struct_time(entry.get("published_parsed"))
            or _struct_time(entry.get("updated_parsed"))
            or now
        )
        posts.append(
            Post(
                external_id=external_id[:500],
                url=link[:1000],
                text=text,
                published_at=min(published, now),
                author_handle=author[:200],
                author_name=author[:200],
                language=_language(entry.get("language", "")) or feed_language,
            )
        )
    return Batch(
        posts=posts,
        etag=answer.headers.get("etag", "")[:200],
        last_modified=answer.headers.get("last-modified", "")[:100],
    )


def _newer(a: str, b: str) -> bool:
    """Whether status id ``a`` is newer than ``b`` (numeric strings of any length)."""
    if not b:
        return True
    if a.isdigit() and b.isdigit():
        return int(a) > int(b)
    return a > b


def status_to_post(status: dict, server: str) -> Post | None:
    """A Mastodon status as a post; None for one without an id. A boost is taken as the status
    it boosts."""
    status = status.get("reblog") or status
    sid = str(status.get("id") or "")
    if not sid:
        return None
    account = status.get("account") or {}
    acct = str(account.get("acct") or "")
    created = parse_datetime(str(status.get("created_at") or "")) or timezone.now()
    if timezone.is_naive(created):
        created = timezone.make_aware(created, dt.UTC)
    text = html_to_text(str(status.get("content") or ""))
    if status.get("spoiler_text"):
        text = f"{status['spoiler_text']}\n\n{text}"
    url = str(status.get("url") or status.get("uri") or "")
    return Post(
        external_id=url or sid,
        url=url[:1000],
        text=text,
        published_at=created,
        author_handle=("@" + acct)[:200] if acct else "",
        author_name=str(account.get("display_name") or account.get("username") or "")[:200],
        author_url=str(account.get("url") or "")[:500],
        author_key=handle_key(acct, server=server),
        language=_language(str(status.get("language") or "")),
    )


def fetch_mastodon(source: Source) -> Batch:
    """Statuses newer than the source's cursor, from its hashtag timeline or its search."""
    base = source.url.rstrip("/")
    server = (netguard.parse_target(base).host or "").lower()
    headers = {"Accept": "application/json"}
    if source.access_token:
        headers["Authorization"] = f"Bearer {decrypt(source.access_token)}"
    cursor = source.cursor
    posts: list[Post] = []
    for _page in range(MAX_PAGES):
        params: dict[str, str | int] = {"limit": PAGE_SIZE}
        if cursor:
            params["min_id"] = cursor
        if source.kind == SourceKind.MASTODON_TAG:
            tag = quote(source.query.strip().lstrip("#"), safe="")
            url = f"{base}/api/v1/timelines/tag/{tag}?{urlencode(params)}"
        else:
            params |= {"q": source.query.strip(), "type": "statuses", "resolve": "false"}
            url = f"{base}/api/v2/search?{urlencode(params)}"
        answer = _get(source, url, max_bytes=MAX_PAGE_BYTES, headers=headers)
        if answer.status != 200:
            raise FetchError(
                _("The Mastodon server answered with HTTP %(status)s.") % {"status": answer.status}
            )
        try:
            data = json.loads(answer.body)
        except ValueError as exc:
            raise FetchError(_("The Mastodon server did not answer with JSON.")) from exc
        statuses = data.get("statuses", []) if isinstance(data, dict) else data
        if not isinstance(statuses, list):
            raise FetchError(_("The Mastodon server's answer has an unexpected shape."))
        page_newest = cursor
        for status in statuses:
            if not isinstance(status, dict):
                continue
            sid = str(status.get("id") or "")
            if not sid or (cursor and not _newer(sid, cursor)):
                continue
            post = status_to_post(status, server)
            if post is not None:
                posts.append(post)
            if _newer(sid, page_newest):
                page_newest = sid
        if page_newest == cursor or len(statuses) < PAGE_SIZE:
            cursor = page_newest
            break
        cursor = page_newest
    return Batch(posts=posts, cursor=cursor)


def fetch(source: Source) -> Batch:
    if source.kind == SourceKind.FEED:
        return fetch_feed(source)
    if source.kind in (SourceKind.MASTODON_TAG, SourceKind.MASTODON_SEARCH):
        return fetch_mastodon(source)
    raise FetchError(_("A webhook source is not polled: the network posts to it."))
