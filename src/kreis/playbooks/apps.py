from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PlaybooksConfig(AppConfig):
    """Retention and win-back playbooks (DOMAIN.md §4.2–4.3)."""

    name = "kreis.playbooks"
    label = "playbooks"
    verbose_name = _("Playbooks")

    def ready(self) -> None:
        from kreis.core.demo import register_demo_step
        from kreis.core.search import register_search_provider
        from kreis.playbooks import receivers, rules  # noqa: F401  (permissions)
        from kreis.playbooks.demo import create_playbooks
        from kreis.playbooks.queries import playbook_search_hits

        receivers.connect()
        register_search_provider(playbook_search_hits)
        # After transactions, activities and the sales plan: customers with orders to pick.
        register_demo_step(create_playbooks, order=950)
        import kreis.playbooks.tasks  # noqa: F401  (the jobs register with Huey)
