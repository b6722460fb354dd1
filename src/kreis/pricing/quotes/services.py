"""Quotes: built from a deal's lines with the prices and discounts that apply, versioned, sent
as PDF, accepted by the customer's link or by the rep — which makes the order.

States (one service per transition, each validating it):

    draft ──submit──▶ approved (ready) ──send──▶ sent ──accept──▶ accepted (order made)
      │                   ▲                       │  └──reject──▶ rejected
      └─submit (above the rep's limit)─▶ awaiting approval ──reject──▶ draft
                                                              approve ─┘ (→ approved)
    any open state ──revise──▶ superseded (a new version starts as draft)
    approved/sent past "valid until" ──expire──▶ expired
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.mail import EmailMessage
from django.db import transaction
from django.db.models import Max, Q, QuerySet
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from kreis.channels.services import preferred_language
from kreis.commerce.services import transaction_create
from kreis.core.models import Membership, Role, User
from kreis.core.services import notify_in_own_language
from kreis.core.tokens import hash_token, new_token, plausible_token
from kreis.parties.models import ContactKind, Party
from kreis.pricing.models import (
    ApprovalStatus,
    DiscountApproval,
    Quote,
    QuoteLine,
    QuoteState,
    WithdrawalReason,
)
from kreis.pricing.pricelists.services import (
    Memberships,
    best_discount,
    discount_limit_for,
    ensure_defaults,
    price_for,
)
from kreis.sales.models import Deal, Stage, StageKind
from kreis.sales.services import deal_move

log = logging.getLogger("kreis.pricing")

ZERO = Decimal("0")
CENT = Decimal("0.01")
HUNDRED = Decimal("100")
GERMAN_COUNTRIES = {"DE", "AT", "CH", "LI"}


def _require_deal(actor: User | None, deal: Deal) -> None:
    if actor is not None and not actor.has_perm("core.change_record", deal):
        raise PermissionDenied


def _money(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def line_net(quantity: Decimal, unit_price: Decimal, percent: Decimal) -> Decimal:
    """net = quantity × unit price × (1 − discount % / 100), to the cent."""
    return _money(quantity * unit_price * (HUNDRED - percent) / HUNDRED)


def customer_language(party: Party, fallback: str) -> str:
    """The language of the customer's channel preferences; else German for a customer with its
    first address in DE/AT/CH/LI, English for another country, ``fallback`` without an
    address."""
    preferred = preferred_language(party)
    if preferred in ("de", "en"):
        return preferred
    countries = [a.country for a in party.addresses.all()]
    if not countries:
        return fallback
    return "de" if countries[0].upper() in GERMAN_COUNTRIES else "en"


def customer_email(deal: Deal) -> str:
    """The contact person's primary e-mail, else the organisation's."""
    for party in (deal.contact, deal.organization):
        if party is None:
            continue
        emails = [c for c in party.contact_points.all() if c.kind == ContactKind.EMAIL]
        emails.sort(key=lambda c: not c.is_primary)
        if emails:
            return emails[0].value
    return ""


def _totals(quote: Quote, lines: list[QuoteLine]) -> None:
    quote.gross_total = sum((line.gross for line in lines), ZERO)
    quote.net_total = sum((line.net for line in lines), ZERO)
    quote.max_discount = max((line.discount_percent for line in lines), default=ZERO)
    limit = discount_limit_for(quote.created_by)
    # A discount approved on the deal's own lines covers the quote up to that percentage.
    limit = max(limit, approved_deal_discount(quote.deal))
    quote.needs_approval = any(
        line.discount_percent > max(line.rule_percent, limit) for line in lines
    )


def approved_deal_discount(deal: Deal) -> Decimal:
    """The highest discount a manager approved on the deal's own lines (0 without one)."""
    if deal.pk is None:
        return ZERO
    found = DiscountApproval.objects.filter(
        deal=deal, quote__isnull=True, status=ApprovalStatus.APPROVED
    ).aggregate(top=Max("requested_discount"))["top"]
    return found or ZERO


@dataclass(frozen=True)
class DealDiscountCheck:
    """Whether the discounts on a deal's own lines need a manager: ``over`` is the highest line
    discount above both the owner's limit and the line's discount rule (0 if none is)."""

    over: Decimal
    limit: Decimal
    approved: Decimal
    pending: DiscountApproval | None

    @property
    def needed(self) -> bool:
        return self.over > self.approved and self.pending is None

    @property
    def state(self) -> str:
        if self.over == ZERO:
            return ""
        if self.over <= self.approved:
            return "approved"
        return "requested" if self.pending is not None else "needed"


def deal_discount_check(deal: Deal) -> DealDiscountCheck:
    """Each deal line's own discount (a share of quantity × price) against the deal owner's
    limit and the discount rule that applies to the line."""
    limit = discount_limit_for(deal.owner)
    party = deal.organization or deal.contact
    memberships = Memberships(party)
    today = timezone.localdate()
    over = ZERO
    for line in deal.lines.all():
        gross = line.quantity * line.unit_price
        if not line.discount or gross <= 0:
            continue
        own = (line.discount * HUNDRED / gross).quantize(CENT)
        if own <= limit or own <= over:
            continue
        rule = best_discount(party=party, quantity=line.quantity, on=today, memberships=memberships)
        if own > rule.percent:
            over = own
    pending = (
        DiscountApproval.objects.filter(
            deal=deal,
            quote__isnull=True,
            status=ApprovalStatus.REQUESTED,
            requested_discount__gte=over,
        ).first()
        if over
        else None
    )
    return DealDiscountCheck(
        over=over, limit=limit, approved=approved_deal_discount(deal), pending=pending
    )


@transaction.atomic
def deal_approval_request(*, actor: User | None, deal: Deal, reason: str = "") -> DiscountApproval:
    """The rep asks a manager to approve the discounts on the deal's own lines (above her
    limit); the approvers are notified. A quote built from those lines then needs no second
    approval up to the approved percentage."""
    _require_deal(actor, deal)
    deal = Deal.objects.select_for_update().get(pk=deal.pk)
    check = deal_discount_check(deal)
    if check.state == "":
        raise ValidationError(_("No line discount of this deal is above the limit."))
    if check.state == "approved":
        raise ValidationError(_("The discount of this deal is approved already."))
    if check.state == "requested":
        raise ValidationError(_("The discount of this deal is waiting for a decision already."))
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": _("Say why the customer should get this discount.")})
    rep = actor or deal.owner
    approval = DiscountApproval.objects.create(
        deal=deal,
        quote=None,
        requested_discount=check.over,
        limit_percent=check.limit,
        reason=reason[:2000],
        requested_by=rep,
    )
    _tell(
        approvers_for(rep),
        message=lambda: (
            _("Discount approval requested: %(deal)s") % {"deal": deal.name},
            _(
                "%(rep)s asks for %(percent)s %% discount on %(deal)s (limit %(limit)s %%): "
                "%(reason)s"
            )
            % {
                "rep": rep or "-",
                "percent": approval.requested_discount,
                "deal": deal.name,
                "limit": approval.limit_percent,
                "reason": reason,
            },
        ),
        url=reverse("pricing:approvals"),
        level="warning",
    )
    return approval


def _check_percent(value: Decimal, key: str) -> Decimal:
    try:
        value = Decimal(value)
    except (TypeError, ArithmeticError, ValueError):
        raise ValidationError({key: _("Enter a percentage between 0 and 100.")}) from None
    if not value.is_finite() or value < 0 or value > 100:
        raise ValidationError({key: _("Enter a percentage between 0 and 100.")})
    return value.quantize(CENT)


def _next_version(deal: Deal) -> int:
    last = deal.quotes.order_by("-version").values_list("version", flat=True).first()
    return (last or 0) + 1


def _supersede_open(deal: Deal, *, actor: User | None, except_pk: int | None = None) -> None:
    """The earlier open versions end; their pending approval requests are withdrawn."""
    open_quotes = deal.quotes.filter(
        state__in=[
            QuoteState.DRAFT,
            QuoteState.AWAITING_APPROVAL,
            QuoteState.APPROVED,
            QuoteState.SENT,
        ]
    )
    if except_pk is not None:
        open_quotes = open_quotes.exclude(pk=except_pk)
    ids = list(open_quotes.values_list("pk", flat=True))
    if not ids:
        return
    approvals_withdraw(
        approvals=DiscountApproval.objects.filter(quote_id__in=ids),
        actor=actor,
        because=WithdrawalReason.QUOTE_REVISED,
    )
    # A superseded version's link is dead (link_usable wants a sent quote): the customer
    # accepts only the current one. It still finds the quote, so the page can say it was
    # replaced instead of calling the link wrong.
    Quote.objects.filter(pk__in=ids).update(state=QuoteState.SUPERSEDED, updated_at=timezone.now())


def approvals_withdraw(
    *, approvals: QuerySet[DiscountApproval], actor: User | None, because: str
) -> list[DiscountApproval]:
    """The pending requests among ``approvals`` end without a decision: withdrawn, with who
    (``actor``), when and why (``because``, a ``WithdrawalReason``) kept in the approval
    history. They leave the approvers' inbox; each approver (but the actor) is told, in her
    own language. Returns the withdrawn requests."""
    pending = list(
        approvals.filter(status=ApprovalStatus.REQUESTED)
        .select_for_update(of=("self",))
        .select_related("deal", "quote", "requested_by")
    )
    now = timezone.now()
    for approval in pending:
        approval.status = ApprovalStatus.WITHDRAWN
        approval.decided_by = actor
        approval.decided_at = now
        approval.withdrawn_because = because
        approval.save(
            update_fields=["status", "decided_by", "decided_at", "withdrawn_because", "updated_at"]
        )
        _tell(
            [u for u in approvers_for(approval.requested_by) if actor is None or u.pk != actor.pk],
            message=lambda approval=approval: (
                _("Approval request withdrawn: %(subject)s") % {"subject": approval.subject_label},
                _(
                    "%(rep)s's request for %(percent)s %% discount on %(deal)s is withdrawn: "
                    "%(reason)s. Nothing is left to decide."
                )
                % {
                    "rep": approval.requested_by or "-",
                    "percent": approval.requested_discount,
                    "deal": approval.deal.name if approval.deal_id else "-",
                    "reason": approval.get_withdrawn_because_display(),
                },
            ),
            url=reverse("pricing:approvals"),
        )
    return pending


def deal_lines_changed(*, actor: User | None, deal: Deal) -> None:
    """The deal's lines changed (``kreis.sales.line_changes``): a pending request to approve
    the discounts of its former lines is withdrawn. If the new lines are still above the rep's
    limit, ``deal_discount_check`` says a new request is needed."""
    approvals_withdraw(
        approvals=DiscountApproval.objects.filter(deal=deal, quote__isnull=True),
        actor=actor,
        because=WithdrawalReason.LINES_CHANGED,
    )


@transaction.atomic
def quote_create(
    *,
    actor: User | None,
    deal: Deal,
    language: str = "",
    note: str = "",
    discounts: Mapping[int, Decimal] | None = None,
) -> Quote:
    """A new quote version from the deal's lines, priced now.

    Per line with a product: the price that applies (``price_for``; the source is kept, e.g.
    "price list Key accounts 2026") and the best discount rule's percentage. The rep's own
    discount on the deal line (as a share of quantity × the deal line's price) is kept when it
    is higher; ``discounts`` (deal line id → percent) sets it explicitly. Lines without a
    product keep the deal line's price. Earlier open versions are superseded.
    """
    _require_deal(actor, deal)
    party = deal.organization or deal.contact
    if party is None:
        raise ValidationError(_("The deal needs an organisation or a contact person to quote."))
    if deal.quotes.filter(state=QuoteState.ACCEPTED).exists():
        raise ValidationError(_("A quote of this deal has been accepted already."))
    lines = list(deal.lines.select_related("product").order_by("pk"))
    if not lines:
        raise ValidationError(_("The deal has no line items to quote."))
    config = ensure_defaults()
    today = timezone.localdate()
    fallback = (
        actor.language if actor is not None and actor.language else ""
    ) or settings.LANGUAGE_CODE[:2]
    language = language or customer_language(party, fallback)
    if language not in dict(settings.LANGUAGES):
        raise ValidationError({"language": _("Choose German or English.")})
    _supersede_open(deal, actor=actor)
    quote = Quote(
        deal=deal,
        number=f"Q{deal.pk:06d}",
        version=_next_version(deal),
        state=QuoteState.DRAFT,
        party=party,
        currency=deal.currency,
        language=language,
        valid_until=today + dt.timedelta(days=config.quote_valid_days),
        note=note.strip(),
        created_by=actor or deal.owner,
        email=customer_email(deal),
    )
    memberships = Memberships(party)
    channel = getattr(deal, "channel", "") or ""
    built: list[QuoteLine] = []
    for position, source in enumerate(lines):
        quantity = source.quantity
        if source.product is not None:
            applied = price_for(
                product=source.product,
                party=party,
                currency=deal.currency,
                channel=channel,
                on=today,
                quantity=quantity,
                memberships=memberships,
            )
            price, plist, origin = applied.unit_price, applied.price_list, applied.source
        else:
            price, plist, origin = source.unit_price, None, _("deal line")
        rule = best_discount(party=party, quantity=quantity, on=today, memberships=memberships)
        own = ZERO
        deal_gross = source.quantity * source.unit_price
        if source.discount and deal_gross > 0:
            own = (source.discount * HUNDRED / deal_gross).quantize(CENT)
        percent = max(rule.percent, own)
        if discounts and source.pk in discounts:
            percent = _check_percent(discounts[source.pk], f"discount_{source.pk}")
        built.append(
            QuoteLine(
                position=position,
                product=source.product,
                description=(source.description or (source.product.name if source.product else ""))[
                    :200
                ],
                quantity=quantity,
                unit_price=price,
                price_source=origin[:200],
                price_list=plist,
                rule_percent=rule.percent,
                discount_rule=rule.rule,
                discount_percent=min(percent, HUNDRED),
                net=line_net(quantity, price, min(percent, HUNDRED)),
            )
        )
    _totals(quote, built)
    quote.save()
    for line in built:
        line.quote = quote
    QuoteLine.objects.bulk_create(built)
    return quote


@transaction.atomic
def quote_revise(
    *,
    actor: User | None,
    quote: Quote,
    discounts: Mapping[int, Decimal],
    note: str | None = None,
) -> Quote:
    """A new version with changed discounts (quote line id → percent); prices stay as quoted.
    The revised version is superseded and stays read-only."""
    _require_deal(actor, quote.deal)
    quote = Quote.objects.select_for_update().get(pk=quote.pk)
    if not quote.is_open:
        raise ValidationError(_("Only an open quote can be revised."))
    old_lines = list(quote.lines.order_by("position", "pk"))
    known = {line.pk for line in old_lines}
    unknown = [pk for pk in discounts if pk not in known]
    if unknown:
        raise ValidationError(
            _("These lines are not part of the quote: %(ids)s") % {"ids": unknown}
        )
    checked = {pk: _check_percent(v, f"discount_{pk}") for pk, v in discounts.items()}
    _supersede_open(quote.deal, actor=actor)
    new = Quote(
        deal=quote.deal,
        number=quote.number,
        version=_next_version(quote.deal),
        state=QuoteState.DRAFT,
        party=quote.party,
        currency=quote.currency,
        language=quote.language,
        valid_until=max(quote.valid_until, timezone.localdate()),
        note=quote.note if note is None else note.strip(),
        email=quote.email,
        created_by=actor or quote.created_by,
    )
    built = []
    for line in old_lines:
        percent = checked.get(line.pk, line.discount_percent)
        built.append(
            QuoteLine(
                position=line.position,
                product=line.product,
                description=line.description,
                quantity=line.quantity,
                unit_price=line.unit_price,
                price_source=line.price_source,
                price_list=line.price_list,
                rule_percent=line.rule_percent,
                discount_rule=line.discount_rule,
                discount_percent=percent,
                net=line_net(line.quantity, line.unit_price, percent),
            )
        )
    _totals(new, built)
    new.save()
    for line in built:
        line.quote = new
    QuoteLine.objects.bulk_create(built)
    return new


def _lock(quote: Quote) -> Quote:
    return Quote.objects.select_for_update().select_related("deal", "party").get(pk=quote.pk)


def _set_state(quote: Quote, state: str, *fields: str) -> None:
    quote.state = state
    quote.save(update_fields=["state", "updated_at", *fields])


def approvers_for(rep: User | None) -> list[User]:
    """Who hears of a rep's request: the managers of her teams; without any, the sales
    managers (and, failing those, the administrators)."""
    if rep is not None:
        team_ids = list(rep.memberships.values_list("team_id", flat=True))
        managers = list(
            User.objects.filter(
                is_active=True,
                memberships__team_id__in=team_ids,
                memberships__is_manager=True,
            )
            .exclude(pk=rep.pk)
            .exclude(role=Role.READ_ONLY)
            .distinct()
        )
        if managers:
            return managers
    for query in (Q(role=Role.SALES_MANAGER), Q(role=Role.ADMIN) | Q(is_superuser=True)):
        found = list(
            User.objects.filter(query, is_active=True).exclude(pk=getattr(rep, "pk", None))
        )
        if found:
            return found
    return []


def approver_ids_by_rep(rep_ids: Iterable[int | None]) -> dict[int | None, set[int]]:
    """``approvers_for`` for many reps at once, as user ids, in at most four queries whatever
    their number (the approvals inbox asks it for the requester of every request shown)."""
    reps = set(rep_ids)
    known = [pk for pk in reps if pk is not None]
    teams_of: dict[int, set[int]] = {}
    for user_id, team_id in Membership.objects.filter(user_id__in=known).values_list(
        "user_id", "team_id"
    ):
        teams_of.setdefault(user_id, set()).add(team_id)
    managers_of: dict[int, set[int]] = {}
    team_ids = set().union(*teams_of.values())
    if team_ids:
        for team_id, user_id in (
            Membership.objects.filter(team_id__in=team_ids, is_manager=True, user__is_active=True)
            .exclude(user__role=Role.READ_ONLY)
            .values_list("team_id", "user_id")
        ):
            managers_of.setdefault(team_id, set()).add(user_id)
    fallbacks: list[list[int]] = []
    result: dict[int | None, set[int]] = {}
    for rep in reps:
        found = {u for t in teams_of.get(rep, ()) for u in managers_of.get(t, ())} - {rep}
        if not found:
            for i, query in enumerate(
                (Q(role=Role.SALES_MANAGER), Q(role=Role.ADMIN) | Q(is_superuser=True))
            ):
                if len(fallbacks) <= i:
                    fallbacks.append(
                        list(
                            User.objects.filter(query, is_active=True).values_list("pk", flat=True)
                        )
                    )
                found = set(fallbacks[i]) - {rep}
                if found:
                    break
        result[rep] = found
    return result


def _tell(
    users: list[User],
    *,
    message: Callable[[], tuple[str, str]],
    url: str,
    level: str = "info",
) -> None:
    """In-app notification and an e-mail to each user, after the commit, each in the user's
    own language (else the site default): ``message`` builds (title, body) under that language."""
    notify_in_own_language(users, message=message, url=url, level=level)


@transaction.atomic
def quote_submit(*, actor: User | None, quote: Quote, reason: str = "") -> Quote:
    """A draft becomes ready to send — or, with a discount above the rep's limit, waits for a
    manager's approval (``reason`` is then required; the managers are notified)."""
    _require_deal(actor, quote.deal)
    quote = _lock(quote)
    if quote.state != QuoteState.DRAFT:
        raise ValidationError(_("Only a draft can be submitted."))
    if not quote.needs_approval:
        _set_state(quote, QuoteState.APPROVED)
        return quote
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": _("Say why the customer should get this discount.")})
    rep = actor or quote.created_by
    approval = DiscountApproval.objects.create(
        deal=quote.deal,
        quote=quote,
        requested_discount=quote.max_discount,
        limit_percent=discount_limit_for(quote.created_by),
        reason=reason[:2000],
        requested_by=rep,
    )
    _set_state(quote, QuoteState.AWAITING_APPROVAL)
    managers = approvers_for(rep)
    _tell(
        managers,
        message=lambda: (
            _("Discount approval requested: %(quote)s") % {"quote": quote.label},
            _(
                "%(rep)s asks for %(percent)s %% discount on %(deal)s (limit %(limit)s %%): "
                "%(reason)s"
            )
            % {
                "rep": rep or "-",
                "percent": approval.requested_discount,
                "deal": quote.deal.name,
                "limit": approval.limit_percent,
                "reason": reason,
            },
        ),
        url=reverse("pricing:approvals"),
        level="warning",
    )
    return quote


@transaction.atomic
def approval_decide(
    *, actor: User | None, approval: DiscountApproval, approve: bool, note: str = ""
) -> DiscountApproval:
    """A sales manager (or administrator) approves or rejects a request, with a note; the
    quote becomes ready to send or returns to draft, and the rep is notified. Nobody decides
    her own request (administrators excepted)."""
    if actor is not None:
        if not actor.has_perm("pricing.manage"):
            raise PermissionDenied
        if approval.requested_by_id == actor.pk and not actor.is_admin:
            raise PermissionDenied
    approval = (
        DiscountApproval.objects.select_for_update(of=("self",))
        .select_related("quote__deal", "deal")
        .get(pk=approval.pk)
    )
    if approval.status != ApprovalStatus.REQUESTED:
        raise ValidationError(_("This request has been decided already."))
    note = (note or "").strip()
    if not approve and not note:
        raise ValidationError({"decision_note": _("Say why the discount is rejected.")})
    approval.status = ApprovalStatus.APPROVED if approve else ApprovalStatus.REJECTED
    approval.decided_by = actor
    approval.decided_at = timezone.now()
    approval.decision_note = note[:2000]
    approval.save()
    quote = _lock(approval.quote) if approval.quote_id else None
    if quote is not None and quote.state == QuoteState.AWAITING_APPROVAL:
        _set_state(quote, QuoteState.APPROVED if approve else QuoteState.DRAFT)
    if approval.requested_by is not None:
        label = quote.label if quote is not None else approval.deal.name
        url = (
            reverse("pricing:quote_detail", args=[quote.pk])
            if quote is not None
            else reverse("pricing:deal_quotes", args=[approval.deal_id])
        )
        _tell(
            [approval.requested_by],
            message=lambda: (
                (
                    _("Discount approved: %(quote)s")
                    if approve
                    else _("Discount rejected: %(quote)s")
                )
                % {"quote": label},
                note,
            ),
            url=url,
            level="success" if approve else "warning",
        )
    return approval


def quote_pdf(quote: Quote) -> bytes:
    from kreis.pricing.quotes.pdf import render_quote_pdf

    return render_quote_pdf(quote)


def quote_pdf_filename(quote: Quote) -> str:
    """The PDF's file name in the customer's language (the e-mail's attachment, the download)."""
    with translation.override(quote.language):
        return _("quote-%(number)s.pdf") % {"number": quote.label}


def accept_url(base_url: str, raw_token: str) -> str:
    return base_url.rstrip("/") + reverse("quote_public:respond", args=[raw_token])


@transaction.atomic
def quote_send(*, actor: User | None, quote: Quote, email: str = "", base_url: str) -> Quote:
    """Send the ready quote as PDF with a personal acceptance link (256 random bits, single
    use, expiring with the quote's validity or the settings' link period, whichever comes
    first). Sending again makes a new link; the old one stops working."""
    _require_deal(actor, quote.deal)
    quote = _lock(quote)
    if quote.state not in (QuoteState.APPROVED, QuoteState.SENT):
        raise ValidationError(_("Only a quote that is ready (approved) can be sent."))
    if quote.valid_until < timezone.localdate():
        raise ValidationError(_("The quote has expired; revise it for a new validity."))
    email = (email or quote.email or "").strip()
    if not email or "@" not in email:
        raise ValidationError({"email": _("Enter the customer's e-mail address.")})
    config = ensure_defaults()
    raw, hashed = new_token()
    end_of_validity = timezone.make_aware(
        dt.datetime.combine(quote.valid_until, dt.time.max), timezone.get_current_timezone()
    )
    quote.token_hash = hashed
    quote.token_expires_at = min(
        end_of_validity, timezone.now() + dt.timedelta(days=config.link_valid_days)
    )
    quote.token_used_at = None
    quote.email = email
    quote.sent_at = timezone.now()
    _set_state(
        quote,
        QuoteState.SENT,
        "token_hash",
        "token_expires_at",
        "token_used_at",
        "email",
        "sent_at",
    )
    pdf = quote_pdf(quote)
    link = accept_url(base_url, raw)
    with translation.override(quote.language):
        subject = _("Quote %(number)s: %(deal)s") % {"number": quote.label, "deal": quote.deal.name}
        body = _(
            "Hello,\n\nplease find attached our quote %(number)s, valid until %(date)s.\n\n"
            "You can accept or decline it here:\n%(link)s\n\nKind regards\n%(rep)s\n"
        ) % {
            "number": quote.label,
            "date": quote.valid_until.isoformat(),
            "link": link,
            "rep": actor or quote.created_by or "",
        }
    filename = quote_pdf_filename(quote)
    message = EmailMessage(subject, body, settings.DEFAULT_FROM_EMAIL, [email])
    message.attach(filename, pdf, "application/pdf")

    def deliver() -> None:
        message.send(fail_silently=False)

    transaction.on_commit(deliver)
    return quote


def quote_for_token(raw: str) -> Quote | None:
    """The quote behind a customer's link, if the link is genuine (any state)."""
    if not plausible_token(raw):
        return None
    return Quote.objects.select_related("deal", "party").filter(token_hash=hash_token(raw)).first()


def link_usable(quote: Quote) -> bool:
    return (
        quote.state == QuoteState.SENT
        and quote.token_used_at is None
        and quote.token_expires_at is not None
        and quote.token_expires_at > timezone.now()
        and quote.valid_until >= timezone.localdate()
    )


def _won_stage(deal: Deal) -> Stage | None:
    return (
        Stage.objects.filter(pipeline_id=deal.pipeline_id, kind=StageKind.WON)
        .order_by("position", "pk")
        .first()
    )


@transaction.atomic
def quote_accept(*, actor: User | None, quote: Quote, via: str = "rep") -> Quote:
    """The customer accepts (through the link: ``actor`` None, ``via`` "link") or the rep
    records the acceptance. In one transaction: the quote is accepted, an order with the
    quote's lines is recorded (commerce), and an open deal moves to its pipeline's won stage."""
    if via == "rep":
        _require_deal(actor, quote.deal)
    quote = _lock(quote)
    if via == "link":
        if not link_usable(quote):
            raise ValidationError(_("This link is no longer valid."))
        quote.token_used_at = timezone.now()
    elif quote.state not in (QuoteState.APPROVED, QuoteState.SENT):
        raise ValidationError(_("Only a ready or sent quote can be accepted."))
    if quote.valid_until < timezone.localdate():
        raise ValidationError(_("The quote has expired."))
    deal = Deal.objects.select_for_update().get(pk=quote.deal_id)
    lines = []
    for line in quote.lines.select_related("product").order_by("position", "pk"):
        product = line.product if line.product and line.product.currency == quote.currency else None
        lines.append(
            {
                "product": product,
                "description": line.description,
                "quantity": line.quantity,
                "unit_price": line.unit_price,
                "discount": line.gross - line.net,
            }
        )
    # The permission was checked on the deal above; the order belongs to the deal's owner
    # and team, whoever records it.
    order = transaction_create(
        actor=None,
        party=quote.party,
        kind="order",
        date=timezone.localdate(),
        lines=lines,
        owner=deal.owner,
        team=deal.team,
        currency=quote.currency,
        number=quote.label,
        note=(_("Quote %(number)s accepted") % {"number": quote.label})[:500],
        **({"channel": deal.channel} if getattr(deal, "channel", "") else {}),
    )
    quote.order = order
    quote.decided_at = timezone.now()
    quote.decided_via = via
    _set_state(quote, QuoteState.ACCEPTED, "order", "decided_at", "decided_via", "token_used_at")
    won = _won_stage(deal)
    if won is not None and deal.stage.kind == StageKind.OPEN:
        deal_move(actor=actor if via == "rep" else None, deal=deal, stage=won)
    if deal.owner is not None and via == "link":
        _tell(
            [deal.owner],
            message=lambda: (_("Quote accepted: %(quote)s") % {"quote": quote.label}, deal.name),
            url=reverse("pricing:quote_detail", args=[quote.pk]),
            level="success",
        )
    return quote


@transaction.atomic
def quote_reject(*, actor: User | None, quote: Quote, via: str = "rep", note: str = "") -> Quote:
    """The customer declines (link) or the rep records that she did."""
    if via == "rep":
        _require_deal(actor, quote.deal)
    quote = _lock(quote)
    if via == "link":
        if not link_usable(quote):
            raise ValidationError(_("This link is no longer valid."))
        quote.token_used_at = timezone.now()
    elif quote.state not in (QuoteState.APPROVED, QuoteState.SENT):
        raise ValidationError(_("Only a ready or sent quote can be rejected."))
    quote.decided_at = timezone.now()
    quote.decided_via = via
    if note:
        quote.note = (quote.note + "\n\n" + note.strip()).strip()
    _set_state(quote, QuoteState.REJECTED, "decided_at", "decided_via", "token_used_at", "note")
    deal = quote.deal
    if deal.owner is not None and via == "link":
        _tell(
            [deal.owner],
            message=lambda: (_("Quote declined: %(quote)s") % {"quote": quote.label}, note),
            url=reverse("pricing:quote_detail", args=[quote.pk]),
            level="warning",
        )
    return quote


def quotes_expire(*, today: dt.date | None = None) -> int:
    """Ready and sent quotes past their validity expire (one UPDATE); returns how many."""
    today = today or timezone.localdate()
    return Quote.objects.filter(
        state__in=[QuoteState.APPROVED, QuoteState.SENT], valid_until__lt=today
    ).update(state=QuoteState.EXPIRED, updated_at=timezone.now())
