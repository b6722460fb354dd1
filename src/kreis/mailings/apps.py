from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class MailingsConfig(AppConfig):
    """Mass mailings to a segment with consent, suppression and bounce checks before every
    send, throttled through the job queue, with results per recipient."""

    name = "kreis.mailings"
    label = "mailings"
    verbose_name = _("Mailings")

    def ready(self) -> None:
        from kreis.core.demo import register_demo_step
        from kreis.mailings import rules  # noqa: F401  (permissions)
        from kreis.mailings.demo import create_mailing
        from kreis.mailings.models import Recipient
        from kreis.parties.merge_folds import register_merge_fold

        # A party gets a mailing once: a merge folds the duplicate's recipient row into the
        # survivor's (the earlier send, bounce, reply and unsubscribe times are kept).
        register_merge_fold(
            Recipient,
            "party",
            together=("mailing",),
            earliest=("sent_at", "bounced_at", "replied_at", "unsubscribed_at"),
        )

        # After parties, consents (marketing) and the demo mail of comms.
        register_demo_step(create_mailing, order=975)
        import kreis.mailings.tasks  # noqa: F401  (the jobs register with Huey)
