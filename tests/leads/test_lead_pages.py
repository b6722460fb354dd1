"""Leads in the web UI: list, filters, bulk actions, forms with duplicate warning, detail
with status flow and conversion, permissions."""

import pytest

from kreis.core.models import CustomField
from kreis.leads import services
from kreis.leads.models import Lead, LeadStatus
from kreis.parties.models import Party, PartyKind
from tests.conftest import client_for
from tests.leads.factories import LeadFactory
from tests.parties.factories import OrganizationFactory

pytestmark = pytest.mark.django_db


def test_rep_creates_a_lead_with_normalised_contact_data(alice, north):
    response = client_for(alice).post(
        "/leads/new/",
        {
            "first_name": "Jana",
            "last_name": "Weber",
            "company": "Nordlicht Solar GmbH",
            "email": "Jana.Weber@Nordlicht.DE",
            "phone": "030 1234567",
            "source": "Trade fair",
            "budget": "12000",
            "tags": "Messe 2026, Solar",
            "owner": alice.pk,
        },
    )
    lead = Lead.objects.get()
    assert response.url == f"/leads/{lead.pk}/"
    assert (lead.email, lead.phone) == ("jana.weber@nordlicht.de", "+49301234567")
    assert (lead.owner, lead.team, lead.status) == (alice, north, "new")
    assert sorted(t.name for t in lead.tags.all()) == ["Messe 2026", "Solar"]


def test_invalid_email_is_shown_and_nothing_saved(alice, north):
    response = client_for(alice).post("/leads/new/", {"last_name": "X", "email": "kaputt"})
    assert response.status_code == 200
    assert "kaputt" in response.content.decode()
    assert not Lead.objects.exists()


def test_create_form_checks_for_duplicates_while_typing(alice, charlie, north, south):
    mine = LeadFactory(owner=alice, team=north, email="jana@nordlicht.de", last_name="Weber")
    LeadFactory(owner=charlie, team=south, email="jana@nordlicht.de", last_name="Geheim")
    client = client_for(alice)
    form = client.get("/leads/new/").content.decode()
    assert 'hx-get="/leads/duplicates/"' in form
    assert 'hx-trigger="blur changed"' in form
    body = client.get(
        "/leads/duplicates/", {"email": "JANA@nordlicht.de"}, HTTP_HX_REQUEST="true"
    ).content.decode()
    assert f"/leads/{mine.pk}/" in body
    assert "Same e-mail address" in body
    assert "Geheim" not in body
    assert client.get("/leads/duplicates/", {"email": "neu@neu.de"}).content.strip() == b""


def test_duplicate_warning_names_the_existing_organisation(alice, north):
    org = OrganizationFactory(name="Müller GmbH", owner=alice, team=north)
    body = client_for(alice).get("/leads/duplicates/", {"company": "Mueller GmbH"})
    assert f"/parties/{org.pk}/" in body.content.decode()


def test_list_shows_own_and_team_leads_only_and_filters(alice, bob, charlie, north, south):
    LeadFactory(owner=bob, team=north, last_name="Teamlead", status="contacted")
    LeadFactory(owner=alice, team=north, last_name="Eigenlead", source="Referral")
    LeadFactory(owner=charlie, team=south, last_name="Fremdlead")
    client = client_for(alice)
    body = client.get("/leads/").content.decode()
    assert "Teamlead" in body
    assert "Eigenlead" in body
    assert "Fremdlead" not in body
    rows = client.get("/leads/", {"status": "contacted"}, HTTP_HX_REQUEST="true")
    rows = rows.content.decode()
    assert "Teamlead" in rows
    assert "Eigenlead" not in rows
    assert "<html" not in rows
    assert "Eigenlead" in client.get("/leads/", {"source": "referral"}).content.decode()
    by_owner = client.get("/leads/", {"owner": bob.pk}, HTTP_HX_REQUEST="true").content.decode()
    assert "Teamlead" in by_owner
    assert "Eigenlead" not in by_owner
    assert "Eigenlead" in client.get("/leads/", {"q": "eigen"}).content.decode()


def test_list_filters_by_custom_field(alice, north):
    CustomField.objects.create(
        entity="lead", key="industry", label="Branche", type="choice", choices=["Bau", "IT"]
    )
    LeadFactory(owner=alice, team=north, last_name="Baulead", custom={"industry": "Bau"})
    LeadFactory(owner=alice, team=north, last_name="Itlead", custom={"industry": "IT"})
    body = client_for(alice).get("/leads/", {"cf_industry": "IT"}).content.decode()
    assert "Itlead" in body
    assert "Baulead" not in body


def test_list_page_keeps_a_constant_number_of_queries(alice, north, django_assert_max_num_queries):
    client = client_for(alice)
    LeadFactory.create_batch(3, owner=alice, team=north)
    client.get("/leads/")  # warm caches (session, content types)
    with django_assert_max_num_queries(12) as few:
        client.get("/leads/")
    for lead in LeadFactory.create_batch(22, owner=alice, team=north):
        services.lead_update(actor=alice, lead=lead, tags=["A", "B"])
    with django_assert_max_num_queries(len(few.captured_queries)):
        response = client.get("/leads/")
    assert response.content.decode().count('name="ids"') == 25


def test_list_shows_the_predicted_score_beside_the_rule_score_and_sorts_by_it(alice, north):
    import re

    LeadFactory(owner=alice, team=north, last_name="Kalt", score=12.4, predicted_score=8.2)
    LeadFactory(owner=alice, team=north, last_name="Neu", score=None, predicted_score=None)
    LeadFactory(owner=alice, team=north, last_name="Heiss", score=55.0, predicted_score=87.6)
    body = client_for(alice).get("/leads/", {"sort": "-predicted"}).content.decode()
    assert ">Predicted</th>" in body
    assert 'value="-predicted" selected' in body
    rows = re.findall(
        r'<a href="/leads/\d+/">[^<]*?(\w+)</a>.*?<td[^>]*>([^<]*)</td>\s*'
        r'<td[^>]*data-testid="predicted-score">([^<]*)</td>',
        body,
        re.S,
    )
    # Highest chance first, a lead without a prediction last; whole numbers, "—" for none.
    assert [(name, predicted) for name, _score, predicted in rows] == [
        ("Heiss", "88"),
        ("Kalt", "8"),
        ("Neu", "—"),
    ]
    assert [score for _name, score, _predicted in rows] == ["55", "12", "—"]


def test_list_pages_keep_filters(alice, north):
    LeadFactory.create_batch(30, owner=alice, team=north, status="new")
    body = client_for(alice).get("/leads/", {"status": "new"}).content.decode()
    assert "status=new&amp;page=2" in body


def test_csv_export_has_the_filtered_visible_leads_and_defuses_formulas(
    alice, charlie, north, south
):
    LeadFactory(owner=alice, team=north, last_name="=HYPERLINK(1)", status="qualified")
    LeadFactory(owner=alice, team=north, last_name="Neu", status="new")
    LeadFactory(owner=charlie, team=south, last_name="Fremd", status="qualified")
    response = client_for(alice).get("/leads/export.csv", {"status": "qualified"})
    lines = b"".join(response.streaming_content).decode("utf-8-sig").strip().splitlines()
    assert lines[0].startswith("id,status,salutation,first_name,last_name")
    assert len(lines) == 2
    assert "'=HYPERLINK(1)" in lines[1]


def test_bulk_assign_tag_and_delete_with_confirmation(alice, bob, mia, north):
    leads = LeadFactory.create_batch(2, owner=alice, team=north)
    ids = [lead.pk for lead in leads]
    client = client_for(mia)
    client.post("/leads/bulk/", {"ids": ids, "action": "assign_owner", "owner": bob.pk})
    assert set(Lead.objects.values_list("owner", flat=True)) == {bob.pk}
    client.post("/leads/bulk/", {"ids": ids, "action": "add_tag", "tag": "Webinar"})
    assert Lead.objects.filter(tags__name="Webinar").count() == 2
    confirm = client.post("/leads/bulk/", {"ids": ids, "action": "delete"})
    assert confirm.status_code == 200
    assert "Delete 2 records?" in confirm.content.decode()
    assert not Lead.objects.filter(deleted_at__isnull=False).exists()
    client.post("/leads/bulk/", {"ids": ids, "action": "delete", "confirmed": "1"})
    assert Lead.objects.filter(deleted_at__isnull=False).count() == 2


def test_bulk_ignores_other_teams_leads(alice, charlie, north, south):
    theirs = LeadFactory(owner=charlie, team=south)
    client_for(alice).post(
        "/leads/bulk/", {"ids": [theirs.pk], "action": "delete", "confirmed": "1"}
    )
    theirs.refresh_from_db()
    assert theirs.deleted_at is None


def test_detail_shows_bant_flow_buttons_timeline_and_history(alice, north):
    client = client_for(alice)
    client.post("/leads/new/", {"last_name": "Weber", "company": "Alt GmbH", "budget": "5000"})
    lead = Lead.objects.get()
    client.post(
        f"/leads/{lead.pk}/edit/",
        {"last_name": "Weber", "company": "Neu GmbH", "owner": alice.pk, "team": north.pk},
    )
    body = client.get(f"/leads/{lead.pk}/").content.decode()
    assert "Qualification (BANT)" in body
    assert f'hx-get="/activities/timeline/?lead={lead.pk}"' in body
    assert 'value="contacted"' in body
    assert 'value="qualified"' not in body
    assert "Alt GmbH" in body
    assert "Neu GmbH" in body
    assert lead.history.first().history_user == alice


def test_status_buttons_move_the_lead_and_disqualify_needs_a_reason(alice, north):
    lead = LeadFactory(owner=alice, team=north)
    client = client_for(alice)
    client.post(f"/leads/{lead.pk}/status/", {"status": "contacted"})
    lead.refresh_from_db()
    assert lead.status == "contacted"
    response = client.post(f"/leads/{lead.pk}/status/", {"status": "disqualified"}, follow=True)
    assert "Choose why the lead is disqualified." in response.content.decode()
    lead.refresh_from_db()
    assert lead.status == "contacted"
    client.post(
        f"/leads/{lead.pk}/status/",
        {"status": "disqualified", "reason": "competitor", "note": "ging zu X"},
    )
    lead.refresh_from_db()
    assert (lead.status, lead.disqualify_reason) == ("disqualified", "competitor")
    assert "Chose a competitor" in client.get(f"/leads/{lead.pk}/").content.decode()


def test_conversion_form_shows_the_match_and_converts(alice, north):
    org = OrganizationFactory(name="Müller GmbH", owner=alice, team=north)
    lead = LeadFactory(
        owner=alice, team=north, status="qualified", company="Mueller GmbH", last_name="Weber"
    )
    client = client_for(alice)
    body = client.get(f"/leads/{lead.pk}/").content.decode()
    assert "Reuses the existing organisation" in body
    assert f"/parties/{org.pk}/" in body
    response = client.post(
        f"/leads/{lead.pk}/convert/",
        {"create_deal": "on", "deal_name": "Solaranlage", "amount": "9000"},
        follow=True,
    )
    assert "Lead converted." in response.content.decode()
    lead.refresh_from_db()
    assert lead.status == LeadStatus.CONVERTED
    assert lead.converted_organization == org
    assert lead.converted_deal.name == "Solaranlage"
    assert Party.objects.filter(kind=PartyKind.ORGANIZATION).count() == 1
    assert "Convert to customer relationship" not in response.content.decode()


def test_conversion_with_an_explicitly_picked_person(alice, north):
    from kreis.parties.services import party_create

    person = party_create(actor=alice, kind="person", first_name="Eva", last_name="Eigen")
    lead = LeadFactory(owner=alice, team=north, status="contacted", company="")
    client_for(alice).post(f"/leads/{lead.pk}/convert/", {"person": f"Eva Eigen (#{person.pk})"})
    lead.refresh_from_db()
    assert lead.converted_person == person
    assert lead.converted_deal is None


def test_other_teams_lead_is_404_everywhere(alice, charlie, south):
    theirs = LeadFactory(owner=charlie, team=south, status="qualified")
    client = client_for(alice)
    for url in (f"/leads/{theirs.pk}/", f"/leads/{theirs.pk}/edit/"):
        assert client.get(url).status_code == 404
    for url in ("delete", "status", "convert"):
        assert client.post(f"/leads/{theirs.pk}/{url}/", {"status": "new"}).status_code == 404
    theirs.refresh_from_db()
    assert (theirs.status, theirs.deleted_at) == ("qualified", None)


def test_read_only_user_sees_but_cannot_write(rory, alice, north):
    lead = LeadFactory(owner=alice, team=north, status="qualified")
    client = client_for(rory)
    body = client.get(f"/leads/{lead.pk}/").content.decode()
    assert "Convert to customer relationship" not in body
    assert client.get("/leads/new/").status_code == 403
    assert client.post("/leads/new/", {"last_name": "X"}).status_code == 403
    assert client.get(f"/leads/{lead.pk}/edit/").status_code == 404
    assert client.post(f"/leads/{lead.pk}/status/", {"status": "contacted"}).status_code == 404
    assert client.post(f"/leads/{lead.pk}/convert/").status_code == 404
    assert client.post(f"/leads/{lead.pk}/delete/").status_code == 404
    client.post("/leads/bulk/", {"ids": [lead.pk], "action": "delete", "confirmed": "1"})
    lead.refresh_from_db()
    assert (lead.status, lead.deleted_at) == ("qualified", None)


def test_global_search_finds_visible_leads_and_forgets_deleted_ones(alice, charlie, north, south):
    lead = services.lead_create(actor=alice, last_name="Vogt", company="Vogt Solar")
    services.lead_create(actor=charlie, last_name="Vogtfremd")
    client = client_for(alice)
    body = client.get("/search/", {"q": "Vogt"}).content.decode()
    assert "Vogt Solar" in body
    assert "Vogtfremd" not in body
    services.lead_set_status(actor=alice, lead=lead, status="contacted")
    assert "Contacted" in client.get("/search/", {"q": "Vogt"}).content.decode()
    services.lead_delete(actor=alice, lead=lead)
    assert "Vogt Solar" not in client.get("/search/", {"q": "Vogt"}).content.decode()


def test_nav_links_to_leads(alice):
    body = client_for(alice).get("/leads/").content.decode()
    assert 'href="/leads/"' in body
