"""Content offers: files (white papers, price lists, checklists …) handed out behind a web
form, and the download links that carry them.

- ``offer_create`` / ``offer_update`` / ``offer_delete``: marketing uploads an offer. A file
  is at most ``MAX_UPLOAD`` bytes, and its type is read from its content (``puremagic``), not
  from its name: a file whose content is no document, spreadsheet, presentation, image,
  archive or text is refused with a clear error.
- ``hand_out``: a download link for a lead or contact (after a form, or a follow-up): a
  random token valid ``LINK_DAYS`` days, of which only the SHA-256 is stored.
- ``download_open``: the public link was opened: the download is counted and, for an offer
  of a campaign, a campaign touch of kind "download" is recorded (first opening only).
- ``mail_download_link``: the e-mail with the link after a form — transactional (the visitor
  asked for it), so it needs no marketing consent.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
from dataclasses import dataclass

import puremagic
from django.core.exceptions import PermissionDenied, SuspiciousFileOperation, ValidationError
from django.core.mail import EmailMessage
from django.db import transaction
from django.db.models import F
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.text import get_valid_filename
from django.utils.translation import gettext as _

from kreis.core import tokens
from kreis.core.models import User
from kreis.leads.models import Lead
from kreis.marketing.campaigns.services import record_touch
from kreis.marketing.consent import services as consent_services
from kreis.marketing.models import (
    ContentDownload,
    ContentOffer,
    FollowUpRule,
    FollowUpTrigger,
    FormSubmission,
    LeadForm,
    TouchKind,
)
from kreis.parties.models import Party

log = logging.getLogger("kreis.marketing.offers")

MAX_UPLOAD = 20 * 1024 * 1024
LINK_DAYS = 14
# What an offer may be, by the MIME type puremagic reads from the content.
ALLOWED_TYPES = {
    "application/pdf",
    "application/zip",
    "application/x-zip-compressed",
    "application/epub+zip",
    "application/msword",
    "application/vnd.ms-excel",
    "application/vnd.ms-powerpoint",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    "application/vnd.oasis.opendocument.text",
    "application/vnd.oasis.opendocument.spreadsheet",
    "application/vnd.oasis.opendocument.presentation",
    "image/png",
    "image/jpeg",
    "image/gif",
    "image/webp",
    "video/mp4",
    "audio/mpeg",
}
# Office and ODF files are ZIP archives inside: by name, the specific type is more useful.
BY_EXTENSION = {
    ".docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ".pptx": "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    ".odt": "application/vnd.oasis.opendocument.text",
    ".ods": "application/vnd.oasis.opendocument.spreadsheet",
    ".odp": "application/vnd.oasis.opendocument.presentation",
    ".epub": "application/epub+zip",
}
TEXT_EXTENSIONS = {".txt": "text/plain", ".csv": "text/csv", ".md": "text/markdown"}
OFFER_FIELDS = ("name", "description", "language", "topic", "position", "form", "campaign")


def _check(actor: User | None, perm: str, offer: ContentOffer | None = None) -> None:
    if actor is not None and not actor.has_perm(perm, offer):
        raise PermissionDenied


def _size_text(size: int) -> str:
    return f"{size / 1024 / 1024:.1f} MB"


def file_type(upload) -> str:
    """The MIME type of an uploaded file, read from its content; ``ValidationError`` when it
    is too large, empty, or of a kind that is no offer (a program, a script, HTML …)."""
    size = upload.size or 0
    if size > MAX_UPLOAD:
        raise ValidationError(
            {
                "file": _("The file is %(size)s; at most %(max)s can be uploaded.")
                % {"size": _size_text(size), "max": _size_text(MAX_UPLOAD)}
            }
        )
    if size == 0:
        raise ValidationError({"file": _("The file is empty.")})
    upload.seek(0)
    head = upload.read(64 * 1024)
    upload.seek(0)
    extension = os.path.splitext(upload.name or "")[1].lower()
    try:
        guesses = puremagic.magic_string(head, filename=upload.name or None)
    except (puremagic.PureError, ValueError):
        guesses = []
    # A guess of confidence below 0.5 comes from the file name alone, not the content.
    mime = next((g.mime_type for g in guesses if g.mime_type and g.confidence >= 0.5), "")
    if mime in {"application/zip", "application/x-zip-compressed"} and extension in BY_EXTENSION:
        mime = BY_EXTENSION[extension]
    if not mime and extension in TEXT_EXTENSIONS:
        try:
            head.decode("utf-8")
        except UnicodeDecodeError:
            pass
        else:
            if b"<script" not in head.lower() and b"<html" not in head.lower():
                mime = TEXT_EXTENSIONS[extension]
    if mime not in ALLOWED_TYPES and mime not in TEXT_EXTENSIONS.values():
        raise ValidationError(
            {
                "file": _(
                    "This file type cannot be offered (%(type)s). Upload a PDF, an office "
                    "document, an image, a ZIP archive or a text file."
                )
                % {"type": mime or _("unknown")}
            }
        )
    return mime


def clean_filename(name: str | None) -> str:
    """The uploaded file's name as it is offered for download (no path, safe characters)."""
    try:
        return get_valid_filename(os.path.basename(name or "offer"))[:200]
    except SuspiciousFileOperation:  # "", "..": nothing usable is left
        return "offer"


def _attach_file(offer: ContentOffer, upload) -> None:
    offer.content_type = file_type(upload)
    offer.filename = clean_filename(upload.name)
    offer.size = upload.size
    offer.file.save(offer.filename, upload, save=False)


def _validate(offer: ContentOffer) -> None:
    offer.full_clean(exclude=["file", "filename", "content_type"])


def offer_create(*, actor: User | None, file, **fields) -> ContentOffer:
    """A new offer with its file (see ``file_type`` for what is accepted)."""
    _check(actor, "marketing.add")
    offer = ContentOffer(
        **{k: v for k, v in fields.items() if k in (*OFFER_FIELDS, "is_active")},
        created_by=actor,
    )
    _validate(offer)
    _attach_file(offer, file)
    with transaction.atomic():
        offer.save()
    return offer


def offer_update(*, actor: User | None, offer: ContentOffer, file=None, **fields) -> ContentOffer:
    """Change an offer; with ``file`` its file is replaced (links handed out already then
    deliver the new file)."""
    _check(actor, "marketing.change_record", offer)
    for key, value in fields.items():
        if key in (*OFFER_FIELDS, "is_active"):
            setattr(offer, key, value)
    _validate(offer)
    old_name = offer.file.name if file is not None else None
    if file is not None:
        _attach_file(offer, file)
    with transaction.atomic():
        offer.save()
    if old_name and old_name != offer.file.name:
        storage = offer.file.storage
        transaction.on_commit(lambda: storage.delete(old_name))
    return offer


def offer_delete(*, actor: User | None, offer: ContentOffer) -> None:
    """Delete an offer, its download records and follow-up rules, and its file."""
    _check(actor, "marketing.change_record", offer)
    name, storage = offer.file.name, offer.file.storage
    with transaction.atomic():
        offer.delete()
    if name:
        transaction.on_commit(lambda: storage.delete(name))


# --- handing out ------------------------------------------------------------------------------


def hand_out(
    offer: ContentOffer,
    *,
    lead: Lead | None = None,
    party: Party | None = None,
    submission: FormSubmission | None = None,
    days: int = LINK_DAYS,
    now=None,
) -> tuple[ContentDownload, str]:
    """A download link of ``offer`` for a lead or contact: the record and the raw token for
    the link (``/download/<token>/``, valid ``days`` days; only its hash is stored)."""
    raw, digest = tokens.new_token()
    now = now or timezone.now()
    download = ContentDownload.objects.create(
        offer=offer,
        lead=lead,
        party=party,
        submission=submission,
        token_hash=digest,
        expires_at=now + dt.timedelta(days=days),
    )
    return download, raw


def download_path(raw: str) -> str:
    return f"/download/{raw}/"


def download_url(raw: str, *, base_url: str | None = None) -> str:
    """The link as it goes into an e-mail (public address of Kreis from the settings, else
    ``base_url``; ``NoPublicAddress`` when neither is known)."""
    return consent_services.link_base(base_url) + download_path(raw)


class LinkState:
    VALID = "valid"
    EXPIRED = "expired"
    GONE = "gone"  # the offer was switched off
    UNKNOWN = "unknown"


def download_for_token(raw: str, *, now=None) -> tuple[ContentDownload | None, str]:
    """The download of a link, and whether it can be used."""
    if not tokens.plausible_token(raw):
        return None, LinkState.UNKNOWN
    download = (
        ContentDownload.objects.select_related("offer", "offer__campaign")
        .filter(token_hash=tokens.hash_token(raw))
        .first()
    )
    if download is None:
        return None, LinkState.UNKNOWN
    if download.expires_at <= (now or timezone.now()):
        return download, LinkState.EXPIRED
    if not download.offer.is_active or not download.offer.file:
        return download, LinkState.GONE
    return download, LinkState.VALID


def download_open(download: ContentDownload, *, now=None) -> ContentDownload:
    """Count one download; the first one of an offer with a campaign touches the campaign
    (kind "download") for the lead or contact."""
    now = now or timezone.now()
    with transaction.atomic():
        first = (
            ContentDownload.objects.filter(pk=download.pk, downloaded_at__isnull=True).update(
                downloaded_at=now
            )
            == 1
        )
        ContentDownload.objects.filter(pk=download.pk).update(
            download_count=F("download_count") + 1
        )
        offer = download.offer
        if first and offer.campaign_id and (download.lead_id or download.party_id):
            record_touch(
                campaign=offer.campaign,
                kind=TouchKind.DOWNLOAD,
                at=now,
                lead=download.lead,
                party=download.party if download.lead_id is None else None,
            )
    download.refresh_from_db(fields=["downloaded_at", "download_count"])
    return download


# --- after a form -----------------------------------------------------------------------------


@dataclass
class HandedOut:
    offer: ContentOffer
    download: ContentDownload
    token: str

    @property
    def path(self) -> str:
        return download_path(self.token)


def form_offers(form: LeadForm):
    return ContentOffer.objects.filter(form=form, is_active=True).order_by("position", "pk")


def _recipient(submission: FormSubmission) -> str:
    if submission.lead is not None and submission.lead.email:
        return submission.lead.email
    email = (submission.data or {}).get("email") if isinstance(submission.data, dict) else None
    return email if isinstance(email, str) else ""


def _sender() -> str:
    return consent_services._sender()


def mail_download_links(
    *, to: str, language: str, handed: list[HandedOut], base_url: str | None = None
) -> EmailMessage:
    """The e-mail with the download links the visitor asked for (sent after the commit).
    Transactional: no advertising, no marketing consent needed."""
    base = consent_services.link_base(base_url)
    expires = min(h.download.expires_at for h in handed)
    with translation.override(language):
        context = {
            "offers": [{"name": h.offer.name, "url": base + h.path} for h in handed],
            "expires_at": expires,
        }
        subject = (
            _("Your download: %(name)s") % {"name": handed[0].offer.name}
            if len(handed) == 1
            else _("Your downloads")
        )
        body = render_to_string("marketing/offers/mail_download.txt", context)
    message = EmailMessage(subject, body, _sender(), [to])
    # robust: a mail server that fails is logged; the links are on the thank-you page too.
    transaction.on_commit(lambda: message.send(fail_silently=False), robust=True)
    return message


def hand_out_for_submission(submission: FormSubmission) -> list[HandedOut]:
    """The offers behind the form just sent: a link each (for the submission's lead or
    contact; taken in the visitor's request, before processing has found them, the links get
    them from ``receivers.links_to_lead``), and the e-mail with them to the address typed.
    The links are kept on the submission object (``submission.offer_downloads``) for the
    thank-you page."""
    handed = [
        HandedOut(
            offer,
            *hand_out(offer, lead=submission.lead, party=submission.party, submission=submission),
        )
        for offer in form_offers(submission.form)
    ]
    submission.offer_downloads = handed  # type: ignore[attr-defined]
    to = _recipient(submission)
    if handed and to:
        try:
            mail_download_links(to=to, language=submission.form.language, handed=handed)
        except consent_services.NoPublicAddress:
            log.warning(
                "offers: no public address of Kreis in the settings; the download links of "
                "submission %s are on the thank-you page only",
                submission.pk,
            )
    return handed


# --- follow-up rules --------------------------------------------------------------------------

RULE_FIELDS = (
    "name",
    "trigger",
    "min_score",
    "path_contains",
    "visit_count",
    "within_days",
    "offer",
    "is_active",
)


def rule_problems(*, trigger: str, min_score: float | None, path_contains: str) -> dict:
    """What is missing or wrong in a rule's trigger, by field (empty when it is complete)."""
    errors = {}
    if trigger == FollowUpTrigger.SCORE and min_score is None:
        errors["min_score"] = _("Enter the score at which the offer is sent.")
    if min_score is not None and not 0 <= min_score <= 100:
        errors["min_score"] = _("A score is between 0 and 100.")
    if trigger == FollowUpTrigger.VISITS and not (path_contains or "").strip():
        errors["path_contains"] = _("Enter a part of the page address, e.g. /pricing.")
    return errors


def _validate_rule(rule: FollowUpRule) -> None:
    rule.full_clean()
    errors = rule_problems(
        trigger=rule.trigger, min_score=rule.min_score, path_contains=rule.path_contains
    )
    if errors:
        raise ValidationError(errors)


def rule_save(*, actor: User | None, rule: FollowUpRule | None = None, **fields) -> FollowUpRule:
    """Create (``rule`` None) or change a follow-up rule, checked as a whole."""
    if rule is None:
        _check(actor, "marketing.add")
        rule = FollowUpRule()
    else:
        _check(actor, "marketing.change_record", rule)
    for key, value in fields.items():
        if key in RULE_FIELDS:
            setattr(rule, key, value)
    rule.path_contains = (rule.path_contains or "").strip()
    _validate_rule(rule)
    rule.save()
    return rule


def rule_delete(*, actor: User | None, rule: FollowUpRule) -> None:
    """Delete a rule; what it sent stays on record (``FollowUpSent.rule`` becomes empty)."""
    _check(actor, "marketing.change_record", rule)
    rule.delete()
