"""Demo relationship types: key accounts (large organisations, the Key Accounts team in turn)
and online customers (the smallest organisations, looked after by a team without a personal
owner), applied once. Both keep the owners the demo gave its customers, so the other demo
data stay as they are; the customers get their type."""

from __future__ import annotations

from kreis.core.demo import DemoContext
from kreis.core.models import Team
from kreis.marketing.models import SegmentKind
from kreis.marketing.relationships import services
from kreis.marketing.relationships.models import Ownership, RelationshipType
from kreis.marketing.segments import services as segment_services
from kreis.parties.models import CompanySize, PartyKind


def create_relationship_types(context: DemoContext) -> dict[str, int]:
    key_team = Team.objects.filter(name="Key Accounts").first() or Team.objects.first()
    online_team = Team.objects.filter(name="Vertrieb Süd").first() or key_team
    if key_team is None:
        return {"relationship types": 0}
    large = segment_services.segment_create(
        actor=None,
        name="Großkunden",
        description="Organisationen ab 250 Beschäftigten.",
        kind=SegmentKind.DYNAMIC,
        conditions=[
            {"field": "kind", "op": "eq", "value": PartyKind.ORGANIZATION},
            {"field": "size", "op": "in", "value": [CompanySize.LARGE, CompanySize.ENTERPRISE]},
        ],
        match="all",
    )
    small = segment_services.segment_create(
        actor=None,
        name="Kleinstkunden",
        description="Organisationen mit weniger als zehn Beschäftigten.",
        kind=SegmentKind.DYNAMIC,
        conditions=[
            {"field": "kind", "op": "eq", "value": PartyKind.ORGANIZATION},
            {"field": "size", "op": "eq", "value": CompanySize.MICRO},
        ],
        match="all",
    )
    RelationshipType.objects.create(
        name_de="Schlüsselkunde",
        name_en="Key account",
        segment=large,
        priority=90,
        ownership=Ownership.ROUND_ROBIN,
        team=key_team,
        keep_existing_owner=True,
        description="Persönlich betreut: Jahresgespräch, Besuch im Quartal, eigene Konditionen.",
    )
    RelationshipType.objects.create(
        name_de="Onlinekunde",
        name_en="Online customer",
        segment=small,
        priority=10,
        ownership=Ownership.TEAM,
        team=online_team,
        keep_existing_owner=True,
        description="Betreut über Webshop, E-Mail und Innendienst, ohne festen Ansprechpartner.",
    )
    result = services.relationship_types_apply(actor=None)
    return {"relationship types": 2, "typed customers": result.members}
