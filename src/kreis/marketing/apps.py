from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class MarketingConfig(AppConfig):
    name = "kreis.marketing"
    label = "marketing"
    verbose_name = _("Lead management")

    def ready(self) -> None:
        # The permission predicates (marketing.view, marketing.change_record, …), registered
        # for every door: pages, API, CLI and jobs.
        import kreis.marketing.rules  # noqa: F401

        # Integration: party merges fold duplicate list places and campaign memberships.
        from kreis.marketing.integration import receivers as integration

        integration.register()

        # Campaigns: touches from web forms, deal attribution.
        import kreis.marketing.campaigns.receivers  # noqa: F401
