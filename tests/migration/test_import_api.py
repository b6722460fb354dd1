"""The imports API: upload, check, fix, start, follow, errors, undo; templates; who may."""

from __future__ import annotations

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from kreis.migration.models import ImportJob, MappingTemplate
from kreis.parties.models import Party
from tests.conftest import client_for
from tests.migration.test_import_services import MAPPING, csv_bytes, firms, orgs  # noqa: F401

pytestmark = pytest.mark.django_db


def upload(client, key, rows, **fields):
    data = {"file": SimpleUploadedFile("kunden.csv", csv_bytes(rows), "text/csv")}
    data |= {"entity": "organization", "mapping": json.dumps(MAPPING)}
    data |= {k: v if isinstance(v, str) else json.dumps(v) for k, v in fields.items()}
    return client.post("/api/v1/imports", data=data, HTTP_AUTHORIZATION=f"Bearer {key}")


def call(client, key, method, path, body=None):
    return getattr(client, method)(
        f"/api/v1{path}",
        data=json.dumps(body) if body is not None else None,
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {key}",
    )


def test_upload_check_fix_start_follow_and_undo(alice, api_key_for, orgs):  # noqa: F811
    client, key = client_for(alice), api_key_for(alice)
    response = upload(client, key, [*firms(2), ("Firma 3", "kaputt", "K3")])
    assert response.status_code == 201, response.content
    job = response.json()
    assert job["status"] == "uploaded"
    assert job["headers"] == ["Firma", "E-Mail", "Kundennummer"]
    assert job["total_rows"] == 3

    started = call(client, key, "post", f"/imports/{job['id']}/check")
    assert started.status_code == 202
    assert started.json()["status"] == "validated"  # a small file is checked at once
    assert started.json()["rows_checked"] == 3
    check = call(client, key, "get", f"/imports/{job['id']}/check").json()
    assert (check["valid"], check["invalid"], check["create"]) == (2, 1, 2)
    assert check["problems"][0]["row"] == 4
    assert check["problems"][0]["column"] == "E-Mail"
    assert [r["action"] for r in check["preview"]] == ["create", "create", "invalid"]

    refused = call(client, key, "post", f"/imports/{job['id']}/start")
    assert refused.status_code == 422
    assert "1 rows have problems" in refused.json()["errors"][0]["message"]

    fixed = call(
        client,
        key,
        "post",
        f"/imports/{job['id']}/fixes",
        {"row": 4, "values": {"E-Mail": "info@firma3.de"}},
    )
    assert fixed.json() == []
    started = call(client, key, "post", f"/imports/{job['id']}/start")
    assert started.status_code == 202
    detail = call(client, key, "get", f"/imports/{job['id']}").json()
    assert detail["status"] == "done"
    assert detail["counts"] == {"created": 3, "updated": 0, "merged": 0, "skipped": 0, "failed": 0}
    assert detail["progress"]["percent"] == 100.0
    assert detail["fixed_rows"] == [4]
    assert Party.objects.count() == 3

    undone = call(client, key, "post", f"/imports/{job['id']}/undo")
    assert undone.status_code == 202
    assert undone.json()["status"] == "undone"
    assert not Party.objects.exists()


def test_start_at_upload_skipping_bad_rows_and_the_errors(alice, api_key_for, orgs):  # noqa: F811
    client, key = client_for(alice), api_key_for(alice)
    rows = [*firms(2), ("", "x@y.de", "K9")]
    response = upload(client, key, rows, start=True, skip_invalid=True)
    assert response.status_code == 202
    job_id = response.json()["id"]
    errors = call(client, key, "get", f"/imports/{job_id}/errors").json()
    assert errors["count"] == 1
    assert errors["items"][0] == {
        "row": 4,
        "column": "Firma",
        "message": "A name is needed.",
        "values": ["", "x@y.de", "K9"],
    }
    csv_text = b"".join(call(client, key, "get", f"/imports/{job_id}/errors.csv")).decode()
    assert csv_text.startswith("\ufeffFirma;E-Mail;Kundennummer;Error")
    listed = call(client, key, "get", "/imports").json()
    assert [j["id"] for j in listed["items"]] == [job_id]


def test_a_file_of_another_type_is_refused_and_nothing_kept(alice, api_key_for, orgs):  # noqa: F811
    client, key = client_for(alice), api_key_for(alice)
    data = {
        "file": SimpleUploadedFile("x.csv", b"\x7fELF" + b"\x00" * 64, "text/csv"),
        "entity": "organization",
    }
    response = client.post("/api/v1/imports", data=data, HTTP_AUTHORIZATION=f"Bearer {key}")
    assert response.status_code == 422
    assert response["Content-Type"] == "application/problem+json"
    assert not ImportJob.objects.exists()


def test_others_imports_are_404_and_read_only_users_cannot_import(
    alice,
    bob,
    rory,
    dana,
    api_key_for,
    orgs,  # noqa: F811
):
    job_id = upload(client_for(alice), api_key_for(alice), firms(1)).json()["id"]
    bob_key = api_key_for(bob)
    for method, path in [
        ("get", f"/imports/{job_id}"),
        ("post", f"/imports/{job_id}/start"),
        ("post", f"/imports/{job_id}/undo"),
        ("get", f"/imports/{job_id}/errors"),
    ]:
        assert call(client_for(bob), bob_key, method, path).status_code == 404
    assert call(client_for(dana), api_key_for(dana), "get", f"/imports/{job_id}").status_code == 200
    refused = upload(client_for(rory), api_key_for(rory, scope="read"), firms(1))
    assert refused.status_code == 403
    read_key = api_key_for(alice, scope="read")
    assert upload(client_for(alice), read_key, firms(1)).status_code == 403


def test_mapping_templates_are_saved_shared_and_reused(alice, bob, api_key_for, orgs):  # noqa: F811
    a, a_key = client_for(alice), api_key_for(alice)
    created = call(
        a,
        a_key,
        "post",
        "/import-templates",
        {"name": "ERP", "entity": "organization", "mapping": MAPPING, "duplicate_mode": "skip"},
    )
    assert created.status_code == 201, created.content
    template = created.json()
    assert template["options"] == {"duplicate_mode": "skip"}
    b, b_key = client_for(bob), api_key_for(bob)
    assert call(b, b_key, "get", f"/import-templates/{template['id']}").status_code == 404
    call(a, a_key, "patch", f"/import-templates/{template['id']}", {"shared": True})
    assert call(b, b_key, "get", f"/import-templates/{template['id']}").status_code == 200
    assert (
        call(b, b_key, "patch", f"/import-templates/{template['id']}", {"name": "x"}).status_code
        == 404
    )
    job = upload(b, b_key, firms(2), mapping="", template_id=str(template["id"]))
    assert job.status_code == 201, job.content
    job = job.json()
    assert job["mapping"] == MAPPING
    assert job["duplicate_mode"] == "skip"
    bad = call(
        a,
        a_key,
        "post",
        "/import-templates",
        {"name": "Bad", "entity": "organization", "mapping": {"Firma": "nonsense"}},
    )
    assert bad.status_code == 422
    assert call(a, a_key, "delete", f"/import-templates/{template['id']}").status_code == 204
    assert not MappingTemplate.objects.exists()
