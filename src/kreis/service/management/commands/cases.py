"""``kreis cases <subcommand>``: bulk work on complaint cases from the command line.

Each subcommand lives in its own module beside this file (``_cases_<topic>.py``, the leading
underscore keeps Django from listing it as a command). A module offers
``register(subparsers)``, which adds its parsers and sets ``run=<function>`` as a default;
``run(command, options)`` then does the work through the service's own services and queries.
To add a subcommand, add its module to ``SUBCOMMAND_MODULES`` — one line, nothing else here.
"""

from __future__ import annotations

from importlib import import_module

from django.core.management.base import BaseCommand

SUBCOMMAND_MODULES = (
    "kreis.service.management.commands._cases_bulk",
    "kreis.service.management.commands._cases_config",
    "kreis.service.management.commands._cases_mailbox",
    "kreis.service.management.commands._cases_report",
)


class Command(BaseCommand):
    help = "Complaint cases in bulk: list, export, import, close resolved cases, …"

    def add_arguments(self, parser) -> None:
        subparsers = parser.add_subparsers(dest="action", required=True)
        for module in SUBCOMMAND_MODULES:
            import_module(module).register(subparsers)

    def handle(self, *args, **options) -> None:
        options.pop("run")(self, options)
