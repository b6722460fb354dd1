"""Consent and double opt-in (UWG §7, GDPR Art. 7): recording a consent with its proof,
confirming it through the link in the confirmation mail, withdrawing it, asking whether
somebody may be contacted, and sending every marketing mail.

- ``request_consent`` records who agreed to what: the time, the IP address, the browser, and
  the exact ``ConsentText`` version shown. Advertising purposes (``MARKETING_PURPOSES``) start
  *pending* and a confirmation mail with a single-use link goes out (double opt-in); only the
  link's SHA-256 is stored. The confirmation mail carries no advertising: the request to
  confirm, the consent text and the imprint, nothing else. A visitor's tracking choice is
  granted at once (basis "visitor"); staff may record "existing customer" (UWG §7 (3), e-mail
  only) or "documented" consent, granted at once.
- ``confirm`` (the link), ``withdraw`` (the unsubscribe link, one-click, staff, API, CLI) and
  ``expire_pending`` (the periodic job) change the status; every step is a ``ConsentEvent``
  and sends ``kreis.marketing.signals.consent_changed``.
- ``may_contact`` answers before every send: a granted, not withdrawn consent (an existing
  customer's counts for marketing e-mail). ``send_marketing_mail`` is the only way a
  marketing mail leaves Kreis: it refuses without consent and adds the unsubscribe link, the
  ``List-Unsubscribe`` headers (RFC 2369, RFC 8058 one-click) and the imprint.
- ``move_to_person`` hands a converted lead's consents to its person (called by the
  ``post_save`` receiver on ``Lead`` in ``receivers.py``).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from email.utils import formataddr

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.db.models import Max, OuterRef, Q, Subquery
from django.db.models.functions import Coalesce
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.crypto import salted_hmac
from django.utils.translation import gettext as _

from kreis.core import tokens
from kreis.leads.models import Lead
from kreis.marketing.models import (
    MARKETING_PURPOSES,
    Consent,
    ConsentBasis,
    ConsentChannel,
    ConsentEvent,
    ConsentEventKind,
    ConsentPurpose,
    ConsentSource,
    ConsentStatus,
    ConsentText,
    MarketingSettings,
)
from kreis.marketing.signals import consent_changed
from kreis.parties.models import ContactKind, ContactPoint, Party

# A pending consent's confirmation mail goes out again at most this often (a form sent twice
# in a row, or somebody typing another person's address over and over).
RESEND_AFTER = dt.timedelta(minutes=15)
ACTIVE = (ConsentStatus.PENDING, ConsentStatus.GRANTED)
STAFF_BASES = (ConsentBasis.EXISTING_CUSTOMER, ConsentBasis.DOCUMENTED)
_UNSUBSCRIBE_SALT = "kreis.marketing.consent.unsubscribe"


class NoConsent(Exception):
    """``send_marketing_mail`` was asked to write to somebody without a valid consent."""


class NoPublicAddress(ValueError):
    """A link for a mail is needed but Kreis does not know its public address."""


# --- texts ------------------------------------------------------------------------------------


def current_text(purpose: str, language: str) -> ConsentText | None:
    """The newest version of the consent text of ``purpose`` in ``language``."""
    return (
        ConsentText.objects.filter(purpose=purpose, language=language).order_by("-version").first()
    )


def text_create_version(*, purpose: str, language: str, text: str, actor=None) -> ConsentText:
    """A new version of a consent text (old versions stay: consents point at them)."""
    text = (text or "").strip()
    if purpose not in ConsentPurpose.values:
        raise ValidationError({"purpose": _("Unknown purpose.")})
    if language not in ("de", "en"):
        raise ValidationError({"language": _("Unknown language.")})
    if not text:
        raise ValidationError({"text": _("The text must not be empty.")})
    with transaction.atomic():
        # Lock the purpose's rows so two editors cannot both take the same number.
        last = (
            ConsentText.objects.select_for_update()
            .filter(purpose=purpose, language=language)
            .aggregate(Max("version"))["version__max"]
        )
        return ConsentText.objects.create(
            purpose=purpose,
            language=language,
            version=(last or 0) + 1,
            text=text,
            created_by=actor,
        )


# --- links ------------------------------------------------------------------------------------


def link_base(base_url: str | None = None) -> str:
    """Where links in marketing mails point: the public address in the lead management
    settings, else ``base_url`` (the host of the request that caused the mail)."""
    configured = MarketingSettings.load().public_base_url.strip()
    base = configured or (base_url or "").strip()
    if not base:
        raise NoPublicAddress(
            _("Kreis does not know its public address: enter it in the lead management settings.")
        )
    return base.rstrip("/")


def confirm_url(base: str, raw: str) -> str:
    return f"{base.rstrip('/')}/consent/confirm/{raw}/"


def unsubscribe_url(base: str, raw: str) -> str:
    return f"{base.rstrip('/')}/consent/unsubscribe/{raw}/"


def unsubscribe_token(consent: Consent) -> str:
    """The raw token of a consent's unsubscribe link: the same in every mail (an old mail's
    link keeps working), derived from the secret key and the consent, and only its SHA-256 is
    stored. Should the secret key change, the next mail's link is stored instead."""
    raw = salted_hmac(
        _UNSUBSCRIBE_SALT,
        f"{consent.pk}:{consent.requested_at.isoformat()}",
        algorithm="sha256",
    ).hexdigest()
    digest = tokens.hash_token(raw)
    if consent.unsubscribe_hash != digest:
        consent.unsubscribe_hash = digest
        Consent.objects.filter(pk=consent.pk).update(unsubscribe_hash=digest)
    return raw


def link_expires_at(consent: Consent) -> dt.datetime:
    """When the confirmation link of a consent stops working: ``doi_link_days`` after the
    last confirmation mail (or the request, when none was sent)."""
    sent = getattr(consent, "last_mail_at", None)
    if sent is None:
        sent = consent.events.filter(kind=ConsentEventKind.MAIL_SENT).aggregate(Max("at"))[
            "at__max"
        ]
    days = MarketingSettings.load().doi_link_days
    return (sent or consent.requested_at) + dt.timedelta(days=days)


class LinkState:
    VALID = "valid"
    USED = "used"
    EXPIRED = "expired"
    WITHDRAWN = "withdrawn"
    UNKNOWN = "unknown"


def consent_for_confirm_token(raw: str, *, now=None) -> tuple[Consent | None, str]:
    """The consent of a confirmation link and whether the link can still be used."""
    if not tokens.plausible_token(raw):
        return None, LinkState.UNKNOWN
    consent = (
        Consent.objects.select_related("text")
        .filter(token_hash=tokens.hash_token(raw))
        .exclude(token_hash="")
        .first()
    )
    if consent is None:
        return None, LinkState.UNKNOWN
    if consent.status == ConsentStatus.GRANTED:
        return consent, LinkState.USED
    if consent.status == ConsentStatus.WITHDRAWN:
        return consent, LinkState.WITHDRAWN
    if consent.status == ConsentStatus.EXPIRED or link_expires_at(consent) <= (
        now or timezone.now()
    ):
        return consent, LinkState.EXPIRED
    return consent, LinkState.VALID


def consent_for_unsubscribe_token(raw: str) -> Consent | None:
    if not tokens.plausible_token(raw):
        return None
    return (
        Consent.objects.select_related("text")
        .filter(unsubscribe_hash=tokens.hash_token(raw))
        .exclude(unsubscribe_hash="")
        .first()
    )


# --- events -----------------------------------------------------------------------------------


def _event(consent, kind, *, at=None, ip=None, user_agent="", actor=None, note="", signal=True):
    event = ConsentEvent.objects.create(
        consent=consent,
        kind=kind,
        at=at or timezone.now(),
        ip_address=ip or None,
        user_agent=(user_agent or "")[:400],
        actor=actor if getattr(actor, "is_authenticated", False) else None,
        note=note[:300],
    )
    if signal:
        consent_changed.send(sender=Consent, consent=consent, kind=kind)
    return event


# --- requesting -------------------------------------------------------------------------------


def _address_of(party: Party | None, lead: Lead | None) -> str:
    if party is not None:
        value = (
            ContactPoint.objects.filter(party=party, kind=ContactKind.EMAIL)
            .order_by("-is_primary", "pk")
            .values_list("value", flat=True)
            .first()
        )
        if value:
            return value
    if lead is not None and lead.email:
        return lead.email
    return ""


def _same_subject(*, party, lead, email) -> Q:
    match = Q(pk__in=[])
    if party is not None:
        match |= Q(party=party)
    if lead is not None:
        match |= Q(lead=lead)
    if email:
        match |= Q(email__iexact=email)
    return match


def request_consent(
    *,
    purpose: str,
    channel: str,
    email: str,
    language: str,
    source: str,
    lead: Lead | None = None,
    party: Party | None = None,
    ip: str | None = None,
    user_agent: str = "",
    actor=None,
    basis: str | None = None,
    base_url: str | None = None,
    note: str = "",
) -> Consent:
    """Record a consent of ``party``/``lead``/``email`` for ``purpose`` on ``channel`` with
    its proof (now, ``ip``, ``user_agent``, the current text version of purpose and language).

    - Advertising purposes (``MARKETING_PURPOSES``) without a staff basis: *pending*, and a
      confirmation mail with a single-use link valid ``doi_link_days`` days goes out when the
      transaction commits (links point at ``MarketingSettings.public_base_url``, else at
      ``base_url``, the requesting page's host; ``NoPublicAddress`` when neither is known).
    - Tracking (a visitor's choice, basis ``visitor``): granted at once.
    - ``basis`` ``existing_customer`` (UWG §7 (3), e-mail only) or ``documented``: recorded by
      staff (``actor`` required), granted at once.

    When the same subject already has a pending or granted consent for purpose and channel, no
    second one is made: a pending one gets its mail again (at most every 15 minutes), and the
    existing consent is returned. Raises ``ValidationError`` for unusable input."""
    purpose = str(purpose)
    channel = str(channel)
    if purpose not in ConsentPurpose.values:
        raise ValidationError({"purpose": _("Unknown purpose.")})
    if channel not in ConsentChannel.values:
        raise ValidationError({"channel": _("Unknown channel.")})
    if source not in ConsentSource.values:
        raise ValidationError({"source": _("Unknown source.")})
    language = language if language in ("de", "en") else settings.LANGUAGE_CODE[:2]
    if language not in ("de", "en"):
        language = "de"
    email = (email or "").strip() or _address_of(party, lead)
    if party is None and lead is None and not email:
        raise ValidationError({"email": _("An e-mail address is needed.")})

    is_marketing = purpose in MARKETING_PURPOSES
    if basis is None:
        basis = ConsentBasis.DOUBLE_OPT_IN if is_marketing else ConsentBasis.VISITOR
    basis = str(basis)
    if basis not in ConsentBasis.values:
        raise ValidationError({"basis": _("Unknown legal basis.")})
    if basis in STAFF_BASES and not getattr(actor, "is_authenticated", False):
        raise ValidationError({"basis": _("Only staff can record this legal basis.")})
    if basis == ConsentBasis.EXISTING_CUSTOMER and (
        purpose == ConsentPurpose.TRACKING or channel != ConsentChannel.EMAIL
    ):
        raise ValidationError(
            {"basis": _("The existing-customer exception applies only to advertising e-mail.")}
        )
    if basis == ConsentBasis.VISITOR and is_marketing:
        raise ValidationError(
            {"basis": _("Advertising needs double opt-in or a basis recorded by staff.")}
        )
    if basis == ConsentBasis.DOUBLE_OPT_IN and not is_marketing:
        basis = ConsentBasis.VISITOR
    double_opt_in = basis == ConsentBasis.DOUBLE_OPT_IN
    if double_opt_in and not email:
        raise ValidationError(
            {"email": _("An e-mail address is needed to send the confirmation request.")}
        )

    with transaction.atomic():
        existing = (
            Consent.objects.select_for_update()
            .filter(
                _same_subject(party=party, lead=lead, email=email),
                purpose=purpose,
                channel=channel,
                status__in=ACTIVE,
            )
            .order_by("-requested_at", "-pk")
            .first()
        )
        if existing is not None:
            changed = []
            if party is not None and existing.party_id is None:
                existing.party = party
                changed.append("party")
            if lead is not None and existing.lead_id is None:
                existing.lead = lead
                changed.append("lead")
            if changed:
                existing.save(update_fields=changed)
            if existing.status == ConsentStatus.PENDING and existing.basis == basis:
                _resend(existing, base_url=base_url, ip=ip, user_agent=user_agent, actor=actor)
            if existing.status == ConsentStatus.GRANTED or existing.basis == basis:
                return existing
            # A pending double opt-in that staff now documents otherwise: the new record
            # takes over, the pending one ends.
            existing.status = ConsentStatus.EXPIRED
            existing.save(update_fields=["status"])
            _event(existing, ConsentEventKind.EXPIRED, actor=actor, note="superseded")

        text = current_text(purpose, language)
        if text is None:
            from kreis.marketing.defaults import ensure_defaults

            ensure_defaults()
            text = current_text(purpose, language)
        now = timezone.now()
        consent = Consent.objects.create(
            party=party,
            lead=lead,
            email=email,
            purpose=purpose,
            channel=channel,
            status=ConsentStatus.PENDING if double_opt_in else ConsentStatus.GRANTED,
            basis=basis,
            source=source,
            text=text,
            language=language,
            requested_at=now,
            ip_address=ip or None,
            user_agent=(user_agent or "")[:400],
            confirmed_at=None if double_opt_in else now,
            recorded_by=actor if getattr(actor, "is_authenticated", False) else None,
            note=(note or "")[:300],
        )
        unsubscribe_token(consent)
        if double_opt_in:
            _event(
                consent,
                ConsentEventKind.REQUESTED,
                at=now,
                ip=ip,
                user_agent=user_agent,
                actor=actor,
            )
            _send_confirmation(consent, base=link_base(base_url), now=now, actor=actor)
        else:
            _event(
                consent,
                ConsentEventKind.GRANTED,
                at=now,
                ip=ip,
                user_agent=user_agent,
                actor=actor,
                note=basis,
            )
    return consent


def _resend(consent, *, base_url, ip, user_agent, actor) -> bool:
    """The confirmation mail of a pending consent again (a new link; the old one ends),
    unless the last one went out less than ``RESEND_AFTER`` ago."""
    now = timezone.now()
    last = consent.events.filter(kind=ConsentEventKind.MAIL_SENT).aggregate(Max("at"))["at__max"]
    if last is not None and now - last < RESEND_AFTER:
        return False
    _send_confirmation(consent, base=link_base(base_url), now=now, actor=actor)
    return True


def _sender() -> str:
    config = MarketingSettings.load()
    if config.sender_email:
        return formataddr((config.sender_name, config.sender_email))
    return settings.DEFAULT_FROM_EMAIL


def _send_confirmation(consent: Consent, *, base: str, now, actor=None) -> None:
    """A new confirmation link for ``consent`` and the mail with it, sent after the commit:
    the request to confirm, the consent text and the imprint — no advertising."""
    raw, digest = tokens.new_token()
    consent.token_hash = digest
    consent.save(update_fields=["token_hash"])
    config = MarketingSettings.load()
    expires = now + dt.timedelta(days=config.doi_link_days)
    with translation.override(consent.language):
        context = {
            "purpose": consent.get_purpose_display(),
            "url": confirm_url(base, raw),
            "expires_at": expires,
            "text": consent.text.text if consent.text else "",
            "imprint": config.imprint.strip(),
        }
        subject = _("Please confirm: %(purpose)s") % {"purpose": context["purpose"]}
        body = render_to_string("marketing/consent/mail_confirm.txt", context)
    message = EmailMultiAlternatives(subject, body, _sender(), [consent.email])
    transaction.on_commit(lambda: message.send(fail_silently=False))
    _event(consent, ConsentEventKind.MAIL_SENT, at=now, actor=actor, signal=False)


# --- confirming, withdrawing, expiring --------------------------------------------------------


def confirm(consent: Consent, *, ip: str | None = None, user_agent: str = "") -> bool:
    """The person opened the link and confirmed: granted, with the time and address of the
    confirmation. False when the consent was no longer waiting (nothing changes)."""
    with transaction.atomic():
        locked = Consent.objects.select_for_update().get(pk=consent.pk)
        if locked.status != ConsentStatus.PENDING:
            return False
        now = timezone.now()
        locked.status = ConsentStatus.GRANTED
        locked.confirmed_at = now
        locked.confirmed_ip = ip or None
        locked.save(update_fields=["status", "confirmed_at", "confirmed_ip"])
        _event(locked, ConsentEventKind.CONFIRMED, at=now, ip=ip, user_agent=user_agent)
    consent.refresh_from_db()
    return True


class Via:
    """How a withdrawal arrived (kept in the event's note)."""

    LINK = "link"
    ONE_CLICK = "one-click"
    STAFF = "staff"
    API = "api"
    CLI = "cli"


def withdraw(
    consent: Consent,
    *,
    actor=None,
    ip: str | None = None,
    user_agent: str = "",
    via: str = Via.STAFF,
) -> bool:
    """End a consent for good (a new consent would be a new record): withdrawn at once, so
    the next ``may_contact`` says no. False when it was withdrawn already."""
    with transaction.atomic():
        locked = Consent.objects.select_for_update().get(pk=consent.pk)
        if locked.status == ConsentStatus.WITHDRAWN:
            return False
        now = timezone.now()
        locked.status = ConsentStatus.WITHDRAWN
        locked.withdrawn_at = now
        locked.save(update_fields=["status", "withdrawn_at"])
        _event(
            locked,
            ConsentEventKind.WITHDRAWN,
            at=now,
            ip=ip,
            user_agent=user_agent,
            actor=actor,
            note=via,
        )
    consent.refresh_from_db()
    return True


def expiring_pending(*, now=None):
    """Pending double opt-ins whose last confirmation link has run out."""
    now = now or timezone.now()
    last_mail = (
        ConsentEvent.objects.filter(consent=OuterRef("pk"), kind=ConsentEventKind.MAIL_SENT)
        .order_by("-at")
        .values("at")[:1]
    )
    limit = now - dt.timedelta(days=MarketingSettings.load().doi_link_days)
    return (
        Consent.objects.filter(status=ConsentStatus.PENDING)
        .annotate(last_mail_at=Coalesce(Subquery(last_mail), "requested_at"))
        .filter(last_mail_at__lte=limit)
    )


def expire_pending(*, now=None) -> int:
    """Mark pending consents whose link ran out as expired (the periodic job). Returns how
    many."""
    count = 0
    for consent in expiring_pending(now=now):
        with transaction.atomic():
            updated = Consent.objects.filter(pk=consent.pk, status=ConsentStatus.PENDING).update(
                status=ConsentStatus.EXPIRED
            )
            if updated:
                consent.status = ConsentStatus.EXPIRED
                _event(consent, ConsentEventKind.EXPIRED, at=now)
                count += 1
    return count


# --- who may be contacted ---------------------------------------------------------------------


def valid_consents(*, purpose: str, channel: str, party=None, lead=None, email=None):
    """Granted consents of the subject for purpose and channel (an existing customer's
    e-mail consent counts for every advertising purpose by e-mail)."""
    email = (email or "").strip()
    if party is None and lead is None and not email:
        return Consent.objects.none()
    purpose_match = Q(purpose=purpose)
    if purpose in MARKETING_PURPOSES and channel == ConsentChannel.EMAIL:
        purpose_match |= Q(basis=ConsentBasis.EXISTING_CUSTOMER, purpose__in=MARKETING_PURPOSES)
    return Consent.objects.filter(
        _same_subject(party=party, lead=lead, email=email),
        purpose_match,
        channel=channel,
        status=ConsentStatus.GRANTED,
        withdrawn_at__isnull=True,
    ).order_by("-confirmed_at", "-pk")


def withdrawn_later(consent: Consent, *, party=None, lead=None, email=None) -> bool:
    """Whether a later withdrawal for the same purpose and channel stands against it (a
    person who unsubscribed must not be written to on an older consent)."""
    return (
        Consent.objects.filter(
            _same_subject(party=party, lead=lead, email=email),
            purpose=consent.purpose,
            channel=consent.channel,
            status=ConsentStatus.WITHDRAWN,
            withdrawn_at__gt=consent.confirmed_at or consent.requested_at,
        )
        .exclude(pk=consent.pk)
        .exists()
    )


def contact_consent(
    *, purpose: str, channel: str, party=None, lead=None, email=None
) -> Consent | None:
    """The consent that allows contacting the subject, or None."""
    for consent in valid_consents(
        purpose=purpose, channel=channel, party=party, lead=lead, email=email
    ):
        if not withdrawn_later(consent, party=party, lead=lead, email=email):
            return consent
    return None


def may_contact(*, purpose: str, channel: str, party=None, lead=None, email=None) -> bool:
    """Whether the subject (a party, a lead, or a bare address) may be contacted for
    ``purpose`` on ``channel`` now: a granted consent, not withdrawn since. Read from the
    database on every call, so a withdrawal applies before the next send."""
    return (
        contact_consent(purpose=purpose, channel=channel, party=party, lead=lead, email=email)
        is not None
    )


# --- sending marketing mail -------------------------------------------------------------------


@dataclass
class SentMail:
    consent: Consent
    to: str
    message: EmailMultiAlternatives


def send_marketing_mail(
    *,
    purpose: str,
    subject: str,
    text: str,
    html: str | None = None,
    consent: Consent | None = None,
    party: Party | None = None,
    lead: Lead | None = None,
    email: str | None = None,
    base_url: str | None = None,
    headers: dict[str, str] | None = None,
    attachments: list[tuple[str, bytes, str]] | None = None,
    on_commit: bool = True,
    connection=None,
) -> SentMail:
    """Send one marketing (advertising) e-mail — every one goes through here.

    Give either ``consent`` (checked to be granted and still valid for ``purpose``), or the
    recipient (``party``, ``lead`` or ``email``), for whom a valid e-mail consent for
    ``purpose`` is looked up (``may_contact``). Raises ``NoConsent`` when there is none; no
    mail leaves Kreis then. The mail goes to the consent's address (else the party's or lead's
    primary address) in the form given: ``subject``, plain ``text`` and optional ``html``
    (already rendered in the recipient's language, ``consent.language``). Kreis adds

    - an unsubscribe link and the imprint (``MarketingSettings.imprint``) at the end of the
      text and the HTML,
    - ``List-Unsubscribe: <https://…/consent/unsubscribe/<token>/>`` and
      ``List-Unsubscribe-Post: List-Unsubscribe=One-Click`` (RFC 2369, RFC 8058), so mail
      programs offer a one-click unsubscribe that withdraws the consent.

    Links use the public address in the lead management settings, else ``base_url``
    (``NoPublicAddress`` when neither is known). Sent after the commit (``on_commit``), or at
    once. ``headers`` and ``attachments`` (name, content, MIME type) are passed on;
    ``connection`` is an open mail connection to send through (a mailing reuses one for many
    mails), else Django's default. Returns what was sent."""
    if consent is not None:
        consent = Consent.objects.get(pk=consent.pk)
        valid = (
            consent.status == ConsentStatus.GRANTED
            and consent.channel == ConsentChannel.EMAIL
            and (
                consent.purpose == purpose
                or (
                    consent.basis == ConsentBasis.EXISTING_CUSTOMER
                    and purpose in MARKETING_PURPOSES
                )
            )
            and not withdrawn_later(
                consent, party=consent.party, lead=consent.lead, email=consent.email
            )
        )
        if not valid:
            raise NoConsent(_("This consent does not allow this mail."))
    else:
        consent = contact_consent(
            purpose=purpose, channel=ConsentChannel.EMAIL, party=party, lead=lead, email=email
        )
        if consent is None:
            raise NoConsent(_("There is no valid consent for this mail."))
    to = (email or "").strip() or consent.email or _address_of(consent.party, consent.lead)
    if not to:
        raise NoConsent(_("There is no e-mail address for this consent."))
    base = link_base(base_url)
    url = unsubscribe_url(base, unsubscribe_token(consent))
    config = MarketingSettings.load()
    with translation.override(consent.language):
        context = {"url": url, "imprint": config.imprint.strip()}
        footer_text = render_to_string("marketing/consent/mail_footer.txt", context)
        footer_html = render_to_string("marketing/consent/mail_footer.html", context)
    all_headers = dict(headers or {})
    unsubscribe = [f"<{url}>"]
    if config.sender_email:
        unsubscribe.append(f"<mailto:{config.sender_email}?subject=unsubscribe>")
    all_headers["List-Unsubscribe"] = ", ".join(unsubscribe)
    all_headers["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    message = EmailMultiAlternatives(
        subject,
        text.rstrip() + "\n\n" + footer_text,
        _sender(),
        [to],
        headers=all_headers,
        connection=connection,
    )
    if html is not None:
        if "</body>" in html:
            html = html.replace("</body>", footer_html + "</body>", 1)
        else:
            html = html + footer_html
        message.attach_alternative(html, "text/html")
    for name, content, mimetype in attachments or []:
        message.attach(name, content, mimetype)
    if on_commit:
        transaction.on_commit(lambda: message.send(fail_silently=False))
    else:
        message.send(fail_silently=False)
    return SentMail(consent=consent, to=to, message=message)


# --- conversion -------------------------------------------------------------------------------


def move_to_person(lead: Lead, person: Party) -> int:
    """A converted lead's consents now belong to its person as well (they keep the lead, so
    the lead's page still shows them); each gets a "moved" event. Returns how many."""
    moved = 0
    for consent in Consent.objects.filter(lead=lead, party__isnull=True):
        consent.party = person
        consent.save(update_fields=["party"])
        _event(consent, ConsentEventKind.MOVED, note=str(person)[:300])
        moved += 1
    return moved
