from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CoreConfig(AppConfig):
    name = "kreis.core"
    label = "core"
    verbose_name = _("Core")

    def ready(self) -> None:
        from kreis.core import checks  # noqa: F401  (registers the system checks)
        from kreis.core.competencies import rules as competency_rules  # noqa: F401
