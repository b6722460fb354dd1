from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SalesConfig(AppConfig):
    name = "kreis.sales"
    label = "sales"
    verbose_name = _("Sales")

    def ready(self) -> None:
        from kreis.core.demo import register_demo_step
        from kreis.core.search import register_dependants, register_indexer
        from kreis.sales.demo import create_deals
        from kreis.sales.models import Deal
        from kreis.sales.search import all_deals, deal_document, deals_naming
        from kreis.sales.targets.demo import create_sales_plan

        register_demo_step(create_deals)
        register_demo_step(create_sales_plan, order=150)  # after deals and transactions
        register_indexer("deal", Deal, deal_document, all_records=all_deals)
        register_dependants(deals_naming)
