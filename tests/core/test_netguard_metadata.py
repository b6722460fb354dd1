"""Cloud metadata services are never a target, not even where an administrator allowed
private targets: by name, by address in every spelling, and by what a name resolves to —
for the guard itself, webhooks (when saved and when sent) and connectors."""

from __future__ import annotations

import socket

import pytest
from django.core.exceptions import ValidationError
from django.utils import translation

from kreis.automation import dispatch, services
from kreis.automation.models import WebhookDelivery, WebhookSubscription
from kreis.core import netguard
from kreis.migration.connectors import services as connector_services

METADATA = [
    "http://169.254.169.254/latest/meta-data/",
    "http://2852039166/",  # decimal
    "http://0251.0376.0251.0376/",  # octal
    "http://0xa9fea9fe/",  # hex
    "http://0xa9.0xfe.0xa9.0xfe/",
    "http://169.254.43518/",  # short form
    "http://[::ffff:169.254.169.254]/",  # IPv4-mapped
    "http://[::ffff:a9fe:a9fe]/",
    "http://[64:ff9b::a9fe:a9fe]/",  # NAT64
    "http://[2002:a9fe:a9fe::]/",  # 6to4
    "http://[::169.254.169.254]/",  # IPv4-compatible
    "http://[fd00:ec2::254]/latest/meta-data/",  # AWS, IPv6
    "http://100.100.100.200/latest/meta-data/",  # Alibaba
    "http://169.254.170.2/v2/credentials/",  # AWS ECS
    "http://168.63.129.16/machine",  # Azure wire server, a public address
    "http://metadata.google.internal/computeMetadata/v1/",
    "http://METADATA.Google.Internal./computeMetadata/v1/",  # case and the root's dot
    "http://metadata/computeMetadata/v1/",
    "https://instance-data.ec2.internal/latest/",
]


@pytest.mark.parametrize("url", METADATA)
def test_metadata_is_refused_even_when_private_targets_are_allowed(url):
    with pytest.raises(netguard.TargetRefused, match="cloud metadata service"):
        netguard.check_url(url, allow_private=True)
    with pytest.raises(netguard.TargetRefused, match="cloud metadata service"):
        netguard.fetch(url, allow_private=True, timeout=1)


def test_a_name_resolving_to_metadata_is_refused_when_private_is_allowed(monkeypatch):
    def dns(host, port, *args, **kwargs):  # the resolver lies outside the machine
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("169.254.169.254", port))]

    monkeypatch.setattr(socket, "getaddrinfo", dns)
    with pytest.raises(netguard.TargetRefused, match="cloud metadata service"):
        netguard.check_url("http://erp.example.com/orders.csv", allow_private=True)


def test_other_link_local_and_private_targets_stay_allowable():
    assert not netguard.is_metadata_address("169.254.1.1")
    assert not netguard.is_metadata_address("10.0.0.1")
    assert not netguard.is_metadata_address("::ffff:10.0.0.1")
    netguard.check_url("http://127.0.0.1:9/", allow_private=True)


def test_the_refusal_is_in_german_too():
    with translation.override("de"), pytest.raises(netguard.TargetRefused) as refused:
        netguard.check_url("http://2852039166/", allow_private=True)
    assert "Metadatendienst" in str(refused.value)


@pytest.mark.django_db
def test_an_administrator_cannot_allow_a_metadata_webhook_target(alice, dana):
    with pytest.raises(ValidationError, match="cloud metadata service"):
        services.subscription_create(
            actor=dana,
            owner=alice,
            name="Steal",
            target_url="http://0xa9fea9fe/latest/meta-data/",
            events=["party.created"],
            allow_private_target=True,
        )
    assert not WebhookSubscription.objects.exists()


@pytest.mark.django_db
def test_a_stored_metadata_target_is_refused_when_sent(alice):
    # Stored past the check (the admin site): sending refuses it all the same.
    subscription = WebhookSubscription.objects.create(
        owner=alice,
        name="Stored",
        target_url="http://[::ffff:169.254.169.254]/latest/meta-data/",
        events=["party.created"],
        allow_private_target=True,
    )
    delivery = WebhookDelivery.objects.create(
        subscription=subscription,
        event_type="webhook.test",
        webhook_id="msg_metadata",
        payload={"type": "webhook.test", "data": {}},
    )
    dispatch.attempt(delivery.pk)
    delivery.refresh_from_db()
    assert delivery.response_code is None
    assert "cloud metadata service" in delivery.error


@pytest.mark.django_db
def test_an_administrator_cannot_allow_a_metadata_connector(dana):
    with pytest.raises(ValidationError, match="cloud metadata service"):
        connector_services.connector_create(
            actor=dana,
            name="ERP",
            kind="url",
            location="http://metadata.google.internal/computeMetadata/v1/",
            allow_private=True,
            run_as=dana,
        )
