"""The lead's status flow and its conversion into person, organisation and deal."""

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from kreis.core.bulk import records_bulk_apply
from kreis.leads import queries, services
from kreis.leads.models import LeadStatus
from kreis.parties import services as party_services
from kreis.parties.models import Employment, Party, PartyKind
from kreis.sales.models import Deal, Pipeline
from tests.leads.factories import LeadFactory
from tests.parties.factories import OrganizationFactory

pytestmark = pytest.mark.django_db


def _lead(alice, north, **fields):
    return services.lead_create(actor=alice, **{"last_name": "Weber", **fields})


def test_create_normalises_contact_data_and_defaults_owner_and_team(alice, north):
    lead = _lead(alice, north, email=" Jana.Weber@Example.DE ", phone="030 1234567")
    assert lead.email == "jana.weber@example.de"
    assert lead.phone == "+49301234567"
    assert (lead.owner, lead.team, lead.status) == (alice, north, LeadStatus.NEW)


def test_invalid_email_and_phone_are_field_errors(alice, north):
    with pytest.raises(ValidationError) as exc:
        _lead(alice, north, email="nope", phone="12")
    assert set(exc.value.message_dict) == {"email", "phone"}


def test_read_only_user_cannot_create_or_change(rory, alice, north):
    lead = _lead(alice, north)
    with pytest.raises(PermissionDenied):
        services.lead_create(actor=rory, last_name="X")
    with pytest.raises(PermissionDenied):
        services.lead_set_status(actor=rory, lead=lead, status=LeadStatus.CONTACTED)


def test_status_follows_the_flow(alice, north):
    lead = _lead(alice, north)
    with pytest.raises(ValidationError):
        services.lead_set_status(actor=alice, lead=lead, status=LeadStatus.QUALIFIED)
    services.lead_set_status(actor=alice, lead=lead, status=LeadStatus.CONTACTED)
    services.lead_set_status(actor=alice, lead=lead, status=LeadStatus.QUALIFIED)
    # A qualified lead may go back to contacted.
    services.lead_set_status(actor=alice, lead=lead, status=LeadStatus.CONTACTED)
    lead.refresh_from_db()
    assert lead.status == LeadStatus.CONTACTED
    with pytest.raises(ValidationError) as exc:
        services.lead_set_status(actor=alice, lead=lead, status=LeadStatus.CONVERTED)
    assert "status" in exc.value.message_dict
    statuses = [h.status for h in lead.history.order_by("history_date")]
    assert statuses == ["new", "contacted", "qualified", "contacted"]


def test_disqualify_needs_a_reason_and_keeps_it(alice, north):
    lead = _lead(alice, north)
    services.lead_set_status(actor=alice, lead=lead, status=LeadStatus.CONTACTED)
    with pytest.raises(ValidationError) as exc:
        services.lead_set_status(actor=alice, lead=lead, status=LeadStatus.DISQUALIFIED)
    assert "reason" in exc.value.message_dict
    services.lead_set_status(
        actor=alice, lead=lead, status="disqualified", reason="no_budget", note="Frühestens 2027"
    )
    lead.refresh_from_db()
    assert (lead.status, lead.disqualify_reason, lead.disqualify_note) == (
        "disqualified",
        "no_budget",
        "Frühestens 2027",
    )
    assert lead.history.first().history_change_reason == "No budget"
    # Taking it up again clears the reason.
    services.lead_set_status(actor=alice, lead=lead, status=LeadStatus.CONTACTED)
    lead.refresh_from_db()
    assert lead.disqualify_reason == ""


def test_converted_is_final(alice, north):
    lead = _lead(alice, north)
    services.lead_set_status(actor=alice, lead=lead, status=LeadStatus.CONTACTED)
    services.lead_convert(actor=alice, lead=lead, create_deal=False)
    for status in ("new", "contacted", "qualified", "disqualified"):
        with pytest.raises(ValidationError):
            services.lead_set_status(actor=alice, lead=lead, status=status, reason="other")


def _qualified(alice, north, **fields):
    lead = _lead(alice, north, **fields)
    services.lead_set_status(actor=alice, lead=lead, status=LeadStatus.CONTACTED)
    services.lead_set_status(actor=alice, lead=lead, status=LeadStatus.QUALIFIED)
    return lead


def test_convert_creates_person_organisation_employment_and_deal(alice, north):
    lead = _qualified(
        alice,
        north,
        first_name="Jana",
        last_name="Weber",
        company="Nordlicht Solar GmbH",
        position="Einkaufsleiterin",
        email="jana@nordlicht.de",
        budget="25000",
    )
    result = services.lead_convert(actor=alice, lead=lead)
    assert result.person_created
    assert result.organization_created
    assert result.person.name == "Jana Weber"
    assert result.person.contact_points.get().value == "jana@nordlicht.de"
    assert result.organization.name == "Nordlicht Solar GmbH"
    employment = Employment.objects.get(person=result.person)
    assert (employment.organization, employment.position) == (
        result.organization,
        "Einkaufsleiterin",
    )
    deal = Deal.objects.get()
    assert (deal.organization, deal.contact, deal.amount) == (
        result.organization,
        result.person,
        25000,
    )
    assert deal.name == "Nordlicht Solar GmbH"
    lead.refresh_from_db()
    assert lead.status == LeadStatus.CONVERTED
    assert (lead.converted_person, lead.converted_organization, lead.converted_deal) == (
        result.person,
        result.organization,
        deal,
    )
    assert lead.converted_at is not None


def test_convert_reuses_the_person_found_by_email(alice, north):
    person = party_services.party_create(
        actor=alice,
        kind=PartyKind.PERSON,
        first_name="Jana",
        last_name="Weber",
        emails=[{"value": "jana.weber@example.de"}],
    )
    lead = _qualified(
        alice, north, last_name="Weber-Schulz", email="JANA.WEBER@example.de", company="WS KG"
    )
    before = Party.objects.count()
    result = services.lead_convert(actor=alice, lead=lead, create_deal=False)
    assert result.person == person
    assert not result.person_created
    assert Party.objects.filter(kind=PartyKind.PERSON).count() == 1
    # Only the organisation (from the lead's company) is new.
    assert Party.objects.count() == before + 1


def test_convert_reuses_the_person_found_by_phone(alice, north):
    person = party_services.party_create(
        actor=alice, kind="person", last_name="Roth", phones=[{"value": "+49 40 1234567"}]
    )
    lead = _qualified(alice, north, phone="040 1234567", company="")
    result = services.lead_convert(actor=alice, lead=lead, create_deal=False)
    assert result.person == person
    assert result.organization is None
    assert Party.objects.count() == 1


def test_convert_reuses_the_organisation_despite_umlaut_spelling(alice, north):
    org = OrganizationFactory(name="Müller GmbH", owner=alice, team=north)
    lead = _qualified(alice, north, company="Mueller GmbH")
    result = services.lead_convert(actor=alice, lead=lead)
    assert result.organization == org
    assert not result.organization_created
    assert Party.objects.filter(kind=PartyKind.ORGANIZATION).count() == 1
    assert Deal.objects.get().organization == org


@pytest.mark.parametrize(
    ("existing", "typed"),
    [
        ("Müller GmbH", "mueller gmbh"),
        ("Müller GmbH", "MÜLLER"),
        ("Schöne Aussicht AG", "Schoene Aussicht"),
        ("ACME Ltd.", "Acme Inc"),
        ("Weiß & Söhne GmbH & Co. KG", "Weiss & Soehne"),
    ],
)
def test_organisation_names_match_ignoring_case_umlauts_and_legal_form(
    alice, north, existing, typed
):
    org = OrganizationFactory(name=existing, owner=alice, team=north)
    assert queries.matching_organization(user=alice, name=typed) == org


def test_different_organisation_is_not_matched(alice, north):
    OrganizationFactory(name="Müller GmbH", owner=alice, team=north)
    assert queries.matching_organization(user=alice, name="Müller Logistik GmbH") is None


def test_an_invisible_match_is_not_reused(alice, charlie, north, south):
    OrganizationFactory(name="Müller GmbH", owner=charlie, team=south)
    lead = _qualified(alice, north, company="Müller GmbH")
    result = services.lead_convert(actor=alice, lead=lead, create_deal=False)
    assert result.organization_created
    assert result.organization.owner == alice


def test_explicitly_picked_parties_win_over_matches(alice, north):
    picked = OrganizationFactory(name="Holding SE", owner=alice, team=north)
    OrganizationFactory(name="Müller GmbH", owner=alice, team=north)
    lead = _qualified(alice, north, company="Müller GmbH")
    result = services.lead_convert(actor=alice, lead=lead, organization=picked)
    assert result.organization == picked


def test_conversion_is_atomic(alice, north):
    empty = Pipeline.objects.create(name="Ohne Stufen")  # no open stage: deal creation fails
    lead = _qualified(alice, north, company="Neu GmbH", email="neu@neu.de")
    with pytest.raises(ValidationError):
        services.lead_convert(actor=alice, lead=lead, pipeline=empty)
    assert Party.objects.count() == 0
    assert Employment.objects.count() == 0
    lead.refresh_from_db()
    assert lead.status == LeadStatus.QUALIFIED
    assert lead.converted_person is None


def test_converting_twice_is_refused(alice, north):
    lead = _qualified(alice, north)
    services.lead_convert(actor=alice, lead=lead)
    with pytest.raises(ValidationError) as exc:
        services.lead_convert(actor=alice, lead=lead)
    assert "status" in exc.value.message_dict
    assert Deal.objects.count() == 1


def test_new_and_disqualified_leads_cannot_be_converted(alice, north):
    lead = _lead(alice, north)
    with pytest.raises(ValidationError):
        services.lead_convert(actor=alice, lead=lead)
    services.lead_set_status(actor=alice, lead=lead, status="disqualified", reason="spam")
    with pytest.raises(ValidationError):
        services.lead_convert(actor=alice, lead=lead)
    assert Party.objects.count() == 0


def test_conversion_moves_the_leads_activities_to_the_person(alice, north):
    from kreis.activities.models import Activity

    lead = _qualified(alice, north)
    activity = Activity.objects.create(
        kind="call", subject="Erstgespräch", occurred_at=timezone.now(), lead=lead, owner=alice
    )
    result = services.lead_convert(actor=alice, lead=lead, create_deal=False)
    activity.refresh_from_db()
    assert activity.party == result.person
    assert activity.lead == lead


def test_teammates_lead_is_converted_into_the_converters_records(alice, bob, north):
    lead = _qualified(bob, north)
    result = services.lead_convert(actor=alice, lead=lead)
    # A rep may not give records to a teammate; the converter owns them, in the lead's team.
    assert result.person.owner == alice
    assert result.deal.owner == alice


def test_manager_converts_into_the_reps_records(alice, mia, north):
    lead = _qualified(alice, north)
    result = services.lead_convert(actor=mia, lead=lead)
    assert result.person.owner == alice
    assert result.deal.owner == alice


def test_likely_duplicates_find_leads_and_parties(alice, charlie, north, south):
    existing = _lead(alice, north, first_name="Jana", email="jana@example.de")
    person = party_services.party_create(
        actor=alice, kind="person", last_name="Roth", phones=[{"value": "+49 40 1234567"}]
    )
    LeadFactory(owner=charlie, team=south, email="jana@example.de")  # invisible to alice
    found = queries.likely_duplicates_for_lead(
        user=alice, email="Jana@Example.de", phone="040 1234567"
    )
    assert {d.url for d in found} == {f"/leads/{existing.pk}/", f"/parties/{person.pk}/"}
    assert queries.likely_duplicates_for_lead(user=alice, email="x@y.de") == []
    assert (
        queries.likely_duplicates_for_lead(
            user=alice, email="jana@example.de", exclude_pk=existing.pk
        )
        == []
    )


def test_likely_duplicates_by_name_and_company(alice, north):
    lead = _lead(alice, north, first_name="Jana", last_name="Weber", company="Müller GmbH")
    found = queries.likely_duplicates_for_lead(
        user=alice, first_name="jana", last_name="WEBER", company="Mueller"
    )
    assert [d.url for d in found] == [f"/leads/{lead.pk}/"]
    assert (
        queries.likely_duplicates_for_lead(
            user=alice, first_name="Jana", last_name="Weber", company="Schmidt AG"
        )
        == []
    )


def test_bulk_assign_is_all_or_nothing(alice, bob, charlie, mia, north, south):
    mine = _lead(alice, north)
    theirs = LeadFactory(owner=charlie, team=south)
    with pytest.raises(PermissionDenied):
        records_bulk_apply(
            actor=alice, records=[mine, theirs], actions=services.LEAD_BULK, action="delete"
        )
    mine.refresh_from_db()
    assert mine.deleted_at is None
    assigned = records_bulk_apply(
        actor=mia, records=[mine], actions=services.LEAD_BULK, action="assign_owner", owner=bob
    )
    assert assigned == 1
    mine.refresh_from_db()
    assert mine.owner == bob
