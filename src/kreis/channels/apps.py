from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ChannelsConfig(AppConfig):
    """Channel preferences per party (DOMAIN.md §1, communicative CRM): the preferred channel,
    language and contact times, opt-outs per channel with their history, and ``may_use``, the
    one decision whether a party may be contacted on a channel."""

    name = "kreis.channels"
    label = "channels"
    verbose_name = _("Channel preferences")

    def ready(self) -> None:
        from kreis.channels import rules  # noqa: F401  (permissions)
        from kreis.channels.demo import create_channel_preferences
        from kreis.channels.models import ChannelPreference
        from kreis.core.demo import register_demo_step
        from kreis.parties.merge_folds import register_merge_fold

        # One row per party: a merge fills the survivor's empty values (an opt-out included)
        # from the merged party's row, the earlier opt-out time kept.
        register_merge_fold(
            ChannelPreference,
            "party",
            together=(),
            earliest=("no_email_since", "no_call_since", "no_post_since", "no_social_since"),
        )
        # After parties.
        register_demo_step(create_channel_preferences, order=965)
