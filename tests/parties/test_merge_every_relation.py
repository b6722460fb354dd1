"""Merge and undo over every record that points at a party, found in Django's app registry.

A relation added later (a new model with a foreign key to Party) fails
``test_every_relation_to_a_party_has_a_merge_case`` until it gets a row builder here, so the
merge and undo tests always cover every relation."""

import datetime as dt
from decimal import Decimal

import pytest
from django.apps import apps
from django.db import models
from django.test import Client
from django.utils import timezone

from kreis.parties import services
from kreis.parties.models import (
    Address,
    ContactPoint,
    Employment,
    Party,
    PartyMerge,
    PartyRoleAssignment,
    Relationship,
    Tag,
)
from tests.activities.factories import ActivityFactory, MeetingFactory
from tests.conftest import client_for
from tests.leads.factories import LeadFactory
from tests.sales.factories import DealFactory

pytestmark = pytest.mark.django_db


def party_relations() -> set[tuple[str, str]]:
    """Every (model, foreign key) that points at a party, in every installed app, through
    tables of many-to-many fields included; history tables and the merge records left out."""
    found = set()
    for model in apps.get_models(include_auto_created=True):
        if model is PartyMerge or model._meta.model_name.startswith("historical"):
            continue
        for field in model._meta.concrete_fields:
            remote = field.remote_field.model if field.is_relation else None
            if remote is not None and issubclass(remote, Party):
                found.add((model._meta.label_lower, field.name))
    return found


# --- one row per relation, pointing at the given party --------------------------------------


def _tag(party, world):
    tag = Tag.objects.create(name=f"tag-of-{party.pk}")
    party.tags.add(tag)
    return Party.tags.through.objects.get(party=party, tag=tag)


def _role(party, world):
    return PartyRoleAssignment.objects.create(party=party, role="partner")


def _contact_point(party, world):
    return ContactPoint.objects.create(
        party=party, kind="email", value=f"only-{party.pk}@example.de", is_primary=True
    )


def _address(party, world):
    return Address.objects.create(party=party, street="Dupeweg 1", city="Kiel", is_primary=True)


def _employment_as_person(party, world):
    return Employment.objects.create(person=party, organization=world["third_org"], position="CTO")


def _employment_as_organization(party, world):
    return Employment.objects.create(person=world["third_person"], organization=party)


def _relationship_out(party, world):
    return Relationship.objects.create(source=party, target=world["third_org"], type="partner_of")


def _relationship_in(party, world):
    return Relationship.objects.create(source=world["third_org"], target=party, type="customer_of")


def _transaction(party, world):
    from kreis.commerce.models import Transaction

    return Transaction.objects.create(
        kind="invoice", number=f"R-{party.pk}", party=party, date=dt.date(2026, 3, 1)
    )


def _deal_as_organization(party, world):
    return DealFactory(organization=party, owner=world["owner"], team=world["team"])


def _deal_as_contact(party, world):
    return DealFactory(contact=party, owner=world["owner"], team=world["team"])


def _lead_as_person(party, world):
    return LeadFactory(converted_person=party, owner=world["owner"], team=world["team"])


def _lead_as_organization(party, world):
    return LeadFactory(converted_organization=party, owner=world["owner"], team=world["team"])


def _attendee(party, world):
    meeting = MeetingFactory(owner=world["owner"], team=world["team"])
    meeting.attendees.add(party)
    return meeting.attendees.through.objects.get(activity=meeting, party=party)


def _activity(party, world):
    return ActivityFactory(party=party, owner=world["owner"], team=world["team"])


def _phase_change(party, world):
    model = apps.get_model("analytics", "PhaseChange")
    return model.objects.create(party=party, date=dt.date(2026, 2, 1), to_phase="growth")


def _cost_entry(party, world):
    model = apps.get_model("analytics", "CostEntry")
    return model.objects.create(
        party=party, date=dt.date(2026, 2, 1), level="order", category="shipping", amount=9
    )


def _score_record(party, world):
    scoring = apps.get_model("analytics", "ScoringModel").objects.create(
        name=f"Fit {party.pk}", target="customer"
    )
    return apps.get_model("analytics", "ScoreRecord").objects.create(
        model=scoring, party=party, score=0.5, grade="B", computed_at=timezone.now()
    )


def _survey(party):
    return apps.get_model("feedback", "Survey").objects.create(name=f"Umfrage {party.pk}")


def _invitation(party, world):
    import secrets

    return apps.get_model("feedback", "Invitation").objects.create(
        survey=_survey(party),
        party=party,
        email=f"kunde{party.pk}@example.de",
        language="de",
        token_hash=secrets.token_hex(32),
        expires_at=timezone.now() + dt.timedelta(days=30),
    )


def _response(party, world):
    return apps.get_model("feedback", "Response").objects.create(
        survey=_survey(party), party=party, channel="phone", language="de", nps=9
    )


def _case(party, world, *, contact=None):
    from kreis.service.defaults import ensure_defaults

    ensure_defaults()
    category = apps.get_model("service", "CaseCategory").objects.order_by("pk").first()
    return apps.get_model("service", "Case").objects.create(
        number=f"C-2026-{party.pk:06d}{'P' if contact else ''}",
        party=world["third_org"] if contact else party,
        contact=contact,
        channel="phone",
        category=category,
        severity="high",
        subject=f"Reklamation {party.pk}",
        language="de",
    )


def _case_as_contact(party, world):
    return _case(party, world, contact=party)


def _supplier_request(party, world):
    case = _case(world["third_person"], world)
    return apps.get_model("service", "SupplierRequest").objects.create(
        case=case, supplier=party, message=f"Bitte prüfen {party.pk}", sent_to="x@example.de"
    )


def _referral(party, world):
    return LeadFactory(referred_by=party)


def _marketing(name):
    return apps.get_model("marketing", name)


def _segment_member(party, world):
    segment = _marketing("Segment").objects.create(name=f"Liste {party.pk}", kind="static")
    return _marketing("SegmentMember").objects.create(segment=segment, party=party)


def _campaign(party, purpose):
    return _marketing("Campaign").objects.create(
        name=f"Messe {party.pk}", code=f"messe-{purpose}-{party.pk}", channel="event"
    )


def _campaign_member(party, world):
    return _marketing("CampaignMember").objects.create(
        campaign=_campaign(party, "member"), party=party, opened_at=timezone.now()
    )


def _campaign_touch(party, world):
    return _marketing("CampaignTouch").objects.create(
        campaign=_campaign(party, "touch"), party=party, kind="manual", at=timezone.now()
    )


def _consent(party, world):
    return _marketing("Consent").objects.create(
        party=party,
        purpose="newsletter",
        channel="email",
        status="granted",
        source="staff",
        requested_at=timezone.now(),
        confirmed_at=timezone.now(),
    )


def _lead_form(party):
    return _marketing("LeadForm").objects.create(
        name=f"Kontakt {party.pk}", key=f"kontakt-{party.pk}", fields=[]
    )


def _form_submission(party, world):
    return _marketing("FormSubmission").objects.create(
        form=_lead_form(party), party=party, outcome="party", data={"email": "x@example.de"}
    )


def _visitor(party, world, uid=""):
    now = timezone.now()
    return _marketing("Visitor").objects.create(
        uid=uid or f"v-{party.pk}", party=party, consented_at=now, first_seen=now, last_seen=now
    )


def _page_visit(party, world):
    visitor = _visitor(world["third_person"], world, uid=f"pv-{party.pk}")
    return _marketing("PageVisit").objects.create(
        visitor=visitor,
        party=party,
        url="https://example.de/preise",
        path="/preise",
        at=visitor.last_seen,
    )


def _content_download(party, world):
    offer = _marketing("ContentOffer").objects.create(
        name=f"Checkliste {party.pk}",
        file="offers/checkliste.pdf",
        filename="checkliste.pdf",
        content_type="application/pdf",
    )
    return _marketing("ContentDownload").objects.create(
        offer=offer,
        party=party,
        token_hash=f"{party.pk:064d}",
        expires_at=timezone.now() + dt.timedelta(days=7),
    )


def _party_relationship_type(party, world):
    segment = _marketing("Segment").objects.create(
        name=f"Schlüsselkunden {party.pk}", kind="static"
    )
    kind = _marketing("RelationshipType").objects.create(
        name_de=f"Schlüsselkunde {party.pk}",
        name_en=f"Key account {party.pk}",
        segment=segment,
        team=world["team"],
    )
    return _marketing("PartyRelationshipType").objects.create(party=party, relationship_type=kind)


def _relationship_apply_change(party, world):
    from kreis.marketing.relationships.models import RelationshipApplyChange, RelationshipApplyRun

    run = RelationshipApplyRun.objects.create(changed=1)
    return RelationshipApplyChange.objects.create(run=run, party=party, owner_after=world["owner"])


def _enrollment(party, world):
    from kreis.playbooks.models import Enrollment, Playbook

    playbook = Playbook.objects.create(
        key=f"merge-{party.pk}", name_de="Bindung", name_en="Retention", kind="retention"
    )
    now = timezone.now()
    return Enrollment.objects.create(
        playbook=playbook,
        party=party,
        entered_at=now,
        entered_on=now.date(),
        window_ends_on=now.date() + dt.timedelta(days=90),
    )


def _quote(party, world):
    from kreis.pricing.models import Quote

    deal = DealFactory(organization=party, owner=world["owner"], team=world["team"])
    return Quote.objects.create(
        deal=deal,
        number=f"A-{party.pk}",
        party=party,
        language="de",
        valid_until=dt.date(2026, 3, 1),
    )


def _mail_message(party, world):
    from kreis.comms.models import MailAccount, Message, Thread

    account = MailAccount.objects.create(
        name="merge", email_address=f"m{party.pk}@kreis.example", owner=world["owner"],
        imap_host="127.0.0.1", imap_username="m",
    )  # fmt: skip
    thread = Thread.objects.create(account=account, subject="Angebot")
    message = Message.objects.create(
        account=account, thread=thread, message_id=f"<m{party.pk}@kreis.example>",
        direction="inbound", sent_at=timezone.now(),
    )  # fmt: skip
    message.parties.add(party)
    return Message.parties.through.objects.get(message=message, party=party)


def _social_keyword(party, world):
    from kreis.social.models import Keyword

    return Keyword.objects.create(term=f"Rivale {party.pk}", kind="competitor", competitor=party)


def _social_mention(party, world):
    from kreis.social.models import Mention, Source

    source = Source.objects.create(name="merge", kind="webhook", owner=world["owner"])
    return Mention.objects.create(
        source=source, external_id=f"merge-{party.pk}", text="Kreiswerk hilft",
        published_at=timezone.now(), author_handle="@eva@social.example", party=party,
    )  # fmt: skip


def _call_list_entry(party, world):
    from kreis.calls.models import CallList, CallListEntry

    call_list = CallList.objects.create(name=f"Anrufe {party.pk}", owner=world["owner"])
    return CallListEntry.objects.create(
        call_list=call_list, party=party, phone="+4930123456", position=1,
        due_at=timezone.now(),
    )  # fmt: skip


def _mailing_recipient(party, world):
    from kreis.mailings.models import Mailing, Recipient
    from kreis.marketing.models import Segment

    segment = Segment.objects.create(name=f"Verteiler {party.pk}", owner=world["owner"])
    mailing = Mailing.objects.create(name=f"Rundbrief {party.pk}", segment=segment,
                                     owner=world["owner"])  # fmt: skip
    return Recipient.objects.create(mailing=mailing, party=party, email="eva@example.org")


# (model, field) -> (kind of party the field holds, or None for both; row builder)
BUILDERS = {
    ("parties.party_tags", "party"): (None, _tag),
    ("parties.partyroleassignment", "party"): (None, _role),
    ("parties.contactpoint", "party"): (None, _contact_point),
    ("parties.address", "party"): (None, _address),
    ("parties.employment", "person"): ("person", _employment_as_person),
    ("parties.employment", "organization"): ("organization", _employment_as_organization),
    ("parties.relationship", "source"): (None, _relationship_out),
    ("parties.relationship", "target"): (None, _relationship_in),
    ("commerce.transaction", "party"): (None, _transaction),
    ("sales.deal", "organization"): ("organization", _deal_as_organization),
    ("sales.deal", "contact"): ("person", _deal_as_contact),
    ("leads.lead", "converted_person"): ("person", _lead_as_person),
    ("leads.lead", "converted_organization"): ("organization", _lead_as_organization),
    ("activities.activity_attendees", "party"): (None, _attendee),
    ("activities.activity", "party"): (None, _activity),
    ("analytics.phasechange", "party"): (None, _phase_change),
    ("analytics.costentry", "party"): (None, _cost_entry),
    ("analytics.scorerecord", "party"): (None, _score_record),
    ("feedback.invitation", "party"): (None, _invitation),
    ("feedback.response", "party"): (None, _response),
    ("service.case", "party"): (None, _case),
    ("service.case", "contact"): ("person", _case_as_contact),
    ("leads.lead", "referred_by"): (None, _referral),
    ("service.supplierrequest", "supplier"): (None, _supplier_request),
    ("marketing.segmentmember", "party"): (None, _segment_member),
    ("marketing.campaignmember", "party"): (None, _campaign_member),
    ("marketing.campaigntouch", "party"): (None, _campaign_touch),
    ("marketing.consent", "party"): (None, _consent),
    ("marketing.formsubmission", "party"): (None, _form_submission),
    ("marketing.visitor", "party"): (None, _visitor),
    ("marketing.pagevisit", "party"): (None, _page_visit),
    ("marketing.contentdownload", "party"): (None, _content_download),
    ("marketing.partyrelationshiptype", "party"): (None, _party_relationship_type),
    ("marketing.relationshipapplychange", "party"): (None, _relationship_apply_change),
    ("playbooks.enrollment", "party"): (None, _enrollment),
    ("pricing.quote", "party"): (None, _quote),
    ("comms.message_parties", "party"): (None, _mail_message),
    ("social.keyword", "competitor"): (None, _social_keyword),
    ("social.mention", "party"): (None, _social_mention),
    ("calls.calllistentry", "party"): (None, _call_list_entry),
    ("mailings.recipient", "party"): (None, _mailing_recipient),
}


def _any_row(model, field_name: str):
    """A row builder for a relation without one of its own: every required column gets a
    plain value of its type. A required link to anything but a party needs a real builder."""

    def build(party, world):
        values = {}
        for field in model._meta.concrete_fields:
            if field.name == field_name:
                values[field.name] = party
            elif field.null or field.has_default() or field.primary_key:
                continue
            elif getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False):
                continue
            elif field.is_relation:
                raise LookupError(f"{model._meta.label}.{field.name} needs a row builder")
            elif field.choices:
                values[field.name] = field.choices[0][0]
            else:
                values[field.name] = _plain_value(field)
        return model._default_manager.create(**values)

    return build


def _plain_value(field):
    if isinstance(field, models.DecimalField):
        return Decimal("12.34")
    if isinstance(field, models.FloatField):
        return 0.5
    if isinstance(field, models.IntegerField):
        return 3
    if isinstance(field, models.BooleanField):
        return True
    if isinstance(field, models.DateTimeField):
        return timezone.now()
    if isinstance(field, models.DateField):
        return dt.date(2026, 2, 1)
    if isinstance(field, models.JSONField):
        return {"kept": True}
    return "kept"


def _builders() -> dict:
    """BUILDERS, and the plain builder for every other relation to a party."""
    found = dict(BUILDERS)
    for label, field in party_relations() - set(BUILDERS):
        found[(label, field)] = (None, _any_row(apps.get_model(label), field))
    return found


def test_every_relation_to_a_party_has_a_merge_case(world):
    assert not set(BUILDERS) - party_relations(), "a builder for a relation that is gone"
    survivor, merged = world["organization"]
    for (label, field), (_kind, build) in _builders().items():
        assert build(merged, world).pk, f"{label}.{field}: no row could be made"


def _snapshot(row) -> dict:
    """A row's stored values, read fresh (``updated_at`` moves with a merge by design)."""
    values = type(row)._default_manager.filter(pk=row.pk).values().get()
    values.pop("pk", None)
    values.pop("updated_at", None)
    return values


def _party_state(party: Party) -> dict:
    values = Party.objects.filter(pk=party.pk).values().get()
    values.pop("updated_at")
    values["tags"] = sorted(party.tags.values_list("name", flat=True))
    return values


@pytest.fixture
def world(alice, north):
    def person(first, last, **extra):
        return services.party_create(
            actor=alice, kind="person", first_name=first, last_name=last, **extra
        )

    def organization(name, **extra):
        return services.party_create(actor=alice, kind="organization", name=name, **extra)

    shared = {"owner": alice, "team": north}
    return {
        **shared,
        "person": (
            person("Eva", "Berg", emails=[{"value": "eva@berg.de"}]),
            person("Eva", "Berg-Lang", notes="met at the fair"),
        ),
        "organization": (
            organization("Nordlicht AG", emails=[{"value": "info@nordlicht.de"}]),
            organization("Nordlicht", website="https://nordlicht.example"),
        ),
        "third_org": organization("Kundenwerk GmbH"),
        "third_person": person("Tom", "Dritt"),
    }


def _with_primary_address(party):
    return Address.objects.create(party=party, street="Hauptweg 2", city="Kiel", is_primary=True)


@pytest.mark.parametrize("kind", ["person", "organization"])
def test_merge_moves_every_related_row_and_undo_restores_each_exactly(world, alice, kind):
    survivor, merged = world[kind]
    _with_primary_address(survivor)
    rows = {
        key: build(merged, world)
        for key, (for_kind, build) in _builders().items()
        if for_kind in (None, kind)
    }
    before = {key: _snapshot(row) for key, row in rows.items()}
    parties_before = (_party_state(survivor), _party_state(merged))

    merge = services.party_merge(actor=alice, survivor=survivor, merged=merged)

    for (label, field), row in rows.items():
        model = type(row)
        # A row keyed by its party (figures per party) moves with a new key.
        now_at = survivor.pk if model._meta.pk.name == field else row.pk
        moved = model._default_manager.filter(pk=now_at, **{field: survivor})
        assert moved.exists(), f"{label}.{field} did not move"
    # The survivor keeps its primary e-mail and address; the moved ones are secondary now.
    assert survivor.contact_points.filter(kind="email", is_primary=True).count() == 1
    assert survivor.addresses.filter(is_primary=True).count() == 1

    undone = services.party_merge_undo(actor=alice, merge=merge)

    assert undone.party == merged
    assert undone.kept_fields == ()
    assert undone.kept_rows == 0
    after = {key: _snapshot(row) for key, row in rows.items()}
    for key in rows:
        assert after[key] == before[key], f"{key} not restored exactly"
    survivor.refresh_from_db()
    merged.refresh_from_db()
    assert (_party_state(survivor), _party_state(merged)) == parties_before


def test_conflicting_rows_stay_with_the_merged_party_and_come_back_with_it(world, alice):
    """Both have the tag, the role, the employment, the meeting and a relationship to each
    other: the survivor keeps its own rows, the duplicates stay with the merged party (they
    would break a unique rule or point at itself), and the undo leaves everything as it was."""
    survivor, merged = world["person"]
    firm, meeting = world["third_org"], MeetingFactory(owner=alice, team=world["team"])
    vip = Tag.objects.create(name="vip")
    conflicts = []
    for party in (survivor, merged):
        party.tags.add(vip)
        PartyRoleAssignment.objects.create(party=party, role="customer")
        Employment.objects.create(person=party, organization=firm, position=f"P{party.pk}")
        meeting.attendees.add(party)
        conflicts += [
            Party.tags.through.objects.get(party=party, tag=vip),
            PartyRoleAssignment.objects.get(party=party),
            Employment.objects.get(person=party),
            meeting.attendees.through.objects.get(party=party),
        ]
    conflicts.append(Relationship.objects.create(source=merged, target=survivor, type="partner_of"))
    # The same e-mail address on both: the survivor's stays, the duplicate is not added twice.
    conflicts.append(ContactPoint.objects.create(party=merged, kind="email", value="eva@berg.de"))
    before = [_snapshot(row) for row in conflicts]
    client = client_for(alice)

    response = client.post(f"/parties/{survivor.pk}/merge/", {"other_id": merged.pk})

    assert response.status_code == 302
    assert [_snapshot(row) for row in conflicts] == before
    assert list(survivor.tags.values_list("name", flat=True)) == ["vip"]
    assert survivor.contact_points.filter(value="eva@berg.de").count() == 1
    detail = client.get(f"/parties/{survivor.pk}/").content.decode()
    assert detail.count("Kundenwerk GmbH") >= 1
    merge = PartyMerge.objects.get()

    response = client.post(f"/parties/merges/{merge.pk}/undo/", follow=True)

    assert response.status_code == 200
    assert [_snapshot(row) for row in conflicts] == before
    merged.refresh_from_db()
    assert merged.deleted_at is None


def test_undo_keeps_edits_made_after_the_merge_and_says_which(world, alice, bob):
    survivor, merged = world["person"]
    deal = DealFactory(contact=merged, owner=alice, team=world["team"], name="Leasing")
    moved_on = ActivityFactory(party=merged, owner=alice, team=world["team"], subject="Call")
    gone = ContactPoint.objects.create(party=merged, kind="phone", value="+4930555")
    merge = services.party_merge(
        actor=alice, survivor=survivor, merged=merged, take_from_merged=["notes"]
    )
    survivor.refresh_from_db()
    assert survivor.notes == "met at the fair"
    # After the merge: the survivor's source is edited, the deal renamed, the call filed under
    # another party, the phone number deleted, and a new task added to the survivor.
    services.party_update(actor=alice, party=survivor, source="Referral")
    deal.refresh_from_db()
    deal.name = "Leasing 2027"
    deal.save()
    moved_on.refresh_from_db()
    moved_on.party = world["third_person"]
    moved_on.save()
    gone.delete()
    later = ActivityFactory(party=survivor, owner=alice, team=world["team"], subject="Later")
    client = client_for(alice)

    response = client.post(f"/parties/merges/{merge.pk}/undo/", follow=True)

    body = response.content.decode()
    assert "is back" in body
    assert "Changed since the merge and therefore kept on" in body
    assert "source" in body
    assert "2 records were moved or deleted since the merge and stay as they are." in body
    survivor.refresh_from_db()
    merged.refresh_from_db()
    # The later edit of the survivor stays; the field the merge changed goes back.
    assert survivor.source == "Referral"
    assert survivor.notes == ""
    assert merged.deleted_at is None
    deal.refresh_from_db()
    assert (deal.contact_id, deal.name) == (merged.pk, "Leasing 2027")
    moved_on.refresh_from_db()
    assert moved_on.party_id == world["third_person"].pk
    later.refresh_from_db()
    assert later.party_id == survivor.pk
    assert not ContactPoint.objects.filter(value="+4930555").exists()


def test_api_undo_names_the_kept_fields(world, alice, api_key_for):
    survivor, merged = world["organization"]
    headers = {"HTTP_AUTHORIZATION": f"Bearer {api_key_for(alice)}"}
    client = Client()
    response = client.post(
        f"/api/v1/parties/{survivor.pk}/merge",
        {"other_id": merged.pk, "take_from_other": ["website"]},
        content_type="application/json",
        **headers,
    )
    assert response.status_code == 201
    services.party_update(
        actor=alice, party=Party.objects.get(pk=survivor.pk), name="Nordlicht Gruppe"
    )
    undo = client.post(f"/api/v1/party-merges/{response.json()['id']}/undo", **headers)
    assert undo.status_code == 200
    assert undo.json()["kept_fields"] == ["name"]
    assert undo.json()["kept_rows"] == 0
    survivor.refresh_from_db()
    assert (survivor.name, survivor.website) == ("Nordlicht Gruppe", "")


def test_merge_amounts_survive_undo_to_the_cent(world, alice):
    survivor, merged = world["organization"]
    row = _transaction(merged, world)
    type(row).objects.filter(pk=row.pk).update(net_revenue=Decimal("1234.56"))
    merge = services.party_merge(actor=alice, survivor=survivor, merged=merged)
    services.party_merge_undo(actor=alice, merge=merge)
    row.refresh_from_db()
    assert (row.party_id, row.net_revenue) == (merged.pk, Decimal("1234.56"))
