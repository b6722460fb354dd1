from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CommerceConfig(AppConfig):
    name = "kreis.commerce"
    label = "commerce"
    verbose_name = _("Products and transactions")

    def ready(self) -> None:
        from kreis.commerce import rules  # noqa: F401  (registers the catalogue permission)
        from kreis.commerce.demo import create_transactions
        from kreis.commerce.queries import product_search_hits, transaction_search_hits
        from kreis.core.demo import register_demo_step
        from kreis.core.search import register_search_provider

        # After the parties' step (INSTALLED_APPS order): transactions need customers.
        register_demo_step(create_transactions)
        register_search_provider(product_search_hits)
        register_search_provider(transaction_search_hits)
