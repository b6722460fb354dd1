from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PlaybooksConfig(AppConfig):
    """Retention and win-back playbooks (DOMAIN.md §4.2–4.3)."""

    name = "kreis.playbooks"
    label = "playbooks"
    verbose_name = _("Playbooks")
