"""Demo competencies: skills, languages and product expertise (the demo's product
categories) for every rep, manager and service agent, with levels drawn from the seed."""

from __future__ import annotations

import random

from django.apps import apps

from kreis.core.competencies.models import Competency, CompetencyKind, UserCompetency
from kreis.core.demo import DemoContext
from kreis.core.models import Role

SKILLS = [
    ("negotiation", "Verhandlungsführung"),
    ("key-account-management", "Key-Account-Management"),
    ("technical-advice", "Technische Beratung"),
    ("complaint-handling", "Reklamationsbearbeitung"),
]
LANGUAGES = [("de", "Deutsch"), ("en", "Englisch"), ("fr", "Französisch")]
ROLES = (Role.SALES_REP, Role.SALES_MANAGER, Role.SERVICE_AGENT)


def create_competencies(context: DemoContext) -> dict[str, int]:
    rng = random.Random(context.fake["de_DE"].random.random())  # noqa: S311 (demo data)
    # Core imports no domain app: the product categories are read through the app registry.
    product = apps.get_model("commerce", "Product")
    categories = sorted(
        {c for c in product.objects.values_list("category", flat=True).distinct() if c}
    )[:6]
    catalogue = [Competency(kind=CompetencyKind.SKILL, key=k, name=n) for k, n in SKILLS]
    catalogue += [Competency(kind=CompetencyKind.LANGUAGE, key=k, name=n) for k, n in LANGUAGES]
    catalogue += [Competency(kind=CompetencyKind.PRODUCT, key=c, name=c) for c in categories]
    made = Competency.objects.bulk_create(catalogue)
    by_key = {(c.kind, c.key): c for c in made}
    levels = []
    for user in context.users:
        if user.role not in ROLES or not user.is_active:
            continue
        native = "de" if user.language in ("", "de") else "en"
        levels.append(UserCompetency(user=user, competency=by_key[("language", native)], level=4))
        for other in ("de", "en", "fr"):
            if other != native and rng.random() < (0.8 if other == "en" else 0.25):
                levels.append(
                    UserCompetency(
                        user=user, competency=by_key[("language", other)], level=rng.randint(1, 3)
                    )
                )
        for competency in made:
            if competency.kind == CompetencyKind.LANGUAGE:
                continue
            if rng.random() < 0.55:
                levels.append(
                    UserCompetency(user=user, competency=competency, level=rng.randint(1, 4))
                )
    UserCompetency.objects.bulk_create(levels)
    return {"competencies": len(made), "competency levels": len(levels)}
