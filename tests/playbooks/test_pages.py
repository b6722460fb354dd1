"""Playbook pages: who sees what, editing by administrators, the party card."""

import pytest
from django.urls import reverse

from kreis.activities.models import Activity
from kreis.playbooks import services
from kreis.playbooks.models import Enrollment, EnrollmentStatus
from tests.conftest import client_for
from tests.parties.factories import OrganizationFactory

pytestmark = pytest.mark.django_db


def test_rep_sees_only_enrollments_of_her_parties(retention, alice, charlie):
    mine = OrganizationFactory(name="Alices Kunde GmbH", owner=alice)
    other = OrganizationFactory(name="Charlies Kunde AG", owner=charlie, team=None)
    services.start_for_parties(retention, [mine.pk, other.pk], source="test")
    page = client_for(alice).get(reverse("playbooks:detail", args=[retention.pk]))
    assert page.status_code == 200
    html = page.content.decode()
    assert "Alices Kunde GmbH" in html
    assert "Charlies Kunde AG" not in html
    assert "Gefährdeten Kunden prüfen" in html or "Review the endangered customer" in html


def test_list_and_filters(retention, alice):
    parties = [OrganizationFactory(owner=alice) for _ in range(3)]
    services.start_for_parties(retention, [p.pk for p in parties], source="test")
    client = client_for(alice)
    assert client.get(reverse("playbooks:list")).status_code == 200
    url = reverse("playbooks:detail", args=[retention.pk])
    assert client.get(url, {"status": "active", "step": "1"}).status_code == 200
    assert client.get(url, {"status": "bogus", "step": "x"}).status_code == 200
    empty = client.get(url, {"status": "completed"}).content.decode()
    assert parties[0].name not in empty


def test_service_agent_and_anonymous_refused(retention, client):
    from kreis.core.models import Role
    from tests.factories import UserFactory

    agent = UserFactory(role=Role.SERVICE_AGENT)
    assert client_for(agent).get(reverse("playbooks:list")).status_code == 403
    assert (
        client_for(agent).get(reverse("playbooks:detail", args=[retention.pk])).status_code == 404
    )
    assert client.get(reverse("playbooks:list")).status_code == 302


def test_only_admin_edits(retention, mia, dana):
    url = reverse("playbooks:edit", args=[retention.pk])
    assert client_for(mia).get(url).status_code == 403
    response = client_for(dana).post(
        url,
        {
            "name_de": "Bindung",
            "name_en": "Retention",
            "kind": "retention",
            "enabled": "on",
            "entry_phases": ["endangerment", "dissolution"],
            "holdout_percent": "20",
            "window_days": "60",
            "exit_on_order": "on",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    retention.refresh_from_db()
    assert retention.entry_phases == ["endangerment", "dissolution"]
    assert retention.holdout_percent == 20
    bad = client_for(dana).post(url, {"name_de": "", "kind": "x", "holdout_percent": "90"})
    assert bad.status_code == 200
    assert "holdout_percent" in bad.context["form"].errors


def test_admin_adds_moves_and_deletes_steps(retention, dana):
    client = client_for(dana)
    add = reverse("playbooks:step_add", args=[retention.pk])
    response = client.post(
        add,
        {
            "new-action": "call",
            "new-delay_days": "1",
            "new-due_days": "1",
            "new-title_de": "Nachfassen",
            "new-title_en": "Follow up",
        },
    )
    assert response.status_code == 302
    steps = list(retention.steps.order_by("position"))
    assert steps[-1].title_en == "Follow up"
    assert steps[-1].position == 4
    client.post(
        reverse("playbooks:step_move", args=[retention.pk, steps[-1].pk]), {"direction": "up"}
    )
    assert retention.steps.get(title_en="Follow up").position == 3
    client.post(reverse("playbooks:step_delete", args=[retention.pk, steps[0].pk]))
    assert list(retention.steps.order_by("position").values_list("position", flat=True)) == [
        1,
        2,
        3,
    ]
    bad = client.post(add, {"new-action": "task", "new-send_email": "on", "new-title_de": "x"})
    assert bad.status_code == 200


def test_party_panel_and_manual_start_and_remove(retention, alice, dana):
    party = OrganizationFactory(owner=alice)
    client = client_for(dana)
    response = client.post(
        reverse("playbooks:party_start", args=[party.pk]), {"pb-playbook": retention.pk}
    )
    assert response.status_code == 302
    enrollment = Enrollment.objects.get(party=party)
    assert Activity.objects.filter(party=party).count() == 1
    panel = client_for(alice).get(reverse("playbooks:party_panel", args=[party.pk]))
    assert (
        retention.name_de in panel.content.decode() or retention.name_en in panel.content.decode()
    )
    # A rep cannot start or remove.
    assert (
        client_for(alice)
        .post(reverse("playbooks:party_start", args=[party.pk]), {"pb-playbook": retention.pk})
        .status_code
        == 403
    )
    remove = reverse("playbooks:enrollment_remove", args=[retention.pk, enrollment.pk])
    assert client_for(alice).post(remove).status_code == 403
    assert client.post(remove).status_code == 302
    enrollment.refresh_from_db()
    assert enrollment.status == EnrollmentStatus.EXITED
    assert enrollment.exit_reason == "manual"
