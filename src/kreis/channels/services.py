"""Channel preferences and the one decision whether a party may be contacted on a channel.

``may_use(party, channel, *, at=None, purpose="marketing") -> Verdict``
    Everything in Kreis that contacts a party — an automation rule's e-mail, a playbook's
    offer mail, a mailing, a call list — asks here first and honours the answer. The verdict
    (``allowed``, ``reason``; a ``Verdict`` is true when allowed) combines, in this order:

    1. the party's opt-out on the channel (do not e-mail / call / send letters / contact on
       social media): refused for every purpose, service mail included;
    2. with ``at`` (the time of the contact), the party's preferred contact times: refused
       outside the days and hours the party gave. Without ``at`` the times are not checked
       (an e-mail waits in the mailbox; give ``at`` for calls and visits);
    3. for an advertising purpose — ``"marketing"`` (the default) or any other
       ``ConsentPurpose`` value such as ``"newsletter"`` — a valid consent on the channel
       (``kreis.marketing.consent.services.may_contact``), on the channels that have consent
       (e-mail, phone, post). ``purpose="service"`` is a contact the customer relationship
       needs (an answer, an appointment): no consent is asked for, 1. and 2. still apply.

    ``channel`` is a ``Channel`` value (``email``, ``phone``, ``post``, ``social``,
    ``in_person``) or a name used elsewhere (``call``, ``letter``, ``meeting``, ``sms``).
    Read from the database on every call, so an opt-out applies before the next contact.

``preferred_language(party) -> "de" | "en" | None``
    The language the party asked to be written to, for the recipient-language choice of
    templates (``kreis.comms.queries.recipient_language`` may ask it first); ``None``: no
    preference given.

The writes (``preference_update``, ``opt_out``, ``opt_out_import``) record who changed the
preferences and when, keep every version in the history, and run in one transaction.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from kreis.channels.models import (
    ALIASES,
    CONSENT_CHANNEL,
    OPT_OUT_FIELD,
    Channel,
    ChannelPreference,
)
from kreis.core.web import csv_cell
from kreis.marketing.models import ConsentPurpose
from kreis.parties.models import ContactKind, ContactPoint, Party
from kreis.parties.normalize import normalize_email, normalize_phone

SERVICE = "service"
EDITABLE = (
    "preferred_channel",
    "language",
    "weekdays",
    "time_from",
    "time_to",
    "no_email_since",
    "no_call_since",
    "no_post_since",
    "no_social_since",
    "note",
)
MAX_IMPORT_ROWS = 50_000


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    reason: str

    def __bool__(self) -> bool:
        return self.allowed


def channel_of(value: str) -> Channel:
    """The channel a name stands for; ValueError for an unknown one."""
    key = (value or "").strip().lower()
    if key in ALIASES:
        return ALIASES[key]
    return Channel(key)


def preference_of(party: Party) -> ChannelPreference:
    """The party's preferences: its row, or an unsaved one with nothing set."""
    found = ChannelPreference.objects.filter(party_id=party.pk).first()
    return found if found is not None else ChannelPreference(party=party)


def preferred_language(party: Party | None) -> str | None:
    if party is None or party.pk is None:
        return None
    language = (
        ChannelPreference.objects.filter(party_id=party.pk)
        .values_list("language", flat=True)
        .first()
    )
    return language or None


def outside_times(pref: ChannelPreference, at: dt.datetime) -> str:
    """Why ``at`` is outside the party's preferred days and hours, or "" when it is inside."""
    local = timezone.localtime(at) if timezone.is_aware(at) else at
    if pref.weekdays and str(local.isoweekday()) not in pref.weekdays:
        return _("%(party)s wants to be contacted only on %(days)s.") % {
            "party": pref.party,
            "days": ", ".join(pref.weekday_labels()),
        }
    clock = local.time()
    if pref.time_from and clock < pref.time_from or pref.time_to and clock >= pref.time_to:
        return _("%(party)s wants to be contacted only between %(start)s and %(end)s.") % {
            "party": pref.party,
            "start": pref.time_from.strftime("%H:%M") if pref.time_from else "00:00",
            "end": pref.time_to.strftime("%H:%M") if pref.time_to else "24:00",
        }
    return ""


def may_use(
    party: Party,
    channel: str,
    *,
    at: dt.datetime | None = None,
    purpose: str = ConsentPurpose.MARKETING,
) -> Verdict:
    """Whether ``party`` may be contacted on ``channel`` (see the module's docstring)."""
    chosen = channel_of(channel)
    pref = preference_of(party)
    since = pref.opted_out(chosen)
    if since is not None:
        return Verdict(
            False,
            _("%(party)s opted out of %(channel)s on %(date)s.")
            % {
                "party": party,
                "channel": chosen.label,
                "date": timezone.localtime(since).date().isoformat(),
            },
        )
    if at is not None and pref.pk is not None:
        outside = outside_times(pref, at)
        if outside:
            return Verdict(False, outside)
    consent_channel = CONSENT_CHANNEL.get(chosen)
    if purpose != SERVICE and consent_channel is not None:
        from kreis.marketing.consent.services import may_contact

        if purpose not in ConsentPurpose.values:
            raise ValueError(f"unknown purpose {purpose!r}")
        if not may_contact(purpose=purpose, channel=consent_channel, party=party):
            return Verdict(
                False,
                _("%(party)s has given no consent to %(purpose)s by %(channel)s.")
                % {
                    "party": party,
                    "purpose": ConsentPurpose(purpose).label,
                    "channel": chosen.label,
                },
            )
    return Verdict(
        True,
        _("%(party)s may be contacted by %(channel)s.")
        % {
            "party": party,
            "channel": chosen.label,
        },
    )


# --- writes -----------------------------------------------------------------------------------


def _check_edit(actor, party: Party) -> None:
    if actor is not None and not actor.has_perm("core.change_record", party):
        raise PermissionDenied


def _clean(pref: ChannelPreference) -> None:
    errors: dict[str, list[str]] = {}
    if pref.weekdays:
        digits = sorted(set(pref.weekdays))
        if any(d not in "1234567" for d in digits):
            errors["weekdays"] = [_("Weekdays are the digits 1 (Monday) to 7 (Sunday).")]
        pref.weekdays = "".join(digits)
    if pref.time_from and pref.time_to and pref.time_from >= pref.time_to:
        errors["time_to"] = [_("The end of the contact time must be after its start.")]
    try:
        pref.full_clean(exclude=["party", "changed_by"])
    except ValidationError as exc:
        for field, messages in exc.message_dict.items():
            errors.setdefault(field, []).extend(messages)
    if errors:
        raise ValidationError(errors)


def _save(actor, pref: ChannelPreference) -> ChannelPreference:
    pref.changed_by = actor
    pref._history_user = actor
    pref.save()
    return pref


@transaction.atomic
def preference_update(*, actor, party: Party, **fields: Any) -> ChannelPreference:
    """Change the party's preferences (only the fields given). An opt-out is given as a time
    or ``True`` (now); ``False``/``None`` lifts it. Raises ValidationError, PermissionDenied."""
    _check_edit(actor, party)
    unknown = set(fields) - set(EDITABLE)
    if unknown:
        raise ValueError(f"unknown fields: {sorted(unknown)}")
    pref = ChannelPreference.objects.select_for_update().filter(
        party_id=party.pk
    ).first() or ChannelPreference(party=party)
    now = timezone.now()
    for name, value in fields.items():
        if name in OPT_OUT_FIELD.values():
            if value is True:
                value = getattr(pref, name) or now
            elif value is False:
                value = None
        elif value is None and name not in ("time_from", "time_to"):
            value = ""
        setattr(pref, name, value)
    _clean(pref)
    return _save(actor, pref)


def opt_out(*, actor, party: Party, channel: str, note: str = "", lift: bool = False):
    """Record (or, ``lift``, remove) the party's opt-out on a channel, with a note."""
    chosen = channel_of(channel)
    if chosen not in OPT_OUT_FIELD:
        raise ValidationError(_("There is no opt-out for %s.") % chosen.label)
    fields: dict[str, Any] = {OPT_OUT_FIELD[chosen]: not lift}
    if note:
        current = preference_of(party).note
        fields["note"] = f"{current}\n{note}".strip() if current else note
    return preference_update(actor=actor, party=party, **fields)


@dataclass
class ImportResult:
    opted_out: int
    unchanged: int


def _parties_for(value: str) -> list[int]:
    """The ids of the live parties with this e-mail address or phone number."""
    if "@" in value:
        kind, key = ContactKind.EMAIL, normalize_email(value)
    else:
        kind, key = ContactKind.PHONE, normalize_phone(value)
    return list(
        ContactPoint.objects.filter(kind=kind, value=key, party__deleted_at__isnull=True)
        .values_list("party_id", flat=True)
        .distinct()
    )


def opt_out_import(*, actor, text: str, channel: str = "", note: str = "") -> ImportResult:
    """Opt-outs from CSV text: a column ``email`` or ``phone`` (or ``value``: either), an
    optional ``channel`` (default: e-mail for an address, phone for a number, or ``channel``)
    and ``note``. All rows or none: any unreadable row, unknown address or number, or a party
    the actor may not change raises ValidationError naming every bad line. Notes are stored
    defused (a leading = + - @ cannot become a formula when exported again)."""
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    columns = {(c or "").strip().lower() for c in reader.fieldnames or []}
    if not columns & {"email", "phone", "value"}:
        raise ValidationError(_("The CSV needs a column “email”, “phone” or “value”."))
    errors: list[str] = []
    work: list[tuple[int, Channel, str]] = []
    for line, row in enumerate(reader, start=2):
        if line - 1 > MAX_IMPORT_ROWS:
            raise ValidationError(_("At most %d rows at once.") % MAX_IMPORT_ROWS)
        row = {(k or "").strip().lower(): (v or "").strip() for k, v in row.items() if k}
        value = row.get("email") or row.get("phone") or row.get("value") or ""
        if not value:
            errors.append(_("Line %(line)d: no e-mail address or phone number.") % {"line": line})
            continue
        try:
            wanted = row.get("channel") or channel or ("email" if "@" in value else "phone")
            chosen = channel_of(wanted)
            if chosen not in OPT_OUT_FIELD:
                raise ValueError
        except ValueError:
            errors.append(
                _("Line %(line)d: unknown channel “%(channel)s”.")
                % {"line": line, "channel": csv_cell(wanted)}
            )
            continue
        try:
            party_ids = _parties_for(value)
        except ValidationError as exc:
            errors.append(_("Line %(line)d: %(error)s") % {"line": line, "error": exc.messages[0]})
            continue
        if not party_ids:
            errors.append(
                _("Line %(line)d: no party has “%(value)s”.")
                % {"line": line, "value": csv_cell(value)}
            )
            continue
        for party_id in party_ids:
            work.append((party_id, chosen, csv_cell(row.get("note") or note)))
    if errors:
        raise ValidationError(errors)
    done = unchanged = 0
    with transaction.atomic():
        parties = Party.objects.in_bulk({party_id for party_id, _c, _n in work})
        for party_id, chosen, row_note in work:
            party = parties[party_id]
            if actor is not None and not actor.has_perm("core.change_record", party):
                raise ValidationError(_("You may not change %(party)s.") % {"party": party})
            if preference_of(party).opted_out(chosen):
                unchanged += 1
                continue
            opt_out(actor=actor, party=party, channel=chosen, note=row_note)
            done += 1
    return ImportResult(opted_out=done, unchanged=unchanged)
