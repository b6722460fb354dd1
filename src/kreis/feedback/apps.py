from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class FeedbackConfig(AppConfig):
    name = "kreis.feedback"
    label = "feedback"
    verbose_name = _("Surveys")

    def ready(self) -> None:
        from kreis.core.demo import register_demo_step
        from kreis.core.search import register_search_provider
        from kreis.feedback.demo import create_surveys
        from kreis.feedback.queries import survey_search_hits

        register_search_provider(survey_search_hits)
        register_demo_step(create_surveys, order=300)
