"""The Django admin shows imports read-only and edits mapping templates."""

from __future__ import annotations

import pytest

from kreis.migration.models import MappingTemplate
from tests.conftest import client_for
from tests.migration.test_import_services import create, firms, orgs  # noqa: F401

pytestmark = pytest.mark.django_db


def test_admin_lists_imports_read_only_and_edits_templates(dana, alice, orgs):  # noqa: F811
    job = create(alice, firms(2))
    dana.is_staff = dana.is_superuser = True  # the Django admin's own gate
    dana.save()
    admin = client_for(dana)
    listing = admin.get("/django-admin/migration/importjob/")
    assert listing.status_code == 200
    assert "kunden.csv" in listing.content.decode()
    page = admin.get(f"/django-admin/migration/importjob/{job.pk}/change/")
    assert page.status_code == 200
    assert 'name="_save"' not in page.content.decode()  # nothing to save: read-only
    assert admin.get("/django-admin/migration/importjob/add/").status_code == 403
    template = MappingTemplate.objects.create(
        name="ERP", entity="organization", mapping={"Firma": "name"}, owner=alice
    )
    assert (
        admin.get(f"/django-admin/migration/mappingtemplate/{template.pk}/change/").status_code
        == 200
    )
