"""Global search: each app registers a provider; the search box shows what they find.

Providers get the user and the text and return hits the user may see (their own queries
apply permissions). Apps register in ``AppConfig.ready``, so core imports no domain app.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class SearchHit:
    title: str
    subtitle: str
    url: str
    icon: str  # a Bootstrap Icons name


SearchProvider = Callable[..., list[SearchHit]]
PROVIDERS: list[SearchProvider] = []


def register_search_provider(provider: SearchProvider) -> None:
    if provider not in PROVIDERS:
        PROVIDERS.append(provider)


def search_all(*, user, text: str, limit: int = 8) -> list[SearchHit]:
    hits: list[SearchHit] = []
    for provider in PROVIDERS:
        hits.extend(provider(user=user, text=text, limit=limit))
    return hits
