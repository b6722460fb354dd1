"""Deals in the Django admin and in the global search."""

import pytest

from kreis.sales import services
from tests.conftest import client_for
from tests.factories import UserFactory
from tests.sales.factories import DealFactory, default_pipeline, stage_named

pytestmark = pytest.mark.django_db


def test_django_admin_lists_and_opens_pipelines_and_deals(alice, north):
    superuser = UserFactory(username="root", is_staff=True, is_superuser=True)
    deal = DealFactory(name="Admin-Deal", owner=alice, team=north)
    client = client_for(superuser)
    for url in (
        "/django-admin/sales/pipeline/",
        f"/django-admin/sales/pipeline/{default_pipeline().pk}/change/",
        "/django-admin/sales/lostreason/",
        "/django-admin/sales/deal/",
        f"/django-admin/sales/deal/{deal.pk}/change/",
        f"/django-admin/sales/deal/{deal.pk}/history/",
    ):
        response = client.get(url)
        assert response.status_code == 200, url
    assert "Admin-Deal" in client.get("/django-admin/sales/deal/").content.decode()


def test_global_search_finds_only_visible_deals_and_follows_changes(alice, charlie):
    mine = services.deal_create(actor=alice, name="Windpark Nordsee")
    services.deal_create(actor=charlie, name="Windpark Alpen")
    client = client_for(alice)

    def search(text):
        return client.get(f"/search/?q={text}", HTTP_HX_REQUEST="true").content.decode()

    body = search("Windpark")
    assert "Windpark Nordsee" in body
    assert "Windpark Alpen" not in body
    assert "Windpark Nordsee" in search("windprak")  # a typo still finds it
    services.deal_move(actor=alice, deal=mine, stage=stage_named("Proposal"))
    assert "Proposal" in search("Windpark")
    services.deal_delete(actor=alice, deal=mine)
    assert "Windpark Nordsee" not in search("Windpark")
