from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class InboxConfig(AppConfig):
    """The unified inbox (issue 15 item 6): every inbound message of every channel in one
    queue, with assignment, status, snooze, the first-response SLA and bulk actions. An outer
    layer: it listens to comms, marketing, social, feedback and service; none imports it."""

    name = "kreis.inbox"
    label = "inbox"
    verbose_name = _("Inbox")

    def ready(self) -> None:
        from kreis.core.demo import register_demo_step
        from kreis.inbox import receivers
        from kreis.inbox.demo import create_inbox

        receivers.connect()
        # After cases (200), surveys and mail (300), lead forms (400), social listening (960).
        register_demo_step(create_inbox, order=980)
        import kreis.inbox.tasks  # noqa: F401  (the jobs register with Huey)
