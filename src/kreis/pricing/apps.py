from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PricingConfig(AppConfig):
    """Price and condition policy (DOMAIN.md §6): price lists, discount rules, approvals, quotes."""

    name = "kreis.pricing"
    label = "pricing"
    verbose_name = _("Prices and quotes")
