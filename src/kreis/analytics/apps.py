from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AnalyticsConfig(AppConfig):
    name = "kreis.analytics"
    label = "analytics"
    verbose_name = _("Analytics")

    def ready(self) -> None:
        # Score a lead as soon as a web form created or changed it (then the MQL check).
        from kreis.analytics.scoring import receivers

        receivers.connect()
