from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PartiesConfig(AppConfig):
    name = "kreis.parties"
    label = "parties"
    verbose_name = _("Parties")

    def ready(self) -> None:
        from kreis.core.demo import register_demo_step
        from kreis.core.search import register_search_provider
        from kreis.parties.demo import create_parties
        from kreis.parties.queries import party_search_hits

        register_demo_step(create_parties)
        register_search_provider(party_search_hits)
