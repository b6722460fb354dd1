"""Channel preferences per party.

- ``Channel``: the ways Kreis reaches a party. The values are those the rest of Kreis uses
  already: ``email`` and ``phone`` as in consent (``marketing.ConsentChannel``), ``post`` (a
  letter) as consent's post, ``social`` as a campaign's social-media channel, and
  ``in_person`` (a meeting).
- ``ChannelPreference``: one row per party (made on its first edit): the preferred channel,
  language and contact times, and an opt-out per channel as the time it was given (empty: no
  opt-out), with a note, who changed it last and when. Every change is kept in its history.
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from kreis.activities.models import ActivityKind
from kreis.marketing.models import LANGUAGES, CampaignChannel, ConsentChannel
from kreis.parties.models import Party


class Channel(models.TextChoices):
    EMAIL = ConsentChannel.EMAIL.value, _("E-mail")
    PHONE = ConsentChannel.PHONE.value, _("Phone")
    POST = ConsentChannel.POST.value, _("Letter")
    SOCIAL = CampaignChannel.SOCIAL.value, _("Social media")
    IN_PERSON = "in_person", _("In person")


# The consent channel a channel's advertising needs (none for social media and meetings).
CONSENT_CHANNEL = {
    Channel.EMAIL: ConsentChannel.EMAIL,
    Channel.PHONE: ConsentChannel.PHONE,
    Channel.POST: ConsentChannel.POST,
}
# Activities of these kinds are interactions on the channel (metrics, the timeline).
ACTIVITY_KIND = {
    Channel.EMAIL: ActivityKind.EMAIL,
    Channel.PHONE: ActivityKind.CALL,
    Channel.IN_PERSON: ActivityKind.MEETING,
}
# Other names callers use for a channel.
ALIASES = {
    "e-mail": Channel.EMAIL,
    "mail": Channel.EMAIL,
    "call": Channel.PHONE,
    "sms": Channel.PHONE,
    "letter": Channel.POST,
    "meeting": Channel.IN_PERSON,
}
# The opt-out field of each channel that has one (meetings are arranged together).
OPT_OUT_FIELD = {
    Channel.EMAIL: "no_email_since",
    Channel.PHONE: "no_call_since",
    Channel.POST: "no_post_since",
    Channel.SOCIAL: "no_social_since",
}
WEEKDAYS = [
    ("1", _("Monday")),
    ("2", _("Tuesday")),
    ("3", _("Wednesday")),
    ("4", _("Thursday")),
    ("5", _("Friday")),
    ("6", _("Saturday")),
    ("7", _("Sunday")),
]


class ChannelPreference(models.Model):
    party = models.OneToOneField(
        Party,
        on_delete=models.CASCADE,
        related_name="channel_preference",
        verbose_name=_("party"),
    )
    preferred_channel = models.CharField(
        _("preferred channel"), max_length=12, choices=Channel.choices, blank=True
    )
    language = models.CharField(
        _("preferred language"), max_length=2, choices=LANGUAGES, blank=True
    )
    # ISO weekdays the party wants to be contacted on, as digits ("12345": Monday to Friday);
    # empty: any day.
    weekdays = models.CharField(_("contact days"), max_length=7, blank=True)
    time_from = models.TimeField(_("contact from"), null=True, blank=True)
    time_to = models.TimeField(_("contact until"), null=True, blank=True)
    no_email_since = models.DateTimeField(_("do not e-mail since"), null=True, blank=True)
    no_call_since = models.DateTimeField(_("do not call since"), null=True, blank=True)
    no_post_since = models.DateTimeField(_("do not send letters since"), null=True, blank=True)
    no_social_since = models.DateTimeField(
        _("do not contact on social media since"), null=True, blank=True
    )
    note = models.TextField(_("note"), blank=True, max_length=2000)
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("changed by"),
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("changed"), auto_now=True)

    history = HistoricalRecords()

    class Meta:
        verbose_name = _("channel preference")
        verbose_name_plural = _("channel preferences")
        ordering = ["party_id"]

    def __str__(self) -> str:
        return f"{self.party}"

    def opted_out(self, channel: str) -> dt.datetime | None:
        field = OPT_OUT_FIELD.get(channel)
        return getattr(self, field) if field else None

    def opt_outs(self) -> list[tuple[str, str, dt.datetime]]:
        """(channel, label, since) of each opt-out given."""
        return [
            (channel.value, channel.label, getattr(self, field))
            for channel, field in OPT_OUT_FIELD.items()
            if getattr(self, field)
        ]

    def weekday_list(self) -> list[str]:
        return list(self.weekdays)

    def weekday_labels(self) -> list[str]:
        names = dict(WEEKDAYS)
        return [str(names[d]) for d in self.weekdays if d in names]
