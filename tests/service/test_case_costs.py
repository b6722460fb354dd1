"""Costs of a case: goodwill and replacement as amounts, handling as hours × the hourly rate;
each is the customer's CM III cost entry (complaint), kept in step and gone with the cost."""

from decimal import Decimal

import pytest

from kreis.analytics.margin import accounting
from kreis.analytics.models import CostEntry
from kreis.service.models import CaseCost, ServiceSettings
from kreis.service.processing import services
from tests.analytics.test_margin import PERIOD, shop, warehouse_tables  # noqa: F401
from tests.conftest import client_for

pytestmark = pytest.mark.django_db


def test_goodwill_on_the_case_page_becomes_a_cm3_cost_entry_of_the_customer(case, sam):
    client = client_for(sam)
    response = client.post(
        f"/cases/{case.pk}/costs/",
        {"kind": "goodwill", "date": "2026-03-02", "amount": "150", "note": "Gutschrift"},
    )
    assert response.status_code == 302
    cost = CaseCost.objects.get(case=case)
    entry = cost.cost_entry
    assert (entry.party, entry.level, entry.category, entry.amount, str(entry.date)) == (
        case.party,
        "relationship",
        "complaint",
        Decimal("150.00"),
        "2026-03-02",
    )
    assert case.number in entry.note
    page = client.get(f"/cases/{case.pk}/").text
    assert "150.00 €" in page  # the total


def test_handling_is_hours_times_the_settings_rate_kept_on_the_row(case, sam):
    settings = ServiceSettings.load()
    settings.hourly_rate = Decimal("80")
    settings.save()
    cost = services.case_cost_create(actor=sam, case=case, kind="handling", hours="1.5")
    assert (cost.hourly_rate, cost.amount, cost.cost_entry.amount) == (
        Decimal("80"),
        Decimal("120.00"),
        Decimal("120.00"),
    )
    settings.hourly_rate = Decimal("100")
    settings.save()
    cost = services.case_cost_update(actor=sam, cost=cost, hours="2")
    assert (cost.hourly_rate, cost.amount) == (Decimal("80"), Decimal("160.00"))
    cost.cost_entry.refresh_from_db()
    assert cost.cost_entry.amount == Decimal("160.00")
    assert services.case_cost_total(case) == Decimal("160.00")


def test_invalid_costs_are_refused_and_nothing_is_written(case, sam):
    client = client_for(sam)
    for form, error in (
        ({"kind": "goodwill", "date": "2026-03-02", "amount": "-5"}, "greater than or equal"),
        ({"kind": "handling", "date": "2026-03-02"}, "Handling time needs the hours spent."),
        ({"kind": "replacement", "date": "2026-03-02"}, "Enter the amount."),
    ):
        response = client.post(f"/cases/{case.pk}/costs/", form, follow=True)
        assert error in response.text, form
    with pytest.raises(Exception, match="negative"):
        services.case_cost_create(actor=sam, case=case, kind="goodwill", amount="-1")
    assert not CaseCost.objects.exists()
    assert not CostEntry.objects.exists()


def test_edit_and_delete_keep_the_cost_entry_in_step(case, sam):
    cost = services.case_cost_create(actor=sam, case=case, kind="replacement", amount="99.90")
    entry_id = cost.cost_entry_id
    client = client_for(sam)
    response = client.post(
        f"/cases/{case.pk}/costs/{cost.pk}/",
        {"kind": "replacement", "date": "2026-04-01", "amount": "120", "note": "neue Pumpe"},
    )
    assert response.status_code == 302
    entry = CostEntry.objects.get(pk=entry_id)
    assert (entry.amount, str(entry.date)) == (Decimal("120.00"), "2026-04-01")
    assert "neue Pumpe" in entry.note
    assert client.post(f"/cases/{case.pk}/costs/{cost.pk}/delete/").status_code == 302
    assert not CaseCost.objects.exists()
    assert not CostEntry.objects.filter(pk=entry_id).exists()


def test_the_cost_lowers_the_customers_cm3_at_once_and_not_after_it_is_gone(
    shop,  # noqa: F811  (the margin tests' fixture)
    alice,
    defect,
):
    from kreis.service import services as cases

    anker = shop["anker"]
    case = cases.case_create(
        actor=alice,
        party=anker,
        channel="phone",
        category=defect,
        subject="Defekt",
        owner=alice,
        acknowledge=False,
    )
    url = f"/analytics/margin/party/{anker.pk}/?{PERIOD}"
    before = client_for(alice).get(url).context["row"]["cm3"]
    cost = services.case_cost_create(
        actor=alice,
        case=case,
        kind="goodwill",
        amount="30",
        date=accounting.dt.date(2024, 5, 5),
    )
    assert client_for(alice).get(url).context["row"]["cm3"] == before - 30
    services.case_cost_delete(actor=alice, cost=cost)
    assert client_for(alice).get(url).context["row"]["cm3"] == before


def test_others_cannot_add_change_or_delete_costs(case, sam, otto, alice, api):
    form = {"kind": "goodwill", "date": "2026-03-02", "amount": "10"}
    assert client_for(otto).post(f"/cases/{case.pk}/costs/", form).status_code == 404
    assert client_for(alice).post(f"/cases/{case.pk}/costs/", form).status_code == 403
    cost = services.case_cost_create(actor=sam, case=case, kind="goodwill", amount="10")
    for user, status in ((otto, 404), (alice, 403)):
        client = client_for(user)
        assert client.post(f"/cases/{case.pk}/costs/{cost.pk}/", form).status_code == status
        assert client.post(f"/cases/{case.pk}/costs/{cost.pk}/delete/").status_code == status
    assert api(alice)("delete", f"/cases/{case.pk}/costs/{cost.pk}").status_code == 404
    assert CaseCost.objects.count() == 1


def test_api_round_trip(case, sam, api):
    call = api(sam)
    created = call(
        "post", f"/cases/{case.pk}/costs", {"kind": "handling", "hours": "2", "hourly_rate": "50"}
    )
    assert created.status_code == 201, created.content
    body = created.json()
    assert Decimal(body["amount"]) == Decimal("100")
    assert body["cost_entry_id"]
    bad = call("post", f"/cases/{case.pk}/costs", {"kind": "goodwill", "hours": "1"})
    assert bad.status_code == 422
    changed = call("patch", f"/cases/{case.pk}/costs/{body['id']}", {"hours": "3"})
    assert Decimal(changed.json()["amount"]) == Decimal("150")
    assert [c["id"] for c in call("get", f"/cases/{case.pk}/costs").json()] == [body["id"]]
    assert call("delete", f"/cases/{case.pk}/costs/{body['id']}").status_code == 204
    assert not CostEntry.objects.exists()
