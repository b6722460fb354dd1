"""The resolution rating on the staff's case page (``kreis.service.rating``)."""

from django import template
from django.utils import timezone

from kreis.service.rating import POOR_RATING, RATING_LABELS

register = template.Library()


@register.filter
def rating_label(value) -> str:
    return str(RATING_LABELS.get(value, ""))


@register.filter
def rating_is_poor(value) -> bool:
    return value is not None and value <= POOR_RATING


@register.inclusion_tag("service/_ratings.html")
def case_ratings(case) -> dict:
    """The case's ratings (newest first) and its latest rating link: when sent, until when it
    works, whether it was used."""
    link = case.rating_tokens.order_by("-created_at", "-pk").first()
    return {
        "case": case,
        "ratings": list(case.ratings.all()),
        "link": link,
        "link_open": link is not None and link.used_at is None and link.expires_at > timezone.now(),
    }
