from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CallsConfig(AppConfig):
    """Phone (DOMAIN.md §1, communicative CRM): click-to-call logging and outbound call lists
    built from a segment or a campaign, worked one entry after the other."""

    name = "kreis.calls"
    label = "calls"
    verbose_name = _("Calls")

    def ready(self) -> None:
        from kreis.calls import rules  # noqa: F401  (permissions)
        from kreis.calls.demo import create_call_lists
        from kreis.calls.models import CallListEntry, WrongNumber
        from kreis.core.demo import register_demo_step
        from kreis.parties.merge_folds import register_merge_fold

        # A party is once on a list and a number once wrong: a merge folds the duplicate's row.
        register_merge_fold(CallListEntry, "party", together=("call_list",))
        register_merge_fold(WrongNumber, "party", together=("phone",), earliest=("marked_at",))
        # After segments, consents and activities.
        register_demo_step(create_call_lists, order=970)
