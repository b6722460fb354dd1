from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class MigrationConfig(AppConfig):
    """Data migration: imports (wizard, CLI, API), exports, backup and restore, connectors."""

    name = "kreis.migration"
    label = "migration"
    verbose_name = _("Import and export")

    def ready(self) -> None:
        # The connectors' jobs live in a subpackage, which Huey's autodiscovery of
        # ``<app>.tasks`` does not reach.
        from kreis.migration.connectors import tasks  # noqa: F401
