from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CoreConfig(AppConfig):
    name = "kreis.core"
    label = "core"
    verbose_name = _("Core")

    def ready(self) -> None:
        from kreis.core import checks  # noqa: F401  (registers the system checks)
        from kreis.core.competencies import rules as competency_rules  # noqa: F401
        from kreis.core.competencies.demo import create_competencies
        from kreis.core.demo import register_demo_step

        # Before the handoffs (350) and cases (200) so rules could require them; after the
        # products (commerce, 100), whose categories are the product expertise.
        register_demo_step(create_competencies, order=180)
