"""The customer's rating of a case's resolution (DOMAIN.md §5, Reaction: "the customer's
satisfaction with the resolution is captured").

Closing a case sends the customer the closing e-mail in the case's language with a personal
rating link (``kreis.core.tokens``: 256 random bits, only the SHA-256 stored as a
``RatingToken``). The link works once and for ``ServiceSettings.rating_link_days``; reopening
the case ends the links not yet used, and closing it again sends a new one. The customer rates
1 (very poor) to 5 (very good) with an optional comment on a public page; the ``CaseRating``
shows on the case's flow and, as a note, on the customer's timeline. A rating of 1 or 2 is an
Endangerment signal of the lifecycle (``kreis.analytics.runs.pipeline``).
"""

from __future__ import annotations

import datetime as dt
from urllib.parse import urljoin

from django.core.exceptions import ValidationError
from django.db import transaction
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.html import escape
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from kreis.core import tokens
from kreis.service.models import (
    Case,
    CaseMessage,
    CaseRating,
    MessageKind,
    RatingToken,
    ServiceSettings,
)

# What each point of the scale means; the page and the case page show it beside the number.
RATING_LABELS = {
    1: gettext_lazy("Very poor"),
    2: gettext_lazy("Poor"),
    3: gettext_lazy("Fair"),
    4: gettext_lazy("Good"),
    5: gettext_lazy("Very good"),
}
# Ratings up to this one are an Endangerment signal of the lifecycle.
POOR_RATING = 2
MAX_COMMENT = 2000


class LinkState:
    VALID = "valid"
    UNKNOWN = "unknown"
    USED = "used"
    EXPIRED = "expired"


# States of a link that existed: the page answers 410 Gone; an unknown link is 404.
GONE = (LinkState.USED, LinkState.EXPIRED)


def rating_url(base_url: str, raw_token: str) -> str:
    return urljoin(base_url, reverse("service:rate", args=[raw_token]))


def rating_links_end(*, case: Case, now: dt.datetime | None = None) -> int:
    """End the case's links not used yet (a reopened case is not rated through them)."""
    now = now or timezone.now()
    return RatingToken.objects.filter(case=case, used_at__isnull=True, expires_at__gt=now).update(
        expires_at=now
    )


def closing_mail_send(*, case: Case, base_url: str, now: dt.datetime | None = None) -> bool:
    """The closing e-mail with a new personal rating link, in the case's language, sent when the
    transaction commits; older links of the case stop working. The copy kept on the case (a
    reply to the customer) names the link without it: whoever reads the case cannot rate in
    the customer's place. False when the customer has no e-mail address (nothing is sent)."""
    from kreis.service.mail import customer_email, send_customer_mail

    if not customer_email(case):
        return False
    now = now or timezone.now()
    rating_links_end(case=case, now=now)
    raw, digest = tokens.new_token()
    days = ServiceSettings.load().rating_link_days
    link = RatingToken.objects.create(
        case=case, token_hash=digest, expires_at=now + dt.timedelta(days=days)
    )
    url = rating_url(base_url, raw)
    body = send_customer_mail(
        case, template="closing", extra={"url": url, "expires_at": link.expires_at}
    )
    with translation.override(case.language):
        kept = body.replace(url, _("[personal rating link, sent only to the customer]"))
    CaseMessage.objects.create(case=case, kind=MessageKind.CUSTOMER_REPLY, body=kept)
    return True


def link_for_token(raw: str, *, now: dt.datetime | None = None) -> tuple[RatingToken | None, str]:
    """The rating link of a token from a URL and whether it can still be used."""
    now = now or timezone.now()
    if not tokens.plausible_token(raw):
        return None, LinkState.UNKNOWN
    link = (
        RatingToken.objects.select_related("case").filter(token_hash=tokens.hash_token(raw)).first()
    )
    if link is None:
        return None, LinkState.UNKNOWN
    if link.used_at is not None:
        return link, LinkState.USED
    if link.expires_at <= now:
        return link, LinkState.EXPIRED
    return link, LinkState.VALID


def _clean(rating: object, comment: str) -> tuple[int, str]:
    try:
        value = int(str(rating).strip())
    except (TypeError, ValueError):
        value = 0
    if value not in RATING_LABELS:
        raise ValidationError({"rating": _("Choose a rating from 1 to 5.")})
    comment = (comment or "").strip()
    if len(comment) > MAX_COMMENT:
        raise ValidationError(
            {
                "comment": _("The comment is too long (at most %(max)s characters).")
                % {"max": MAX_COMMENT}
            }
        )
    return value, comment


@transaction.atomic
def rating_submit(
    *, raw_token: str, rating: object, comment: str = "", now: dt.datetime | None = None
) -> CaseRating:
    """The customer's rating through their link: once, before the link expires. A bad rating
    raises a ValidationError by field; a link that cannot be used one with its state as code."""
    now = now or timezone.now()
    link, state = link_for_token(raw_token, now=now)
    if state != LinkState.VALID or link is None:
        raise ValidationError(_("This link cannot be used (any more)."), code=state)
    value, comment = _clean(rating, comment)
    # Single use even under a double submit: only the first UPDATE finds the link unused.
    claimed = RatingToken.objects.filter(
        pk=link.pk, used_at__isnull=True, expires_at__gt=now
    ).update(used_at=now)
    if not claimed:
        raise ValidationError(_("This link cannot be used (any more)."), code=LinkState.USED)
    result = CaseRating.objects.create(case=link.case, rating=value, comment=comment)
    _timeline_entry(link.case, result)
    return result


def _timeline_entry(case: Case, result: CaseRating) -> None:
    """A note on the customer's timeline (the comment stays on the case)."""
    from kreis.activities.models import ActivityKind
    from kreis.activities.services import activity_create

    party = case.party
    if party.deleted_at is not None:
        return
    label = RATING_LABELS[result.rating]
    url = reverse("service:detail", args=[case.pk])
    body = (
        f"<p>{escape(_('%(rating)s of 5: %(label)s') % {'rating': result.rating, 'label': label})}"
        f'</p><p><a href="{url}">{escape(_("Show the case"))}</a></p>'
    )
    activity_create(
        actor=None,
        kind=ActivityKind.NOTE,
        party=party,
        owner=case.owner or party.owner,
        team=case.team or party.team,
        subject=_("Resolution of case %(number)s rated %(rating)s of 5")
        % {"number": case.number, "rating": result.rating},
        body=body,
        occurred_at=result.created_at,
    )
