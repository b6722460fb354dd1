"""Service teams and agents for the case tests: team Support North (sam, sue) and the
agent of another team (otto, Support South)."""

import pytest

from kreis.core.models import Role
from kreis.service.defaults import ensure_defaults
from kreis.service.models import CaseCategory, RootCause
from tests.factories import MembershipFactory, TeamFactory, UserFactory


def agent(username: str, team, **extra):
    user = UserFactory(username=username, role=Role.SERVICE_AGENT, **extra)
    MembershipFactory(team=team, user=user)
    return user


@pytest.fixture
def support(db):
    return TeamFactory(name="Support North")


@pytest.fixture
def support_south(db):
    return TeamFactory(name="Support South")


@pytest.fixture
def sam(support):
    return agent("sam", support, first_name="Sam", last_name="Service")


@pytest.fixture
def sue(support):
    return agent("sue", support, first_name="Sue", last_name="Support")


@pytest.fixture
def otto(support_south):
    return agent("otto", support_south, first_name="Otto", last_name="Other")


@pytest.fixture
def defect(db):
    ensure_defaults()  # gone if a transactional test flushed the tables before
    return CaseCategory.objects.get(kind="defect")


@pytest.fixture
def billing(db):
    ensure_defaults()  # gone if a transactional test flushed the tables before
    return CaseCategory.objects.get(kind="billing")


@pytest.fixture
def root_cause(db):
    ensure_defaults()  # gone if a transactional test flushed the tables before
    return RootCause.objects.get(name_en="Manufacturing fault")


@pytest.fixture
def time_machine_at(monkeypatch):
    """Set "now" (django.utils.timezone.now, which services and auto_now fields read) to a
    moment; monkeypatch restores it after the test."""
    from django.utils import timezone

    def travel(moment):
        monkeypatch.setattr(timezone, "now", lambda: moment)

    return travel


# The processing tests' case, customer, supplier and API caller (tests/service/test_case_*,
# test_supplier, test_improvement_actions); a module's own fixture of the same name wins.
from tests.service.processing_fixtures import api, case, customer, supplier  # noqa: E402, F401
