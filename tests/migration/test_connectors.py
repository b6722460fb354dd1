"""Connectors: yesterday's ERP orders imported from a watched folder or a URL, once, through a
mapping template; German headers and numbers; a real HTTP server on loopback for the URL."""

from __future__ import annotations

import os
import threading
import time
from datetime import datetime, timedelta
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management import call_command
from django.test import Client
from django.utils import timezone

from kreis.commerce.models import Transaction
from kreis.core.models import Notification
from kreis.migration.connectors import services
from kreis.migration.connectors.tasks import analytics_start, run_due_connectors
from kreis.migration.models import Connector, ImportJob, ImportSource, MappingTemplate
from tests.commerce.factories import ProductFactory
from tests.conftest import client_for
from tests.factories import UserFactory
from tests.parties.factories import OrganizationFactory

HEADER = "Auftragsnummer;Belegart;Belegdatum;Kundennummer;Artikelnummer;Menge;Einzelpreis\n"
NIGHT_1 = (
    HEADER
    + "A-1001;order;04.12.2026;K-100;W-1;2;1.234,56\n"
    + "A-1001;order;04.12.2026;K-100;W-2;1;99,90\n"
    + "A-1002;order;04.12.2026;K-200;W-1;3;1.234,56\n"
)
NIGHT_2 = (  # the ERP exports a day again, with one order of the day before
    HEADER
    + "A-1002;order;04.12.2026;K-200;W-1;3;1.234,56\n"
    + "A-1003;order;05.12.2026;K-100;W-2;10;99,90\n"
)
MAPPING = {
    "Auftragsnummer": "external_id",
    "Belegart": "kind",
    "Belegdatum": "date",
    "Kundennummer": "party_external_id",
    "Artikelnummer": "line.sku",
    "Menge": "line.quantity",
    "Einzelpreis": "line.unit_price",
}


@pytest.fixture
def erp(db):
    OrganizationFactory(name="Müller Maschinenbau GmbH", external_id="K-100")
    OrganizationFactory(name="Schäfer & Söhne KG", external_id="K-200")
    ProductFactory(sku="W-1", list_price=Decimal("1234.56"))
    ProductFactory(sku="W-2", list_price=Decimal("99.90"))


@pytest.fixture
def template(dana):
    return MappingTemplate.objects.create(
        name="ERP-Aufträge", entity="transaction", mapping=MAPPING, owner=dana, shared=True
    )


@pytest.fixture
def inbox(tmp_path, settings):
    settings.KREIS_CONNECTOR_FOLDERS = [tmp_path]
    folder = tmp_path / "erp-export"
    folder.mkdir()
    return folder


def drop(folder, name, text, *, age=600):
    """A file the ERP finished writing ``age`` seconds ago (Windows-1252, as ERPs write)."""
    path = folder / name
    path.write_bytes(text.encode("cp1252"))
    then = time.time() - age
    os.utime(path, (then, then))
    return path


def folder_connector(dana, template, inbox, **fields):
    return services.connector_create(
        actor=dana,
        name="ERP orders",
        kind="folder",
        location=str(inbox),
        template=template,
        schedule_hour=0,
        run_as=dana,
        **fields,
    )


def yesterday(connector):
    """Pretend the last run was the night before."""
    Connector.objects.filter(pk=connector.pk).update(last_run_at=timezone.now() - timedelta(days=1))


def orders():
    return {t.external_id: t for t in Transaction.objects.prefetch_related("lines")}


# --- watched folder ---------------------------------------------------------------------


def test_folder_orders_imported_once_then_only_new_ones(erp, dana, template, inbox):
    drop(inbox, "auftraege-2026-12-04.csv", NIGHT_1)
    connector = folder_connector(dana, template, inbox)

    result = services.connector_run(connector=connector)

    assert result.outcome == "imported"
    found = orders()
    assert set(found) == {"A-1001", "A-1002"}
    assert found["A-1001"].lines.count() == 2
    assert found["A-1001"].net_revenue == Decimal("2569.02")  # 2 x 1.234,56 + 99,90
    assert found["A-1001"].party.name == "Müller Maschinenbau GmbH"
    job = ImportJob.objects.get()
    assert (job.source, job.connector, job.created_by) == (ImportSource.CONNECTOR, connector, dana)
    connector.refresh_from_db()
    assert "2 created" in connector.last_status

    # The same night again (or "Run now" twice): nothing new, no second import.
    again = services.connector_run(connector=connector)
    assert again.outcome == "nothing_new"
    assert again.jobs == []
    assert ImportJob.objects.count() == 1
    assert Transaction.objects.count() == 2

    # Next night a new file repeats one order: only the new order is added.
    drop(inbox, "auftraege-2026-12-05.csv", NIGHT_2)
    yesterday(connector)
    ran = run_due_connectors.call_local()
    assert ran == [connector.pk]
    found = orders()
    assert set(found) == {"A-1001", "A-1002", "A-1003"}
    assert found["A-1002"].lines.count() == 1  # not doubled
    assert found["A-1003"].net_revenue == Decimal("999.00")
    assert ImportJob.objects.count() == 2
    # And the due task does not run it a second time today.
    assert run_due_connectors.call_local() == []


def test_renamed_or_touched_file_is_not_imported_again(erp, dana, template, inbox):
    path = drop(inbox, "orders.csv", NIGHT_1)
    connector = folder_connector(dana, template, inbox)
    services.connector_run(connector=connector)
    renamed = path.rename(inbox / "orders-copy.csv")
    os.utime(renamed, (time.time() - 300, time.time() - 300))

    result = services.connector_run(connector=Connector.objects.get())

    assert result.outcome == "nothing_new"
    assert ImportJob.objects.count() == 1


def test_file_still_being_written_waits_for_the_next_hour(erp, dana, template, inbox):
    drop(inbox, "orders.csv", NIGHT_1, age=1)  # written a second ago
    drop(inbox, ".hidden.csv", NIGHT_1)
    drop(inbox, "orders2.csv.part", NIGHT_2)
    connector = folder_connector(dana, template, inbox)

    result = services.connector_run(connector=connector)

    assert (result.outcome, result.waiting) == ("waiting", ["orders.csv"])
    assert Transaction.objects.count() == 0
    connector.refresh_from_db()
    assert services.connector_is_due(connector, now=timezone.now())  # tried again next hour
    drop(inbox, "orders.csv", NIGHT_1)  # finished
    assert services.connector_run(connector=connector).outcome == "imported"
    assert Transaction.objects.count() == 2
    connector.refresh_from_db()
    assert not services.connector_is_due(connector, now=timezone.now())


def test_imported_files_move_to_done(erp, dana, template, inbox):
    drop(inbox, "orders.csv", NIGHT_1)
    connector = folder_connector(dana, template, inbox, move_done=True)

    services.connector_run(connector=connector)

    assert not (inbox / "orders.csv").exists()
    assert (inbox / "done" / "orders.csv").exists()
    assert services.connector_run(connector=connector).outcome == "nothing_new"


def test_folder_outside_the_allowed_folders_is_refused(dana, template, inbox, tmp_path, settings):
    settings.KREIS_CONNECTOR_FOLDERS = [inbox]
    for location in ["/etc", str(tmp_path), "relative/path", str(inbox / "missing")]:
        with pytest.raises(ValidationError) as caught:
            services.connector_create(
                actor=dana, name="x", kind="folder", location=location, run_as=dana
            )
        assert "location" in caught.value.message_dict


def test_a_failed_run_tells_the_user_and_the_administrators(
    erp, dana, alice, template, inbox, settings
):
    drop(inbox, "orders.csv", "Auftragsnummer;Belegart\nA-1;order\n")  # no date, no lines
    connector = folder_connector(dana, template, inbox)
    Connector.objects.filter(pk=connector.pk).update(run_as=alice)
    connector.refresh_from_db()

    result = services.connector_run(connector=connector)

    assert result.outcome == "failed"
    assert Transaction.objects.count() == 0
    titles = set(Notification.objects.values_list("user__username", "title"))
    assert titles == {
        ("alice", "Connector “ERP orders” failed"),
        ("dana", "Connector “ERP orders” failed"),
    }
    # It tries again next hour (the ERP may be late), without telling everyone again.
    connector.refresh_from_db()
    assert services.connector_is_due(connector, now=timezone.now())
    services.connector_run(connector=connector)
    assert Notification.objects.count() == 2


def test_a_file_that_cannot_be_read_does_not_hold_up_the_others(erp, dana, template, inbox):
    drop(inbox, "orders.csv", NIGHT_1)
    picture = inbox / "scan.csv"
    picture.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4)
    os.utime(picture, (time.time() - 600, time.time() - 600))
    connector = folder_connector(dana, template, inbox)

    result = services.connector_run(connector=connector)

    assert result.outcome == "imported"
    assert Transaction.objects.count() == 2
    assert result.error.startswith("scan.csv: ")
    assert Notification.objects.filter(user=dana, title="Connector “ERP orders” failed").exists()
    # The good file is done; the bad one is tried again (and still refused) next time.
    again = services.connector_run(connector=Connector.objects.get())
    assert again.jobs == []
    assert again.error.startswith("scan.csv: ")


def test_a_run_as_user_who_left_fails_with_a_clear_message(erp, dana, alice, template, inbox):
    drop(inbox, "orders.csv", NIGHT_1)
    connector = folder_connector(dana, template, inbox)
    Connector.objects.filter(pk=connector.pk).update(run_as=alice)
    alice.is_active = False
    alice.save()

    result = services.connector_run(connector=Connector.objects.get())

    assert result.outcome == "failed"
    assert "Alice Adler may not import" in result.error
    assert Transaction.objects.count() == 0
    # Only the administrator hears of it: alice cannot sign in any more.
    assert list(Notification.objects.values_list("user__username", flat=True)) == ["dana"]


def test_a_run_in_progress_is_not_started_twice(erp, dana, template, inbox):
    drop(inbox, "orders.csv", NIGHT_1)
    connector = folder_connector(dana, template, inbox)
    Connector.objects.filter(pk=connector.pk).update(running_since=timezone.now())

    assert services.connector_run(connector=connector).outcome == "busy"
    assert Transaction.objects.count() == 0
    # A claim left by a worker that died hours ago does not block for ever.
    Connector.objects.filter(pk=connector.pk).update(
        running_since=timezone.now() - timedelta(hours=7)
    )
    assert services.connector_run(connector=connector).outcome == "imported"


# --- URL ------------------------------------------------------------------------------------


class ErpServer(BaseHTTPRequestHandler):
    """The ERP's export URL: the CSV with an ETag; 304 when the client has it already."""

    body = NIGHT_1.encode("cp1252")
    seen: list = []

    def log_message(self, *args):
        pass

    def do_GET(self):
        etag = f'"v{hash(self.body) & 0xFFFF}"'
        if self.headers.get("If-None-Match") == etag:
            ErpServer.seen.append(304)  # before answering: the test reads it once answered
            self.send_response(304)
            self.end_headers()
            return
        ErpServer.seen.append(200)
        self.send_response(200)
        self.send_header("ETag", etag)
        self.send_header("Content-Type", "text/csv; charset=windows-1252")
        self.send_header("Content-Length", str(len(self.body)))
        self.end_headers()
        self.wfile.write(self.body)


@pytest.fixture
def erp_url():
    ErpServer.body, ErpServer.seen = NIGHT_1.encode("cp1252"), []
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), ErpServer)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/export/auftraege.csv"
    httpd.shutdown()
    httpd.server_close()


def test_url_connector_imports_changes_only(erp, dana, template, erp_url):
    connector = services.connector_create(
        actor=dana,
        name="ERP API",
        kind="url",
        location=erp_url,
        allow_private=True,  # the administrator allows this loopback target explicitly
        template=template,
        run_as=dana,
    )

    first = services.connector_run(connector=connector)
    assert first.outcome == "imported"
    assert set(orders()) == {"A-1001", "A-1002"}
    assert first.jobs[0].original_name == "auftraege.csv"

    second = services.connector_run(connector=Connector.objects.get())
    assert second.outcome == "nothing_new"
    assert ErpServer.seen == [200, 304]
    assert ImportJob.objects.count() == 1

    ErpServer.body = NIGHT_2.encode("cp1252")
    third = services.connector_run(connector=Connector.objects.get())
    assert third.outcome == "imported"
    assert set(orders()) == {"A-1001", "A-1002", "A-1003"}
    assert third.jobs[0].created_count == 1


def test_private_url_is_refused_without_the_allow(dana, template, erp_url):
    with pytest.raises(ValidationError, match="private"):
        services.connector_create(
            actor=dana, name="ERP", kind="url", location=erp_url, template=template, run_as=dana
        )
    for location in ["http://2130706433/x.csv", "http://169.254.169.254/", "file:///etc/passwd"]:
        with pytest.raises(ValidationError):
            services.connector_create(
                actor=dana, name="ERP", kind="url", location=location, run_as=dana
            )
    # Allowed once, then taken back: the run is refused and nothing is fetched.
    connector = services.connector_create(
        actor=dana, name="ERP", kind="url", location=erp_url, allow_private=True, run_as=dana
    )
    Connector.objects.filter(pk=connector.pk).update(allow_private=False)
    result = services.connector_run(connector=Connector.objects.get())
    assert result.outcome == "failed"
    assert "private" in result.error
    assert ErpServer.seen == []


# --- who may, and when ------------------------------------------------------------------------


def test_only_administrators_manage_connectors(alice, dana, template, inbox):
    with pytest.raises(PermissionDenied):
        services.connector_create(
            actor=alice, name="x", kind="folder", location=str(inbox), run_as=alice
        )
    connector = folder_connector(dana, template, inbox)
    with pytest.raises(PermissionDenied):
        services.connector_run(connector=connector, actor=alice)


BERLIN = ZoneInfo("Europe/Berlin")


def test_due_from_its_hour_once_a_day(dana, template, inbox, settings):
    connector = folder_connector(dana, template, inbox)
    connector.schedule_hour = 2
    at = datetime(2026, 12, 6, 1, 59, tzinfo=BERLIN)
    assert not services.connector_is_due(connector, now=at)
    assert services.connector_is_due(connector, now=at + timedelta(minutes=1))
    connector.last_run_at = datetime(2026, 12, 6, 2, 0, tzinfo=BERLIN)
    assert not services.connector_is_due(connector, now=datetime(2026, 12, 6, 23, 0, tzinfo=BERLIN))
    assert services.connector_is_due(connector, now=datetime(2026, 12, 7, 2, 0, tzinfo=BERLIN))
    connector.enabled = False
    assert not services.connector_is_due(connector, now=datetime(2026, 12, 7, 2, 0, tzinfo=BERLIN))


def test_default_hour_runs_before_the_nightly_analytics():
    # Analytics at 02:30 UTC: 03:30 in Berlin in winter, 04:30 in summer; connectors at 02:00.
    winter = analytics_start(day=datetime(2026, 12, 6, 12, tzinfo=BERLIN))
    summer = analytics_start(day=datetime(2026, 7, 6, 12, tzinfo=BERLIN))
    assert (winter.hour, winter.minute, summer.hour) == (3, 30, 4)
    assert Connector._meta.get_field("schedule_hour").default < winter.hour


# --- CLI ----------------------------------------------------------------------------------


def test_cli_add_list_and_run(erp, dana, template, inbox, capsys):
    drop(inbox, "orders.csv", NIGHT_1)
    call_command(
        "connectors",
        "add",
        "--name",
        "ERP",
        "--folder",
        str(inbox),
        "--template",
        "ERP-Aufträge",
        "--run-as",
        "dana",
        "--hour",
        "1",
    )
    call_command("connectors", "run", "ERP")
    call_command("connectors", "list")
    out = capsys.readouterr().out
    assert "added connector ERP" in out
    assert "1 file imported: 2 created" in out
    assert "ERP\tfolder" in out
    assert "01:00\tenabled" in out
    assert Transaction.objects.count() == 2


# --- pages and API --------------------------------------------------------------------------


def test_admin_pages_create_run_and_show_the_import(erp, dana, alice, template, inbox):
    drop(inbox, "orders.csv", NIGHT_1)
    client = client_for(dana)
    assert client.get("/imports/connectors/").status_code == 200
    form = client.get("/imports/connectors/new/")
    assert "ERP-Aufträge" in form.content.decode()  # the shared template is offered

    response = client.post(
        "/imports/connectors/new/",
        {
            "name": "ERP orders",
            "kind": "folder",
            "location": str(inbox),
            "entity": "transaction",
            "template": template.pk,
            "duplicate_mode": "update",
            "schedule_hour": "2",
            "run_as": dana.pk,
            "enabled": "on",
        },
    )
    connector = Connector.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/imports/connectors/{connector.pk}/"

    client.post(f"/imports/connectors/{connector.pk}/run/")  # the test queue runs it at once

    page = client.get(f"/imports/connectors/{connector.pk}/").content.decode()
    job = ImportJob.objects.get()
    assert f'href="/imports/{job.pk}/"' in page
    assert "1 file imported: 2 created" in page
    assert Transaction.objects.count() == 2

    # In German.
    dana.language = "de"
    dana.save()
    german = client_for(dana).get(f"/imports/connectors/{connector.pk}/").content.decode()
    assert "Jetzt ausführen" in german
    assert "Letzte Läufe" in german


def test_form_errors_name_the_field(dana, inbox, erp_url):
    response = client_for(dana).post(
        "/imports/connectors/new/",
        {
            "name": "ERP",
            "kind": "url",
            "location": erp_url,
            "entity": "transaction",
            "duplicate_mode": "update",
            "schedule_hour": "2",
            "run_as": dana.pk,
        },
    )
    assert response.status_code == 200
    assert "private" in response.content.decode()
    assert not Connector.objects.exists()


def test_connector_pages_are_hidden_from_non_administrators(alice, dana, template, inbox):
    connector = folder_connector(dana, template, inbox)
    client = client_for(alice)
    for url in ["/imports/connectors/", "/imports/connectors/new/"]:
        assert client.get(url).status_code == 404
    assert client.get(f"/imports/connectors/{connector.pk}/").status_code == 404
    assert client.post(f"/imports/connectors/{connector.pk}/run/").status_code == 404
    assert client.post(f"/imports/connectors/{connector.pk}/delete/").status_code == 404
    assert Connector.objects.filter(last_run_at__isnull=True).count() == 1


def test_api_crud_and_run(erp, dana, alice, template, inbox, api_key_for):
    drop(inbox, "orders.csv", NIGHT_1)
    admin = {"HTTP_AUTHORIZATION": f"Bearer {api_key_for(dana, scope='read_write')}"}
    rep = {"HTTP_AUTHORIZATION": f"Bearer {api_key_for(alice, scope='read_write')}"}
    client = Client()
    body = {"name": "ERP", "kind": "folder", "location": str(inbox), "template_id": template.pk}

    assert client.post("/api/v1/connectors", body, "application/json", **rep).status_code == 404
    created = client.post("/api/v1/connectors", body, "application/json", **admin)
    assert created.status_code == 201
    connector = created.json()
    assert (connector["run_as_id"], connector["schedule_hour"]) == (dana.pk, 2)

    url = f"/api/v1/connectors/{connector['id']}"
    assert client.get(url, **rep).status_code == 404
    assert client.post(f"{url}/run", **rep).status_code == 404
    changed = client.patch(url, {"schedule_hour": 1}, "application/json", **admin)
    assert changed.json()["schedule_hour"] == 1
    refused = client.patch(url, {"schedule_hour": 24}, "application/json", **admin)
    assert refused.status_code == 422

    ran = client.post(f"{url}/run", **admin)
    assert ran.status_code == 202
    run = ran.json()["runs"][0]
    assert run["outcome"] == "imported"
    assert run["counts"]["created"] == 2
    assert client.get(f"/api/v1/imports/{run['imports'][0]}", **admin).status_code == 200
    listing = client.get("/api/v1/connectors", **admin).json()
    assert [item["name"] for item in listing["items"]] == ["ERP"]

    assert client.delete(url, **admin).status_code == 204
    assert not Connector.objects.exists()
    assert ImportJob.objects.count() == 1  # the import stays (and can be undone)


def test_url_password_is_not_shown(dana, erp_url):
    with_password = erp_url.replace("http://", "http://erp:geheim@")
    connector = services.connector_create(
        actor=dana, name="ERP", kind="url", location=with_password, allow_private=True, run_as=dana
    )
    assert "geheim" not in services.location_label(connector)
    page = client_for(dana).get("/imports/connectors/").content.decode()
    assert "geheim" not in page
    assert "erp:***@" in page


def test_django_admin_checks_the_location_like_the_app(dana, inbox, erp_url):
    root = UserFactory(username="root", is_staff=True, is_superuser=True)
    client = client_for(root)
    assert client.get("/django-admin/migration/connector/").status_code == 200
    form = {
        "name": "ERP",
        "kind": "url",
        "location": erp_url,
        "entity": "transaction",
        "duplicate_mode": "update",
        "schedule_hour": "2",
        "enabled": "on",
        "run_as": dana.pk,
    }
    refused = client.post("/django-admin/migration/connector/add/", form)
    assert refused.status_code == 200
    assert "private" in refused.content.decode()
    assert not Connector.objects.exists()
    allowed = client.post("/django-admin/migration/connector/add/", {**form, "allow_private": "on"})
    assert allowed.status_code == 302
    connector = Connector.objects.get()
    assert connector.allow_private
    assert (
        client.get(f"/django-admin/migration/connector/{connector.pk}/change/").status_code == 200
    )


def test_cli_runs_the_due_connectors(erp, dana, template, inbox, capsys):
    drop(inbox, "orders.csv", NIGHT_1)
    folder_connector(dana, template, inbox)
    call_command("connectors", "run", "--due")
    call_command("connectors", "run", "--due")
    out = capsys.readouterr().out
    assert "ERP orders: 1 file imported: 2 created" in out
    assert "no connector is due" in out


@pytest.mark.parametrize(
    ("kind", "location"),
    [
        ("folder", "/srv/erp\x00export"),
        ("folder", "a" * 480),
        ("url", "http://exa\x00mple.com/"),
        ("url", "http://[::1/"),
        ("url", "http://example.com:99999/"),
    ],
)
def test_odd_locations_are_refused_with_a_message(dana, inbox, kind, location):
    with pytest.raises(ValidationError) as caught:
        services.connector_create(actor=dana, name="x", kind=kind, location=location, run_as=dana)
    assert "location" in caught.value.message_dict


def test_a_name_too_long_for_the_file_system_is_refused(dana, inbox):
    with pytest.raises(ValidationError, match="does not exist"):
        services.connector_create(
            actor=dana, name="x", kind="folder", location=str(inbox / ("a" * 300)), run_as=dana
        )


def test_a_connector_after_the_analytics_is_told_so(dana, template, inbox, settings):
    settings.TIME_ZONE = "Europe/Berlin"
    connector = folder_connector(dana, template, inbox)
    client = client_for(dana)
    start = analytics_start()
    for hour, warned in [(start.hour - 1, False), (start.hour + 1, True)]:
        Connector.objects.filter(pk=connector.pk).update(schedule_hour=hour)
        page = client.get(f"/imports/connectors/{connector.pk}/").content.decode()
        assert ('data-testid="after-analytics"' in page) is warned, hour
