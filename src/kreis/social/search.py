"""How a mention appears in the global search: its text, author and keywords."""

from __future__ import annotations

from django.urls import reverse

from kreis.core.search import SearchDocument
from kreis.social.models import Mention


def mention_document(mention: Mention) -> SearchDocument | None:
    author = mention.author_handle or mention.author_name
    return SearchDocument(
        title=mention.excerpt[:120],
        subtitle=" · ".join(x for x in (author, mention.get_sentiment_display()) if x),
        url=reverse("social:mention_detail", args=[mention.pk]),
        icon="megaphone",
        text=" ".join([author, mention.author_name, mention.text[:2000]]),
        owner_id=mention.owner_id,
        team_id=mention.team_id,
    )


def all_mentions():
    return Mention.objects.order_by("pk").iterator(chunk_size=2000)
