from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AutomationConfig(AppConfig):
    """Outgoing webhooks (and, later, automation rules and playbooks)."""

    name = "kreis.automation"
    label = "automation"
    verbose_name = _("Automation and webhooks")

    def ready(self) -> None:
        from kreis.automation import capture

        capture.connect()
