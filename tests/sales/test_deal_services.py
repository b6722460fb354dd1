"""Deal and pipeline services: defaults, line items, stage changes, stale moves, admin rules."""

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from kreis.commerce.models import Product
from kreis.sales import services
from kreis.sales.models import Deal, LostReason, Pipeline, StageChange, StageKind
from kreis.sales.services import StaleDeal
from tests.parties.factories import OrganizationFactory, PersonFactory
from tests.sales.factories import DealFactory, default_pipeline, lost_reason, stage_named

pytestmark = pytest.mark.django_db


def test_a_new_installation_has_a_sales_pipeline_with_probabilities_and_lost_reasons():
    pipeline = Pipeline.objects.get(is_default=True)
    stages = [(s.name, s.probability, s.kind) for s in pipeline.stages.all()]
    assert stages == [
        ("Qualification", 10, "open"),
        ("Needs analysis", 25, "open"),
        ("Proposal", 50, "open"),
        ("Negotiation", 75, "open"),
        ("Won", 100, "won"),
        ("Lost", 0, "lost"),
    ]
    assert LostReason.objects.count() >= 3
    assert services.ensure_default_pipeline() == pipeline  # idempotent


def test_create_uses_default_pipeline_first_stage_actor_and_team(alice, north):
    org = OrganizationFactory(owner=alice, team=north)
    deal = services.deal_create(actor=alice, name="Rahmenvertrag", organization=org)
    assert deal.pipeline == default_pipeline()
    assert deal.stage.name == "Qualification"
    assert (deal.owner, deal.team) == (alice, north)
    change = StageChange.objects.get(deal=deal)
    assert (change.from_stage, change.to_stage, change.changed_by) == (None, deal.stage, alice)


def test_amount_is_the_sum_of_the_line_totals_when_not_given(alice):
    product = Product.objects.create(sku="P-1", name="Pumpe", list_price=Decimal("250.00"))
    deal = services.deal_create(
        actor=alice,
        name="Pumpen",
        lines=[
            {"product_id": product.pk, "quantity": 4, "discount": "100"},
            {"description": "Montage", "quantity": "1.5", "unit_price": "80"},
        ],
    )
    assert deal.amount == Decimal("1020.00")  # 4 × 250 − 100 + 1.5 × 80
    first = deal.lines.order_by("pk").first()
    assert (first.description, first.unit_price) == ("Pumpe", Decimal("250.00"))
    explicit = services.deal_create(
        actor=alice, name="Fixed", amount=5000, lines=[{"description": "x", "unit_price": 1}]
    )
    assert explicit.amount == 5000


def test_stage_must_belong_to_the_pipeline(alice, dana):
    other = services.pipeline_create(actor=dana, name="Service")
    with pytest.raises(ValidationError) as exc:
        services.deal_create(
            actor=alice, name="X", pipeline=default_pipeline(), stage=other.stages.first()
        )
    assert "stage_id" in exc.value.message_dict


def test_contact_must_be_a_person_the_actor_may_see(alice, charlie, south):
    hidden = PersonFactory(owner=charlie, team=south)
    with pytest.raises(ValidationError) as exc:
        services.deal_create(actor=alice, name="X", contact=hidden)
    assert "contact_id" in exc.value.message_dict


def test_move_records_who_when_from_to_and_closes_won_deals(alice, north):
    deal = DealFactory(owner=alice, team=north)
    won = stage_named("Won")
    services.deal_move(actor=alice, deal=deal, stage=won, expected_updated_at=deal.updated_at)
    deal.refresh_from_db()
    assert deal.stage == won
    assert deal.closed_at is not None
    change = deal.stage_changes.first()
    assert (change.from_stage.name, change.to_stage, change.changed_by) == (
        "Qualification",
        won,
        alice,
    )
    services.deal_move(actor=alice, deal=deal, stage=stage_named("Proposal"))
    deal.refresh_from_db()
    assert deal.closed_at is None  # reopened


def test_a_stale_move_is_refused_and_changes_nothing(alice, bob, north):
    deal = DealFactory(owner=alice, team=north)
    seen = deal.updated_at
    services.deal_move(actor=bob, deal=Deal.objects.get(pk=deal.pk), stage=stage_named("Proposal"))
    with pytest.raises(StaleDeal):
        services.deal_move(
            actor=alice, deal=deal, stage=stage_named("Negotiation"), expected_updated_at=seen
        )
    deal.refresh_from_db()
    assert deal.stage.name == "Proposal"
    assert not StageChange.objects.filter(deal=deal, to_stage__name="Negotiation").exists()


def test_a_lost_stage_needs_a_reason(alice, north):
    deal = DealFactory(owner=alice, team=north)
    with pytest.raises(ValidationError) as exc:
        services.deal_move(actor=alice, deal=deal, stage=stage_named("Lost"))
    assert "lost_reason_id" in exc.value.message_dict
    services.deal_move(
        actor=alice,
        deal=deal,
        stage=stage_named("Lost"),
        lost_reason=lost_reason(),
        lost_note="zu teuer",
    )
    deal.refresh_from_db()
    assert (deal.stage.kind, deal.lost_reason, deal.lost_note) == (
        "lost",
        lost_reason(),
        "zu teuer",
    )


def test_moving_to_a_position_places_the_card_between_its_neighbours(alice, north):
    stage = stage_named("Proposal")
    top, middle, bottom = (
        DealFactory(owner=alice, team=north, stage=stage, position=p) for p in (0, 1, 2)
    )
    moving = DealFactory(owner=alice, team=north)
    services.deal_move(actor=alice, deal=moving, stage=stage, position=2)
    order = list(Deal.objects.filter(stage=stage).order_by("position", "-pk"))
    assert order == [top, middle, moving, bottom]


def test_read_only_user_and_other_team_cannot_change_deals(alice, rory, charlie, north):
    deal = DealFactory(owner=alice, team=north)
    for user in (rory, charlie):
        with pytest.raises(PermissionDenied):
            services.deal_move(actor=user, deal=deal, stage=stage_named("Proposal"))
    with pytest.raises(PermissionDenied):
        services.deal_create(actor=rory, name="Nope")


def test_update_replaces_lines_and_recomputes_the_amount(alice, north):
    deal = services.deal_create(
        actor=alice, name="X", lines=[{"description": "a", "unit_price": 10, "quantity": 1}]
    )
    services.deal_update(
        actor=alice,
        deal=deal,
        lines=[{"description": "b", "unit_price": 30, "quantity": 2}],
        expected_close=dt.date(2030, 1, 31),
    )
    deal.refresh_from_db()
    assert deal.amount == 60
    assert [line.description for line in deal.lines.all()] == ["b"]


def test_pipeline_administration_is_for_admins_and_deletes_only_unused(alice, dana, north):
    with pytest.raises(PermissionDenied):
        services.pipeline_create(actor=alice, name="Mine")
    pipeline = services.pipeline_create(actor=dana, name="Service contracts")
    assert [s.kind for s in pipeline.stages.all()] == [StageKind.OPEN, "won", "lost"]
    stage = services.stage_create(actor=dana, pipeline=pipeline, name="Offer", probability=40)
    DealFactory(owner=alice, team=north, pipeline=pipeline, stage=stage)
    with pytest.raises(ValidationError):
        services.stage_delete(actor=dana, stage=stage)
    with pytest.raises(ValidationError):
        services.pipeline_delete(actor=dana, pipeline=pipeline)
    empty = services.pipeline_create(actor=dana, name="Empty")
    services.pipeline_delete(actor=dana, pipeline=empty)
    assert not Pipeline.objects.filter(name="Empty").exists()
    reason = services.lost_reason_create(actor=dana, name="Lieferzeit")
    services.lost_reason_delete(actor=dana, reason=reason)
