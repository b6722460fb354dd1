"""No CSV export hands a spreadsheet a formula (CSV injection, OWASP).

The exports are not listed by hand: the test follows the links of every page an administrator
can open, collects every CSV download they offer, and checks that every URL pattern serving a
``.csv`` file was among them. The ``kreis`` commands that print CSV are found by their help.
Every text field of every record in the world holds a dangerous value; hypothesis then puts
further dangerous values into them, and no cell of any export may start a formula."""

import argparse
import csv
import datetime as dt
import io
import re
from decimal import Decimal
from urllib.parse import urljoin, urlsplit

import pytest
from django.core.management import call_command, get_commands, load_command_class
from django.db import models
from django.urls import Resolver404, URLPattern, URLResolver, get_resolver, resolve
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kreis.activities.models import Activity
from kreis.commerce.models import Product, Transaction, TransactionLine
from kreis.core import services as core_services
from kreis.core.web import csv_cell
from kreis.leads.models import Lead
from kreis.marketing.models import FormSubmission, LeadForm
from kreis.parties import services as party_services
from kreis.parties.models import Address, ContactPoint, Party, Tag
from kreis.pricing.models import PriceList
from kreis.sales.models import Deal, Target
from tests.activities.factories import ActivityFactory
from tests.conftest import client_for
from tests.leads.factories import LeadFactory
from tests.sales.factories import DealFactory

FORMULA_STARTS = "=+-@"
BREAKS = "\t\r\n"
# What a spreadsheet skips before it looks at the first character.
BLANK = st.sampled_from([" ", "\x00", "\x01", "\x1f", "\x0b", "\x0c", "\u00a0", "\u200b"])
NOT_A_NUMBER = st.sampled_from(list("AZcmd(|!=\"'&;:/") + ["SUM(1)", "HYPERLINK(", "cmd|' /C"])


@st.composite
def dangerous(draw) -> str:
    """A value a spreadsheet would run: a formula start, maybe after spaces or control
    characters, or a tab, CR or LF as the very first character."""
    if draw(st.booleans()):
        return draw(st.sampled_from(BREAKS)) + draw(st.text(max_size=20))
    lead = "".join(draw(st.lists(BLANK, max_size=3)))
    start = draw(st.sampled_from(FORMULA_STARTS))
    return lead + start + draw(st.text(max_size=8)) + draw(NOT_A_NUMBER) + draw(st.text(max_size=8))


def _signed(value) -> str:
    return f"{value:+}"


SIGNED_NUMBERS = st.one_of(
    st.integers().map(_signed),
    st.decimals(allow_nan=False, allow_infinity=False).map(_signed),
    st.floats(allow_nan=False, allow_infinity=False).map(_signed),
    st.from_regex(r"\+[1-9]\d{0,2}( \d{2,4}){1,3}", fullmatch=True),  # a phone in E.164
)


# A busy machine (two cores shared) must not fail a property on generation speed.
relaxed = settings(suppress_health_check=[HealthCheck.too_slow], deadline=None)


@relaxed
@given(dangerous())
def test_every_dangerous_start_is_defused(value):
    assert csv_cell(value) == "'" + value


@relaxed
@given(SIGNED_NUMBERS)
def test_plain_signed_numbers_stay_numbers(value):
    assert csv_cell(value) == value


@relaxed
@given(st.text())
def test_a_cell_is_kept_or_only_prefixed(value):
    assert csv_cell(value) in (value, "'" + value)


@relaxed
@given(st.text().filter(lambda t: t[:1].isalnum()))
def test_text_starting_with_a_letter_or_digit_is_untouched(value):
    assert csv_cell(value) == value


# --- every export ---------------------------------------------------------------------------

PLAIN_NUMBER = re.compile(r"[+-]?\d[\d.,]*(?:[eE][+-]?\d+)?")


def runs_as_formula(cell: str) -> bool:
    """How a spreadsheet reads a cell it is given: a tab, CR or LF first, or = + - @ as the
    first character after spaces and control characters, unless the cell is a number."""
    if not cell:
        return False
    if cell[0] in BREAKS:
        return True
    rest = cell.lstrip("".join(chr(c) for c in range(33)) + "\u00a0\u200b")
    return rest[:1] != "" and rest[0] in FORMULA_STARTS and not PLAIN_NUMBER.fullmatch(rest)


SEED = ["=HYPERLINK(\"x\")", "+cmd|'/C calc'!A0", "-2+3+cmd", "@SUM(1+1)", "\tTab", "\rCR",
        "\nLF", "  =spaced", "\x01@control"]  # fmt: skip


def _text_fields(model) -> list[models.Field]:
    """The free-text columns of a model (no choices, no unique keys, no secrets)."""
    return [
        field
        for field in model._meta.concrete_fields
        if isinstance(field, models.CharField | models.TextField)
        and not field.choices
        and not field.unique
        and field.name not in {"password", "currency", "country"}
    ]


# Every model whose text a CSV export may show.
TEXT_MODELS = [
    Party,
    Address,
    ContactPoint,
    Tag,
    Lead,
    Deal,
    Activity,
    Transaction,
    Product,
    FormSubmission,
    Target,
    PriceList,
]


def _fill(value: str) -> None:
    """Every text field of every record in the world holds ``value`` (cut to the column)."""
    for model in TEXT_MODELS:
        fields = _text_fields(model)
        model._default_manager.update(
            **{f.name: value[: f.max_length] if f.max_length else value for f in fields}
        )
    for model in (Party, Lead, Deal):
        model._default_manager.update(custom={"remark": value})


@pytest.fixture
def world(settings, tmp_path, dana, alice, north):
    """Nine customers named with a dangerous value each, with a lead, deal, activity and
    invoice per customer, a custom text field on each record type, a utility analysis, and
    an analytics run so that the analytics pages offer their exports."""
    settings.KREIS_WAREHOUSE = f"duckdb://{tmp_path}/w.duckdb"
    for entity in ("party", "lead", "deal"):
        core_services.custom_field_create(
            actor=None, entity=entity, key="remark", label="=Remark", type="text"
        )
    calls = []
    for i, name in enumerate(SEED):
        party = party_services.party_create(
            actor=alice,
            kind="organization",
            name=name,
            roles=["customer"],
            tags=[name.strip() or f"tag{i}"],
            emails=[{"value": f"c{i}@example.de"}],
            custom={"remark": name},
        )
        for days in (30, 200):
            txn = Transaction.objects.create(
                kind="invoice",
                number=name,
                party=party,
                date=timezone.localdate() - dt.timedelta(days=days + i),
                net_revenue=Decimal(1000 + i),
                cost=Decimal(400),
                owner=alice,
                team=north,
            )
            TransactionLine.objects.create(
                transaction=txn, quantity=1, unit_price=1000 + i, net_revenue=1000 + i, cost=400
            )
        LeadFactory(last_name=name, company=name, owner=alice, team=north)
        Product.objects.create(sku=f"P{i}", name=name, category=name, list_price=10)
        DealFactory(name=name, organization=party, owner=alice, team=north)
        ActivityFactory(subject=name, party=party, owner=alice, team=north)
        calls.append((party, name))
    # A call list whose entries carry the dangerous names (the call list export).
    from kreis.calls.models import CallList, CallListEntry

    call_list = CallList.objects.create(name="Anrufe", owner=alice, team=north)
    for position, (party, _name) in enumerate(calls, start=1):
        CallListEntry.objects.create(
            call_list=call_list, party=party, phone="+4930123456", position=position,
            due_at=timezone.now(),
        )  # fmt: skip
    # A price list per dangerous name (the price list export).
    from kreis.pricing.models import PriceListItem

    for i, name in enumerate(SEED):
        plist = PriceList.objects.create(name=name[:120], currency="EUR")
        PriceListItem.objects.create(
            price_list=plist, product=Product.objects.get(sku=f"P{i}"), unit_price=9
        )
    # A category target of this year per dangerous name (the targets export).
    year = timezone.localdate().year
    Target.objects.bulk_create(
        Target(
            metric="revenue",
            dimension="category",
            category=name,
            note=name,
            period_kind="year",
            period_start=dt.date(year, 1, 1),
            period_end=dt.date(year, 12, 31),
            amount=Decimal(1000),
        )
        for name in SEED
    )
    from kreis.analytics.scoring import services as scoring

    choice = scoring.scoring_model_create(
        actor=None,
        name="=Choice",
        target="option",
        criteria=[{"field": "fit", "label": "+Fit", "weight": 1, "thresholds": [[0, 0], [9, 10]]}],
    )
    for name in SEED:
        scoring.utility_option_create(actor=None, model=choice, name=name, values={"fit": 5})
    call_command("analytics", "run", verbosity=0)
    # An import whose rows all fail (bad e-mail), so its error rows download as CSV.
    from kreis.migration import services as imports

    text = io.StringIO()
    writer = csv.writer(text, delimiter=";")
    writer.writerow(["Firma", "E-Mail"])
    # (a control character other than tab or line breaks makes it no text file at all)
    writer.writerows([name, "kaputt"] for name in SEED if "\x01" not in name)
    job = imports.import_create(
        actor=dana,
        upload=io.BytesIO(text.getvalue().encode()),
        name="kunden.csv",
        entity="organization",
        mapping={"Firma": "name", "E-Mail": "email"},
    )
    imports.import_check(actor=dana, job=job)
    # A web form whose submissions carry the dangerous values (its submissions export).
    form = LeadForm.objects.create(
        name="=Kontakt",
        key="kontakt",
        fields=[
            {"key": "last_name", "label": "Nachname", "type": "text", "required": True},
            {"key": "company", "label": "Firma", "type": "text", "required": False},
        ],
    )
    for name in SEED:
        FormSubmission.objects.create(
            form=form,
            data={"last_name": name, "company": name},
            outcome="created",
            referrer=name,
            utm_source=name,
        )
    return dana


def _routes(patterns=None, prefix="") -> list[str]:
    """Every URL pattern of the project as its route text (``parties/export.csv``)."""
    found = []
    for entry in get_resolver().url_patterns if patterns is None else patterns:
        if isinstance(entry, URLResolver):
            found += _routes(entry.url_patterns, prefix + str(entry.pattern))
        elif isinstance(entry, URLPattern):
            found.append(prefix + str(entry.pattern))
    return found


def _route_of(path: str) -> str | None:
    try:
        return resolve(path).route
    except Resolver404:
        return None


SKIP = ("/accounts/", "/django-admin/", "/api/", "logout")


def _csv_links(client) -> dict[tuple[str, str], str]:
    """Crawl the site as the client sees it, one page per URL pattern, and return every CSV
    download linked from it ((route, path) -> first link)."""
    seen_routes: set[str] = set()
    seen_paths: set[str] = set()
    queue, exports = ["/"], {}
    while queue:
        path = queue.pop(0)
        route = _route_of(path)
        if route is None or route in seen_routes or path in seen_paths:
            continue
        seen_paths.add(path)
        response = client.get(path)
        if response.status_code in (301, 302):  # a page that sends on (preview -> options)
            queue.append(urlsplit(urljoin(path, response["Location"])).path)
            continue
        seen_routes.add(route)
        if response.status_code != 200 or "html" not in response.get("Content-Type", ""):
            continue
        for href in re.findall(r'href="([^"#]+)"', response.content.decode()):
            href = urljoin(path, href.replace("&amp;", "&"))
            parts = urlsplit(href)
            if parts.netloc or href.startswith(SKIP):
                continue
            if parts.path.endswith(".csv") or "format=csv" in parts.query:
                exports.setdefault((_route_of(parts.path), parts.path), href)
            else:
                queue.append(parts.path)
    return exports


def _cells(content: bytes) -> list[str]:
    """The cells of a CSV, separated by commas or (the import's error rows) semicolons."""
    text = content.decode("utf-8-sig")
    header = text.split("\n", 1)[0]
    delimiter = ";" if header.count(";") > header.count(",") else ","
    return [cell for row in csv.reader(io.StringIO(text), delimiter=delimiter) for cell in row]


def _cli_csv_commands() -> list[list[str]]:
    """The ``kreis`` commands (and subcommands) whose help says they print CSV."""
    found = []
    for name, app in get_commands().items():
        if not app.startswith("kreis"):
            continue
        parser = load_command_class(app, name).create_parser("kreis", name)
        if "(CSV)" in (parser.description or ""):
            found.append([name])
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                for choice in action._choices_actions:
                    if "(CSV)" in (choice.help or ""):
                        found.append([name, choice.dest])
    return found


@pytest.mark.django_db
def test_no_export_starts_a_formula(world):
    client = client_for(world)
    exports = _csv_links(client)
    # API routes are not crawled; the API's import errors.csv is the page's generator.
    csv_routes = {r for r in _routes() if ".csv" in r and not r.startswith("api/")}
    linked = {route for route, _ in exports}
    assert csv_routes <= linked, f"export routes no page links to: {csv_routes - linked}"
    assert len(exports) >= 10

    def check(expected: set[str]) -> None:
        for key, href in exports.items():
            response = client.get(href)
            assert response.status_code == 200, href
            assert response["Content-Type"].startswith("text/csv"), href
            cells = _cells(b"".join(response.streaming_content))
            bad = [c for c in cells if runs_as_formula(c)]
            assert not bad, f"{key}: {bad[:3]}"
            if not key[0].startswith("analytics/chart"):
                assert expected & set(cells), f"{key} shows none of the values"

    check({"'" + name for name in SEED})
    commands = _cli_csv_commands()
    assert commands
    for command in commands:
        out = io.StringIO()
        call_command(*command, stdout=out)
        assert not [c for c in _cells(out.getvalue().encode()) if runs_as_formula(c)], command

    # Further dangerous values (PostgreSQL stores no NUL) in every text field of every record.
    # (An import's error rows are the uploaded file's cells, checked above with the seed.)
    operational = {
        k: v for k, v in exports.items() if not k[0].startswith(("analytics", "imports"))
    }

    @settings(
        max_examples=5,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(dangerous().filter(lambda v: "\x00" not in v))
    def every_value_is_defused(value):
        _fill(value)
        for key, href in operational.items():
            cells = _cells(b"".join(client.get(href).streaming_content))
            assert not [c for c in cells if runs_as_formula(c)], key
            assert "'" + value in cells, f"{key} does not show the value"

    every_value_is_defused()
