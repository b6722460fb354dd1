"""``kreis cases list|export|import|close-resolved``: bulk work on cases from the command line,
through the same services as the web UI (numbers, owners, SLA, recorded transitions)."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from kreis.parties.models import ContactKind, ContactPoint, Party, PartyKind
from kreis.service import services
from kreis.service.models import Case, CaseStatus, CaseTransition


def run(*args) -> str:
    out = io.StringIO()
    call_command("cases", *args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


@pytest.fixture
def customers(db, alice, north):
    anna = Party.objects.create(
        kind=PartyKind.PERSON, name="Anna Alt", owner=alice, team=north, external_id="ERP-1"
    )
    ContactPoint.objects.create(party=anna, kind=ContactKind.EMAIL, value="anna@example.com")
    bert = Party.objects.create(kind=PartyKind.ORGANIZATION, name="Bau GmbH", external_id="ERP-2")
    return {"anna": anna, "bert": bert}


@pytest.fixture
def cases(customers, defect, billing, root_cause, sam):
    def make(party, category, subject, severity="medium"):
        return services.case_create(
            actor=None,
            party=party,
            channel="phone",
            category=category,
            subject=subject,
            severity=severity,
            acknowledge=False,
        )

    leak = make(customers["anna"], defect, "Pump leaks", "critical")
    bill = make(customers["bert"], billing, "Invoice twice", "low")
    done = make(customers["bert"], defect, "Scratches", "high")
    for step in ("in_progress", "resolved"):
        done = services.case_transition(
            actor=None, case=done, to_status=step, root_cause=root_cause
        )
    Case.objects.filter(pk=leak.pk).update(ack_due_at=timezone.now() - dt.timedelta(hours=1))
    return {"leak": leak, "bill": bill, "done": done}


def test_list_filters_by_status_severity_and_overdue(cases):
    table = run("list")
    assert "3 case(s)" in table
    assert cases["leak"].number in table
    assert "OVERDUE" in table
    only = run("list", "--severity", "low")
    assert cases["bill"].number in only
    assert cases["leak"].number not in only
    resolved = json.loads(run("list", "--status", "resolved", "--json"))
    assert [row["number"] for row in resolved] == [cases["done"].number]
    overdue = list(csv.DictReader(io.StringIO(run("list", "--overdue", "--csv"))))
    assert [row["number"] for row in overdue] == [cases["leak"].number]
    assert overdue[0]["overdue"] == "True"


def test_list_as_a_user_shows_only_their_cases(cases, otto, sam):
    assert "0 case(s)" in run("list", "--user", "otto")
    with pytest.raises(CommandError, match="no active user"):
        run("list", "--user", "nobody")


def test_export_writes_every_visible_field_as_csv_and_json(cases, tmp_path):
    target = tmp_path / "cases.csv"
    assert "3 case(s) written" in run("export", "--format", "csv", "--output", str(target))
    rows = list(csv.DictReader(target.open(encoding="utf-8")))
    assert len(rows) == 3
    leak = next(r for r in rows if r["number"] == cases["leak"].number)
    assert leak["customer"] == "Anna Alt"
    assert leak["customer_external_id"] == "ERP-1"
    assert leak["category"] == "Product defect"
    assert leak["severity"] == "critical"
    assert leak["owner"] == "sam"
    data = json.loads(run("export", "--format", "json"))
    done = next(r for r in data if r["number"] == cases["done"].number)
    assert done["status"] == "resolved"
    assert done["root_cause"] == "Manufacturing fault"
    assert done["resolved_at"]


def write(tmp_path, text: str):
    path = tmp_path / "old.csv"
    path.write_text(text, encoding="utf-8")
    return str(path)


def test_import_creates_cases_by_email_or_external_id_with_their_dates(
    customers, defect, billing, sam, tmp_path
):
    path = write(
        tmp_path,
        "customer,category,severity,subject,description,created\n"
        "Anna@Example.com,Product defect,high,Pump leaks,Since Monday,2025-03-04\n"
        "ERP-2,Rechnung,niedrig,Rechnung doppelt,,2025-03-05 14:30\n",
    )
    assert "2 case(s) imported" in run("import", path)
    anna, bert = (
        Case.objects.get(party=customers["anna"]),
        Case.objects.get(party=customers["bert"]),
    )
    assert (anna.category, anna.severity, anna.description) == (defect, "high", "Since Monday")
    assert (bert.category, bert.severity, bert.subject) == (billing, "low", "Rechnung doppelt")
    assert timezone.localdate(anna.created_at) == dt.date(2025, 3, 4)
    # The SLA counts from the day the case was received in the old system.
    assert anna.ack_due_at < dt.datetime(2025, 3, 10, tzinfo=dt.UTC)
    assert anna.owner == sam
    assert CaseTransition.objects.filter(case=anna, to_status=CaseStatus.RECEIVED).exists()


def test_import_with_bad_rows_names_them_and_writes_nothing(customers, defect, tmp_path):
    path = write(
        tmp_path,
        "customer,category,severity,subject,created\n"
        "anna@example.com,Product defect,high,Fine,2025-03-04\n"
        "ghost@example.com,Product defect,high,Who?,2025-03-04\n"
        "ERP-1,Nonsense,urgent,,03/04/2025\n",
    )
    err = io.StringIO()
    with pytest.raises(CommandError, match="2 bad row"):
        call_command("cases", "import", path, stdout=io.StringIO(), stderr=err)
    errors = err.getvalue()
    assert "line 3: no customer with e-mail or external ID “ghost@example.com”" in errors
    assert "line 4: no active category “Nonsense”" in errors
    assert "unknown severity “urgent”" in errors
    assert "the subject is empty" in errors
    assert "“03/04/2025” is not a date" in errors
    assert Case.objects.count() == 0


def test_import_dry_run_checks_without_writing(customers, defect, tmp_path):
    path = write(tmp_path, "customer,category,subject\nERP-1,Produktmangel,Leak\n")
    assert "1 case(s) would be imported" in run("import", path, "--dry-run")
    assert Case.objects.count() == 0


def test_import_without_required_columns_says_which(db, tmp_path):
    path = write(tmp_path, "name,subject\nx,y\n")
    with pytest.raises(CommandError):
        call_command("cases", "import", path, stdout=io.StringIO(), stderr=io.StringIO())


def test_close_resolved_closes_old_resolved_cases_with_a_recorded_transition(cases):
    done = cases["done"]
    assert "0 case(s) closed" in run("close-resolved", "--older-than", "7")
    Case.objects.filter(pk=done.pk).update(resolved_at=timezone.now() - dt.timedelta(days=10))
    assert "1 resolved case(s) would be closed" in run(
        "close-resolved", "--older-than", "7", "--dry-run"
    )
    assert "1 case(s) closed" in run("close-resolved", "--older-than", "7")
    done.refresh_from_db()
    assert done.status == CaseStatus.CLOSED
    assert done.closed_at
    last = CaseTransition.objects.filter(case=done).order_by("-pk").first()
    assert (last.from_status, last.to_status) == (CaseStatus.RESOLVED, CaseStatus.CLOSED)
    assert "resolved more than 7 days ago" in last.note


def test_kreis_help_lists_the_cases_command(capsys):
    from kreis.cli import main

    main(["--help"])
    assert "cases" in capsys.readouterr().out
