"""A small world of records that all belong to alice (team North), and how to fill every route
of Kreis from it: URL patterns walked from Django's resolver, API operations read from the
OpenAPI schema. Used by the generated access and If-Match tests.

When a new route has a parameter this module cannot fill, the tests fail with a message that
names the route and the parameter; add the record to ``build_world`` and the parameter to
``PARAMS`` (API operations and web routes by name) or ``PK_BY_SEGMENT`` (web ``<int:pk>``
routes, by the path segment in front of the parameter).
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import re
from dataclasses import dataclass, field
from decimal import Decimal
from html.parser import HTMLParser
from typing import Any

import pytest
from django.apps import apps
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from django.urls.resolvers import RegexPattern, RoutePattern
from django.utils import timezone

# Every record alice owns carries this word in its name, subject or note, so a response that
# contains it shows one of her records.
MARKER = "Wexford"


@dataclass
class World:
    """Alice's records (and the global configuration they hang on)."""

    users: dict[str, Any]
    objects: dict[str, Any] = field(default_factory=dict)
    clients: dict[str, Client] = field(default_factory=dict)  # signed in, one per persona
    cookies: dict[str, Any] = field(default_factory=dict)  # their session cookies

    def __getitem__(self, name: str) -> Any:
        return self.objects[name]

    def snapshot(self) -> dict[str, Any]:
        """Every column of every world row, read back from the database ("byte for byte": the
        values as the database returns them, updated_at included; a user's last_login is
        left out, signing in sets it)."""
        by_model: dict[Any, dict[Any, str]] = {}
        for name, obj in self.objects.items():
            if hasattr(obj, "_meta"):
                by_model.setdefault(obj._meta.model, {})[obj.pk] = name
        rows: dict[str, Any] = dict.fromkeys(
            name for names in by_model.values() for name in names.values()
        )
        for model, names in by_model.items():
            columns = [f.attname for f in model._meta.concrete_fields if f.name != "last_login"]
            for row in model._base_manager.filter(pk__in=list(names)).values(*columns):
                rows[names[row[model._meta.pk.attname]]] = row
        return rows


COUNTED = [
    "parties.Party",
    "parties.Employment",
    "parties.Relationship",
    "parties.PartyMerge",
    "leads.Lead",
    "sales.Deal",
    "sales.Pipeline",
    "sales.Stage",
    "sales.LostReason",
    "activities.Activity",
    "feedback.Survey",
    "feedback.Question",
    "feedback.Response",
    "feedback.Invitation",
    "feedback.SurveyReport",
    "commerce.Product",
    "commerce.Transaction",
    "core.Team",
    "core.Membership",
    "core.User",
    "core.CustomField",
    "service.Case",
    "service.CaseMessage",
    "service.CaseTransition",
    "service.CaseTask",
    "service.SupplierRequest",
    "service.CaseCost",
    "service.ImprovementAction",
    "analytics.CostEntry",
    "analytics.CostRule",
    "analytics.ScoringModel",
    "analytics.UtilityOption",
    "analytics.MarketVolume",
    "analytics.QualityCheck",
    "marketing.LeadForm",
    "marketing.LeadAssignmentRule",
    "marketing.LeadHandoff",
    "marketing.Campaign",
    "marketing.CampaignCost",
    "marketing.CampaignMember",
    "marketing.Segment",
    "marketing.SegmentMember",
    "marketing.RelationshipType",
    "core.Competency",
    "core.UserCompetency",
    "pricing.PriceList",
    "pricing.DiscountRule",
    "pricing.Quote",
    "pricing.DiscountApproval",
]


def row_counts() -> dict[str, int]:
    """How many rows the business tables hold (a refused create adds none), in one query."""
    from django.db import connection

    parts, params = [], []
    for label in COUNTED:
        query = apps.get_model(label)._default_manager.order_by().values("pk").query
        sql, part_params = query.get_compiler(connection=connection).as_sql()
        parts.append(f"(SELECT COUNT(*) FROM ({sql}) AS counted)")  # noqa: S608  (ORM SQL)
        params.extend(part_params)
    with connection.cursor() as cursor:
        cursor.execute("SELECT " + ", ".join(parts), params)
        counts = cursor.fetchone()
    return dict(zip(COUNTED, counts, strict=True))


def _api(client: Client, method: str, path: str, body: dict | None = None) -> dict:
    response = getattr(client, method)(
        f"/api/v1/{path}", json.dumps(body or {}), content_type="application/json"
    )
    assert response.status_code < 300, (path, response.status_code, response.content[:400])
    return response.json()


def build_world(*, alice, bob, mia, charlie, dana, rory, north, south) -> World:
    """Alice's organisation, person, lead, deal, activities, transaction, saved view, API key,
    notification and a merge; the product, pipeline, custom field, cost rule and scoring
    model they use (configuration everyone shares). Built through the services and the API,
    as users make them."""
    from kreis.activities.services import activity_create
    from kreis.core import services as core
    from kreis.leads.services import lead_create, lead_set_status
    from kreis.parties.services import (
        employment_set,
        party_create,
        party_merge,
        relationship_add,
    )
    from kreis.sales.models import LostReason
    from kreis.sales.services import deal_create, ensure_default_pipeline

    users = {
        "alice": alice,
        "bob": bob,
        "mia": mia,
        "charlie": charlie,
        "dana": dana,
        "rory": rory,
    }
    w = World(users=users)
    o = w.objects
    o["team"] = north
    o["user"] = alice
    org = party_create(
        actor=alice, kind="organization", name=f"{MARKER} Pumpen GmbH", tags=["pumpen"]
    )
    o["organization"] = org
    person = party_create(
        actor=alice,
        kind="person",
        first_name="Wanda",
        last_name=MARKER,
        emails=[{"value": "wanda@wexford.example"}],
    )
    o["person"] = person
    o["employment"] = employment_set(
        actor=alice, person=person, organization=org, position="Einkauf"
    )
    partner = party_create(actor=alice, kind="organization", name=f"{MARKER} Partner AG")
    o["partner"] = partner
    o["relationship"] = relationship_add(actor=alice, source=org, target=partner, type="partner_of")
    # A merge alice made (her two duplicates): survivor and merged stay hers.
    survivor = party_create(actor=alice, kind="organization", name=f"{MARKER} Werke")
    duplicate = party_create(actor=alice, kind="organization", name=f"{MARKER} Werke KG")
    o["merge"] = party_merge(actor=alice, survivor=survivor, merged=duplicate)
    o["survivor"] = survivor
    # A second duplicate of the organisation, to be merged in by the routes.
    o["other_party"] = party_create(
        actor=alice, kind="organization", name=f"{MARKER} Pumpen GmbH (alt)"
    )

    lead = lead_create(actor=alice, last_name=MARKER, company=f"{MARKER} Leads")
    # alice's complaint case of her organisation (no service agent in the world: she owns it).
    from kreis.service import services as cases
    from kreis.service.defaults import ensure_defaults
    from kreis.service.models import AssignmentRule, CaseCategory, RootCause

    ensure_defaults()  # a transactional test before may have flushed what migrate made
    o["case_category"] = CaseCategory.objects.filter(is_active=True).order_by("pk").first()
    o["root_cause"] = RootCause.objects.filter(is_active=True).order_by("pk").first()
    # An inactive rule (it assigns no case of the world) for the configuration routes.
    o["assignment_rule"] = AssignmentRule.objects.create(
        name="Nowhere", region="Nowhere", assign_user=alice, is_active=False
    )
    case = cases.case_create(
        actor=alice,
        party=org,
        channel="phone",
        category=o["case_category"],
        subject=f"{MARKER} Pumpe undicht",
        severity="high",
    )
    o["case"] = cases.case_transition(actor=alice, case=case, to_status="acknowledged")
    o["case_note"] = cases.case_add_note(actor=alice, case=case, body=f"{MARKER} intern")
    # An archived complaint report (the analysis page's archive: for managers only).
    from kreis.service.models import ComplaintReport

    o["complaint_report"] = ComplaintReport.objects.create(
        frequency="weekly",
        period_start=dt.date(2026, 3, 2),
        period_end=dt.date(2026, 3, 8),
        language="de",
        pdf=b"%PDF-1.7 world",
    )
    # Its processing: a task, a request to a supplier (alice's supplier, no marker: the
    # supplier is no complaint of hers), a goodwill cost (a CM III cost entry of the org);
    # and an improvement action against the root cause (shared, planned by mia).
    from kreis.service.improvement.services import improvement_action_create
    from kreis.service.processing import services as processing

    o["case_task"] = processing.case_task_create(
        actor=alice,
        case=o["case"],
        title=f"{MARKER} Dichtung prüfen",
        due_at=timezone.now() + dt.timedelta(days=1),
    )
    supplier = party_create(
        actor=alice,
        kind="organization",
        name="Dichtungswerk AG",
        emails=[{"value": "reklamation@dichtungswerk.example"}],
        roles=["supplier"],
    )
    o["supplier"] = supplier
    o["supplier_request"] = processing.supplier_request_create(
        actor=alice, case=o["case"], supplier=supplier, message=f"{MARKER} bitte prüfen"
    )
    o["case_cost"] = processing.case_cost_create(
        actor=alice,
        case=o["case"],
        kind="goodwill",
        amount=Decimal("25"),
        note=f"{MARKER} Gutschrift",
    )
    o["improvement_action"] = improvement_action_create(
        actor=mia, root_cause=o["root_cause"], title="Dichtungen vor Versand prüfen"
    )
    o["lead"] = lead_set_status(actor=alice, lead=lead, status="contacted")
    # A new lead nobody has called yet: the one a hand-off to sales can take.
    o["new_lead"] = lead_create(actor=alice, last_name=f"{MARKER} Neu", company=f"{MARKER} Neu")

    pipeline = ensure_default_pipeline()
    o["pipeline"] = pipeline
    stages = list(pipeline.stages.order_by("position"))
    o["stage"] = stages[0]
    o["next_stage"] = stages[1]
    o["lost_reason"] = LostReason.objects.filter(is_active=True).first()
    o["deal"] = deal_create(
        actor=alice, name=f"{MARKER} Pumpenauftrag", organization=org, contact=person, amount=5000
    )

    # charlie's own deal with alice's organisation and contact: he sees the deal, never
    # their names (linked parties he may not see are "hidden").
    o["charlies_deal"] = deal_create(
        actor=None,
        name="Südprojekt",
        organization=org,
        contact=person,
        owner=charlie,
        team=south,
        amount=800,
    )

    # North's revenue target for this year (planned by its manager mia) and alice's forecast
    # call for this quarter: sales management records of alice's team.
    from kreis.sales.forecast.services import forecast_submit
    from kreis.sales.periods import period_containing, period_from_key
    from kreis.sales.targets.services import target_create

    o["sales_target"] = target_create(
        actor=mia,
        metric="revenue",
        dimension="team",
        team=north,
        period=period_from_key(str(timezone.localdate().year)),
        amount="250000",
        note=f"{MARKER} Jahresziel",
    )
    o["forecast_snapshot"] = forecast_submit(
        actor=alice,
        period=period_containing(timezone.localdate(), "quarter"),
        forecast="4000",
        note=f"{MARKER} Einschätzung",
    )

    o["task"] = activity_create(
        actor=alice,
        kind="task",
        party=org,
        subject=f"Call {MARKER}",
        occurred_at=timezone.now() + dt.timedelta(days=1),
    )
    o["done_task"] = activity_create(
        actor=alice,
        kind="task",
        party=org,
        subject=f"Send {MARKER} the offer",
        occurred_at=timezone.now() - dt.timedelta(days=1),
        done=True,
    )
    o["note"] = activity_create(
        actor=alice, kind="note", party=org, subject=f"{MARKER} visit", body="Besuch"
    )
    # A meeting with her contact: the .ics download (activities:ical) serves meetings only.
    o["meeting"] = activity_create(
        actor=alice,
        kind="meeting",
        party=org,
        subject=f"Meet {MARKER}",
        occurred_at=timezone.now() + dt.timedelta(days=2),
        location="Werk 2",
        attendees=[person],
    )

    client = Client()
    client.force_login(dana)
    product = _api(
        client,
        "post",
        "products",
        {"sku": "WX-1", "name": "Kreiselpumpe", "list_price": "120.00", "unit_cost": "70.00"},
    )
    from kreis.commerce.models import Product, Transaction

    o["product"] = Product.objects.get(pk=product["id"])
    from kreis.commerce.services import transaction_create

    o["transaction"] = transaction_create(
        actor=alice,
        party=org,
        kind="order",
        date=timezone.localdate() - dt.timedelta(days=30),
        lines=[{"product": o["product"], "quantity": Decimal(2)}],
        note=f"{MARKER} order",
    )
    assert isinstance(o["transaction"], Transaction)

    o["saved_view"] = core.saved_view_save(
        user=alice, list_name="parties", name=f"{MARKER} view", query="q=x"
    )
    o["api_key"], _ = core.apikey_create(
        actor=None, user=alice, name=f"{MARKER} key", scope="read_write"
    )
    o["notification"] = core.notification_create(user=alice, title=f"{MARKER} reminder")
    o["custom_field"] = core.custom_field_create(
        actor=None, entity="party", key="region", label="Region", type="text"
    )

    # Analytics configuration and alice's cost entry, made through the API (dana may).
    from django.apps import apps as registry

    cost_entry = _api(
        client,
        "post",
        "analytics/cost-entries",
        {
            "party_id": org.pk,
            "date": str(timezone.localdate()),
            "category": "visit",
            "amount": "40",
            "note": f"{MARKER} visit costs",
        },
    )
    o["cost_entry"] = registry.get_model("analytics.CostEntry").objects.get(pk=cost_entry["id"])
    rule = _api(
        client,
        "post",
        "analytics/cost-rules",
        {"name": "Versand", "category": "shipping", "basis": "per_order", "amount": "5"},
    )
    o["cost_rule"] = registry.get_model("analytics.CostRule").objects.get(pk=rule["id"])
    model = _api(
        client,
        "post",
        "analytics/scoring-models",
        {
            "name": "Lieferanten",
            "target": "option",
            "criteria": [{"label": "Preis", "thresholds": [[0, 0], [100, 10]]}],
        },
    )
    o["scoring_model"] = registry.get_model("analytics.ScoringModel").objects.get(pk=model["id"])
    option = _api(
        client,
        "post",
        f"analytics/scoring-models/{model['id']}/options",
        {"name": "Angebot A"},
    )
    o["option"] = registry.get_model("analytics.UtilityOption").objects.get(pk=option["id"])
    # The satisfaction KPIs' inputs (shared figures managers enter, no one's record).
    volume = _api(
        client,
        "post",
        "kpis/market-volumes",
        {"segment": "Werkzeuge", "grain": "quarter", "start": "2025-01-01", "volume": "100000"},
    )
    o["market_volume"] = registry.get_model("analytics.MarketVolume").objects.get(pk=volume["id"])
    check = _api(
        client,
        "post",
        "kpis/quality-checks",
        {"date": str(timezone.localdate()), "stage": "internal", "checked_units": 100},
    )
    o["quality_check"] = registry.get_model("analytics.QualityCheck").objects.get(pk=check["id"])
    run = registry.get_model("analytics.AnalyticsRun").objects.create(
        status="done", as_of=timezone.localdate(), step="", error=""
    )
    o["run"] = run
    # The warehouse of this test process, filled from the world (alice's transaction among
    # it): the analytics routes answer with figures, not "empty" (503), whichever test
    # modules this process ran before.
    from kreis.analytics import warehouse

    warehouse.refresh(full=True)
    # A connector (administrators' configuration) watching an empty folder.
    from django.conf import settings

    from kreis.migration.connectors.services import connector_create

    folder = settings.KREIS_CONNECTOR_FOLDERS[0] / "route-world"
    folder.mkdir(parents=True, exist_ok=True)
    o["connector"] = connector_create(
        actor=dana, name="ERP", kind="folder", location=str(folder), run_as=dana
    )
    # A finished backup in the list (administrators only; its archive is not on disk).
    from kreis.migration.models import Backup

    o["backup"] = Backup.objects.create(
        file_name="kreis-backup-20261206-000000.zip", status="done", created_by=dana, rows=1
    )
    # alice's webhook subscription with one delivery in its log (made directly: saving
    # through the service would resolve the target's host name).
    from kreis.automation.models import WebhookDelivery, WebhookSubscription

    o["webhook"] = WebhookSubscription.objects.create(
        owner=alice,
        name=f"{MARKER} ERP hook",
        target_url="https://hooks.example.com/kreis",
        events=["party.created"],
    )
    o["webhook_delivery"] = WebhookDelivery.objects.create(
        subscription=o["webhook"],
        event_type="party.created",
        webhook_id="msg_route_world",
        payload={"type": "party.created", "data": {"name": f"{MARKER} Pumpen GmbH"}},
        status="succeeded",
        attempts=1,
        response_code=200,
    )
    # An automation rule (administrators only) with one run in its log.
    from kreis.automation.models import Rule, RuleRun

    o["automation_rule"] = Rule.objects.create(
        name=f"{MARKER} follow-up rule",
        trigger="deal.stage_changed",
        record_type="deal",
        actions=[{"kind": "notify", "message": f"{MARKER} deal moved", "user_id": None}],
    )
    o["automation_rule_run"] = RuleRun.objects.create(
        rule=o["automation_rule"],
        trigger="deal.stage_changed",
        record_type="deal",
        record_id=o["deal"].pk,
        record_label=f"{MARKER} deal",
        status="succeeded",
        chain_id="routeworld",
        started_at=timezone.now(),
    )
    # alice's import of a small file (checked, not started) and her mapping template.
    import io

    from kreis.migration import services as imports

    upload = io.BytesIO(
        f"Firma;E-Mail\n{MARKER} Import GmbH;info@example.com\nOhne Mail GmbH;kaputt\n".encode()
    )
    o["import_job"] = imports.import_create(
        actor=alice, upload=upload, name=f"{MARKER}-kunden.csv", entity="organization"
    )
    imports.import_check(actor=alice, job=o["import_job"])
    o["import_template"] = imports.mapping_template_create(
        actor=alice,
        name=f"{MARKER} ERP mapping",
        entity="organization",
        mapping={"Firma": "name", "E-Mail": "email"},
    )
    # Surveys (managed by mia): one documented, with an answer of alice's person and its
    # report; a draft to add questions to and delete; an anonymous online one collecting.
    from kreis.feedback import reports as survey_reports
    from kreis.feedback import services as surveys

    survey = surveys.survey_create(actor=mia, name="Kundenzufriedenheit", method="phone")
    o["survey_question"] = surveys.question_add(
        actor=mia, survey=survey, kind="nps_0_10", text_de="Empfehlen?", text_en="Recommend?"
    )
    surveys.question_add(
        actor=mia, survey=survey, kind="free_text", text_de="Was?", text_en="What?", required=False
    )
    for phase in ("design", "collection"):
        surveys.survey_move(actor=mia, survey=survey, to_phase=phase)
    o["survey_response"] = surveys.response_enter(
        actor=dana,
        survey=survey,
        party=o["person"],
        channel="phone",
        raw_answers={o["survey_question"].pk: {"value": 4}},
    )
    for phase in ("analysis", "documentation"):
        surveys.survey_move(actor=mia, survey=survey, to_phase=phase)
    o["survey"] = survey
    o["survey_report"] = survey_reports.report_create(actor=mia, survey=survey, language="de")
    draft = surveys.survey_create(actor=mia, name="Entwurf", method="online")
    surveys.question_add(
        actor=mia, survey=draft, kind="scale_1_5", text_de="Zufrieden?", text_en="Satisfied?"
    )
    surveys.survey_move(actor=mia, survey=draft, to_phase="design")
    o["draft_survey"] = draft
    collecting = surveys.survey_create(
        actor=mia, name="Laufend", method="online", anonymous=True, target_query="q=Niemand"
    )
    surveys.question_add(
        actor=mia,
        survey=collecting,
        kind="free_text",
        text_de="Was?",
        text_en="What?",
        required=False,
    )
    for phase in ("design", "collection"):
        surveys.survey_move(actor=mia, survey=collecting, to_phase=phase)
    o["collecting_survey"] = collecting
    # A web form (dana's) with one submission; its public pages are /f/world-form/….
    from kreis.marketing.models import FormSubmission
    from kreis.marketing.webforms import services as webforms

    o["lead_form"] = webforms.form_create(
        actor=dana, name=f"{MARKER} Kontaktformular", key="world-form", language="de"
    )
    o["form_submission"] = FormSubmission.objects.create(
        form=o["lead_form"], data={"last_name": "Muster"}, outcome="party", utm_source="news"
    )
    # A consent of alice's organisation (documented by her) and the text it points at.
    from kreis.marketing.consent import services as consents
    from kreis.marketing.defaults import ensure_defaults

    ensure_defaults()
    o["consent"] = consents.request_consent(
        purpose="marketing",
        channel="email",
        email="einkauf@example.org",
        language="de",
        source="staff",
        party=o["organization"],
        actor=alice,
        basis="documented",
        note=f"{MARKER} Messeformular",
    )
    o["consent_text"] = o["consent"].text
    # A lead assignment rule (North's members) and a handoff of alice's lead to her.
    from kreis.marketing.models import LeadAssignmentRule, LeadHandoff

    o["handoff_rule"] = LeadAssignmentRule.objects.create(name="North by turns", team=north)
    handed = timezone.now()
    o["lead_handoff"] = LeadHandoff.objects.create(
        lead=o["lead"],
        assigned_to=alice,
        team=north,
        rule=o["handoff_rule"],
        reason="Rule North by turns",
        assigned_at=handed,
        due_at=handed + dt.timedelta(hours=24),
    )
    # A campaign (dana's) with a cost and alice's organisation as a member.
    from kreis.marketing.models import Campaign, CampaignCost, CampaignMember

    o["campaign"] = Campaign.objects.create(
        name=f"{MARKER} Messe", code="world-fair", channel="event", owner=dana, event_capacity=50
    )
    o["campaign_cost"] = CampaignCost.objects.create(
        campaign=o["campaign"], date=dt.date(2026, 3, 1), category="venue", amount=Decimal(500)
    )
    o["campaign_member"] = CampaignMember.objects.create(
        campaign=o["campaign"], party=o["organization"]
    )
    # A segment (dana's static list) with alice's organisation on it, counted once.
    from kreis.marketing.models import Segment, SegmentMember, SegmentSnapshot

    o["segment"] = Segment.objects.create(
        name=f"{MARKER} Zielgruppe", kind="static", owner=dana, member_count=1
    )
    o["segment_member"] = SegmentMember.objects.create(
        segment=o["segment"], party=o["organization"]
    )
    o["segment_snapshot"] = SegmentSnapshot.objects.create(
        segment=o["segment"], day=dt.date(2026, 3, 1), count=1
    )
    # A tracked visitor of alice's lead with a visit, a content offer behind the world's form
    # with a download link handed to the lead, and a follow-up rule (website tracking, offers).
    from django.core.files.uploadedfile import SimpleUploadedFile

    from kreis.marketing.models import FollowUpRule, PageVisit, Visitor
    from kreis.marketing.offers import services as offers

    seen = timezone.now()
    o["visitor"] = Visitor.objects.create(
        uid="world-visitor-0123456789",
        lead=o["lead"],
        consented_at=seen,
        first_seen=seen,
        last_seen=seen,
    )
    o["page_visit"] = PageVisit.objects.create(
        visitor=o["visitor"],
        lead=o["lead"],
        url="https://www.example.com/pricing",
        path="/pricing",
        title=f"{MARKER} Preise",
        at=seen,
    )
    o["content_offer"] = offers.offer_create(
        actor=dana,
        file=SimpleUploadedFile("world.pdf", b"%PDF-1.4\n%%EOF\n"),
        name=f"{MARKER} Whitepaper",
        form=o["lead_form"],
    )
    o["content_download"] = offers.hand_out(o["content_offer"], lead=o["lead"])[0]
    o["follow_up_rule"] = FollowUpRule.objects.create(
        name=f"{MARKER} Preisinteresse",
        trigger="visits",
        path_contains="/pricing",
        offer=o["content_offer"],
    )
    # Prices (mia's configuration) and alice's quotes, each on a deal of its own: one waiting
    # for mia's approval of its discount, a draft to submit, one ready to send or accept.
    from kreis.pricing.pricelists import services as prices
    from kreis.pricing.quotes import services as quoting

    o["price_list"] = prices.price_list_create(actor=mia, name="Preisliste Nord", currency="EUR")
    o["price_list_item"] = prices.item_set(
        actor=mia, price_list=o["price_list"], product=o["product"], unit_price=Decimal("110")
    )
    o["discount_rule"] = prices.discount_rule_create(
        actor=mia, name="A-Kunden", percent=Decimal("5"), abc_class="A"
    )
    for name in ("quote", "draft_quote", "ready_quote"):
        deal = deal_create(
            actor=alice,
            name=f"{MARKER} Angebot {name}",
            organization=org,
            contact=person,
            lines=[{"product_id": o["product"].pk, "quantity": Decimal(3)}],
        )
        o[name.replace("quote", "deal") if name != "quote" else "quote_deal"] = deal
        discounts = {deal.lines.get().pk: Decimal(30)} if name == "quote" else None
        o[name] = quoting.quote_create(actor=alice, deal=deal, discounts=discounts)
    quoting.quote_submit(actor=alice, quote=o["quote"], reason=f"{MARKER} Wettbewerb")
    o["quote_approval"] = o["quote"].approvals.get()
    quoting.quote_submit(actor=alice, quote=o["ready_quote"])
    # A deal whose own line discount (30 %) is above alice's limit: she may ask for approval.
    o["discount_deal"] = deal_create(
        actor=alice,
        name=f"{MARKER} Rabatt auf der Position",
        organization=org,
        contact=person,
        lines=[
            {
                "product_id": o["product"].pk,
                "quantity": Decimal(3),
                "unit_price": Decimal(100),
                "discount": Decimal(90),
            }
        ],
    )
    # The retention playbook (global configuration) with alice's organisation in it.
    from kreis.playbooks import services as playbooks
    from kreis.playbooks.models import Playbook

    playbooks.ensure_defaults()
    o["playbook"] = Playbook.objects.get(key="retention-endangerment")
    o["playbook_step"] = o["playbook"].steps.order_by("position").last()
    playbooks.start_for_parties(o["playbook"], [org.pk], source="world")
    o["enrollment"] = o["playbook"].enrollments.get(party=org)
    # Sales competencies (shared catalogue; alice's level) and a relationship type on dana's
    # segment, applied (alice's organisation gets it; owners stay: keep_existing_owner).
    from kreis.core.competencies.models import Competency, UserCompetency
    from kreis.marketing.relationships.models import RelationshipType
    from kreis.marketing.relationships.services import relationship_types_apply

    o["competency"] = Competency.objects.create(kind="language", key="fr", name="Französisch")
    o["user_competency"] = UserCompetency.objects.create(
        user=alice, competency=o["competency"], level=3
    )
    o["relationship_type"] = RelationshipType.objects.create(
        name_de="Schlüsselkunde",
        name_en="Key account",
        segment=o["segment"],
        ownership="team",
        team=north,
        keep_existing_owner=True,
    )
    # The application is kept for undo (alice's organisation got the type).
    o["relationship_apply_run"] = relationship_types_apply(actor=None).run
    # Social listening: a keyword (shared), alice's webhook source and a mention from it.
    from kreis.social import services as social
    from kreis.social.models import Keyword

    o["social_keyword"] = Keyword.objects.create(term="Pumpe", kind="product")
    o["social_source"] = social.source_create(
        actor=alice, name=f"{MARKER} Bewertungen", kind="webhook"
    )
    o["mention"] = social.mentions_store(
        source=o["social_source"],
        posts=[
            social.fetching.Post(
                external_id="world-1",
                url="https://social.example/@wanda/1",
                text=f"{MARKER} Pumpe ist kaputt",
                published_at=timezone.now(),
                author_handle="@wanda@social.example",
            )
        ],
    )[1][0]
    # Two-way e-mail: alice's mailbox (no server behind it: a sync or send fails quickly),
    # a shared mail with her organisation's contact (team North sees it), a private one with
    # an attachment (alice only), a sharing rule and a template (shared configuration).
    from kreis.comms.models import MailAccount, SharingRule
    from kreis.comms.store import store_mail
    from kreis.core.crypto import encrypt
    from kreis.core.mailfetch import parse_mail
    from kreis.parties.models import ContactPoint

    o["mail_account"] = MailAccount.objects.create(
        name=f"{MARKER} Postfach", email_address="alice@kreis.example", owner=alice,
        imap_host="127.0.0.1", imap_port=1, imap_security="none", imap_username="alice",
        imap_password_encrypted=encrypt("world"), smtp_host="127.0.0.1", smtp_port=1,
        smtp_security="none",
    )  # fmt: skip
    o["mail_rule"] = SharingRule.objects.create(
        account=o["mail_account"], pattern=f"@{MARKER.lower()}-family.example", action="never"
    )
    ContactPoint.objects.get_or_create(party=org, kind="email", value="info@wexford-gmbh.example")

    def _mail(sender: str, subject: str, attachment: bool = False) -> bytes:
        from email.message import EmailMessage

        mail = EmailMessage()
        mail["From"], mail["To"], mail["Subject"] = sender, "alice@kreis.example", subject
        mail["Message-ID"] = f"<{abs(hash(subject))}@world.example>"
        mail.set_content(f"{MARKER} text")
        if attachment:
            mail.add_attachment(b"world", maintype="text", subtype="plain", filename="w.txt")
        return mail.as_bytes()

    shared_raw = _mail("info@wexford-gmbh.example", f"{MARKER} Anfrage")
    private_raw = _mail("oma@private.example", f"{MARKER} privat", attachment=True)
    o["mail_message"] = store_mail(
        account=o["mail_account"], mail=parse_mail(shared_raw, full=True), folder="INBOX"
    )[0]
    o["mail_private"] = store_mail(
        account=o["mail_account"], mail=parse_mail(private_raw, full=True), folder="INBOX"
    )[0]
    o["mail_thread"] = o["mail_private"].thread
    # The unified inbox: the shared mail's item (alice's mailbox; the private one has none).
    from kreis.inbox.models import InboxItem

    o["inbox_item"] = InboxItem.objects.get(
        source_type="comms.message", source_id=o["mail_message"].pk
    )
    o["mail_attachment"] = o["mail_private"].attachments.get()
    from kreis.comms.models import EmailTemplate

    o["mail_template"] = EmailTemplate.objects.create(
        name="Nachfass", language="de", subject="Hallo {{ party.name }}", body="Text"
    )
    # Phone: alice's call list (from the world's segment, her person on it with a number and a
    # phone consent), assigned to her and team North, with her person's entry claimed by her.
    from kreis.calls import services as calls
    from kreis.calls.models import CallList, CallListEntry
    from kreis.marketing.models import Consent

    ContactPoint.objects.get_or_create(party=person, kind="phone", value="+4930999999")
    Consent.objects.create(
        party=person, purpose="phone", channel="phone", status="granted", basis="documented",
        source="staff", requested_at=timezone.now(), confirmed_at=timezone.now(),
    )  # fmt: skip
    o["call_list"] = CallList.objects.create(
        name=f"{MARKER} Anrufliste", segment=o["segment"], owner=alice, team=north,
        script=f"{MARKER} Gesprächsleitfaden",
    )  # fmt: skip
    o["call_list"].assignees.add(alice)
    o["call_entry"] = CallListEntry.objects.create(
        call_list=o["call_list"], party=person, phone="+4930999999", position=1,
        due_at=timezone.now(),
    )  # fmt: skip
    calls.entry_claim_next(actor=alice, call_list=o["call_list"])
    # Mass mailings: dana's draft newsletter to the world's segment (marketing records, like
    # the campaign and segment), and an entry on the suppression list (shared configuration).
    from kreis.mailings.models import Mailing, Suppression

    o["mailing"] = Mailing.objects.create(
        name=f"{MARKER} Newsletter", segment=o["segment"], subject=f"{MARKER} Neuigkeiten",
        body="Hallo {{ party.name }}", owner=dana,
    )  # fmt: skip
    for state in ("sending", "paused"):
        o[f"{state}_mailing"] = Mailing.objects.create(
            name=f"{MARKER} {state}", segment=o["segment"], subject=f"{MARKER} Neuigkeiten",
            body="Hallo", owner=dana, state=state, link_base="http://testserver",
        )  # fmt: skip
    o["mailing_suppression"] = Suppression.objects.create(
        value="world-blocked.example", is_domain=True, reason=f"{MARKER} Beschwerde"
    )
    # Records of every kind are fresh from the database (updated_at as stored).
    for obj in o.values():
        if hasattr(obj, "refresh_from_db"):
            obj.refresh_from_db()
    return w


# --- Filling parameters --------------------------------------------------------------------

# API path parameters and web route parameters with a telling name → world record.
PARAMS: dict[str, str] = {
    "party_id": "organization",
    "party_pk": "organization",
    "survey_id": "survey",
    "question_id": "survey_question",
    "question_pk": "survey_question",
    "response_pk": "survey_response",
    "report_pk": "survey_report",
    "deal_id": "deal",
    "lead_id": "lead",
    "case_id": "case",
    "category_id": "case_category",
    "root_cause_id": "root_cause",
    "assignment_rule_id": "assignment_rule",
    "handoff_rule_id": "handoff_rule",
    "handoff_id": "lead_handoff",
    "activity_id": "task",
    "product_id": "product",
    "transaction_id": "transaction",
    "employment_id": "employment",
    "employment_pk": "employment",
    "relationship_id": "relationship",
    "relationship_pk": "relationship",
    "merge_id": "merge",
    "pipeline_id": "pipeline",
    "sales_target_id": "sales_target",
    "forecast_snapshot_id": "forecast_snapshot",
    "stage_id": "stage",
    "reason_id": "lost_reason",
    "team_id": "team",
    "user_id": "user",
    "user_pk": "user",
    "key_id": "api_key",
    "notification_id": "notification",
    "field_id": "custom_field",
    "run_id": "run",
    "entry_id": "cost_entry",
    "rule_id": "cost_rule",
    "model_id": "scoring_model",
    "option_id": "option",
    "connector_id": "connector",
    "webhook_id": "webhook",
    "delivery_id": "webhook_delivery",
    "import_id": "import_job",
    "template_id": "import_template",
    "backup_id": "backup",
    "volume_id": "market_volume",
    "check_id": "quality_check",
    "task_id": "case_task",
    "task_pk": "case_task",
    "request_id": "supplier_request",
    "request_pk": "supplier_request",
    "cost_id": "case_cost",
    "cost_pk": "case_cost",
    "action_id": "improvement_action",
    "consent_id": "consent",
    "form_id": "lead_form",
    "submission_id": "form_submission",
    "submission_pk": "form_submission",
    "campaign_id": "campaign",
    "member_id": "campaign_member",
    "member_pk": "campaign_member",
    "offer_id": "content_offer",
    "visitor_id": "visitor",
    "segment_id": "segment",
    "price_list_id": "price_list",
    "item_id": "price_list_item",
    "discount_rule_id": "discount_rule",
    "quote_id": "quote",
    "approval_id": "quote_approval",
    "deal_pk": "quote_deal",
    "playbook_id": "playbook",
    "step_pk": "playbook_step",
    "enrollment_pk": "enrollment",
    "automation_rule_id": "automation_rule",
    "competency_id": "competency",
    "relationship_type_id": "relationship_type",
    "application_id": "relationship_apply_run",
    "keyword_id": "social_keyword",
    "source_id": "social_source",
    "mention_id": "mention",
    "account_id": "mail_account",
    "message_id": "mail_private",
    "mail_rule_id": "mail_rule",
    "mail_template_id": "mail_template",
    "call_list_id": "call_list",
    "call_entry_id": "call_entry",
    "mailing_id": "mailing",
    "suppression_id": "mailing_suppression",
}

# Web routes name their object ``pk``: the path segment in front of it says which.
PK_BY_SEGMENT: dict[str, str] = {
    "parties": "organization",
    "surveys": "survey",
    "merges": "merge",
    "leads": "lead",
    "cases": "case",
    "deals": "deal",
    "pipelines": "pipeline",
    "stages": "stage",
    "lost-reasons": "lost_reason",
    "activities": "task",
    "products": "product",
    "transactions": "transaction",
    "runs": "run",
    "party": "organization",
    "costs": "cost_entry",
    "rules": "cost_rule",
    "scoring": "scoring_model",
    "notifications": "notification",
    "api-keys": "api_key",
    "users": "user",
    "custom-fields": "custom_field",
    "views": "saved_view",
    "teams": "team",
    "connectors": "connector",
    "webhooks": "webhook",
    "deliveries": "webhook_delivery",
    "imports": "import_job",
    "backups": "backup",
    "market-volumes": "market_volume",
    "quality-checks": "quality_check",
    "improvement-actions": "improvement_action",
    "root-causes": "root_cause",
    "forms": "lead_form",
    "campaigns": "campaign",
    "offers": "content_offer",
    "visitors": "visitor",
    "segments": "segment",
    "pricelists": "price_list",
    "items": "price_list_item",
    "discounts": "discount_rule",
    "quotes": "quote",
    "approvals": "quote_approval",
    "playbooks": "playbook",
    "targets": "sales_target",
    "catalogue": "competency",
    "relationship-types": "relationship_type",
    "applications": "relationship_apply_run",
    "keywords": "social_keyword",
    "sources": "social_source",
    "mentions": "mention",
    "accounts": "mail_account",
    "messages": "mail_private",
    "threads": "mail_thread",
    "attachments": "mail_attachment",
    "templates": "mail_template",
    "inbox": "inbox_item",
    "lists": "call_list",
    "entries": "call_entry",
    "mailings": "mailing",
    "suppressions": "mailing_suppression",
}

# Routes whose object must be in a particular state (a done activity to reopen, a person's
# page …): route name or API operation id → {parameter: world record}.
STATE: dict[str, dict[str, str]] = {
    "lead_hand_off": {"lead_id": "new_lead"},
    # /inbox/items/{item_id}: an inbox item (PARAMS' "item_id" is a price list item)
    "inbox_item_detail": {"item_id": "inbox_item"},
    "inbox_item_update": {"item_id": "inbox_item"},
    "activities:reopen": {"pk": "done_task"},
    "marketing:tracking:party_visits": {"pk": "person"},
    "marketing:offers:rule_edit": {"pk": "follow_up_rule"},
    "marketing:offers:rule_delete": {"pk": "follow_up_rule"},
    **{
        f"follow_up_rule_{action}": {"rule_id": "follow_up_rule"}
        for action in ("detail", "update", "delete")
    },
    "marketing:consent_lead": {"pk": "lead"},
    "marketing:consent_record_lead": {"pk": "lead"},
    "marketing:consent_withdraw": {"pk": "consent"},
    "marketing:consent_text": {"pk": "consent_text"},
    "marketing:handoff_rule_edit": {"pk": "handoff_rule"},
    "marketing:handoff_rule_delete": {"pk": "handoff_rule"},
    "marketing:handoff_rule_move": {"pk": "handoff_rule"},
    "marketing:campaign_cost_delete": {"pk": "campaign", "cost_pk": "campaign_cost"},
    "campaign_cost_delete": {"cost_id": "campaign_cost"},
    "service:analysis_archived_report": {"pk": "complaint_report"},
    "case_report_pdf": {"report_id": "complaint_report"},
    "activities:ical": {"pk": "meeting"},  # one meeting as .ics; a task is 404 by design
    "activity_reopen": {"activity_id": "done_task"},
    "person_detail": {"party_id": "person"},
    "person_update": {"party_id": "person"},
    "person_delete": {"party_id": "person"},
    # A survey without answers to delete and add questions to; one collecting for the rest.
    "survey_delete": {"survey_id": "draft_survey"},
    "survey_question_add": {"survey_id": "draft_survey"},
    "survey_invite": {"survey_id": "collecting_survey"},
    "survey_remind": {"survey_id": "collecting_survey"},
    "survey_response_enter": {"survey_id": "collecting_survey"},
    # Quotes: a draft to submit, a ready one to send, accept or reject, a deal with lines.
    "pricing_quote_submit": {"quote_id": "draft_quote"},
    "pricing:quote_submit": {"pk": "draft_quote"},
    **{
        key: {param: "ready_quote"}
        for action in ("send", "accept", "reject")
        for key, param in (
            (f"pricing_quote_{action}", "quote_id"),
            (f"pricing:quote_{action}", "pk"),
        )
    },
    "pricing_quote_create": {"deal_id": "quote_deal"},
    "pricing_deal_approval_request": {"deal_id": "discount_deal"},
    "pricing:deal_approval_request": {"deal_pk": "discount_deal"},
    "comms:rule_delete": {"pk": "mail_rule"},
    # Mailings: pausing needs one that sends, resuming one that is paused.
    **{
        f"mailings_{a}": {"mailing_id": f"{s}_mailing"}
        for a, s in (("pause", "sending"), ("resume", "paused"))
    },
    **{
        f"mailings:{a}": {"pk": f"{s}_mailing"}
        for a, s in (("pause", "sending"), ("resume", "paused"))
    },
    "playbook_step_update": {"step_id": "playbook_step"},
    "playbook_step_delete": {"step_id": "playbook_step"},
    # /automation/rules/<pk>/: an automation rule (PK_BY_SEGMENT's "rules" are cost rules)
    **{
        f"rules:rule_{action}": {"pk": "automation_rule"}
        for action in ("detail", "edit", "try", "toggle", "delete", "rotate", "export")
    },
}

# Other non-id parameters of web routes.
STRINGS: dict[tuple[str, str], str] = {
    # The complaint configuration's natural keys: a severity, an e-mail and its language.
    **{
        (f"case_config_sla_policy_{action}", "severity"): "medium"
        for action in ("detail", "set", "delete")
    },
    **{
        (f"case_config_mail_template_{action}", name): value
        for action in ("set", "delete", "preview")
        for name, value in (("key", "acknowledgement"), ("language", "de"))
    },
    ("case_report_subscription_set", "frequency"): "weekly",
    ("inbox_sla_set", "channel"): "email",  # the inbox's SLA is set per channel (a name)
    ("parties:create", "kind"): "organization",
    ("activities:create", "kind"): "task",
    ("feedback:answer", "token"): "no-such-token",  # the public page of an unknown link
    ("service:rate", "token"): "no-such-token",  # the public rating page of an unknown link
    ("quote_public:respond", "token"): "no-such-token",  # a quote's unknown acceptance link
    ("quote_public:pdf", "token"): "no-such-token",  # the PDF behind an unknown quote link
    # the public opt-in and unsubscribe pages of an unknown link
    ("consent_public:confirm", "token"): "no-such-token",
    ("consent_public:unsubscribe", "token"): "no-such-token",
    ("analytics:chart", "name"): "revenue",
    ("offers_public:download", "token"): "no-such-token",  # an unknown download link
    ("rules:inbound", "token"): "no-such-token",  # an unknown inbound webhook of a rule
    ("social:webhook", "token"): "no-such-token",  # an unknown social listening webhook
    # the world's web form, by its public address key
    **{
        (f"webform_public:{n}", "key"): "world-form"
        for n in ("form", "embed", "embed_js", "submit")
    },
    ("migration:fix_row", "row"): "3",  # the import's bad row
    ("export_records", "type_"): "organization",
    # every list's export in another format than CSV: JSON carries every field as text
    ("parties:export_as", "fmt"): "json",
    ("segments:export", "fmt"): "csv",
    ("leads:export_as", "fmt"): "json",
    ("sales:export_as", "fmt"): "json",
    ("activities:export_as", "fmt"): "json",
    ("commerce:product_export_as", "fmt"): "json",
    ("commerce:transaction_export_as", "fmt"): "json",
}


class UnfillableRoute(AssertionError):
    pass


def record_name(route: str, name: str, before: str) -> str:
    """Which world record fills a route's parameter."""
    state = STATE.get(route, {})
    if name in state:
        return state[name]
    if name in PARAMS:
        return PARAMS[name]
    if name == "pk":
        segment = before.rstrip("/").rsplit("/", 1)[-1]
        if segment in PK_BY_SEGMENT:
            return PK_BY_SEGMENT[segment]
    raise UnfillableRoute(
        f"Route {route!r} has the parameter {name!r} (after {before!r}) that the access test "
        "cannot fill. Add a record of that kind to build_world() in tests/core/route_world.py "
        "and map the parameter in PARAMS (or PK_BY_SEGMENT for a web route's pk)."
    )


def _record_for(world: World, route: str, name: str, before: str) -> Any:
    return world[record_name(route, name, before)]


# --- Web routes ------------------------------------------------------------------------------


@dataclass(frozen=True)
class WebRoute:
    pattern: str  # the full route, e.g. "parties/<int:pk>/edit/"
    name: str  # "namespace:name", or the pattern if unnamed
    callback: Any
    model: Any = None  # the admin's model for django-admin routes

    def __str__(self) -> str:
        return self.name


def _admin_model(callback: Any) -> Any:
    target = callback
    while target is not None:
        owner = getattr(target, "__self__", None)
        if owner is not None and hasattr(owner, "model"):
            return owner.model
        target = getattr(target, "__wrapped__", None)
    return getattr(getattr(callback, "model_admin", None), "model", None)


def web_routes() -> list[WebRoute]:
    """Every URL pattern of the project, walked from the root resolver (the API's patterns
    are left to the OpenAPI operations, which know their methods)."""
    return list(_web_routes())


@functools.cache
def _web_routes() -> tuple[WebRoute, ...]:
    found: list[WebRoute] = []

    def walk(patterns, prefix: str, namespace: str | None) -> None:
        for entry in patterns:
            if isinstance(entry, URLResolver):
                ns = entry.namespace or namespace
                walk(entry.url_patterns, prefix + _pattern_text(entry.pattern), ns)
            elif isinstance(entry, URLPattern):
                full = prefix + _pattern_text(entry.pattern)
                if full.startswith("api/v1/"):
                    continue
                if entry.name:
                    label = f"{namespace}:{entry.name}" if namespace else entry.name
                else:
                    label = full
                model = _admin_model(entry.callback) if namespace == "admin" else None
                found.append(WebRoute(full, label, entry.callback, model))

    walk(get_resolver().url_patterns, "", None)
    return tuple(found)


def _pattern_text(pattern: Any) -> str:
    if isinstance(pattern, RegexPattern):
        return pattern._regex
    assert isinstance(pattern, RoutePattern), pattern
    return str(pattern)


_CONVERTER = re.compile(r"<(?:(?P<conv>[^>:]+):)?(?P<name>[^>]+)>")
_REGEX_GROUP = re.compile(r"\((?:\?P<(?P<name>\w+)>)?[^()]*(?:\([^()]*\)[^()]*)*\)")


def web_used(route: WebRoute) -> list[str]:
    """The world records a web route's path names."""
    used: list[str] = []
    text = route.pattern
    if "^" in text or "(?P" in text or "$" in text or route.name.startswith("admin:"):
        return used  # regex routes (accounts, admin) name no world record by a converter
    for match in _CONVERTER.finditer(text):
        name = match["name"]
        if (route.name, name) in STRINGS or route.model is not None:
            continue
        used.append(record_name(route.name, name, text[: match.start()]))
    return used


def web_url(route: WebRoute, world: World) -> str:
    """The concrete path of a route, its parameters filled from the world."""
    text = route.pattern
    if "^" in text or "(?P" in text or "$" in text:
        return "/" + _fill_regex(route, world)
    out = ""
    position = 0
    for match in _CONVERTER.finditer(text):
        out += text[position : match.start()]
        out += str(_web_value(route, world, match["name"], match["conv"] or "str", out))
        position = match.end()
    return "/" + out + text[position:]


def _web_value(route: WebRoute, world: World, name: str, converter: str, before: str) -> Any:
    if (route.name, name) in STRINGS:
        return STRINGS[route.name, name]
    if route.model is not None and name in ("object_id", "id"):
        return _admin_object(route, world).pk
    if route.name == "admin:view_on_site":
        from django.contrib.contenttypes.models import ContentType

        org = world["organization"]
        return ContentType.objects.get_for_model(org).pk if name == "content_type_id" else org.pk
    if route.model is not None and name == "url":
        return "no-such-page/"
    return _record_for(world, route.name, name, before).pk


def _admin_object(route: WebRoute, world: World) -> Any:
    for obj in world.objects.values():
        if type(obj) is route.model or (
            hasattr(obj, "_meta") and obj._meta.concrete_model is route.model
        ):
            return obj
    found = route.model._default_manager.order_by("pk").first()
    if found is None:
        # The admin answers a missing object with a redirect and a message; the route is
        # still called (login, permission, no server error), just not on a real row.
        return route.model(pk=999_999_999)
    return found


def _fill_regex(route: WebRoute, world: World) -> str:
    text = route.pattern.replace("^", "").replace("$", "")
    values = _REGEX_VALUES.get(route.name.split(":")[-1])
    unnamed: list[Any] = []
    if values is None and route.name.endswith("_simple_history") and route.model is not None:
        obj = _admin_object(route, world)
        history = obj.history.order_by("history_id").first() if obj._state.db else None
        unnamed = [obj.pk, history.history_id if history else 999_999_999]
    index = 0

    def replace(match: re.Match) -> str:
        nonlocal index
        name = match["name"]
        if name is not None:
            if values is not None and name in values:
                return str(values[name])
            if name in _REGEX_DEFAULTS:
                return _REGEX_DEFAULTS[name]
            if name == "app_label":
                return match.group(0).split(">", 1)[1].split("|")[0].strip("()")
            raise UnfillableRoute(
                f"Regex route {route.name!r} has the group {name!r}: add it to _REGEX_VALUES "
                "in tests/core/route_world.py."
            )
        if index >= len(unnamed):
            raise UnfillableRoute(
                f"Regex route {route.name!r} has unnamed groups: add it to _REGEX_VALUES "
                "in tests/core/route_world.py."
            )
        index += 1
        return str(unnamed[index - 1])

    return _REGEX_GROUP.sub(replace, text).replace("\\", "")


_REGEX_DEFAULTS = {"url": "no-such-page/", "key": "no-such-key", "uidb36": "0"}
_REGEX_VALUES: dict[str, dict[str, str]] = {
    "account_confirm_email": {"key": "no-such-key"},
    "account_reset_password_from_key": {"uidb36": "0", "key": "no-such-key"},
}


class _FormParser(HTMLParser):
    """The fields of the first POST form of a page that is not the search or language form."""

    def __init__(self) -> None:
        super().__init__()
        self.forms: list[dict[str, list[str]]] = []
        self._current: dict[str, list[str]] | None = None
        self._select: str | None = None
        self._select_first: str | None = None
        self._select_chosen = False
        self._textarea: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form" and a.get("method", "get").lower() == "post":
            self._current = {}
            self.forms.append(self._current)
            self._current["__action__"] = [a.get("action", "")]
        if self._current is None:
            return
        name = a.get("name")
        if tag == "input" and name and name != "csrfmiddlewaretoken":
            kind = a.get("type", "text").lower()
            if kind in ("checkbox", "radio") and "checked" not in a:
                return
            if kind in ("submit", "button", "file", "image"):
                return
            default = "on" if kind in ("checkbox", "radio") else ""
            self._current.setdefault(name, []).append(a.get("value", default))
        elif tag == "select" and name:
            self._select, self._select_first, self._select_chosen = name, None, False
        elif tag == "option" and self._select:
            value = a.get("value", "")
            if self._select_first is None and value:
                self._select_first = value
            if "selected" in a:
                self._current.setdefault(self._select, []).append(value)
                self._select_chosen = True
        elif tag == "textarea" and name:
            self._textarea = name
            self._current.setdefault(name, []).append("")

    def handle_data(self, data: str) -> None:
        if self._current is not None and self._textarea:
            # A browser drops the newline right after <textarea>.
            text = self._current[self._textarea][-1] + data
            self._current[self._textarea][-1] = text.removeprefix("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag == "select" and self._select and self._current is not None:
            if not self._select_chosen and self._select_first is not None:
                self._current.setdefault(self._select, []).append(self._select_first)
            self._select = None
        elif tag == "textarea":
            self._textarea = None
        elif tag == "form":
            self._current = None


def form_on_page(html: str, url: str) -> dict[str, list[str]] | None:
    """The data of the page's own POST form (posting to the page itself), as a browser would
    send it unchanged."""
    parser = _FormParser()
    parser.feed(html)
    for form in parser.forms:
        action = form.pop("__action__")[0]
        if action in ("", url, "."):
            return form
    return None


# --- API operations -------------------------------------------------------------------------


@dataclass(frozen=True)
class Operation:
    method: str
    path: str  # as in the schema, /api/v1/deals/{deal_id}
    operation_id: str
    parameters: tuple[tuple[str, str], ...]  # (name, in)
    required_query: tuple[tuple[str, Any], ...]  # (name, schema) of required query parameters
    body_schema: Any

    def __str__(self) -> str:
        return f"{self.method.upper()} {self.path}"


@functools.cache
def api_schema() -> dict:
    """The OpenAPI schema, built once per test process (building it takes seconds; callers
    only read it)."""
    from kreis.api import api

    return api.get_openapi_schema(path_prefix="/api/v1")


def operations() -> list[Operation]:
    """Every operation of the REST API, from its OpenAPI schema."""
    return list(_operations())


@functools.cache
def _operations() -> tuple[Operation, ...]:
    schema = api_schema()
    found = []
    for path, methods in schema["paths"].items():
        for method, op in methods.items():
            params = tuple((p["name"], p["in"]) for p in op.get("parameters", []))
            required_query = tuple(
                (p["name"], p.get("schema", {}))
                for p in op.get("parameters", [])
                if p["in"] == "query" and p.get("required")
            )
            body = (
                op.get("requestBody", {})
                .get("content", {})
                .get("application/json", {})
                .get("schema")
            )
            found.append(Operation(method, path, op["operationId"], params, required_query, body))
    return tuple(found)


def api_used(op: Operation) -> list[str]:
    """The world records an operation's path names."""
    return [
        record_name(op.operation_id, name, op.path.split("{" + name)[0])
        for name, where in op.parameters
        if where == "path" and (op.operation_id, name) not in STRINGS
    ]


def api_query(op: Operation, world: World) -> dict[str, Any]:
    """Values for the operation's required query parameters."""
    schema = api_schema()
    return {name: _value(schema, node, name, world, op) for name, node in op.required_query}


def api_url(op: Operation, world: World, overrides: dict[str, Any] | None = None) -> str:
    overrides = overrides or {}
    path = op.path
    for name, where in op.parameters:
        if where != "path":
            continue
        value = overrides.get(name, STRINGS.get((op.operation_id, name)))
        if value is None:
            value = _record_for(world, op.operation_id, name, path.split("{" + name)[0]).pk
        path = path.replace("{" + name + "}", str(value))
    return path


# Body fields that name other records (the world fills them) or need a value the minimal
# generator cannot guess.
BODY_IDS: dict[str, str] = {
    "party_id": "organization",
    "person_id": "person",
    "organization_id": "organization",
    "other_id": "other_party",
    "source_id": "partner",
    "target_id": "organization",
    "stage_id": "next_stage",
    "pipeline_id": "pipeline",
    "lost_reason_id": "lost_reason",
    "product_id": "product",
    "owner_id": "user",
    "team_id": "team",
    "deal_id": "deal",
    "lead_id": "lead",
    "category_id": "case_category",
    "root_cause_id": "root_cause",
    "contact_id": "person",
    "supplier_id": "supplier",
    "member_ids": "campaign_member",
    "party_ids": "organization",
    "view_id": "saved_view",
    "offer_id": "content_offer",
    "record_id": "deal",  # an automation rule's dry run
    "segment_id": "segment",
    "competency_id": "competency",
    "required_competency_ids": "competency",
    "account_id": "mail_account",
    "reply_to_id": "mail_private",
}
BODY_VALUES: dict[str, dict[str, Any]] = {
    "kreis_sales_targets_api_target_create": {
        "dimension": "channel",
        "channel": "online",
        "period": "2027",
    },
    "kreis_sales_targets_api_target_update": {"period": "2027", "note": "Changed"},
    "kreis_sales_targets_api_target_import": {
        "csv": "period,metric,dimension,amount,team\n2027,revenue,team,1000,North\n"
    },
    "kreis_sales_forecast_api_forecast_submit": {"period": "2026-Q3"},
    "kreis_sales_forecast_api_forecast_adjust": {"period": "2026-Q3"},
    "lead_set_status": {"status": "qualified"},
    "case_transition": {"to_status": "in_progress"},
    "survey_move": {"to_phase": "analysis"},  # back one, from documentation
    "campaign_event_register": {"last_name": f"{MARKER} Gast"},
    "automation_rule_create": {
        "trigger": "deal.stage_changed",
        "actions": [{"kind": "notify", "message": f"{MARKER} new rule"}],
    },
    "automation_rules_import": {
        "rules": [
            {
                "name": f"{MARKER} imported rule",
                "trigger": "deal.stage_changed",
                "actions": [{"kind": "notify", "message": f"{MARKER} imported"}],
            }
        ]
    },
    "automation_rule_try": {"record_type": "deal"},
    "competency_create": {"kind": "skill", "key": "world-skill", "name": "Verhandeln"},
    "competency_update": {"name": "Französisch (Paris)"},
    "competency_import": {"csv": "username,kind,key,name,level\nalice,language,fr,,4\n"},
    "relationship_type_create": {"ownership": "team", "name_de": "Typ", "name_en": "Type"},
    "mailings_sample": {"to": ["dana@kreis.example"]},
    "mailings_suppression_add": {"value": "world-added.example"},
}


def _resolve(schema: dict, node: dict) -> dict:
    while "$ref" in node:
        node = schema["components"]["schemas"][node["$ref"].rsplit("/", 1)[-1]]
    return node


def api_body(op: Operation, world: World) -> dict | None:
    """A small valid request body: the required fields, filled from the world; a PATCH also
    changes its first free-text field so that it really writes."""
    if op.body_schema is None:
        return None
    schema = api_schema()
    node = _resolve(schema, op.body_schema)
    body = _value(schema, node, "", world, op)
    if op.method == "patch" and isinstance(body, dict):
        for name, prop in node.get("properties", {}).items():
            prop = _resolve(schema, prop)
            if prop.get("type") == "string" and "enum" not in prop and "format" not in prop:
                if not name.endswith(("_id", "currency", "email", "phone", "url", "website")):
                    body[name] = f"Changed by {op.operation_id}"
                    break
    body.update(BODY_VALUES.get(op.operation_id, {}))
    return body


def _value(schema: dict, node: dict, name: str, world: World, op: Operation) -> Any:
    node = _resolve(schema, node)
    if name in BODY_IDS:
        record = world[BODY_IDS[name]].pk
        return [record] if node.get("type") == "array" else record
    if "anyOf" in node:
        return _value(schema, node["anyOf"][0], name, world, op)
    if "enum" in node:
        return node["enum"][0]
    if "const" in node:
        return node["const"]
    kind = node.get("type")
    if kind == "object" or "properties" in node:
        return {
            key: _value(schema, node["properties"][key], key, world, op)
            for key in node.get("required", [])
        }
    if kind == "array":
        count = node.get("minItems", 0)
        if "items" in node:
            return [_value(schema, node["items"], name, world, op) for _ in range(count)]
        return [
            _value(schema, item, name, world, op) for item in node.get("prefixItems", [])[:count]
        ]
    if kind == "integer":
        if name.endswith("_id") or name.endswith("_ids"):
            raise UnfillableRoute(
                f"{op} needs the body field {name!r}: map it in BODY_IDS in "
                "tests/core/route_world.py."
            )
        return max(node.get("minimum", 1), 1)
    if kind == "number":
        return max(node.get("minimum", 1), 1)
    if kind == "boolean":
        return True
    if kind == "string":
        if node.get("format") == "date":
            return str(timezone.localdate())
        if node.get("format") == "date-time":
            return timezone.now().isoformat()
        return "Test"
    raise UnfillableRoute(f"{op}: cannot make a value for {name!r} ({node})")


# --- The shared world -----------------------------------------------------------------------


@pytest.fixture(scope="module", name="world")
def world_fixture(django_db_setup, django_db_blocker):
    """One world per test module (building it takes a few hundred queries; the generated tests
    run hundreds of requests against it). Each test still runs in its own savepoint
    (pytest-django's ``db``), so what one test changes is gone for the next; the world itself
    is rolled back after the module."""
    from django.db import transaction

    from kreis.core.models import Role
    from tests.factories import MembershipFactory, TeamFactory, UserFactory

    with django_db_blocker.unblock(), transaction.atomic():
        north = TeamFactory(name="North")
        south = TeamFactory(name="South")

        def member(username, team, role=Role.SALES_REP, manager=False):
            user = UserFactory(username=username, role=role)
            MembershipFactory(team=team, user=user, is_manager=manager)
            return user

        built = build_world(
            alice=member("alice", north),
            bob=member("bob", north),
            mia=member("mia", north, Role.SALES_MANAGER, manager=True),
            charlie=member("charlie", south),
            dana=UserFactory(username="dana", role=Role.ADMIN, is_staff=True, is_superuser=True),
            rory=member("rory", north, Role.READ_ONLY),
            north=north,
            south=south,
        )
        # Signed in here, so the sessions outlive each test's savepoint.
        built.clients["anonymous"] = Client()
        for persona, user in built.users.items():
            built.clients[persona] = Client()
            built.clients[persona].force_login(user)
        built.cookies = {p: c.cookies for p, c in built.clients.items()}
        yield built
        transaction.set_rollback(True)
