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
