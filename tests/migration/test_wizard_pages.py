"""The import wizard as a web user meets it: upload, mapping, check with fixes, the run with
its summary, the error CSV, undo; the list of imports and who may see which.

Personas (tests/conftest.py): alice and bob are reps in North, charlie a rep in South, dana an
administrator, rory reads only."""

from __future__ import annotations

import csv
import io
import os

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from kreis.migration import services
from kreis.migration.models import ImportJob, ImportRowError, ImportStatus, MappingTemplate
from kreis.parties.models import Party
from tests.conftest import client_for

pytestmark = pytest.mark.django_db

# A contact list as a German office exports it from Excel: semicolons, Windows-1252, German
# headers and numbers. Row 4 (Jörg) has a broken e-mail address, row 7 (Sönke) a phone
# number with letters: the two rows the check must name.
HEADERS = ["Firma", "Vorname", "Nachname", "E-Mail", "Telefon", "Straße", "PLZ", "Ort", "Umsatz"]
ROWS = [
    [
        "Müller Maschinenbau GmbH",
        "Jürgen",
        "Müller",
        "j.mueller@mueller-mb.de",
        "0711 1234567",
        "Königstraße 1",
        "70173",
        "Stuttgart",
        "12.345,67",
    ],
    [
        "Bäckerei „Größl“ – Backwaren",
        "Änne",
        "Größl",
        "aenne@groessl.de",
        "+49 89 7654321",
        "Schäfflerstraße 3",
        "80333",
        "München",
        "980,00",
    ],
    [
        "Weiß & Söhne KG",
        "Jörg",
        "Weiß",
        "joerg@@weiss-soehne",
        "030 2223334",
        "Straße des 17. Juni 5",
        "10623",
        "Berlin",
        "1.234,56",
    ],
    [
        "Öztürk Logistik",
        "Ayla",
        "Öztürk",
        "a.oeztuerk@oeztuerk-logistik.de",
        "040 5556667",
        "Große Elbstraße 9",
        "22767",
        "Hamburg",
        "45.000,00",
    ],
    [
        "„Zum Krämer“ IT – Service",
        "Björn",
        "Krämer",
        "bjoern@kraemer-it.de",
        "0221 8889990",
        "Domstraße 2",
        "50668",
        "Köln",
        "7.500,50",
    ],
    [
        "Fleißig AG",
        "Sönke",
        "Fleißig",
        "soenke@fleissig.de",
        "Büro anrufen",
        "Am Fleet 4",
        "20457",
        "Hamburg",
        "310,00",
    ],
]
BAD_EMAIL_ROW, BAD_PHONE_ROW = 4, 7  # spreadsheet rows: the header is row 1
GOOD_ROWS = len(ROWS) - 2


def contacts_csv(rows=ROWS) -> bytes:
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n")
    writer.writerow(HEADERS)
    writer.writerows(rows)
    return buffer.getvalue().encode("cp1252")


def upload(client: Client, content: bytes | None = None, name="Kontakte.csv", **extra):
    data = {
        "entity": "person",
        "file": SimpleUploadedFile(name, contacts_csv() if content is None else content),
        **extra,
    }
    return client.post("/imports/new/", data)


def mapping_post(client: Client, job: ImportJob, **extra):
    """Accept the suggested mapping as the form shows it (the selected option per column)."""
    page = client.get(f"/imports/{job.pk}/mapping/")
    form = page.context["form"]
    data = {f"col_{i}": form[f"col_{i}"].value() or "" for i in range(len(job.headers))}
    data["duplicate_mode"] = form["duplicate_mode"].value()
    data.update(extra)
    return client.post(f"/imports/{job.pk}/mapping/", data)


def fix_post(client: Client, job: ImportJob, row: int, changes: dict[str, str]):
    error = ImportRowError.objects.filter(job=job, row=row).first()
    values = dict(zip(job.headers, error.values, strict=False))
    values.update(changes)
    data = {f"value_{i}": values.get(h, "") for i, h in enumerate(job.headers)}
    return client.post(f"/imports/{job.pk}/rows/{row}/", data)


def walk_to_check(client: Client) -> ImportJob:
    response = upload(client)
    assert response.status_code == 302, response.content.decode()[:2000]
    job = ImportJob.objects.get()
    assert response["Location"] == f"/imports/{job.pk}/mapping/"
    response = mapping_post(client, job)
    assert response.status_code == 302, response.context["form"].errors
    assert response["Location"] == f"/imports/{job.pk}/check/"
    assert client.get(response["Location"]).status_code == 200  # the check runs
    job.refresh_from_db()
    return job


def run_import(client: Client, job: ImportJob) -> ImportJob:
    response = client.post(f"/imports/{job.pk}/start/", {"skip_invalid": "1"})
    assert response.status_code == 302
    assert response["Location"] == f"/imports/{job.pk}/"
    job.refresh_from_db()
    return job


# --- step 1: upload ----------------------------------------------------------------------


def test_upload_reads_windows_1252_and_suggests_the_mapping(alice):
    client = client_for(alice)
    response = upload(client)
    job = ImportJob.objects.get()
    assert response["Location"] == f"/imports/{job.pk}/mapping/"
    assert (job.created_by, job.entity, job.source, job.total_rows) == (alice, "person", "web", 6)
    assert job.headers == HEADERS
    page = client.get(f"/imports/{job.pk}/mapping/", HTTP_ACCEPT_LANGUAGE="en")
    html = page.content.decode()
    # The umlauts came through, and the user sees how the file was read.
    assert "Müller Maschinenbau GmbH" in html
    assert "Straße" in html
    assert "Bäckerei „Größl“ – Backwaren" in html  # „“– exist in Windows-1252 only
    assert "separated by semicolons" in html
    assert "1252" in page.context["job"].encoding
    form = page.context["form"]
    suggested = {h: form[f"col_{i}"].value() for i, h in enumerate(HEADERS)}
    assert suggested["Vorname"] == "first_name"
    assert suggested["Nachname"] == "last_name"
    assert suggested["E-Mail"] == "email"
    assert suggested["PLZ"] == "postal_code"
    assert suggested["Ort"] == "city"
    assert suggested["Firma"] == "organization"


@pytest.mark.parametrize(
    ("content", "name"),
    [
        (b"", "leer.csv"),
        (b"\x89PNG\r\n\x1a\n" + b"\x00" * 200, "bild.csv"),
        (b"PK\x03\x04 this is no workbook", "kaputt.xlsx"),
    ],
)
def test_a_bad_file_is_refused_in_the_users_language_and_nothing_is_stored(alice, content, name):
    alice.language = "de"
    alice.save()
    response = upload(client_for(alice), content, name=name)
    assert response.status_code == 200
    errors = response.context["form"].errors
    assert errors, "the page names what is wrong"
    text = " ".join(str(e) for field in errors.values() for e in field)
    assert any(word in text for word in ("Datei", "leer", "nicht")), text
    assert ImportJob.objects.count() == 0


def test_read_only_user_cannot_import(rory):
    client = client_for(rory)
    assert client.get("/imports/new/").status_code == 403
    assert upload(client).status_code == 403
    assert ImportJob.objects.count() == 0
    assert (
        "Import a file" not in client.get("/imports/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    )


def test_every_post_needs_the_csrf_token(alice):
    client = Client(enforce_csrf_checks=True)
    client.force_login(alice)
    assert upload(client).status_code == 403
    assert ImportJob.objects.count() == 0


# --- steps 2 and 3: mapping, check, fixes ------------------------------------------------


def test_check_names_row_column_and_problem_and_previews_the_rows(alice):
    client = client_for(alice)
    job = walk_to_check(client)
    assert job.status == ImportStatus.VALIDATED
    page = client.get(f"/imports/{job.pk}/check/", HTTP_ACCEPT_LANGUAGE="en")
    html = page.content.decode()
    bad = page.context["bad_rows"]
    assert [b["row"] for b in bad] == [BAD_EMAIL_ROW, BAD_PHONE_ROW]
    assert {p.column for p in bad[0]["problems"]} == {"E-Mail"}
    assert {p.column for p in bad[1]["problems"]} == {"Telefon"}
    assert "Row 4" in html
    assert "Row 7" in html
    check = page.context["check"]
    assert (check.valid, check.invalid, check.create) == (GOOD_ROWS, 2, GOOD_ROWS)
    assert "Björn" in html  # the preview shows the rows as they will be imported
    # Nothing has been written by the check.
    assert Party.objects.count() == 0


def test_fixing_a_row_in_the_wizard_clears_its_problem(alice):
    client = client_for(alice)
    job = walk_to_check(client)
    response = fix_post(client, job, BAD_EMAIL_ROW, {"E-Mail": "joerg@weiss-soehne.de"})
    assert response["Location"] == f"/imports/{job.pk}/check/"
    page = client.get(f"/imports/{job.pk}/check/")
    assert [b["row"] for b in page.context["bad_rows"]] == [BAD_PHONE_ROW]
    assert page.context["check"].valid == GOOD_ROWS + 1
    # A fix that is still wrong is said so, and the row stays on the list.
    response = fix_post(client, job, BAD_PHONE_ROW, {"Telefon": "immer noch falsch"})
    page = client.get(f"/imports/{job.pk}/check/", HTTP_ACCEPT_LANGUAGE="en")
    assert [b["row"] for b in page.context["bad_rows"]] == [BAD_PHONE_ROW]


def test_mapping_saved_as_a_shared_template_is_offered_at_the_next_upload(alice, bob):
    client = client_for(alice)
    job = ImportJob.objects.get(pk=_uploaded(client).pk)
    response = mapping_post(
        client,
        job,
        save_template="on",
        template_name="Excel-Kontakte",
        template_shared="on",
    )
    assert response.status_code == 302
    template = MappingTemplate.objects.get()
    assert (template.name, template.shared, template.owner, template.entity) == (
        "Excel-Kontakte",
        True,
        alice,
        "person",
    )
    assert template.mapping["E-Mail"] == "email"
    form = client_for(bob).get("/imports/new/").context["form"]
    assert list(form.fields["template"].queryset) == [template]


def test_aborting_the_wizard_cancels_the_import_and_deletes_its_file(
    alice, django_capture_on_commit_callbacks
):
    client = client_for(alice)
    job = walk_to_check(client)
    stored = job.file.path
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/imports/{job.pk}/cancel/")
    assert response["Location"] == "/imports/"
    job.refresh_from_db()
    assert job.status == ImportStatus.CANCELLED
    assert not os.path.exists(stored)
    assert Party.objects.count() == 0
    # A cancelled import cannot be started any more.
    client.post(f"/imports/{job.pk}/start/", {"skip_invalid": "1"})
    job.refresh_from_db()
    assert job.status == ImportStatus.CANCELLED


# --- step 4: run, summary, errors, undo --------------------------------------------------


def test_import_runs_and_ends_with_a_summary_and_the_error_rows_as_csv(alice):
    client = client_for(alice)
    job = walk_to_check(client)
    fix_post(client, job, BAD_EMAIL_ROW, {"E-Mail": "joerg@weiss-soehne.de"})
    job = run_import(client, job)
    assert job.status == ImportStatus.DONE
    assert (job.failed_count, job.rows_done) == (1, 6)
    persons = Party.objects.filter(kind="person")
    assert sorted(p.name for p in persons) == sorted(
        f"{r[1]} {r[2]}" for r in ROWS if r[1] != "Sönke"
    )
    page = client.get(f"/imports/{job.pk}/", HTTP_ACCEPT_LANGUAGE="en")
    html = page.content.decode()
    assert 'data-testid="summary-created"' in html
    assert "every 2s" not in html  # finished: no more polling
    csv_text = b"".join(client.get(f"/imports/{job.pk}/errors.csv").streaming_content).decode(
        "utf-8-sig"
    )
    rows = list(csv.reader(io.StringIO(csv_text), delimiter=";"))
    assert rows[0][: len(HEADERS)] == HEADERS  # ready to fix and import again
    assert [r[1] for r in rows[1:]] == ["Sönke"]


def test_importing_the_same_file_again_creates_nothing_and_undo_removes_the_records(alice):
    client = client_for(alice)
    first = run_import(client, walk_to_check(client))
    created = Party.objects.count()  # the persons and their organisations
    assert first.created_count == Party.objects.filter(kind="person").count() == GOOD_ROWS
    response = upload(client)
    second = ImportJob.objects.exclude(pk=first.pk).get()
    client.get(mapping_post(client, second)["Location"])
    second = run_import(client, second)
    assert second.status == ImportStatus.DONE
    assert second.created_count == 0
    assert Party.objects.count() == created
    # Undo asks first, then reverts the first import: what it created is gone.
    page = client.get(f"/imports/{first.pk}/undo/", HTTP_ACCEPT_LANGUAGE="en")
    assert "Undo the import?" in page.content.decode()
    assert Party.objects.count() == created
    response = client.post(f"/imports/{first.pk}/undo/")
    assert response["Location"] == f"/imports/{first.pk}/"
    first.refresh_from_db()
    assert first.status == ImportStatus.UNDONE
    assert Party.objects.filter(deleted_at=None).count() == 0


def test_progress_polls_while_running_and_shows_rows_per_second(alice):
    client = client_for(alice)
    job = walk_to_check(client)
    ImportJob.objects.filter(pk=job.pk).update(status=ImportStatus.RUNNING, rows_done=3)
    partial = client.get(f"/imports/{job.pk}/", HTTP_HX_REQUEST="true", HTTP_ACCEPT_LANGUAGE="en")
    html = partial.content.decode()
    assert 'hx-trigger="every 2s"' in html
    assert 'value="3" max="6"' in html
    assert "3 of 6 rows" in html
    assert "<html" not in html  # the partial only


# --- the list and who sees what ----------------------------------------------------------


def _uploaded(client: Client) -> ImportJob:
    upload(client)
    return ImportJob.objects.latest("pk")


def test_users_see_their_own_imports_and_administrators_all(alice, bob, charlie, dana):
    job = _uploaded(client_for(alice))
    assert job.original_name in client_for(alice).get("/imports/").content.decode()
    assert job.original_name not in client_for(charlie).get("/imports/").content.decode()
    assert client_for(charlie).get(f"/imports/{job.pk}/").status_code == 404
    assert client_for(charlie).get(f"/imports/{job.pk}/mapping/").status_code == 404
    assert client_for(charlie).post(f"/imports/{job.pk}/delete/").status_code == 404
    assert client_for(charlie).get(f"/imports/{job.pk}/errors.csv").status_code == 404
    assert job.original_name in client_for(dana).get("/imports/").content.decode()
    assert client_for(dana).get(f"/imports/{job.pk}/").status_code == 200
    assert ImportJob.objects.filter(pk=job.pk).exists()


def test_import_pages_are_complete_in_german(alice):
    alice.language = "de"
    alice.save()
    client = client_for(alice)
    job = walk_to_check(client)
    pages = {
        "/imports/": "Importe",
        "/imports/new/": "Datei importieren",
        f"/imports/{job.pk}/mapping/": "Spalten zuordnen",
        f"/imports/{job.pk}/check/": "Zeilen prüfen",
    }
    for url, heading in pages.items():
        html = client.get(url).content.decode()
        assert heading in html, url
    job = run_import(client, job)
    html = client.get(f"/imports/{job.pk}/").content.decode()
    assert "Angelegt" in html
    assert "Import rückgängig machen" in html


# --- other formats, recognised exports, templates ----------------------------------------


def test_a_hubspot_export_is_recognised_and_mapped_as_hubspot_names_its_columns(alice):
    content = (
        "Record ID,First Name,Last Name,Email,Company Name\r\n"
        "901,Grete,Hübner,grete@huebner.example,Hübner Bau\r\n"
    ).encode()
    client = client_for(alice)
    upload(client, content, name="hubspot-contacts.csv")
    job = ImportJob.objects.get()
    page = client.get(f"/imports/{job.pk}/mapping/", HTTP_ACCEPT_LANGUAGE="en")
    assert "Recognised export: HubSpot" in page.content.decode()
    form = page.context["form"]
    assert form["col_0"].value() == "external_id"
    assert form["col_3"].value() == "email"


def test_an_excel_file_goes_through_the_same_wizard(alice):
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.append(HEADERS)
    for row in ROWS:
        sheet.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    client = client_for(alice)
    upload(client, buffer.getvalue(), name="Kontakte.xlsx")
    job = ImportJob.objects.get()
    assert (job.format, job.total_rows) == ("xlsx", len(ROWS))
    html = client.get(f"/imports/{job.pk}/mapping/").content.decode()
    assert "Bäckerei „Größl“ – Backwaren" in html
    client.get(mapping_post(client, job)["Location"])
    job = run_import(client, job)
    assert job.created_count == GOOD_ROWS


def test_a_saved_template_maps_the_next_file(alice):
    client = client_for(alice)
    job = _uploaded(client)
    mapping = {**job.mapping, "Umsatz": "notes"}
    template = services.mapping_template_create(
        actor=alice, name="Kontakte mit Umsatz", entity="person", mapping=mapping
    )
    response = upload(client, template=str(template.pk))
    job = ImportJob.objects.latest("pk")
    assert response["Location"] == f"/imports/{job.pk}/mapping/"
    page = client.get(f"/imports/{job.pk}/mapping/", HTTP_ACCEPT_LANGUAGE="en")
    assert "Mapping taken from the template “Kontakte mit Umsatz”" in page.content.decode()
    assert page.context["form"][f"col_{HEADERS.index('Umsatz')}"].value() == "notes"
    # A template of another record type is refused with a reason, and nothing is stored.
    response = upload(client, template=str(template.pk), entity="organization")
    assert "template" in response.context["form"].errors
    assert ImportJob.objects.count() == 2


def test_a_template_name_already_taken_is_said_at_the_name_field(alice):
    client = client_for(alice)
    services.mapping_template_create(
        actor=alice, name="Excel-Kontakte", entity="person", mapping={"E-Mail": "email"}
    )
    job = _uploaded(client)
    response = mapping_post(client, job, save_template="on", template_name="excel-kontakte")
    assert response.status_code == 200
    assert response.context["form"].errors["template_name"]
    assert MappingTemplate.objects.count() == 1
    # Without saving a template the wizard goes on.
    assert mapping_post(client, job)["Location"] == f"/imports/{job.pk}/check/"


def test_a_mapping_without_a_name_or_with_a_field_twice_is_refused_with_the_reason(alice):
    client = client_for(alice)
    job = _uploaded(client)
    nothing = {f"col_{i}": "" for i in range(len(HEADERS))}
    response = mapping_post(client, job, **nothing)
    assert response.status_code == 200
    errors = " ".join(response.context["form"].non_field_errors())
    assert "No column fills" in errors
    assert "Last name" in errors
    twice = {"col_1": "last_name", "col_2": "last_name"}
    response = mapping_post(client, job, **twice)
    assert response.status_code == 200
    assert "both fill" in " ".join(response.context["form"].non_field_errors())
