"""Script in user text never runs: an XSS corpus goes through every text field of every create
route of the REST API, then every page that shows those records is opened in Chromium under
the real Content-Security-Policy, with the mouse moved over every chart for its tooltips.

Two things are checked on each page: the ``window.__xss`` flag that each payload would set
stays unset and no dialog opens (what the CSP and the escaping together allow), and no
element, attribute or link from a payload is in the page (what the escaping alone allows,
so a gap hidden by the CSP is still found).

The create routes are taken from the OpenAPI document, the body of each from its schema, and
the pages from the links of the site, one page per URL pattern, so that a route or page added
later is covered without listing it here."""

import csv
import html
import io
import itertools
import re
from urllib.parse import urljoin, urlsplit

import pytest
from django.test import Client
from django.urls import Resolver404, resolve
from django.utils import timezone

from kreis.api import api
from kreis.core.models import SavedView
from kreis.migration.models import ImportJob
from kreis.parties.models import Party
from tests.conftest import client_for

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PAYLOADS = [
    "<script>window.__xss=1</script>",
    '<img src=x onerror="window.__xss=1">',
    '"><svg onload=window.__xss=1>',
    "javascript:window.__xss=1",
    "{{7*7}} {% now 'Y' %} ${7*7}",
    "'-window.__xss=1-'",
    "</textarea></title><img src=x onerror=window.__xss=1>",
    "{a}{b}{c}<b onmouseover=window.__xss=1>{@score}</b>",  # ECharts formatter templates
    '<a href="javascript:window.__xss=1">x</a>',
]

# Values a field needs to pass validation when a payload cannot (by field name).
PLAIN = {
    "email": "xss@example.de",
    "phone": "+49 30 1234567",
    "website": "https://example.com/",
    "iban": "DE89370400440532013000",
    "vat_id": "DE136695976",
    "currency": "EUR",
    "country": "DE",
    "key": "note",
    "username": "xss",
    "password": "a long and lonely password 42",
    "external_id": "X",
    "value": "xss@example.de",
    "field": "fit",
    "period": "2026-Q3",
    "email_address": "xss@example.de",
}
# Which created record an ``…_id`` field points to.
ID_SOURCES = {
    "person_id": "persons",
    "contact_id": "persons",
    "organization_id": "organizations",
    "party_id": "organizations",
    "source_id": "organizations",
    "target_id": "persons",
    "pipeline_id": "pipelines",
    "stage_id": "stages",
    "lost_reason_id": "lost-reasons",
    "product_id": "products",
    "lead_id": "leads",
    "deal_id": "deals",
    "model_id": "scoring-models",
    "team_id": "teams",
    "case_id": "cases",
    "survey_id": "surveys",
    "question_id": "questions",
    "campaign_id": "campaigns",
    "segment_id": "segments",
    "playbook_id": "playbooks",
    "quote_id": "quotes",
    "mention_id": "mentions",  # made by _seeded: mentions arrive by webhook, not by the API
    "account_id": "accounts",  # an e-mail account's sharing rules
}
# Routes that create, but by acting on other records (covered by their own tests); sending
# e-mail needs the account's SMTP server (tests/comms sends through aiosmtpd).
ACTIONS = ("/merge", "/bulk", "/mail/send")


class Corpus:
    """Hands out the payloads in turn, each tagged with a number so it is found again."""

    def __init__(self) -> None:
        self._next = itertools.count()
        self.choices: list[str] = []

    def __call__(self) -> str:
        n = next(self._next)
        return f"{PAYLOADS[n % len(PAYLOADS)]} x{n}"


def _schema(ref: dict, components: dict) -> dict:
    while "$ref" in ref:
        ref = components[ref["$ref"].rsplit("/", 1)[-1]]
    options = [s for s in ref.get("anyOf", []) if s.get("type") != "null"]
    return _schema(options[0], components) if options and "type" not in ref else ref


def _body(schema: dict, components: dict, corpus: Corpus, created: dict, name: str = ""):
    """A request body from a JSON schema: every free-text string a payload."""
    schema = _schema(schema, components)
    kind = schema.get("type")
    if "enum" in schema:
        return schema["enum"][0]
    if kind == "object" and "properties" in schema:
        return {
            key: _body(sub, components, corpus, created, key)
            for key, sub in schema["properties"].items()
            if _wanted(key, sub, components, created)
        }
    if kind == "object":
        return {}
    if kind == "array":
        item = _body(schema.get("items", {}), components, corpus, created, name)
        return [] if item is None else [item]
    if kind == "integer":
        return created.get(ID_SOURCES.get(name, ""), [None])[-1] if name.endswith("_id") else 1
    if kind == "number":
        return 10
    if kind == "boolean":
        return schema.get("default", False)  # active records, as a user would make them
    if schema.get("format") == "date":
        return timezone.localdate().isoformat()
    if schema.get("format") == "date-time":
        return timezone.now().isoformat()
    if "pattern" in schema:
        return PLAIN.get(name, "plain")
    return corpus()[: schema.get("maxLength")]


def _wanted(key: str, sub: dict, components: dict, created: dict) -> bool:
    if key.endswith("_ids") or key in {"owner_id", "team_id", "position", "custom", "grades"}:
        return False
    if key.endswith("_id"):
        return bool(created.get(ID_SOURCES.get(key, "")))
    return not key.endswith("_external_id")


def _errors(response) -> dict[str, str]:
    """The fields a 422 answer names (the last part of a nested path), with their codes."""
    problems = response.json().get("errors", [])
    return {
        next(p for p in reversed(str(e["field"]).split(".")) if not p.isdigit()): e.get("code", "")
        for e in problems
    }


def _create_everything(dana, api_key) -> dict[str, list[int]]:
    """POST to every create route of the API, in an order the ids allow, with payloads."""
    document = api.get_openapi_schema()
    components = document["components"]["schemas"]
    creates = {
        path.removeprefix("/api/v1"): operation
        for path, operations in document["paths"].items()
        if (operation := operations.get("post"))
        and 201 in operation["responses"]
        and not path.endswith(ACTIONS)
        and operation.get("requestBody")
        # JSON bodies; the one upload (POST /imports, multipart) makes records only when run
        and "application/json" in operation["requestBody"].get("content", {})
    }
    client = Client(HTTP_AUTHORIZATION=f"Bearer {api_key}")
    corpus, created, refused = Corpus(), {}, {}
    pending = dict(creates)
    for _round in range(len(creates)):
        for path, operation in list(pending.items()):
            target = path
            for param in re.findall(r"{(\w+)}", path):
                ids = created.get(ID_SOURCES.get(param, "")) or _seeded(param, created, corpus)
                if not ids:
                    break
                target = target.replace(f"{{{param}}}", str(ids[-1]))
            if "{" in target:
                continue
            schema = operation["requestBody"]["content"]["application/json"]["schema"]
            body = _body(schema, components, corpus, created)
            body.update(_special(path, corpus))
            response = client.post(f"/api/v1{target}", body, content_type="application/json")
            for _attempt in range(6):
                if response.status_code != 422:
                    break
                for field, code in _errors(response).items():
                    _plain(body, field, missing=code == "missing")
                response = client.post(f"/api/v1{target}", body, content_type="application/json")
            if response.status_code == 201:
                resource = path.rstrip("/").rsplit("/", 1)[-1]
                # (a create route may answer with a summary that carries no id of its own, or
                # with the list of what it made)
                answer = response.json()
                answers = answer if isinstance(answer, list) else [answer]
                created.setdefault(resource, []).extend(item.get("id") for item in answers)
                del pending[path]
            else:
                refused[path] = (response.status_code, response.content[:900], body)
        if not pending:
            break
    assert not pending, f"create routes that took no payload: {refused or sorted(pending)}"
    return created


def _seeded(param: str, created: dict, corpus: Corpus) -> list[int]:
    """Records the API cannot create, made once what they need exists. A mention comes in
    through a webhook source's signed address (as another network posts it): its text holds
    every keyword made through the API (HTML-escaped, as a network sends text, so that the
    payload terms match and name the chart's series), the author's handle and name are
    payloads."""
    if param != "mention_id" or not created.get("keywords") or not created.get("sources"):
        return []
    import json

    from standardwebhooks.webhooks import Webhook

    from kreis.social.models import Keyword, Source

    source = Source.objects.get(pk=created["sources"][-1])
    terms = Keyword.objects.filter(pk__in=created["keywords"]).values_list("term", flat=True)
    body = json.dumps(
        {
            "id": "xss-1",
            "text": " ".join([*(html.escape(term) for term in terms), html.escape(corpus())]),
            "author": corpus(),
            "author_name": corpus(),
            "url": "https://social.example/@xss/1",
        }
    )
    now = timezone.now()
    response = Client().post(
        f"/social/hooks/{source.webhook_token}/",
        body,
        content_type="application/json",
        headers={
            "webhook-id": "xss-1",
            "webhook-timestamp": str(int(now.timestamp())),
            "webhook-signature": Webhook(source.webhook_secret).sign("xss-1", now, body),
        },
    )
    assert response.json() == {"outcome": "stored", "stored": 1}, response.content
    created["mentions"] = [source.mentions.get().pk]
    return created["mentions"]


def _plain(body, field: str, *, missing: bool = False) -> None:
    """Make a field the API refused acceptable, wherever it is nested: a plain valid value
    for a known field, or leave it out (a required one gets plain text)."""
    if isinstance(body, list):
        for item in body:
            _plain(item, field, missing=missing)
    elif isinstance(body, dict):
        if missing or field in PLAIN:
            if field in body or missing:
                body[field] = PLAIN.get(field, "plain")
            for value in body.values():
                _plain(value, field)
            return
        if field in body:
            del body[field]
        for value in body.values():
            _plain(value, field)


def _special(path: str, corpus: Corpus) -> dict:
    """What a schema cannot say: a choice field (so its choices show), a criterion's
    thresholds, and custom values for the custom fields created first."""
    if path == "/custom-fields":
        corpus.choices = [corpus(), corpus()]
        return {"type": "choice", "entity": "party", "key": "note", "choices": corpus.choices}
    if path in ("/organizations", "/persons") and corpus.choices:
        return {"custom": {"note": corpus.choices[0]}}
    if path == "/analytics/scoring-models":  # a utility analysis, so that options exist
        return {
            "target": "option",
            "max_points": 10,
            "criteria": [
                {"field": "fit", "label": corpus(), "weight": 1, "thresholds": [[0, 0], [9, 10]]}
            ],
        }
    if path.endswith("/options"):
        return {"values": {"fit": 5}}
    if path == "/calls/lists":  # a call list is built from a segment or a campaign, not both
        return {"campaign_id": None}
    if path == "/connectors":  # a folder where connectors may watch (named by the payload)
        from django.conf import settings

        folder = settings.KREIS_CONNECTOR_FOLDERS[0] / "xss"
        folder.mkdir(parents=True, exist_ok=True)
        return {"kind": "folder", "location": str(folder), "entity": "transaction"}
    if path == "/webhooks":  # a public https target (never called: no worker runs here)
        return {"target_url": "https://hooks.example.com/kreis", "events": ["party.created"]}
    if path == "/import-templates":  # a file column (the payload) mapped to a real target
        return {"entity": "organization", "mapping": {corpus(): "name"}}
    if path == "/kpis/market-volumes":  # a period starts on its first day
        return {"grain": "month", "start": timezone.localdate().replace(day=1).isoformat()}
    if path == "/surveys/{survey_id}/responses":  # answers come in the collection phase
        from kreis.feedback import services as surveys
        from kreis.feedback.models import Survey

        survey = Survey.objects.order_by("-pk").first()
        early = ("definition", "design")
        if survey.phase in early and survey.questions.exists():  # made in a later round maybe
            for phase in ("design", "collection")[early.index(survey.phase) :]:
                surveys.survey_move(actor=None, survey=survey, to_phase=phase)
        return {}
    if path == "/social/sources":  # a signed webhook: mentions arrive by it (see _seeded)
        return {"kind": "webhook", "is_active": True}
    if path == "/social/keywords":  # active, so the webhook's mention matches it
        return {"is_active": True}
    if path == "/cases":  # categories are configured, not created through the API
        from kreis.service.defaults import ensure_defaults
        from kreis.service.models import CaseCategory

        ensure_defaults()
        return {"category_id": CaseCategory.objects.order_by("pk").first().pk}
    if path == "/cases/config/assignment-rules":  # a rule assigns to someone: a user
        from kreis.core.models import User

        return {"assign_user_id": User.objects.filter(is_active=True).order_by("pk").first().pk}
    if path == "/cases/{case_id}/supplier-requests":  # a party with the supplier role
        from kreis.parties.models import PartyRoleAssignment

        supplier = Party.objects.filter(kind="organization").order_by("-pk").first()
        PartyRoleAssignment.objects.get_or_create(party=supplier, role="supplier")
        return {"supplier_id": supplier.pk}
    if path == "/cases/{case_id}/costs":  # handling time: hours × rate, both numbers
        return {"kind": "handling", "hours": 2}
    if path == "/improvement-actions":  # root causes are configured, not created by the API
        from kreis.service.defaults import ensure_defaults
        from kreis.service.models import RootCause

        ensure_defaults()
        return {"root_cause_id": RootCause.objects.order_by("pk").first().pk}
    if path == "/sales/targets":  # a category target: the category is free text
        return {"dimension": "category"}
    if path.startswith(("/sales/forecast/", "/marketing/relationship-types")):
        from kreis.core.models import Membership, Team, User

        team = Team.objects.order_by("pk").first() or Team.objects.create(name="XSS")
        if path.startswith("/marketing/"):  # owned by a team, so no named owner is needed
            return {"ownership": "team", "team_id": team.pk}
        admin = User.objects.filter(is_active=True, role="admin").order_by("pk").first()
        Membership.objects.get_or_create(user=admin, team=team)  # forecasts roll up to a team
        return {"team_id": team.pk} if path.endswith("/adjustments") else {}
    if path == "/pricing/deals/{deal_id}/approval-requests":  # a discount above every limit
        from kreis.sales.models import Deal, DealLine

        deal = Deal.objects.order_by("-pk").first()
        DealLine.objects.create(deal=deal, quantity=1, unit_price=100, discount=90)
        return {}
    if path == "/pricing/quotes/{quote_id}/revise":  # a revision changes the discounts
        return {"discounts": []}
    if path in ("/automation/rules", "/automation/rules/import"):  # a rule whose texts are payloads
        from kreis.automation.rules import services as rules

        rule = {
            "name": corpus(),
            "description": corpus(),
            "trigger": "record.created",
            "record_type": "party",
            "conditions": [{"kind": "field", "field": "name", "op": "contains", "value": corpus()}],
            "actions": [{"kind": "create_task", "subject": corpus(), "days": 1}],
        }
        if path.endswith("/import"):
            return {"format": rules.EXPORT_FORMAT, "version": rules.EXPORT_VERSION, "rules": [rule]}
        return rule
    if path == "/campaigns":  # an event, so that registrations (names, companies) exist
        return {"channel": "event"}
    if path == "/marketing/segments/from-view":  # a saved view of the party list to turn
        from kreis.core.models import User

        user = User.objects.filter(is_active=True, role="admin").order_by("pk").first()
        view, _ = SavedView.objects.get_or_create(
            user=user, list_name="parties", name="XSS", defaults={"query": "kind=organization"}
        )
        return {"view_id": view.pk}
    if path == "/marketing/handoff/rules":  # a rule hands leads to somebody: a user
        from kreis.core.models import User

        takers = User.objects.filter(is_active=True, role__in=("sales_rep", "sales_manager"))
        taker = takers.order_by("pk").first() or User.objects.create(
            username="xss-rep", role="sales_rep"
        )
        return {"user_ids": [taker.pk]}
    if path == "/marketing/follow-up-rules":  # offers are uploads (multipart), made here
        from django.core.files.base import ContentFile

        from kreis.marketing.models import ContentOffer

        offer = ContentOffer.objects.order_by("pk").first() or ContentOffer.objects.create(
            name="Checkliste",
            file=ContentFile(b"%PDF-1.4\n%%EOF\n", name="checkliste.pdf"),
            filename="checkliste.pdf",
            content_type="application/pdf",
        )
        return {"offer_id": offer.pk}
    return {}


def _route(path: str) -> str | None:
    try:
        return resolve(path).route
    except Resolver404:
        return None


SKIP = ("/accounts/", "/django-admin/", "/api/", "/healthz")


PER_ROUTE = 2  # pages per URL pattern: an organisation's and a person's page, say


def _pages(client, extra: list[str]) -> list[str]:
    """Up to two pages per URL pattern reachable by links from the start page, and ``extra``."""
    per_route: dict[str, int] = {}
    seen, pages = set(), []
    queue = ["/", *extra]
    while queue:
        url = queue.pop(0)
        path = urlsplit(url).path
        route = _route(path)
        if route is None or url in seen:
            continue
        if per_route.get(route, 0) >= PER_ROUTE and url not in extra:
            continue
        seen.add(url)
        response = client.get(url)
        if response.status_code in (301, 302):
            queue.append(urljoin(url, response["Location"]))
            continue
        per_route[route] = per_route.get(route, 0) + 1
        if response.status_code != 200 or "text/html" not in response.get("Content-Type", ""):
            continue
        pages.append(url)
        for href in re.findall(r'href="([^"#]+)"', response.content.decode()):
            href = urljoin(url, href.replace("&amp;", "&"))
            parts = urlsplit(href)
            if parts.netloc or parts.path.startswith(SKIP) or "logout" in parts.path:
                continue
            if not re.search(r"\.(csv|json|ics|vcf|pdf|xlsx)$", parts.path):
                queue.append(parts.path)
    return pages


INJECTED = """() => {
  const found = [];
  for (const el of document.querySelectorAll('*')) {
    for (const attr of el.attributes) {
      const name = attr.name.toLowerCase(), value = attr.value;
      if (name.startsWith('on') && value.includes('__xss')) found.push(el.outerHTML.slice(0, 120));
      if ((name === 'href' || name === 'src' || name === 'action')
          && /^\\s*javascript:/i.test(value)) found.push(el.outerHTML.slice(0, 120));
    }
    if (el.tagName === 'SCRIPT' && !/json/.test(el.type || '') && el.textContent.includes('__xss'))
      found.push(el.outerHTML.slice(0, 120));
  }
  return found;
}"""


CHARTS_DRAWN = """() =>
  [...document.querySelectorAll('[data-chart]')].every(e => e.getAttribute('aria-busy') !== 'true')
  && [...document.querySelectorAll('[data-graph-url]')].every(e => e.querySelector('canvas'))"""


def _wait_for_charts(page) -> None:
    """Charts load their data after the page: wait until each is drawn (or gave up)."""
    if page.locator("[data-chart], [data-graph-url]").count():
        page.wait_for_function(CHARTS_DRAWN, timeout=15_000)


def _hover_charts(page) -> None:
    """Move the mouse over every chart, in a grid, so that every tooltip formatter runs."""
    for chart in page.locator("canvas").all()[:6]:
        box = chart.bounding_box()
        if not box or box["width"] < 20:
            continue
        chart.scroll_into_view_if_needed()
        box = chart.bounding_box()
        for fx, fy in itertools.product((0.15, 0.3, 0.5, 0.7, 0.85), (0.3, 0.5, 0.7, 0.9)):
            page.mouse.move(box["x"] + box["width"] * fx, box["y"] + box["height"] * fy)
            page.wait_for_timeout(30)


def _import_file() -> bytes:
    """A CSV whose extra headers and whose cells are payloads (one row with a bad e-mail, so
    the check lists it with its fix form), Windows line ends, semicolons."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";")
    writer.writerow(["Vorname", "Nachname", "E-Mail", PAYLOADS[0], PAYLOADS[2], PAYLOADS[6]])
    writer.writerow([PAYLOADS[1], PAYLOADS[0], "xss@example.de", *PAYLOADS[3:6]])
    writer.writerow([PAYLOADS[7], PAYLOADS[8], PAYLOADS[3], PAYLOADS[4], PAYLOADS[5], "x"])
    return buffer.getvalue().encode("utf-8")


def _import_through_the_wizard(page, live_server):
    """Upload the payload file through the wizard's multipart form under a payload name, and
    stop at each of its pages: the mapping (headers, sample cells), the check (preview, the
    row with a problem and its fix form), the import's page and the list. Yields each URL
    with the page open on it."""
    page.goto(f"{live_server.url}/imports/new/")
    page.select_option("select[name=entity]", "person")
    name = '<img src=x onerror="window.__xss=1"> x9.csv'  # no "/": a name, not a path
    page.set_input_files(
        "input[name=file]", {"name": name, "mimeType": "text/csv", "buffer": _import_file()}
    )
    page.locator("form[enctype] button[type=submit]").click()
    page.wait_for_url(re.compile(r"/imports/\d+/mapping/$"))
    page.get_by_text("window.__xss", exact=False).first.wait_for(state="attached")
    yield page.url
    page.locator("form.kreis-import-form button[type=submit]:not([form])").click()
    page.wait_for_url(re.compile(r"/imports/\d+/check/$"))
    page.get_by_test_id("bad-row").first.wait_for()
    page.get_by_test_id("bad-row").first.locator("summary").click()  # the fix form, open
    yield page.url
    page.locator("#skip-invalid").check()
    page.get_by_test_id("start-import").click()
    page.wait_for_url(re.compile(r"/imports/\d+/$"))
    page.get_by_test_id("import-summary").wait_for()
    yield page.url
    page.goto(f"{live_server.url}/imports/")
    yield page.url


def test_no_payload_runs_on_any_page(browser, live_server, dana, api_key_for, settings, tmp_path):
    settings.KREIS_WAREHOUSE = f"duckdb://{tmp_path}/w.duckdb"
    from django.core.management import call_command

    from kreis.sales.services import ensure_default_pipeline

    ensure_default_pipeline()  # the database was emptied after the last browser test
    created = _create_everything(dana, api_key_for(dana))
    call_command("analytics", "run", verbosity=0)
    client = client_for(dana)
    # Saved views are made in the web UI only (the list's "Save view" form).
    for n, list_name in enumerate(("parties", "leads", "deals", "activities", "transactions")):
        client.post("/me/views/", {"list_name": list_name, "name": PAYLOADS[n], "query": "q=x"})
    # (besides the one made for POST /marketing/segments/from-view above)
    assert SavedView.objects.filter(user=dana).exclude(name="XSS").count() == 5
    assert Party.objects.filter(custom__has_key="note").exists()  # a choice payload
    extra = [
        f"/search/?q={word}" for word in ("script", "img", "svg", "javascript", "x1", "x2")
    ] + ["/deals/"]
    # the webhook's mention, on its own page and on the page of the party it became a case of
    from kreis.social.models import Mention

    mention = Mention.objects.get(pk=created["mentions"][0])
    party_id = mention.party_id or mention.case.party_id
    extra += [f"/social/mentions/{mention.pk}/", f"/parties/{party_id}/"]
    pages = _pages(client, extra)
    assert len(pages) > 30

    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="en-US")
    context.add_cookies(
        [
            {
                "name": "sessionid",
                "value": client.cookies["sessionid"].value,
                "url": live_server.url,
            }
        ]
    )
    page = context.new_page()
    dialogs = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    ran, injected = {}, {}
    try:
        for url in pages:
            page.goto(f"{live_server.url}{url}")
            _wait_for_charts(page)
            _hover_charts(page)
            if page.evaluate("() => window.__xss !== undefined"):
                ran[url] = True
            found = page.evaluate(INJECTED)
            if found:
                injected[url] = found[:2]
        wizard = []
        for url in _import_through_the_wizard(page, live_server):
            wizard.append(urlsplit(url).path)
            if page.evaluate("() => window.__xss !== undefined"):
                ran[url] = True
            found = page.evaluate(INJECTED)
            if found:
                injected[url] = found[:2]
    finally:
        context.close()
    assert created
    assert [_route(path) for path in wizard] == [
        "imports/<int:pk>/mapping/",
        "imports/<int:pk>/check/",
        "imports/<int:pk>/",
        "imports/",
    ]
    assert ImportJob.objects.get().original_name.startswith("<img src=x")
    assert not dialogs, dialogs
    assert not ran, f"script ran on {sorted(ran)}"
    assert not injected, f"payload markup in the page: {injected}"
