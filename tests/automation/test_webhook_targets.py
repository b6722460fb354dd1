"""The SSRF guard of the webhooks: private and local targets in any spelling are refused when
saved and when sent, unless an administrator allowed that exact target."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from kreis.automation import dispatch, services
from kreis.automation.models import DeliveryStatus, WebhookDelivery, WebhookSubscription

pytestmark = pytest.mark.django_db

REFUSED = [
    "http://127.0.0.1/hook",
    "http://2130706433/hook",  # decimal
    "http://0177.0.0.1/hook",  # octal
    "http://0x7f.0.0.1/hook",  # hex
    "http://0x7f000001/hook",
    "http://127.1/hook",  # short form
    "http://[::1]/hook",
    "http://[::ffff:127.0.0.1]/hook",  # IPv4-mapped
    "http://[::ffff:7f00:1]/hook",
    "http://[64:ff9b::7f00:1]/hook",  # NAT64
    "http://[fd00::1]/hook",  # unique local
    "http://[fe80::1]/hook",  # link-local
    "http://10.1.2.3/hook",
    "http://172.16.0.1/hook",
    "http://192.168.178.1/hook",
    "http://100.64.0.1/hook",  # CGNAT
    "http://169.254.169.254/latest/meta-data/",  # cloud metadata
    "http://[fd00:ec2::254]/latest/meta-data/",
    "http://metadata.google.internal/computeMetadata/v1/",
    "http://224.0.0.1/hook",  # multicast
    "http://0.0.0.0/hook",  # unspecified
    "http://240.0.0.1/hook",  # reserved
    "http://localhost:8000/hook",  # a name that resolves to loopback
    "ftp://example.com/hook",
    "file:///etc/passwd",
    "gopher://example.com/",
]


@pytest.mark.parametrize("url", REFUSED)
def test_private_and_local_targets_are_refused_when_saved(alice, url):
    with pytest.raises(ValidationError) as refused:
        services.subscription_create(
            actor=alice, name="Bad", target_url=url, events=["party.created"]
        )
    (message,) = refused.value.message_dict["target_url"]
    assert any(
        reason in message
        for reason in ("private, loopback or reserved", "Only http and https", "metadata")
    ), message
    assert not WebhookSubscription.objects.exists()


SPELLINGS_OF_LOOPBACK = [
    "http://2130706433:{port}/hook",
    "http://0177.0.0.1:{port}/hook",
    "http://0x7f.0.0.1:{port}/hook",
    "http://127.1:{port}/hook",
    "http://[::ffff:127.0.0.1]:{port}/hook",
    "http://localhost:{port}/hook",
]


def _stored(owner, url: str) -> WebhookDelivery:
    """A subscription stored without the check at saving (the admin site, or a name whose
    DNS answer changed since), with one delivery waiting."""
    subscription = WebhookSubscription.objects.create(
        owner=owner, name="Stored", target_url=url, events=["party.created"]
    )
    return WebhookDelivery.objects.create(
        subscription=subscription,
        event_type="webhook.test",
        webhook_id=f"msg_{subscription.pk}",
        payload={"type": "webhook.test", "data": {}},
    )


@pytest.mark.parametrize("spelling", SPELLINGS_OF_LOOPBACK)
def test_every_spelling_of_loopback_is_refused_when_sent(alice, receiver, spelling):
    delivery = _stored(alice, spelling.format(port=_port(receiver)))
    dispatch.attempt(delivery.pk)
    delivery.refresh_from_db()
    assert receiver.received == []
    assert delivery.response_code is None
    assert "private, loopback or reserved" in delivery.error


def test_only_an_administrator_may_allow_a_private_target(alice, subscribe):
    with pytest.raises(PermissionDenied):
        services.subscription_create(
            actor=alice,
            name="Local",
            target_url="http://127.0.0.1:9000/hook",
            events=["party.created"],
            allow_private_target=True,
        )
    subscription, _ = subscribe(alice, "http://127.0.0.1:9000/hook", ["party.created"])
    assert subscription.owner == alice
    with pytest.raises(PermissionDenied):  # nor may she withdraw it: the administrator's call
        services.subscription_update(
            actor=alice, subscription=subscription, allow_private_target=False
        )


def test_the_permission_covers_that_exact_target_only(alice, subscribe):
    subscription, _ = subscribe(alice, "http://127.0.0.1:9000/hook", ["party.created"])
    # alice renames it: the permission stays.
    services.subscription_update(actor=alice, subscription=subscription, name="Lokal")
    subscription.refresh_from_db()
    assert subscription.allow_private_target
    # alice points it elsewhere on the private network: refused, nothing changes.
    with pytest.raises(ValidationError):
        services.subscription_update(
            actor=alice, subscription=subscription, target_url="http://10.0.0.7/hook"
        )
    subscription.refresh_from_db()
    assert subscription.target_url == "http://127.0.0.1:9000/hook"
    assert subscription.allow_private_target


def _port(receiver) -> str:
    return receiver.url.split(":")[2].split("/")[0]


def test_a_name_resolving_to_loopback_is_refused_at_send_time(alice, receiver):
    # Saved while the name pointed somewhere public (a DNS answer that changed since).
    delivery = _stored(alice, f"http://localhost:{_port(receiver)}/hooks/kreis")
    assert dispatch.attempt(delivery.pk) == dispatch.RETRY_DELAYS[0]
    delivery.refresh_from_db()
    assert receiver.received == []
    assert delivery.status == DeliveryStatus.PENDING
    assert delivery.response_code is None
    assert "private, loopback or reserved" in delivery.error

    # The same target, allowed by an administrator: it arrives (the guard refused it).
    WebhookSubscription.objects.update(allow_private_target=True)
    assert dispatch.attempt(delivery.pk, now=delivery.next_attempt_at) is None
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.SUCCEEDED
    assert len(receiver.received) == 1
    assert receiver.received[0].headers["host"] == f"localhost:{_port(receiver)}"


def test_a_redirect_is_not_followed(alice, receiver, subscribe, django_capture_on_commit_callbacks):
    receiver.statuses = [302]
    subscription, _ = subscribe(alice, receiver.url, ["party.created"])
    with django_capture_on_commit_callbacks(execute=True):
        services.delivery_send_test(actor=alice, subscription=subscription)
    delivery = WebhookDelivery.objects.get(subscription=subscription)
    assert delivery.response_code == 302
    assert delivery.status == DeliveryStatus.PENDING  # failed once, retried later
    assert len(receiver.received) == 1
