from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class MigrationConfig(AppConfig):
    """Data migration: imports (wizard, CLI, API), exports, backup and restore, connectors."""

    name = "kreis.migration"
    label = "migration"
    verbose_name = _("Import and export")

    def ready(self) -> None:
        # The connectors' and backups' jobs live in subpackages, which Huey's autodiscovery
        # of ``<app>.tasks`` does not reach.
        from kreis.migration.backups import tasks as backup_tasks  # noqa: F401
        from kreis.migration.connectors import tasks  # noqa: F401
