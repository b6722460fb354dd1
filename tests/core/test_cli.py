"""The kreis command: createuser, apikey, demo, check, --help on each."""

import subprocess
import sys
from collections import Counter

import pytest
from django.core.management import call_command
from django.test import Client

from kreis.cli import COMMANDS, main
from kreis.core.demo import PERSONAS, SIZES, TEAMS
from kreis.core.models import Membership, Notification, Role, Team, User


def test_kreis_help_lists_the_commands(capsys):
    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    for name in COMMANDS:
        assert name in out


@pytest.mark.parametrize("command", list(COMMANDS))
def test_every_command_has_help(command, tmp_path):
    result = subprocess.run(  # noqa: S603
        [sys.executable, "-m", "kreis.cli", command, "--help"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "usage:" in result.stdout


@pytest.mark.django_db
def test_createuser_with_flags(capsys):
    Team.objects.create(name="North")
    call_command(
        "createuser",
        "--username",
        "erik",
        "--password",
        "a sturdy passphrase 42",
        "--role",
        "service_agent",
        "--team",
        "North",
    )
    erik = User.objects.get(username="erik")
    assert erik.role == Role.SERVICE_AGENT
    assert erik.check_password("a sturdy passphrase 42")
    assert erik.teams.get().name == "North"


@pytest.mark.django_db
def test_createuser_refuses_a_duplicate(alice):
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="username"):
        call_command("createuser", "--username", "alice")


@pytest.mark.django_db
def test_apikey_create_prints_a_working_key(alice, capsys):
    call_command("apikey", "create", "--user", "alice", "--scope", "read")
    raw = capsys.readouterr().out.strip()
    response = Client().get("/api/v1/me", HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert response.json()["username"] == "alice"


@pytest.mark.django_db
def test_demo_creates_every_role_with_german_and_english_names(capsys, settings, tmp_path):
    settings.DATA_DIR = tmp_path
    call_command("demo", "--size", "small", "--seed", "7")
    out = capsys.readouterr().out
    assert "admin" in out
    assert set(User.objects.values_list("role", flat=True)) == set(Role.values)
    languages = set(User.objects.values_list("language", flat=True))
    assert {"de", "en"} <= languages
    assert User.objects.count() == 18
    assert Team.objects.filter(name="Vertrieb Süd").exists()
    manager = User.objects.get(username="manager")
    assert Membership.objects.filter(user=manager, is_manager=True).count() == 2
    assert Notification.objects.filter(user__username="admin").exists()
    password = out.split("admin", 1)[1].split()[0]
    assert (
        Client().post("/accounts/login/", {"login": "admin", "password": password}).status_code
        == 302
    )


@pytest.mark.django_db
def test_demo_if_empty_leaves_an_existing_database_alone(alice):
    call_command("demo", "--if-empty")
    assert User.objects.count() == 1


@pytest.mark.django_db
def test_demo_size_spreads_its_users_over_every_team(settings, tmp_path):
    """The size sets how many users and teams the demo makes, and they work together: every
    user but the administrator is in a team, the extra users evenly spread, their sales
    managers managing their team. The small size shows it here; the large one (206 users in 20
    teams, 100,000 parties: minutes) is checked and timed by benchmarks/demo.py."""
    settings.DATA_DIR = tmp_path
    call_command("demo", "--size", "small", "--seed", "1")
    assert User.objects.count() == len(PERSONAS) + SIZES["small"]["extra_users"] == 18
    assert Team.objects.count() == len(TEAMS) + SIZES["small"]["extra_teams"] == 4
    assert list(
        User.objects.filter(memberships__isnull=True).values_list("username", flat=True)
    ) == ["admin"]
    extra = Membership.objects.exclude(user__username__in=[p[0] for p in PERSONAS])
    assert Counter(extra.values_list("team__name", flat=True)) == {name: 3 for name, _ in TEAMS}
    managers = extra.filter(user__role=Role.SALES_MANAGER)
    assert managers.exists()
    assert not managers.filter(is_manager=False).exists()
