import pytest

from kreis.playbooks import services
from kreis.playbooks.models import Playbook


@pytest.fixture
def retention(db):
    """The shipped retention playbook, with no control group: every entrant gets the steps."""
    services.ensure_defaults()
    playbook = Playbook.objects.get(key="retention-endangerment")
    playbook.holdout_percent = 0
    playbook.save()
    return playbook
