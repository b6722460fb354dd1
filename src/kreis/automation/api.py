"""API routes of the webhooks: subscriptions, their delivery logs, redelivery, test events."""

from datetime import datetime
from typing import Any, Literal

from django.core.exceptions import ValidationError
from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Field, Router, Schema, Status
from ninja.pagination import paginate

from kreis.automation import queries, services
from kreis.automation.models import DeliveryStatus, WebhookEvent
from kreis.core.api_support import PROBLEM_RESPONSES, IdValue, Input, ObjectId, Pagination

router = Router(tags=["webhooks"])

EventName = Literal[tuple(WebhookEvent.values)]  # type: ignore[valid-type]
StatusName = Literal[tuple(DeliveryStatus.values)]  # type: ignore[valid-type]


class SubscriptionOut(Schema):
    id: int
    owner_id: int
    name: str
    target_url: str
    events: list[str]
    segment_id: int | None = Field(description="Only events about this segment's members")
    enabled: bool
    failure_streak: int
    disabled_reason: str
    allow_private_target: bool
    secret_hint: str = Field(description="The start of the secret, to tell which one is in use")
    created_at: datetime
    updated_at: datetime


class SubscriptionCreated(SubscriptionOut):
    secret: str = Field(description="The signing secret (whsec_…). It is shown only this once.")


class SubscriptionIn(Input):
    name: str = Field(min_length=1, max_length=100)
    target_url: str = Field(min_length=1, max_length=500)
    events: list[EventName] = Field(min_length=1, max_length=len(WebhookEvent.values))
    segment_id: IdValue | None = Field(
        None,
        description="Only events about this segment's members (a party's own events "
        "and those of its deals, activities, transactions and converted leads)",
    )
    enabled: bool = True
    allow_private_target: bool = Field(
        False, description="Administrators only: allow this exact private or local target"
    )


class SubscriptionPatch(Input):
    name: str | None = Field(None, min_length=1, max_length=100)
    target_url: str | None = Field(None, min_length=1, max_length=500)
    events: list[EventName] | None = Field(None, min_length=1, max_length=len(WebhookEvent.values))
    segment_id: IdValue | None = Field(None, description="A segment, or null for all records")
    enabled: bool | None = None
    allow_private_target: bool | None = None


class SecretOut(Schema):
    secret: str = Field(description="The new signing secret, shown only this once")


class DeliveryOut(Schema):
    id: int
    subscription_id: int
    event_type: str
    webhook_id: str
    status: str
    attempts: int
    response_code: int | None
    response_excerpt: str
    error: str
    next_attempt_at: datetime | None
    created_at: datetime
    last_attempt_at: datetime | None
    delivered_at: datetime | None
    payload: dict[str, Any]


def _segment(segment_id: int | None):
    """The segment a subscription is limited to (the service checks the caller sees it)."""
    if segment_id is None:
        return None
    from kreis.marketing.models import Segment

    segment = Segment.objects.filter(pk=segment_id).first()
    if segment is None:
        raise ValidationError({"segment_id": _("There is no such segment.")})
    return segment


def _created(subscription, secret: str) -> dict:
    return {**SubscriptionOut.model_validate(subscription).model_dump(), "secret": secret}


@router.get("/webhooks", response=list[SubscriptionOut], summary="Webhook subscriptions")
@paginate(Pagination)
def webhook_list(request: HttpRequest):
    return queries.subscription_list_for_user(user=request.auth)


@router.post(
    "/webhooks",
    response={201: SubscriptionCreated, **PROBLEM_RESPONSES},
    summary="Subscribe a URL to events (the answer holds the signing secret, once)",
)
def webhook_create(request: HttpRequest, payload: SubscriptionIn):
    fields = payload.model_dump()
    fields["segment"] = _segment(fields.pop("segment_id"))
    subscription, secret = services.subscription_create(actor=request.auth, **fields)
    return Status(201, _created(subscription, secret))


@router.get(
    "/webhooks/{int:webhook_id}",
    response={200: SubscriptionOut, **PROBLEM_RESPONSES},
    summary="A webhook subscription",
)
def webhook_detail(request: HttpRequest, webhook_id: ObjectId):
    return queries.subscription_get_for_user(user=request.auth, pk=webhook_id)


@router.patch(
    "/webhooks/{int:webhook_id}",
    response={200: SubscriptionOut, **PROBLEM_RESPONSES},
    summary="Change a webhook subscription (enabling it again resets its failure count)",
)
def webhook_update(request: HttpRequest, webhook_id: ObjectId, payload: SubscriptionPatch):
    subscription = queries.subscription_get_for_user(user=request.auth, pk=webhook_id)
    changes = payload.model_dump(exclude_unset=True, exclude_none=True)
    changes.pop("segment_id", None)
    if "segment_id" in payload.model_fields_set:  # null: all records again
        changes["segment"] = _segment(payload.segment_id)
    return services.subscription_update(actor=request.auth, subscription=subscription, **changes)


@router.delete(
    "/webhooks/{int:webhook_id}",
    response={204: None, **PROBLEM_RESPONSES},
    summary="Delete a webhook subscription and its delivery log",
)
def webhook_delete(request: HttpRequest, webhook_id: ObjectId):
    subscription = queries.subscription_get_for_user(user=request.auth, pk=webhook_id)
    services.subscription_delete(actor=request.auth, subscription=subscription)
    return Status(204, None)


@router.post(
    "/webhooks/{int:webhook_id}/rotate-secret",
    response={200: SecretOut, **PROBLEM_RESPONSES},
    summary="A new signing secret (the old one keeps signing beside it for 24 hours)",
)
def webhook_rotate_secret(request: HttpRequest, webhook_id: ObjectId):
    subscription = queries.subscription_get_for_user(user=request.auth, pk=webhook_id)
    return {
        "secret": services.subscription_rotate_secret(actor=request.auth, subscription=subscription)
    }


@router.post(
    "/webhooks/{int:webhook_id}/test",
    response={202: DeliveryOut, **PROBLEM_RESPONSES},
    summary="Send a test event (webhook.test) to the subscription",
)
def webhook_test(request: HttpRequest, webhook_id: ObjectId):
    subscription = queries.subscription_get_for_user(user=request.auth, pk=webhook_id)
    delivery = services.delivery_send_test(actor=request.auth, subscription=subscription)
    return Status(202, delivery)


@router.get(
    "/webhooks/{int:webhook_id}/deliveries",
    response={200: list[DeliveryOut], **PROBLEM_RESPONSES},
    summary="The delivery log of a subscription, newest first",
)
@paginate(Pagination)
def webhook_deliveries(
    request: HttpRequest, webhook_id: ObjectId, status: StatusName | None = None
):
    subscription = queries.subscription_get_for_user(user=request.auth, pk=webhook_id)
    deliveries = queries.delivery_list(subscription=subscription)
    return deliveries.filter(status=status) if status else deliveries


@router.get(
    "/webhooks/deliveries/{int:delivery_id}",
    response={200: DeliveryOut, **PROBLEM_RESPONSES},
    summary="A webhook delivery with its payload and last answer",
)
def delivery_detail(request: HttpRequest, delivery_id: ObjectId):
    return queries.delivery_get_for_user(user=request.auth, pk=delivery_id)


@router.post(
    "/webhooks/deliveries/{int:delivery_id}/redeliver",
    response={202: DeliveryOut, **PROBLEM_RESPONSES},
    summary="Send a delivery again (a new log entry with the same webhook-id and payload)",
)
def delivery_redeliver(request: HttpRequest, delivery_id: ObjectId):
    delivery = queries.delivery_get_for_user(user=request.auth, pk=delivery_id)
    return Status(202, services.delivery_redeliver(actor=request.auth, delivery=delivery))
