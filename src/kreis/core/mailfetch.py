"""Fetching e-mail from an IMAP mailbox, for any part of Kreis that reads incoming mail (the
complaint mailbox; two-way e-mail). Nothing here knows what the mail is for.

A poll, in the caller::

    with MailSession(account) as session:
        box = session.select(account.folder)
        new = box.new_uids(uidvalidity=stored_uidvalidity, last_uid=stored_last_uid)
        for uid, raw in session.fetch(new.uids):
            mail = parse_mail(raw, uid=uid)        # FetchedMail; MailParseError if hopeless
            ...                                    # take it; remember new.uidvalidity and uid
        session.mark_processed(done_uids, processed_folder)

*Incremental.* IMAP numbers the messages of a folder with UIDs that only grow, valid as long
as the folder's UIDVALIDITY stays the same (RFC 9051 §2.3.1.1). A poll asks for the UIDs
above the last one taken. When UIDVALIDITY changed (the folder was recreated or restored),
the old UIDs mean nothing: the poll starts over from the first message — so the caller must
recognise mail it took before, by its Message-ID (``FetchedMail.message_id``, or
``fingerprint`` for mail without one). ``UID SEARCH UID n:*`` answers the highest UID even
when it is below n (RFC 9051 §6.4.4), so the answer is filtered here.

*Reading.* Messages are fetched with ``BODY.PEEK[]`` (the whole RFC 822 message, without
setting \\Seen: mail that fails stays unread for a person to look at), in batches bounded by
count and bytes. They are parsed with the standard library (``email.policy.default``). Text
arrives in every charset and often lies about it: a part is decoded with its declared
charset, else as UTF-8, else with the charset ``charset-normalizer`` detects; headers with raw
8-bit bytes likewise. The text body is text/plain when there is one, else the HTML part
turned into plain text (``html_to_text``: markup and scripts dropped, entities resolved, never
rendered). Attachments are not read — unless the caller asks for the whole message
(``parse_mail(raw, full=True)``, two-way e-mail): then the HTML part as it came, the To and Cc
addresses and the attachments (file name, type, bytes; at most ``ATTACHMENT_LIMIT`` bytes
each, larger ones listed with their size but without content) are read too.

*Where.* Security "none" (clear text) is refused unless the server is this machine; a cloud
metadata address is refused always (``kreis.core.netguard.refuse_metadata``); every network
step has a timeout.

*Processed.* ``mark_processed`` flags messages \\Seen, or moves them to a folder (created if
missing; MOVE when the server has it, else COPY, \\Deleted and UID EXPUNGE).
"""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import email.utils
import functools
import hashlib
import ipaddress
import re
import socket
import ssl
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from email.message import EmailMessage
from html.parser import HTMLParser

from charset_normalizer import from_bytes
from django.utils.translation import gettext as _
from imapclient import IMAPClient
from imapclient.exceptions import IMAPClientError, LoginError

from kreis.core.netguard import TargetRefused, refuse_metadata

SECURITY_CHOICES = ("ssl", "starttls", "none")
DEFAULT_TIMEOUT = 30.0
BATCH_COUNT = 25
BATCH_BYTES = 20 * 1024 * 1024
HEADER_LIMIT = 998  # RFC 5322's longest line: a longer header value is cut
ATTACHMENT_LIMIT = 25 * 1024 * 1024  # larger attachments are listed, not kept
_MESSAGE_ID = re.compile(r"<[^<>\s]+>")


class MailFetchError(Exception):
    """The mailbox cannot be reached or read: connection, login, folder, protocol."""


class MailParseError(Exception):
    """A message that cannot be read at all (the others are unaffected)."""


@dataclass(frozen=True)
class MailAccount:
    host: str
    port: int
    security: str
    username: str
    password: str = field(repr=False)
    timeout: float = DEFAULT_TIMEOUT

    def __post_init__(self) -> None:
        if self.security not in SECURITY_CHOICES:
            raise MailFetchError(_("Unknown connection security “%s”.") % self.security)


@dataclass(frozen=True)
class NewMail:
    """What a poll should fetch: the folder's UIDVALIDITY to remember, the UIDs above the last
    one taken, and whether it started over (UIDVALIDITY changed)."""

    uidvalidity: int
    uids: list[int]
    restarted: bool


@dataclass(frozen=True)
class MailAttachment:
    filename: str
    content_type: str
    size: int
    # None when the attachment is larger than ``ATTACHMENT_LIMIT`` (listed, not kept).
    content: bytes | None = field(repr=False)
    content_id: str = ""


@dataclass(frozen=True)
class FetchedMail:
    uid: int
    message_id: str
    from_address: str
    from_name: str
    subject: str
    date: dt.datetime | None
    text: str
    in_reply_to: str
    references: tuple[str, ...]
    auto_submitted: bool
    content_language: str
    # SHA-256 of the raw message: recognises mail that has no Message-ID.
    fingerprint: str
    # Read with ``parse_mail(raw, full=True)`` only.
    html: str = ""
    to_addresses: tuple[str, ...] = ()
    cc_addresses: tuple[str, ...] = ()
    attachments: tuple[MailAttachment, ...] = ()
    content_type: str = ""

    @property
    def thread_ids(self) -> tuple[str, ...]:
        """The Message-IDs this mail answers: In-Reply-To first, then References newest first."""
        ids = [self.in_reply_to] if self.in_reply_to else []
        ids += [ref for ref in reversed(self.references) if ref not in ids]
        return tuple(ids)


# --- Connecting -------------------------------------------------------------------------------


def is_loopback(host: str) -> bool:
    if host.strip().lower() in {"localhost", "localhost.localdomain"}:
        return True
    try:
        return ipaddress.ip_address(host.strip().strip("[]")).is_loopback
    except ValueError:
        return False


class MailSession:
    """An open, logged-in IMAP connection (a context manager: logs out at the end)."""

    def __init__(self, account: MailAccount) -> None:
        self.account = account
        self.client: IMAPClient | None = None
        self.folder = ""
        self._delimiter: str | None = None

    def __enter__(self) -> MailSession:
        self.connect()
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def connect(self) -> None:
        account = self.account
        if account.security == "none" and not is_loopback(account.host):
            # The password would cross the network in clear text.
            raise MailFetchError(
                _("An unencrypted connection is only allowed to this machine (localhost).")
            )
        try:
            found = socket.getaddrinfo(account.host, account.port, type=socket.SOCK_STREAM)
            refuse_metadata(account.host, [str(info[4][0]) for info in found])
        except TargetRefused as exc:  # a cloud metadata service hands out credentials
            raise MailFetchError(str(exc)) from exc
        except (OSError, UnicodeError) as exc:
            raise MailFetchError(
                _("Cannot connect to %(host)s:%(port)s: %(error)s")
                % {"host": account.host, "port": account.port, "error": _reason(exc)}
            ) from exc
        context = ssl.create_default_context() if account.security != "none" else None
        try:
            client = IMAPClient(
                account.host,
                port=account.port,
                ssl=account.security == "ssl",
                ssl_context=context if account.security == "ssl" else None,
                timeout=account.timeout,
            )
        except (OSError, IMAPClientError) as exc:
            raise MailFetchError(
                _("Cannot connect to %(host)s:%(port)s: %(error)s")
                % {"host": account.host, "port": account.port, "error": _reason(exc)}
            ) from exc
        try:
            if account.security == "starttls":
                client.starttls(context)
            client.login(account.username, account.password)
        except LoginError as exc:
            _quietly_close(client)
            raise MailFetchError(
                _("The server refused the user name or password (%s).") % _reason(exc)
            ) from exc
        except (OSError, IMAPClientError) as exc:
            _quietly_close(client)
            raise MailFetchError(
                _("The IMAP server did not accept the connection: %s") % _reason(exc)
            ) from exc
        self.client = client

    def close(self) -> None:
        if self.client is not None:
            _quietly_close(self.client, logout=True)
            self.client = None

    def server_folder(self, name: str) -> str:
        """The folder name as the server spells it: "/" is the hierarchy separator people
        type ("Archive/Complaints"); a server that separates with "." (Dovecot's Maildir,
        Courier) gets "Archive.Complaints"."""
        name = name.strip()
        if "/" not in name:
            return name
        if self._delimiter is None:
            try:
                personal = self._client().namespace().personal
                self._delimiter = (personal[0][1] if personal else "/") or "/"
            except (OSError, IMAPClientError, IndexError):
                self._delimiter = "/"
            if isinstance(self._delimiter, bytes):
                self._delimiter = self._delimiter.decode("ascii", "replace")
        return name.replace("/", self._delimiter) if self._delimiter != "/" else name

    def folder_names(self) -> list[tuple[str, tuple[str, ...]]]:
        """Every folder as (name with "/" as separator, flags such as ``\\Sent``)."""
        try:
            listed = self._client().list_folders()
        except (OSError, IMAPClientError) as exc:
            raise MailFetchError(_("Listing the folders failed: %s") % _reason(exc)) from exc
        names = []
        for flags, delimiter, name in listed:
            if isinstance(delimiter, bytes):
                delimiter = delimiter.decode("ascii", "replace")
            if delimiter and delimiter != "/":
                name = name.replace(delimiter, "/")
            names.append((name, tuple(f.decode() if isinstance(f, bytes) else f for f in flags)))
        return sorted(names)

    def _client(self) -> IMAPClient:
        if self.client is None:
            raise MailFetchError(_("Not connected."))
        return self.client

    # --- Reading ------------------------------------------------------------------------------

    def select(self, folder: str) -> SelectedFolder:
        try:
            info = self._client().select_folder(self.server_folder(folder))
        except (OSError, IMAPClientError) as exc:
            raise MailFetchError(
                _("Cannot open the folder “%(folder)s”: %(error)s")
                % {"folder": folder, "error": _reason(exc)}
            ) from exc
        self.folder = folder
        return SelectedFolder(
            session=self,
            name=folder,
            uidvalidity=int(info.get(b"UIDVALIDITY", 0) or 0),
            uidnext=int(info.get(b"UIDNEXT", 0) or 0),
            exists=int(info.get(b"EXISTS", 0) or 0),
        )

    def search_uids_after(self, last_uid: int) -> list[int]:
        try:
            found = self._client().search(["UID", f"{last_uid + 1}:*"])
        except (OSError, IMAPClientError) as exc:
            raise MailFetchError(_("The search for new mail failed: %s") % _reason(exc)) from exc
        return sorted(uid for uid in found if uid > last_uid)

    def fetch(
        self,
        uids: Iterable[int],
        *,
        batch_count: int = BATCH_COUNT,
        batch_bytes: int = BATCH_BYTES,
    ) -> Iterator[tuple[int, bytes]]:
        """(UID, raw message) in UID order, fetched in batches of at most ``batch_count``
        messages and — a single larger message aside — ``batch_bytes`` bytes. Messages gone
        meanwhile (expunged by someone else) are left out."""
        uids = sorted(uids)
        for start in range(0, len(uids), 200):
            chunk = uids[start : start + 200]
            sizes = self._fetch_items(chunk, ["RFC822.SIZE"])
            batch: list[int] = []
            budget = 0
            for uid in chunk:
                if uid not in sizes:
                    continue
                size = int(sizes[uid].get(b"RFC822.SIZE", 0) or 0)
                if batch and (len(batch) >= batch_count or budget + size > batch_bytes):
                    yield from self._fetch_bodies(batch)
                    batch, budget = [], 0
                batch.append(uid)
                budget += size
            if batch:
                yield from self._fetch_bodies(batch)

    def _fetch_items(self, uids: list[int], items: list[str]) -> dict:
        try:
            return self._client().fetch(uids, items)
        except (OSError, IMAPClientError) as exc:
            raise MailFetchError(_("Fetching mail failed: %s") % _reason(exc)) from exc

    def _fetch_bodies(self, uids: list[int]) -> Iterator[tuple[int, bytes]]:
        found = self._fetch_items(uids, ["BODY.PEEK[]"])
        for uid in uids:
            data = found.get(uid)
            if data is None:
                continue
            raw = data.get(b"BODY[]")
            if isinstance(raw, bytes | bytearray):
                yield uid, bytes(raw)

    # --- Marking --------------------------------------------------------------------------

    def mark_processed(self, uids: Iterable[int], processed_folder: str = "") -> None:
        """Flag the messages \\Seen; with ``processed_folder``, move them there instead."""
        uids = sorted(set(uids))
        if not uids:
            return
        client = self._client()
        try:
            if processed_folder:
                processed_folder = self.server_folder(processed_folder)
            if not processed_folder:
                client.add_flags(uids, [b"\\Seen"], silent=True)
                return
            if not client.folder_exists(processed_folder):
                client.create_folder(processed_folder)
            if client.has_capability("MOVE"):
                client.move(uids, processed_folder)
                return
            client.copy(uids, processed_folder)
            client.add_flags(uids, [b"\\Seen"], silent=True)
            client.delete_messages(uids, silent=True)
            if client.has_capability("UIDPLUS"):
                client.uid_expunge(uids)
            else:  # expunges every \Deleted message of the folder: the only way without UIDPLUS
                client.expunge()
        except (OSError, IMAPClientError) as exc:
            raise MailFetchError(_("Marking mail as processed failed: %s") % _reason(exc)) from exc

    def append(
        self, folder: str, raw: bytes, *, flags: Iterable[bytes] = (), create: bool = False
    ) -> None:
        """Store a message in a folder (tests deliver mail this way; sent-mail folders get
        what Kreis sent, flagged ``\\Seen``); ``create`` makes a missing folder first."""
        try:
            client = self._client()
            name = self.server_folder(folder)
            if create and not client.folder_exists(name):
                client.create_folder(name)
            client.append(name, raw, flags=tuple(flags))
        except (OSError, IMAPClientError) as exc:
            raise MailFetchError(_("Storing the message failed: %s") % _reason(exc)) from exc


@dataclass
class SelectedFolder:
    session: MailSession
    name: str
    uidvalidity: int
    uidnext: int
    exists: int

    def new_uids(self, *, uidvalidity: int | None, last_uid: int) -> NewMail:
        """The UIDs to fetch after ``last_uid`` — all of them when the folder's UIDVALIDITY is
        not the remembered one (then ``restarted``; a first poll with nothing remembered is
        not a restart)."""
        restarted = uidvalidity is not None and uidvalidity != self.uidvalidity
        since = 0 if restarted or uidvalidity is None else max(last_uid, 0)
        if self.exists == 0:
            return NewMail(uidvalidity=self.uidvalidity, uids=[], restarted=restarted)
        if since and self.uidnext and since >= self.uidnext - 1:
            return NewMail(uidvalidity=self.uidvalidity, uids=[], restarted=restarted)
        uids = self.session.search_uids_after(since)
        return NewMail(uidvalidity=self.uidvalidity, uids=uids, restarted=restarted)


def _reason(exc: BaseException) -> str:
    if isinstance(exc, socket.timeout | TimeoutError):
        return _("no answer in time")
    if isinstance(exc, ssl.SSLError):
        return _("TLS failed (%s)") % (exc.reason or exc)
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror  # "Connection refused", not the bare errno 111
    text = exc.args[0] if exc.args else exc
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    return str(text or type(exc).__name__)[:300]


def _quietly_close(client: IMAPClient, *, logout: bool = False) -> None:
    try:
        if logout:
            client.logout()
        else:
            client.shutdown()
    except (OSError, IMAPClientError):
        try:
            client.shutdown()
        except (OSError, IMAPClientError):
            pass


def check_account(account: MailAccount, folder: str) -> SelectedFolder:
    """Connect, log in and open the folder (an administrator's "test connection");
    ``MailFetchError`` says what failed."""
    with MailSession(account) as session:
        return session.select(folder)


# --- Parsing --------------------------------------------------------------------------------


# Detected charsets that fit nearly any short byte string and are never sent without a BOM.
_IMPLAUSIBLE = ["utf_16", "utf_16_be", "utf_16_le", "utf_32", "utf_32_be", "utf_32_le"]


def decode_bytes(data: bytes, charset: str | None = None) -> str:
    """Text from bytes: the declared charset if it decodes them cleanly, else UTF-8, else
    (for enough text to tell) the charset ``charset-normalizer`` detects, else Windows-1252 —
    the usual charset of undeclared mail here, which decodes nearly anything."""
    for candidate in (charset, "utf-8"):
        if not candidate:
            continue
        try:
            return data.decode(candidate)
        except (LookupError, UnicodeDecodeError):
            continue
    if len(data) >= 64:
        best = from_bytes(data, cp_exclusion=_IMPLAUSIBLE).best()
        if best is not None:
            return str(best)
    return data.decode("cp1252", "replace")


def _without_surrogates(text: str) -> str:
    """Header text that carried raw 8-bit bytes (the parser keeps them as surrogates)."""
    if not any("\udc80" <= char <= "\udcff" for char in text):
        return text
    return decode_bytes(text.encode("utf-8", "surrogateescape"))


def _clean(text: str) -> str:
    # NUL is not allowed in PostgreSQL text; other control characters are noise.
    return "".join(ch for ch in text if ch in "\n\t" or ch >= " " or ch == "\r").replace("\r", "")


def _header(message: EmailMessage, name: str) -> str:
    """A header's text, decoded (RFC 2047 words and raw 8-bit bytes alike), unfolded."""
    raw = None
    for key, value in message.raw_items():
        if key.lower() == name.lower():
            raw = value
            break
    if raw is None:
        return ""
    if any("\udc80" <= char <= "\udcff" for char in raw):
        text = _without_surrogates(raw)
    else:
        try:
            text = str(message[name])
        except Exception:  # noqa: BLE001 (a malformed header must not lose the message)
            text = raw
    text = re.sub(r"\s*[\r\n]+\s*", " ", text)
    return _clean(text).strip()[:HEADER_LIMIT]


def _sender(message: EmailMessage) -> tuple[str, str]:
    """(address, display name) of the first From address; ("", "") when there is none."""
    try:
        header = message["From"]
        addresses = list(getattr(header, "addresses", ()) or ())
    except Exception:  # noqa: BLE001
        addresses = []
    for address in addresses:
        spec = _without_surrogates(address.addr_spec or "")
        if "@" in spec and address.username and address.domain:
            return spec.strip().lower(), _clean(_without_surrogates(address.display_name)).strip()
    name, spec = email.utils.parseaddr(_header(message, "From"))
    if "@" in spec and not spec.startswith("@") and not spec.endswith("@"):
        return spec.strip().lower(), name.strip()
    return "", name.strip()


def _message_ids(text: str) -> list[str]:
    return _MESSAGE_ID.findall(text or "")


def _is_auto_submitted(message: EmailMessage, from_address: str) -> bool:
    """Mail no person wrote: auto-replies (RFC 3834 Auto-Submitted, the vacation headers of
    Exchange and others), bulk and list mail by Precedence, delivery reports (bounces)."""
    auto = _header(message, "Auto-Submitted").lower()
    if auto and not auto.startswith("no"):
        return True
    if _header(message, "X-Autoreply") or _header(message, "X-Autorespond"):
        return True
    if _header(message, "Precedence").lower() in {"bulk", "junk", "list", "auto_reply"}:
        return True
    if message.get_content_type() == "multipart/report":
        return True
    local = from_address.partition("@")[0]
    if local in {"mailer-daemon", "postmaster"}:
        return True
    return _header(message, "Return-Path").strip() == "<>"


class _RememberingPolicy(email.policy.EmailPolicy):
    """``email.policy.default`` that parses each header text once. The standard library parses
    a header anew on every read, and the parser, ``get_body`` and ``iter_attachments`` read the
    Content-Type of every part a dozen times — about half of the time a mail took to parse.
    Header objects are built from the name and text alone, so the same pair gives an equal
    object: the result is the same as with ``email.policy.default``."""

    def header_fetch_parse(self, name, value):
        if hasattr(value, "name"):
            return value
        return _parsed_header(name, value)


_POLICY = _RememberingPolicy()


@functools.lru_cache(maxsize=4096)
def _parsed_header(name: str, value: str):
    return email.policy.default.header_fetch_parse(name, value)


def _part_text(part: EmailMessage) -> str:
    try:
        payload = part.get_payload(decode=True)
    except Exception:  # noqa: BLE001 (broken transfer encoding: take what is there)
        payload = None
    if payload is None:
        raw = part.get_payload()
        payload = raw.encode("utf-8", "surrogateescape") if isinstance(raw, str) else b""
    return decode_bytes(payload, part.get_content_charset())


def _body_parts(message: EmailMessage) -> tuple[EmailMessage | None, EmailMessage | None]:
    """(text/plain part, text/html part) of the mail, each None when it has none; a mail
    that is a single text part (even one marked as an attachment) is its own body."""
    try:
        plain = message.get_body(preferencelist=("plain",))
        html = message.get_body(preferencelist=("html",))
    except Exception:  # noqa: BLE001
        plain = html = None
    if html is None and message.get_content_type() == "text/html":
        html = message
    if plain is None and html is None and not message.is_multipart():
        if message.get_content_maintype() == "text":
            plain = message
    return plain, html


def _body(plain: EmailMessage | None, html: EmailMessage | None, html_text: str | None) -> str:
    """text/plain when the mail has it (and it is not empty), else its HTML as text
    (``html_text``: the HTML part decoded already, if it was)."""
    if plain is not None:
        text = _part_text(plain)
        if text.strip():
            return _tidy(text)
    if html is not None:
        return _tidy(html_to_text(html_text if html_text is not None else _part_text(html)))
    return ""


def _tidy(text: str) -> str:
    text = _clean(text.replace("\r\n", "\n"))
    lines = [line.rstrip() for line in text.split("\n")]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def _date(message: EmailMessage) -> dt.datetime | None:
    text = _header(message, "Date")
    if not text:
        return None
    try:
        value = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return value


def _addresses(message: EmailMessage, name: str) -> tuple[str, ...]:
    """The addresses of an address header (To, Cc), lower case, in order, each once."""
    found: list[str] = []
    try:
        header = message[name]
        addresses = list(getattr(header, "addresses", ()) or ())
        specs = [_without_surrogates(a.addr_spec or "") for a in addresses]
    except Exception:  # noqa: BLE001 (a malformed header: the lenient parser below)
        specs = [spec for _name, spec in email.utils.getaddresses([_header(message, name)])]
    for spec in specs:
        spec = spec.strip().lower()
        if "@" in spec and not spec.startswith("@") and spec not in found:
            found.append(spec[:254])
    return tuple(found)


def _attachments(message: EmailMessage) -> tuple[MailAttachment, ...]:
    found = []
    try:
        parts = list(message.iter_attachments()) if message.is_multipart() else []
    except Exception:  # noqa: BLE001
        parts = []
    for part in parts:
        if part.get_content_maintype() == "multipart" or part.get_content_type() in (
            "message/delivery-status",
            "text/rfc822-headers",
        ):
            continue
        try:
            payload = part.get_payload(decode=True) or b""
        except Exception:  # noqa: BLE001 (a broken encoding: keep the name, not the bytes)
            payload = b""
        filename = _without_surrogates(part.get_filename() or "")
        found.append(
            MailAttachment(
                filename=_clean(filename).strip()[:255],
                content_type=part.get_content_type()[:100],
                size=len(payload),
                content=payload if len(payload) <= ATTACHMENT_LIMIT else None,
                content_id=(_message_ids(_header(part, "Content-ID")) or [""])[0][:255],
            )
        )
    return tuple(found)


def parse_mail(raw: bytes, *, uid: int = 0, full: bool = False) -> FetchedMail:
    """The parts of a raw RFC 822 message that Kreis uses (see ``FetchedMail``); ``full``
    reads the HTML part, the recipients and the attachments too."""
    if not raw or not raw.strip():
        raise MailParseError(_("The message is empty."))
    try:
        message = email.message_from_bytes(raw, policy=_POLICY)
    except Exception as exc:  # noqa: BLE001 (the parser rarely raises; if it does, report)
        raise MailParseError(_("The message cannot be read: %s") % exc) from exc
    if not isinstance(message, EmailMessage):  # pragma: no cover (policy.default gives one)
        raise MailParseError(_("The message cannot be read."))
    from_address, from_name = _sender(message)
    message_ids = _message_ids(_header(message, "Message-ID"))
    in_reply_to = _message_ids(_header(message, "In-Reply-To"))
    language = _header(message, "Content-Language").split(",")[0].strip().lower()
    plain, html = _body_parts(message)
    # The HTML part is decoded once, for the HTML kept with ``full`` and the text body alike.
    html_text = _part_text(html) if html is not None and full else None
    return FetchedMail(
        uid=uid,
        message_id=message_ids[0][:255] if message_ids else "",
        from_address=from_address,
        from_name=from_name,
        subject=_header(message, "Subject"),
        date=_date(message),
        text=_body(plain, html, html_text),
        in_reply_to=in_reply_to[0][:255] if in_reply_to else "",
        references=tuple(ref[:255] for ref in _message_ids(_header(message, "References"))),
        auto_submitted=_is_auto_submitted(message, from_address),
        content_language=language[:35],
        fingerprint=hashlib.sha256(raw).hexdigest(),
        **(_full_parts(message, html_text) if full else {}),
    )


def _full_parts(message: EmailMessage, html_text: str | None) -> dict:
    return {
        "html": _clean(html_text) if html_text is not None else "",
        "to_addresses": _addresses(message, "To"),
        "cc_addresses": _addresses(message, "Cc"),
        "attachments": _attachments(message),
        "content_type": message.get_content_type(),
    }


# --- HTML as text -------------------------------------------------------------------------------

_BLOCKS = {
    "address",
    "article",
    "blockquote",
    "div",
    "dl",
    "dt",
    "dd",
    "footer",
    "form",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "header",
    "hr",
    "li",
    "ol",
    "p",
    "pre",
    "section",
    "table",
    "tr",
    "ul",
}
_SKIPPED = {"script", "style", "head", "title", "template", "noscript", "svg", "object"}


class _TextExtractor(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.skipping = 0
        self.pre = 0

    def handle_starttag(self, tag: str, attrs) -> None:
        if tag in _SKIPPED:
            self.skipping += 1
        elif tag == "br":
            self.parts.append("\n")
        elif tag == "pre":
            self.pre += 1
            self.parts.append("\n")
        elif tag in ("td", "th"):
            self.parts.append("\t")
        elif tag in _BLOCKS:
            self.parts.append("\n")
            if tag == "li":
                self.parts.append("- ")

    def handle_startendtag(self, tag: str, attrs) -> None:
        if tag == "br":
            self.parts.append("\n")
        elif tag in _BLOCKS:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIPPED:
            self.skipping = max(0, self.skipping - 1)
        elif tag == "pre":
            self.pre = max(0, self.pre - 1)
            self.parts.append("\n")
        elif tag in _BLOCKS and tag != "li":  # the next item starts its own line
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if self.skipping:
            return
        self.parts.append(data if self.pre else re.sub(r"\s+", " ", data))


def html_to_text(html: str) -> str:
    """Plain text of an HTML mail: the words and line structure (paragraphs, line breaks, list
    items; preformatted lines), no markup, scripts, styles or comments; character references
    resolved, runs of spaces as one. The result is text — shown escaped like any
    other — so nothing of the HTML can run in Kreis."""
    parser = _TextExtractor()
    try:
        parser.feed(html)
        parser.close()
    except Exception:  # noqa: BLE001 (html.parser is lenient; never lose the mail over it)
        return re.sub(r"<[^>]*>", " ", html)
    text = "".join(parser.parts)
    lines = [re.sub(r"[ \t]+", " ", line).strip() for line in text.split("\n")]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()
