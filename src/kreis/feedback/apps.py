from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class FeedbackConfig(AppConfig):
    name = "kreis.feedback"
    label = "feedback"
    verbose_name = _("Surveys")

    def ready(self) -> None:
        from kreis.core.search import register_search_provider
        from kreis.feedback.queries import survey_search_hits

        register_search_provider(survey_search_hits)
