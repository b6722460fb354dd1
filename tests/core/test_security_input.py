"""Values no record can have — ids beyond what a database stores, dates beyond the calendar —
are answered with a clear 400 (or the API's 422), never a 500 or a download that breaks off."""

import pytest

from tests.conftest import client_for

pytestmark = pytest.mark.django_db

TOO_BIG = str(2**63)

LIST_FILTERS = [
    ("/deals/list/", "owner"),
    ("/deals/list/", "team"),
    ("/deals/list/", "stage"),
    ("/leads/", "owner"),
    ("/leads/", "team"),
    ("/activities/", "owner"),
    ("/activities/", "party"),
    ("/activities/", "deal"),
    ("/activities/", "lead"),
    ("/commerce/transactions/", "party"),
    ("/commerce/transactions/", "owner"),
    ("/commerce/transactions/", "team"),
]
EXPORTS = [
    ("/leads/export.csv", "owner"),
    ("/leads/export.csv", "team"),
    ("/activities/export.csv", "owner"),
    ("/activities/export.csv", "party"),
    ("/deals/list/export.csv", "team"),
    ("/commerce/transactions/export.csv", "party"),
]
BULK = ["/parties/bulk/", "/deals/bulk/", "/leads/bulk/", "/activities/bulk/"]
BULK += ["/commerce/transactions/bulk/"]


def says_bad_id(response) -> bool:
    return response.status_code == 400 and f"“{TOO_BIG}” is not a valid id" in (
        response.content.decode()
    )


@pytest.mark.parametrize(("path", "param"), LIST_FILTERS)
def test_list_filter_with_an_impossible_id_is_a_bad_request(alice, path, param):
    assert says_bad_id(client_for(alice).get(path, {param: TOO_BIG}))


@pytest.mark.parametrize(("path", "param"), EXPORTS)
def test_export_with_an_impossible_id_is_refused_before_the_download_starts(alice, path, param):
    response = client_for(alice).get(path, {param: TOO_BIG})
    assert not getattr(response, "streaming", False)
    assert says_bad_id(response)


@pytest.mark.parametrize("path", BULK)
def test_bulk_action_with_an_impossible_id_is_a_bad_request(dana, path):
    response = client_for(dana).post(path, {"ids": [TOO_BIG], "action": "delete"})
    assert says_bad_id(response)


def test_the_largest_storable_id_is_simply_not_found(alice):
    response = client_for(alice).get("/leads/", {"owner": str(2**63 - 1)})
    assert response.status_code == 200


@pytest.mark.parametrize(
    ("path", "params"),
    [
        ("/deals/forecast/", {"start": "0001-01"}),
        ("/deals/forecast/", {"start": "9999-12"}),
        ("/deals/forecast.json", {"start": "9999-12"}),
        ("/activities/", {"from": "0001-01-01"}),
        ("/activities/export.csv", {"to": "9999-12-31"}),
        ("/commerce/transactions/", {"from": "0001-01-01"}),
        ("/analytics/chart/transitions.json", {"month": "9999-12"}),
        ("/analytics/chart/transitions.json", {"month": "0001-01"}),
    ],
)
def test_dates_outside_the_calendar_are_a_bad_request(alice, path, params):
    response = client_for(alice).get(path, params)
    assert response.status_code == 400
    assert "outside the dates Kreis works with" in response.content.decode()


def test_forecast_pages_still_take_an_ordinary_month(alice):
    assert client_for(alice).get("/deals/forecast/", {"start": "2999-01"}).status_code == 200
    assert client_for(alice).get("/deals/forecast/", {"start": "1900-01"}).status_code == 200


@pytest.mark.parametrize("start", ["9999-01-01", "0001-01-01"])
def test_api_forecast_refuses_dates_outside_the_calendar(alice, api_key_for, start):
    response = client_for(alice).get("/api/v1/deals/forecast", {"start": start})
    assert response.status_code == 422
    assert "start" in response.content.decode()


def test_bad_request_page_is_german_for_german_users(alice):
    alice.language = "de"
    alice.save()
    response = client_for(alice).get("/leads/", {"owner": TOO_BIG})
    assert response.status_code == 400
    assert "ist keine gültige ID" in response.content.decode()
