from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class LeadsConfig(AppConfig):
    name = "kreis.leads"
    label = "leads"
    verbose_name = _("Leads")

    def ready(self) -> None:
        from kreis.core.demo import register_demo_step
        from kreis.core.search import register_indexer
        from kreis.leads.demo import create_leads
        from kreis.leads.models import Lead
        from kreis.leads.search import all_leads, lead_document

        register_demo_step(create_leads)
        register_indexer("lead", Lead, lead_document, all_records=all_leads)
