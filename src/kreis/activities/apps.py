from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ActivitiesConfig(AppConfig):
    name = "kreis.activities"
    label = "activities"
    verbose_name = _("Activities")

    def ready(self) -> None:
        from kreis.activities.demo import create_activities
        from kreis.core.demo import register_demo_step

        # After the parties, deals and leads it links activities to.
        register_demo_step(create_activities, order=900)
