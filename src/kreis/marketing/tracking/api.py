"""API routes of website tracking: a lead's or contact's page visits, the overview figures,
and the tracking settings (administrators)."""

import datetime as dt
from typing import Annotated

from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest
from ninja import Field, Query, Router, Schema
from ninja.pagination import paginate

from kreis.core.api_support import PROBLEM_RESPONSES, Input, ObjectId, Pagination
from kreis.leads.queries import lead_get_for_user
from kreis.marketing.models import MarketingSettings
from kreis.marketing.tracking import queries
from kreis.marketing.tracking.forms import TrackingSettingsForm
from kreis.parties.queries import party_get_for_user

router = Router(tags=["tracking"])


class VisitOut(Schema):
    id: int
    visitor_id: int
    lead_id: int | None
    party_id: int | None
    url: str
    path: str
    title: str
    referrer: str
    utm_source: str
    utm_medium: str
    utm_campaign: str
    utm_term: str
    utm_content: str
    at: dt.datetime


class TopOut(Schema):
    value: str
    visits: int


class DayOut(Schema):
    day: dt.date
    visits: int


class StatsOut(Schema):
    days: int
    visits: int
    visitors: int
    identified: int = Field(description="Visitors linked to a lead or contact (sent a form).")
    anonymous: int
    per_day: list[DayOut]
    top_pages: list[TopOut]
    top_referrers: list[TopOut]
    top_sources: list[TopOut] = Field(description="utm_source values")
    top_campaigns: list[TopOut] = Field(description="utm_campaign values")


class SettingsOut(Schema):
    tracking_enabled: bool
    tracking_allowed_origins: list[str]
    visit_retention_days: int


class SettingsIn(Input):
    tracking_enabled: bool | None = None
    tracking_allowed_origins: list[Annotated[str, Field(max_length=300)]] | None = Field(
        None, max_length=100, description="Origins such as https://www.example.com"
    )
    visit_retention_days: int | None = Field(None, ge=1, le=32767)


@router.get(
    "/leads/{lead_id}/visits",
    response=list[VisitOut],
    summary="A lead's website visits, newest first",
    operation_id="lead_visits",
)
@paginate(Pagination)
def lead_visits(request: HttpRequest, lead_id: ObjectId):
    lead = lead_get_for_user(user=request.auth, pk=lead_id, related=())
    return queries.visits_of(lead=lead, limit=10_000)


@router.get(
    "/parties/{party_id}/visits",
    response=list[VisitOut],
    summary="A contact's website visits, newest first",
    operation_id="party_visits",
)
@paginate(Pagination)
def party_visits(request: HttpRequest, party_id: ObjectId):
    party = party_get_for_user(user=request.auth, pk=party_id, related=False)
    return queries.visits_of(party=party, limit=10_000)


class StatsQuery(Schema):
    days: int = Field(30, ge=1, le=366, description="The period in days")


@router.get(
    "/tracking/stats",
    response={200: StatsOut, **PROBLEM_RESPONSES},
    summary="Website tracking figures: visits per day, top pages, referrers and UTM sources",
    operation_id="tracking_stats",
)
def tracking_stats(request: HttpRequest, filters: Query[StatsQuery]):
    if not request.auth.has_perm("marketing.view"):
        raise PermissionDenied
    return queries.stats(days=filters.days)


def _settings_out(config: MarketingSettings) -> dict:
    return {
        "tracking_enabled": config.tracking_enabled,
        "tracking_allowed_origins": config.tracking_origins(),
        "visit_retention_days": config.visit_retention_days,
    }


@router.get(
    "/tracking/settings",
    response={200: SettingsOut, **PROBLEM_RESPONSES},
    summary="Tracking settings (administrators)",
    operation_id="tracking_settings",
)
def tracking_settings(request: HttpRequest):
    if not request.auth.has_perm("marketing.configure"):
        raise PermissionDenied
    return _settings_out(MarketingSettings.load())


@router.patch(
    "/tracking/settings",
    response={200: SettingsOut, **PROBLEM_RESPONSES},
    summary="Change the tracking settings (administrators)",
    operation_id="tracking_settings_update",
)
def tracking_settings_update(request: HttpRequest, payload: SettingsIn):
    if not request.auth.has_perm("marketing.configure"):
        raise PermissionDenied
    config = MarketingSettings.load()
    data = {
        "tracking_enabled": config.tracking_enabled,
        "tracking_allowed_origins": config.tracking_allowed_origins,
        "visit_retention_days": config.visit_retention_days,
    }
    given = payload.model_dump(exclude_unset=True)
    for key, value in given.items():
        if value is not None:
            data[key] = "\n".join(value) if key == "tracking_allowed_origins" else value
    form = TrackingSettingsForm(data, instance=config)
    if not form.is_valid():
        raise ValidationError({k: list(v) for k, v in form.errors.items()})
    return _settings_out(form.save())
