"""Reads of the webhooks, permission-aware: a user sees their own subscriptions and their
deliveries; an administrator sees all."""

from __future__ import annotations

from django.db.models import QuerySet
from django.http import Http404

from kreis.automation.models import WebhookDelivery, WebhookSubscription
from kreis.core.models import User


def subscription_list_for_user(*, user: User) -> QuerySet[WebhookSubscription]:
    qs = WebhookSubscription.objects.select_related("owner")
    return qs if user.is_admin else qs.filter(owner=user)


def subscription_get_for_user(*, user: User, pk: int) -> WebhookSubscription:
    subscription = subscription_list_for_user(user=user).filter(pk=pk).first()
    if subscription is None:
        raise Http404
    return subscription


def delivery_list(*, subscription: WebhookSubscription) -> QuerySet[WebhookDelivery]:
    """The subscription's delivery log, newest first (check the subscription first)."""
    return subscription.deliveries.order_by("-created_at", "-pk")


def delivery_get_for_user(*, user: User, pk: int) -> WebhookDelivery:
    qs = WebhookDelivery.objects.select_related("subscription__owner").filter(pk=pk)
    if not user.is_admin:
        qs = qs.filter(subscription__owner=user)
    delivery = qs.first()
    if delivery is None:
        raise Http404
    return delivery
