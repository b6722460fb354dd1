"""Reading consents: a party's or lead's history with its events, the consent texts."""

from __future__ import annotations

from django.db.models import Prefetch, Q

from kreis.marketing.models import Consent, ConsentEvent, ConsentPurpose, ConsentText


def history(*, party=None, lead=None):
    """All consents of a party (incl. those moved from its converted leads) or a lead, newest
    first, with their text version and events."""
    match = Q(pk__in=[])
    if party is not None:
        match |= Q(party=party)
    if lead is not None:
        match |= Q(lead=lead)
    return (
        Consent.objects.filter(match)
        .select_related("text", "recorded_by")
        .prefetch_related(Prefetch("events", queryset=ConsentEvent.objects.select_related("actor")))
        .order_by("-requested_at", "-pk")
    )


def with_history(pk: int) -> Consent:
    """One consent with its text and events (as ``history`` gives them)."""
    return (
        Consent.objects.select_related("text", "recorded_by")
        .prefetch_related(Prefetch("events", queryset=ConsentEvent.objects.select_related("actor")))
        .get(pk=pk)
    )


def subject_allows(user, consent: Consent, *, write: bool) -> bool:
    """Whether the user may see (or change) a consent: as its party or its lead (either one
    will do); a consent of a bare address only for administrators."""
    perm = "core.change_record" if write else "core.view_record"
    subjects = [s for s in (consent.party, consent.lead) if s is not None]
    if not subjects:
        return user.has_perm("marketing.configure")
    return any(getattr(s, "deleted_at", None) is None and user.has_perm(perm, s) for s in subjects)


def text_table():
    """Purposes × languages: (purpose label, [(language, current version, older versions)])."""
    by_key: dict[tuple[str, str], list[ConsentText]] = {}
    for text in ConsentText.objects.select_related("created_by").order_by(
        "purpose", "language", "-version"
    ):
        by_key.setdefault((text.purpose, text.language), []).append(text)
    rows = []
    for purpose, label in ConsentPurpose.choices:
        cells = []
        for language in ("de", "en"):
            versions = by_key.get((purpose, language), [])
            cells.append(
                {
                    "language": language,
                    "current": versions[0] if versions else None,
                    "older": versions[1:],
                }
            )
        rows.append({"purpose": purpose, "label": label, "cells": cells})
    return rows
