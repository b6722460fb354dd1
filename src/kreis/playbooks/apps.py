from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PlaybooksConfig(AppConfig):
    """Retention and win-back playbooks (DOMAIN.md §4.2–4.3)."""

    name = "kreis.playbooks"
    label = "playbooks"
    verbose_name = _("Playbooks")

    def ready(self) -> None:
        from kreis.playbooks import receivers, rules  # noqa: F401  (permissions)

        receivers.connect()
        import kreis.playbooks.tasks  # noqa: F401  (the jobs register with Huey)
