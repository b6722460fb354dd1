from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PartiesConfig(AppConfig):
    name = "kreis.parties"
    label = "parties"
    verbose_name = _("Parties")

    def ready(self) -> None:
        from kreis.core.demo import register_demo_step
        from kreis.core.search import register_dependants, register_indexer
        from kreis.parties.demo import create_parties
        from kreis.parties.models import Party
        from kreis.parties.search import all_parties, employees_naming, party_document

        register_demo_step(create_parties)
        register_indexer("party", Party, party_document, all_records=all_parties)
        register_dependants(employees_naming)
