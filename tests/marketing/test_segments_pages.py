"""Segment pages, API, CLI and their uses: who sees and changes what, the builder with its
live count and errors, static lists, saved views into segments, exports, survey targets."""

import csv
import io
import json
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.urls import reverse

from kreis.core.models import Role, SavedView
from kreis.core.search import search_all
from kreis.feedback.services import survey_create, target_parties
from kreis.marketing.models import Segment, SegmentMember, SegmentSnapshot
from kreis.marketing.segments import services
from tests.conftest import client_for
from tests.factories import MembershipFactory, UserFactory
from tests.parties.factories import OrganizationFactory, PersonFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def molly(north):
    user = UserFactory(username="molly", first_name="Molly", last_name="Marx", role=Role.MARKETING)
    MembershipFactory(team=north, user=user)
    return user


@pytest.fixture
def parties(alice, charlie, north, south):
    return {
        "bau": OrganizationFactory(
            name="Bau AG", abc_class="A", clv=Decimal("90000"), owner=alice, team=north
        ),
        "handel": OrganizationFactory(
            name="Handel GmbH", abc_class="B", clv=Decimal("20000"), owner=charlie, team=south
        ),
        "petra": PersonFactory(name="Petra Pohl", abc_class="C", owner=alice, team=north),
    }


@pytest.fixture
def top(molly, parties):
    return services.segment_create(
        actor=molly,
        name="Top customers",
        conditions=[{"field": "abc_class", "op": "in", "value": ["A", "B"]}],
    )


def test_marketing_builds_a_segment_with_a_computed_field(molly, parties):
    client = client_for(molly)
    assert client.get(reverse("marketing:segments:create")).status_code == 200
    response = client.post(
        reverse("marketing:segments:create"),
        {
            "name": "Valuable",
            "kind": "dynamic",
            "match": "all",
            "c-0-field": "abc_class",
            "c-0-op": "in",
            "c-0-value": "A, B",
            "c-1-field": "clv",
            "c-1-op": "gte",
            "c-1-value": "50000",
        },
    )
    segment = Segment.objects.get(name="Valuable")
    assert response.status_code == 302
    assert segment.owner == molly
    assert segment.member_count == 1
    page = client.get(reverse("marketing:segments:detail", args=[segment.pk])).content.decode()
    assert "ABC class is one of “A”, “B”" in page
    assert "Bau AG" in page
    assert "Handel GmbH" not in page


def test_a_wrong_condition_is_explained_and_what_was_typed_stays(molly, parties):
    response = client_for(molly).post(
        reverse("marketing:segments:create"),
        {
            "name": "Broken",
            "kind": "dynamic",
            "match": "all",
            "c-0-field": "clv",
            "c-0-op": "gte",
            "c-0-value": "very much",
        },
    )
    page = response.content.decode()
    assert response.status_code == 422
    assert "Enter a number." in page
    assert 'value="very much"' in page
    assert 'value="Broken"' in page
    assert not Segment.objects.filter(name="Broken").exists()


def test_rows_are_added_and_removed_without_script(molly, parties):
    client = client_for(molly)
    data = {"name": "Rows", "kind": "dynamic", "match": "all"}
    data.update({"c-0-field": "kind", "c-0-op": "eq", "c-0-value": "person"})
    page = client.post(reverse("marketing:segments:create"), {**data, "add": "1"}).content.decode()
    assert 'name="c-1-field"' in page
    page = client.post(
        reverse("marketing:segments:create"), {**data, "remove": "0"}
    ).content.decode()
    assert 'value="person"' not in page
    assert not Segment.objects.exists()


def test_the_live_preview_counts_while_building(molly, parties):
    response = client_for(molly).post(
        reverse("marketing:segments:preview"),
        {
            "kind": "dynamic",
            "match": "any",
            "c-0-field": "abc_class",
            "c-0-op": "eq",
            "c-0-value": "A",
            "c-1-field": "kind",
            "c-1-op": "eq",
            "c-1-value": "person",
        },
    )
    assert "2 members" in response.content.decode()
    wrong = client_for(molly).post(
        reverse("marketing:segments:preview"),
        {"kind": "dynamic", "c-0-field": "abc_class", "c-0-op": "gt", "c-0-value": "A"},
    )
    assert "Fix the condition marked below." in wrong.content.decode()


def test_a_sales_rep_may_not_see_or_change_segments(alice, top):
    client = client_for(alice)
    assert client.get(reverse("marketing:segments:list")).status_code == 403
    assert client.get(reverse("marketing:segments:detail", args=[top.pk])).status_code == 404
    assert client.get(reverse("marketing:segments:create")).status_code == 403
    response = client.post(reverse("marketing:segments:delete", args=[top.pk]))
    assert response.status_code == 404
    assert Segment.objects.filter(pk=top.pk).exists()


def test_a_sales_manager_sees_but_does_not_change(mia, top):
    client = client_for(mia)
    page = client.get(reverse("marketing:segments:list")).content.decode()
    assert "Top customers" in page
    detail = client.get(reverse("marketing:segments:detail", args=[top.pk])).content.decode()
    assert reverse("marketing:segments:edit", args=[top.pk]) not in detail
    assert client.get(reverse("marketing:segments:edit", args=[top.pk])).status_code == 403
    assert client.post(reverse("marketing:segments:delete", args=[top.pk])).status_code == 403


def test_members_shown_are_only_those_the_user_may_see(mia, top):
    # mia manages team North: Bau AG is hers to see, Handel GmbH (South) is not.
    page = client_for(mia).get(reverse("marketing:segments:detail", args=[top.pk]))
    text = page.content.decode()
    assert "Bau AG" in text
    assert "Handel GmbH" not in text
    assert "2 members" in text


def test_static_list_add_and_remove(molly, dana, parties):
    segment = services.segment_create(actor=dana, name="Fair visitors", kind="static")
    client = client_for(dana)
    ids = f"{parties['bau'].pk}, {parties['petra'].pk}\n999999"
    client.post(reverse("marketing:segments:members_add", args=[segment.pk]), {"ids": ids})
    assert set(SegmentMember.objects.values_list("party__name", flat=True)) == {
        "Bau AG",
        "Petra Pohl",
    }
    client.post(
        reverse("marketing:segments:members_remove", args=[segment.pk]),
        {"ids": [parties["bau"].pk]},
    )
    segment.refresh_from_db()
    assert segment.member_count == 1
    add_url = reverse("marketing:segments:members_add", args=[segment.pk])
    bad = client.post(add_url, {"ids": "12, zwölf"}, follow=True)
    assert "Not a party ID: zwölf" in bad.content.decode()


def test_export_members_as_csv(molly, dana, top):
    response = client_for(dana).get(reverse("marketing:segments:export", args=[top.pk, "csv"]))
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert sorted(r["name"] for r in rows) == ["Bau AG", "Handel GmbH"]


def test_the_party_list_and_its_export_take_a_segment(dana, top):
    client = client_for(dana)
    page = client.get(reverse("parties:list") + f"?segment={top.pk}").content.decode()
    assert "Members of the segment “Top customers”" in page
    assert "Petra Pohl" not in page
    response = client.get(reverse("parties:export") + f"?segment={top.pk}")
    text = b"".join(response.streaming_content).decode()
    assert "Bau AG" in text
    assert "Petra Pohl" not in text


def test_a_segment_the_user_cannot_see_filters_the_party_list_to_nothing(alice, top):
    page = client_for(alice).get(reverse("parties:list") + f"?segment={top.pk}").content.decode()
    assert "Bau AG" not in page
    assert "Members of a segment you cannot see" in page


def test_kreis_export_accepts_a_segment(tmp_path, top):
    out = tmp_path / "parties.csv"
    call_command(
        "export_records", "--type", "party", "--output", str(out), "--filter", f"segment={top.pk}"
    )
    names = sorted(r["name"] for r in csv.DictReader(out.open(encoding="utf-8-sig")))
    assert names == ["Bau AG", "Handel GmbH"]


def test_a_saved_view_with_translatable_filters_becomes_a_dynamic_segment(molly, parties):
    view = SavedView.objects.create(
        user=molly, list_name="parties", name="A customers", query="kind=organization&abc_class=A"
    )
    response = client_for(molly).post(
        reverse("marketing:segments:from_view"), {"view": view.pk}, follow=True
    )
    segment = Segment.objects.get(source_view=view)
    assert segment.kind == "dynamic"
    assert segment.conditions == [
        {"field": "kind", "op": "eq", "value": "organization"},
        {"field": "abc_class", "op": "eq", "value": "A"},
    ]
    assert "created as a dynamic segment" in response.content.decode()


def test_a_saved_view_with_a_text_search_becomes_a_static_list(molly, parties, north):
    view = SavedView.objects.create(user=molly, list_name="parties", name="Bau", query="q=Bau")
    made = services.segment_from_saved_view(actor=molly, view=view)
    assert not made.dynamic
    assert made.untranslated == ["q"]
    # molly (team North) sees Bau AG; the list holds what the view showed her.
    assert list(made.segment.members.values_list("party__name", flat=True)) == ["Bau AG"]


def test_the_party_list_offers_make_a_segment_to_marketing_only(molly, alice):
    SavedView.objects.create(user=molly, list_name="parties", name="Mine", query="kind=person")
    SavedView.objects.create(user=alice, list_name="parties", name="Hers", query="kind=person")
    assert "Make a segment" in client_for(molly).get(reverse("parties:list")).content.decode()
    assert "Make a segment" not in client_for(alice).get(reverse("parties:list")).content.decode()


def test_a_survey_invites_its_segment_before_its_filters(dana, top):
    survey = survey_create(
        actor=dana, name="NPS", target_segment=top, target_query="kind=person", method="online"
    )
    assert sorted(p.name for p in target_parties(survey=survey, user=dana)) == [
        "Bau AG",
        "Handel GmbH",
    ]


def test_the_survey_form_offers_segments(dana, top):
    page = client_for(dana).get(reverse("feedback:create")).content.decode()
    assert 'name="target_segment"' in page
    assert "Top customers" in page


def test_segments_appear_in_the_global_search(molly, top):
    hits = search_all(user=molly, text="Top custom")
    assert [h.title for h in hits if h.entity == "segment"] == ["Top customers"]


# --- API --------------------------------------------------------------------------------------


def api(client, method, path, body=None):
    return getattr(client, method)(
        f"/api/v1{path}",
        data=json.dumps(body) if body is not None else None,
        content_type="application/json",
    )


def test_api_create_count_members_snapshots_fields(molly, dana, parties, api_key_for):
    client = client_for(molly)
    created = api(
        client,
        "post",
        "/marketing/segments",
        {
            "name": "API",
            "conditions": [
                {"field": "abc_class", "op": "in", "value": ["A", "B"]},
                {"field": "clv", "op": "gte", "value": 50000},
            ],
        },
    )
    assert created.status_code == 201
    pk = created.json()["id"]
    assert created.json()["member_count"] == 1
    assert api(client, "get", f"/marketing/segments/{pk}/count").json() == {
        "count": 1,
        "visible": 1,
    }
    members = api(client_for(dana), "get", f"/marketing/segments/{pk}/members").json()
    assert [m["name"] for m in members["items"]] == ["Bau AG"]
    snapshots = api(client, "get", f"/marketing/segments/{pk}/snapshots").json()
    assert [s["count"] for s in snapshots] == [1]
    fields = {f["key"]: f for f in api(client, "get", "/marketing/segments/fields").json()}
    assert fields["abc_class"]["group"] == "computed"
    assert "between" in fields["clv"]["operators"]


def test_api_refuses_a_wrong_condition_with_its_reason(molly):
    response = api(
        client_for(molly),
        "post",
        "/marketing/segments",
        {"name": "Bad", "conditions": [{"field": "clv", "op": "contains", "value": "x"}]},
    )
    assert response.status_code == 422
    assert response["Content-Type"].startswith("application/problem+json")
    assert "does not apply to" in response.content.decode()


def test_api_static_members_and_permissions(molly, alice, mia, parties):
    client = client_for(molly)
    pk = api(client, "post", "/marketing/segments", {"name": "List", "kind": "static"}).json()["id"]
    added = api(
        client, "post", f"/marketing/segments/{pk}/members", {"party_ids": [parties["bau"].pk]}
    )
    assert added.json() == {"changed": 1, "count": 1}
    removed = api(
        client, "delete", f"/marketing/segments/{pk}/members", {"party_ids": [parties["bau"].pk]}
    )
    assert removed.json() == {"changed": 1, "count": 0}
    assert api(client_for(alice), "get", f"/marketing/segments/{pk}").status_code == 404
    assert api(client_for(alice), "post", "/marketing/segments", {"name": "X"}).status_code == 403
    assert api(client_for(mia), "get", f"/marketing/segments/{pk}").status_code == 200
    patch = api(client_for(mia), "patch", f"/marketing/segments/{pk}", {"name": "Mine"})
    assert patch.status_code == 403
    assert api(client, "delete", f"/marketing/segments/{pk}").status_code == 204


def test_api_survey_takes_a_target_segment(dana, top):
    response = api(
        client_for(dana), "post", "/surveys", {"name": "Q3", "target_segment_id": top.pk}
    )
    assert response.status_code == 201
    assert response.json()["target_segment_id"] == top.pk


# --- CLI --------------------------------------------------------------------------------------


def test_cli_count_snapshot_export_and_members(tmp_path, dana, top, parties):
    out = io.StringIO()
    call_command("marketing", "segments", "count", str(top.pk), stdout=out)
    assert out.getvalue().strip() == "2"
    call_command("marketing", "segments", "snapshot", stdout=io.StringIO())
    assert SegmentSnapshot.objects.filter(segment=top).count() == 1
    target = tmp_path / "members.csv"
    call_command(
        "marketing", "segments", "export", str(top.pk), "--output", str(target), "--format", "csv"
    )
    assert "Handel GmbH" in target.read_text(encoding="utf-8-sig")
    static = services.segment_create(actor=None, name="CLI list", kind="static")
    out = io.StringIO()
    ids = f"{parties['bau'].pk},{parties['petra'].pk}"
    call_command("marketing", "segments", "add-members", str(static.pk), "--ids", ids, stdout=out)
    assert out.getvalue().strip() == "2 added, 2 members"
    listing = io.StringIO()
    call_command("marketing", "segments", "list", stdout=listing)
    assert "CLI list\tstatic\t2" in listing.getvalue()
