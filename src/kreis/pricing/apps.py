from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PricingConfig(AppConfig):
    """Price and condition policy (DOMAIN.md §6): price lists, discount rules, approvals, quotes."""

    name = "kreis.pricing"
    label = "pricing"
    verbose_name = _("Prices and quotes")

    def ready(self) -> None:
        from kreis.core.demo import register_demo_step
        from kreis.pricing import rules  # noqa: F401  (registers the permissions)
        from kreis.pricing.demo import create_pricing
        from kreis.pricing.quotes.services import deal_lines_changed
        from kreis.sales.line_changes import register_lines_changed

        # After the deals (order 100) and the transactions: quotes are made from deal lines.
        register_demo_step(create_pricing, order=250)
        # A pending approval of a deal's line discounts ends when those lines change.
        register_lines_changed(deal_lines_changed)
