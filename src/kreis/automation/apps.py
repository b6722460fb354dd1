from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AutomationConfig(AppConfig):
    """Outgoing webhooks and automation rules."""

    name = "kreis.automation"
    label = "automation"
    verbose_name = _("Automation and webhooks")

    def ready(self) -> None:
        from kreis.automation import capture
        from kreis.automation.rules import capture as rules_capture
        from kreis.automation.rules import tasks as rules_tasks  # noqa: F401 (Huey's jobs)

        capture.connect()
        rules_capture.connect()
