from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CommsConfig(AppConfig):
    name = "kreis.comms"
    label = "comms"
    verbose_name = _("E-mail")

    def ready(self) -> None:
        # The periodic sync job (Huey finds tasks.py itself; imported here for the worker
        # started without autodiscovery), the demo step and the global search.
        import kreis.comms.tasks  # noqa: F401
        from kreis.comms.demo import create_mail_threads
        from kreis.comms.models import Message
        from kreis.comms.search import all_shared_messages, message_document
        from kreis.core.demo import register_demo_step
        from kreis.core.search import register_indexer

        register_demo_step(create_mail_threads, order=300)
        register_indexer("message", Message, message_document, all_records=all_shared_messages)
