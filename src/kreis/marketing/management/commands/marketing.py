"""``kreis marketing <subcommand>``: lead management in bulk from the command line.

Each subcommand lives in its own module beside this file (``_marketing_<topic>.py``, the
leading underscore keeps Django from listing it as a command). A module offers
``register(subparsers)``, which adds its parsers and sets ``run=<function>`` as a default;
``run(command, options)`` then does the work through the marketing services and queries.
To add a subcommand, add its module to ``SUBCOMMAND_MODULES`` — one line, nothing else here.
"""

from __future__ import annotations

from importlib import import_module

from django.core.management.base import BaseCommand

SUBCOMMAND_MODULES: tuple[str, ...] = (
    "kreis.marketing.management.commands._marketing_campaigns",
    "kreis.marketing.management.commands._marketing_segments",
    "kreis.marketing.management.commands._marketing_relationship_types",
    "kreis.marketing.management.commands._marketing_forms",
    "kreis.marketing.management.commands._marketing_scoring",
    "kreis.marketing.management.commands._marketing_tracking",
    "kreis.marketing.management.commands._marketing_offers",
    "kreis.marketing.management.commands._marketing_handoff",
    "kreis.marketing.management.commands._marketing_consents",
)


class Command(BaseCommand):
    help = (
        "Lead management in bulk: segments, relationship types, campaigns, forms, consents, "
        "scoring, handoff"
    )

    def add_arguments(self, parser) -> None:
        subparsers = parser.add_subparsers(dest="action", required=True)
        for module in SUBCOMMAND_MODULES:
            import_module(module).register(subparsers)

    def handle(self, *args, **options) -> None:
        options.pop("run")(self, options)
