"""Settings → Integration → Webhooks: subscriptions, their delivery logs, redelivery, tests."""

from __future__ import annotations

import json

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from kreis.automation import queries, services
from kreis.automation.forms import SubscriptionForm
from kreis.automation.models import WebhookEvent
from kreis.core.web import apply_errors

SECRET_SESSION_KEY = "kreis_webhook_secret"  # noqa: S105 (a session key name)
EVENT_LABELS = dict(WebhookEvent.choices)


def _show_secret_once(request: HttpRequest, subscription, secret: str) -> None:
    # Shown on the next page only: it is popped from the session as it is rendered.
    request.session[SECRET_SESSION_KEY] = {"id": subscription.pk, "secret": secret}


@login_required
def webhook_list(request: HttpRequest) -> HttpResponse:
    subscriptions = queries.subscription_list_for_user(user=request.user)
    return render(request, "automation/webhooks.html", {"subscriptions": subscriptions})


@login_required
def webhook_create(request: HttpRequest) -> HttpResponse:
    form = SubscriptionForm(request.POST or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        try:
            subscription, secret = services.subscription_create(
                actor=request.user, **form.cleaned_data
            )
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            _show_secret_once(request, subscription, secret)
            messages.success(request, _("Webhook “%s” created.") % subscription.name)
            return redirect("automation:webhook_detail", subscription.pk)
    return render(request, "automation/webhook_form.html", {"form": form, "subscription": None})


@login_required
def webhook_edit(request: HttpRequest, pk: int) -> HttpResponse:
    subscription = queries.subscription_get_for_user(user=request.user, pk=pk)
    initial = {
        "name": subscription.name,
        "target_url": subscription.target_url,
        "events": subscription.events,
        "enabled": subscription.enabled,
        "allow_private_target": subscription.allow_private_target,
        "segment": subscription.segment_id,
    }
    form = SubscriptionForm(request.POST or None, initial=initial, user=request.user)
    if request.method == "POST" and form.is_valid():
        try:
            services.subscription_update(
                actor=request.user, subscription=subscription, **form.cleaned_data
            )
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, _("Webhook “%s” saved.") % subscription.name)
            return redirect("automation:webhook_detail", subscription.pk)
    context = {"form": form, "subscription": subscription}
    return render(request, "automation/webhook_form.html", context)


@login_required
def webhook_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """The subscription with its delivery log (newest first, 25 a page)."""
    subscription = queries.subscription_get_for_user(user=request.user, pk=pk)
    shown = request.session.get(SECRET_SESSION_KEY)
    new_secret = None
    if shown and shown.get("id") == subscription.pk:
        new_secret = shown["secret"]
        del request.session[SECRET_SESSION_KEY]
    page = Paginator(queries.delivery_list(subscription=subscription), 25).get_page(
        request.GET.get("page")
    )
    context = {
        "subscription": subscription,
        "new_secret": new_secret,
        "page": page,
        "events": [(event, EVENT_LABELS.get(event, event)) for event in subscription.events],
    }
    return render(request, "automation/webhook_detail.html", context)


@login_required
@require_POST
def webhook_delete(request: HttpRequest, pk: int) -> HttpResponse:
    subscription = queries.subscription_get_for_user(user=request.user, pk=pk)
    services.subscription_delete(actor=request.user, subscription=subscription)
    messages.success(request, _("Webhook “%s” deleted.") % subscription.name)
    return redirect("automation:webhook_list")


@login_required
@require_POST
def webhook_rotate_secret(request: HttpRequest, pk: int) -> HttpResponse:
    subscription = queries.subscription_get_for_user(user=request.user, pk=pk)
    secret = services.subscription_rotate_secret(actor=request.user, subscription=subscription)
    _show_secret_once(request, subscription, secret)
    messages.success(request, _("New secret created. The old one keeps signing for 24 hours."))
    return redirect("automation:webhook_detail", subscription.pk)


@login_required
@require_POST
def webhook_test(request: HttpRequest, pk: int) -> HttpResponse:
    subscription = queries.subscription_get_for_user(user=request.user, pk=pk)
    services.delivery_send_test(actor=request.user, subscription=subscription)
    messages.success(request, _("Test event queued; its delivery appears in the log below."))
    return redirect("automation:webhook_detail", subscription.pk)


@login_required
def delivery_detail(request: HttpRequest, pk: int) -> HttpResponse:
    delivery = queries.delivery_get_for_user(user=request.user, pk=pk)
    context = {
        "delivery": delivery,
        "subscription": delivery.subscription,
        "payload_text": json.dumps(delivery.payload, indent=2, ensure_ascii=False),
    }
    return render(request, "automation/delivery_detail.html", context)


@login_required
@require_POST
def delivery_redeliver(request: HttpRequest, pk: int) -> HttpResponse:
    delivery = queries.delivery_get_for_user(user=request.user, pk=pk)
    try:
        services.delivery_redeliver(actor=request.user, delivery=delivery)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, _("Delivery queued again."))
    return redirect("automation:webhook_detail", delivery.subscription_id)
