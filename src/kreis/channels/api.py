"""API routes of channel preferences: /parties/{party_id}/channel-preferences (GET, PUT with
If-Match) and the decision ``may_use`` for a party and channel."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from django.http import HttpRequest, HttpResponse
from ninja import Field, Router, Schema
from ninja.errors import HttpError

from kreis.channels import services
from kreis.channels.models import Channel, ChannelPreference
from kreis.core.api_support import PROBLEM_RESPONSES, Input, ObjectId, etag, if_match_allows
from kreis.marketing.models import ConsentPurpose
from kreis.parties.queries import party_get_for_user

router = Router(tags=["channels"])

ChannelName = Literal[tuple(Channel.values)]  # type: ignore[valid-type]
ChannelOrEmpty = Literal[("", *Channel.values)]  # type: ignore[valid-type]
PurposeName = Literal[(services.SERVICE, *ConsentPurpose.values)]  # type: ignore[valid-type]
Weekdays = Annotated[str, Field(max_length=7, pattern=r"^[1-7]*$")]
NEW_TAG = '"new"'


class PreferenceOut(Schema):
    party_id: int
    preferred_channel: str
    language: str
    weekdays: str
    time_from: dt.time | None
    time_to: dt.time | None
    no_email_since: dt.datetime | None
    no_call_since: dt.datetime | None
    no_post_since: dt.datetime | None
    no_social_since: dt.datetime | None
    note: str
    changed_by_id: int | None
    updated_at: dt.datetime | None


class PreferenceIn(Input):
    """All fields of the preferences (PUT replaces them). An opt-out is ``true`` (from now,
    or since it was given) or ``false``."""

    preferred_channel: ChannelOrEmpty = ""
    language: Literal["", "de", "en"] = ""
    weekdays: Weekdays = ""
    time_from: dt.time | None = None
    time_to: dt.time | None = None
    no_email: bool = False
    no_call: bool = False
    no_post: bool = False
    no_social: bool = False
    note: Annotated[str, Field(max_length=2000)] = ""


class VerdictOut(Schema):
    allowed: bool
    reason: str


def _tag(pref: ChannelPreference) -> str:
    return etag(pref) if pref.pk else NEW_TAG


@router.get(
    "/parties/{party_id}/channel-preferences",
    response={200: PreferenceOut, **PROBLEM_RESPONSES},
    summary="A party's channel preferences and opt-outs",
    operation_id="channels_preferences_detail",
)
def preference_detail(request: HttpRequest, party_id: ObjectId, response: HttpResponse):
    party = party_get_for_user(user=request.auth, pk=party_id, related=False)
    pref = services.preference_of(party)
    response["ETag"] = _tag(pref)
    return pref


@router.put(
    "/parties/{party_id}/channel-preferences",
    response={200: PreferenceOut, **PROBLEM_RESPONSES},
    summary="Replace a party's channel preferences (If-Match: the ETag read)",
    operation_id="channels_preferences_update",
)
def preference_update(
    request: HttpRequest, party_id: ObjectId, payload: PreferenceIn, response: HttpResponse
):
    party = party_get_for_user(user=request.auth, pk=party_id, write=True, related=False)
    wanted = request.headers.get("If-Match")
    if wanted is not None and not if_match_allows(wanted, _tag(services.preference_of(party))):
        raise HttpError(
            412, "The channel preferences were changed by someone else; fetch them again."
        )
    data = payload.dict()
    fields = {
        "preferred_channel": data["preferred_channel"],
        "language": data["language"],
        "weekdays": data["weekdays"],
        "time_from": data["time_from"],
        "time_to": data["time_to"],
        "no_email_since": data["no_email"],
        "no_call_since": data["no_call"],
        "no_post_since": data["no_post"],
        "no_social_since": data["no_social"],
        "note": data["note"],
    }
    pref = services.preference_update(actor=request.auth, party=party, **fields)
    response["ETag"] = _tag(pref)
    return pref


@router.get(
    "/parties/{party_id}/channel-verdict",
    response={200: VerdictOut, **PROBLEM_RESPONSES},
    summary="Whether the party may be contacted on a channel now (or at a time)",
    operation_id="channels_verdict",
)
def verdict(
    request: HttpRequest,
    party_id: ObjectId,
    channel: ChannelName,
    purpose: PurposeName = ConsentPurpose.MARKETING.value,
    at: dt.datetime | None = None,
):
    party = party_get_for_user(user=request.auth, pk=party_id, related=False)
    found = services.may_use(party, channel, at=at, purpose=purpose)
    return {"allowed": found.allowed, "reason": found.reason}
