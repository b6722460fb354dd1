from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ServiceConfig(AppConfig):
    name = "kreis.service"
    label = "service"
    verbose_name = _("Service")

    def ready(self) -> None:
        # The complaint reports' periodic job (its module is no app's tasks.py), and the
        # permission predicates (service.view_case, service.change_case), registered for every
        # door: pages, API, CLI and jobs.
        import kreis.service.analysis.tasks  # noqa: F401
        import kreis.service.rules  # noqa: F401
        from kreis.core.demo import register_demo_step
        from kreis.core.search import register_indexer
        from kreis.service.demo import create_cases
        from kreis.service.models import Case
        from kreis.service.search import all_cases, case_document

        register_demo_step(create_cases, order=200)
        register_indexer("case", Case, case_document, all_records=all_cases)
