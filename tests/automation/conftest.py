import pytest

from kreis.automation import services
from tests.automation import receiver as receiver_module


@pytest.fixture
def receiver():
    """A receiver on loopback that answers 200."""
    found, server = receiver_module.start()
    yield found
    server.shutdown()
    server.server_close()


@pytest.fixture
def subscribe(dana):
    """subscribe(alice, url, ["party.created"]): alice's subscription, its private loopback
    target allowed by the administrator dana. Returns (subscription, secret)."""

    def make(owner, url, events, **extra):
        return services.subscription_create(
            actor=dana,
            owner=owner,
            name=extra.pop("name", "ERP sync"),
            target_url=url,
            events=events,
            allow_private_target=extra.pop("allow_private_target", True),
            **extra,
        )

    return make
