"""The Django admin shows products with their history and transactions with their lines."""

import pytest

from tests.conftest import client_for
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_admin_lists_and_shows_products_and_transactions(alice, customer, drill, record):
    txn = record(alice, customer, [(drill, 2, 0)], number="RE-ADMIN")
    root = UserFactory(username="root", is_staff=True, is_superuser=True)
    client = client_for(root)
    for url in (
        "/django-admin/commerce/product/",
        f"/django-admin/commerce/product/{drill.pk}/change/",
        f"/django-admin/commerce/product/{drill.pk}/history/",
        "/django-admin/commerce/transaction/",
    ):
        assert client.get(url).status_code == 200, url
    page = client.get(f"/django-admin/commerce/transaction/{txn.pk}/change/").content.decode()
    assert "RE-ADMIN" in page
    assert "Akkuschrauber" in page  # the line, shown read-only
    assert "378.00" in page
