"""Social listening: what the company listens for (keywords), where (sources) and what it
heard (mentions).

A *keyword* is a brand, company, product or competitor name, matched case-insensitively as a
whole word (``matching.py``). A *source* is an RSS/Atom feed, a Mastodon hashtag timeline or
search, or a signed webhook another network's connector posts to; it belongs to an owner and
a team, and the mentions it brings in belong to them too (``core.view_record``). A *mention*
is one post or article that matched at least one active keyword, stored once per source
(``external_id``: the post's id, else its link), with its sentiment (``sentiment.py``), the
party its author is known as (a social contact point of the party) and, once a user acted on
it, the lead, case or logged reply it became.
"""

from __future__ import annotations

import secrets

from django.conf import settings
from django.db import models
from django.db.models.functions import Lower
from django.utils.translation import gettext_lazy as _

from kreis.core.models import Team


class KeywordKind(models.TextChoices):
    BRAND = "brand", _("Brand")
    COMPANY = "company", _("Company")
    PRODUCT = "product", _("Product")
    COMPETITOR = "competitor", _("Competitor")


class Keyword(models.Model):
    term = models.CharField(
        _("term"),
        max_length=120,
        help_text=_("Matched as a whole word, case-insensitive (“Kreis” finds “#kreis”)."),
    )
    kind = models.CharField(
        _("kind"), max_length=12, choices=KeywordKind.choices, default=KeywordKind.BRAND
    )
    product = models.ForeignKey(
        "commerce.Product",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("product"),
    )
    competitor = models.ForeignKey(
        "parties.Party",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="social_keywords",
        verbose_name=_("competitor"),
    )
    is_active = models.BooleanField(
        _("active"), default=True, help_text=_("Paused keywords match no new mentions.")
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("monitored keyword")
        verbose_name_plural = _("monitored keywords")
        ordering = ["kind", "term", "pk"]
        constraints = [
            models.UniqueConstraint(Lower("term"), name="social_keyword_term_unique"),
        ]

    def __str__(self) -> str:
        return self.term


class SourceKind(models.TextChoices):
    FEED = "feed", _("RSS or Atom feed")
    MASTODON_TAG = "mastodon_tag", _("Mastodon hashtag")
    MASTODON_SEARCH = "mastodon_search", _("Mastodon search")
    WEBHOOK = "webhook", _("Signed webhook")


POLLED_KINDS = (SourceKind.FEED, SourceKind.MASTODON_TAG, SourceKind.MASTODON_SEARCH)


def new_webhook_token() -> str:
    return secrets.token_urlsafe(24)


def new_webhook_secret() -> str:
    # Standard Webhooks secrets: "whsec_" and base64 of at least 24 random bytes.
    import base64

    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


class Source(models.Model):
    name = models.CharField(_("name"), max_length=120)
    kind = models.CharField(_("kind"), max_length=16, choices=SourceKind.choices)
    url = models.URLField(
        _("address"),
        max_length=500,
        blank=True,
        help_text=_("The feed's address, or the Mastodon server (https://mastodon.social)."),
    )
    query = models.CharField(
        _("hashtag or search"),
        max_length=200,
        blank=True,
        help_text=_("Mastodon: the hashtag without # or the search words."),
    )
    language = models.CharField(
        _("language"),
        max_length=2,
        choices=[("de", _("German")), ("en", _("English"))],
        blank=True,
        help_text=_("Empty: taken from each post, else detected."),
    )
    access_token = models.TextField(
        _("access token"), blank=True, help_text=_("Encrypted. Mastodon search needs one.")
    )
    allow_private = models.BooleanField(
        _("allow private addresses"),
        default=False,
        help_text=_("Only for a server on the office network; cloud metadata stays refused."),
    )
    is_active = models.BooleanField(_("active"), default=True)
    poll_minutes = models.PositiveIntegerField(_("poll every (minutes)"), default=30)
    webhook_token = models.CharField(max_length=64, unique=True, default=new_webhook_token)
    webhook_secret = models.CharField(max_length=100, default=new_webhook_secret)
    # How far polling got: Mastodon's newest status id, a feed's ETag / Last-Modified.
    cursor = models.CharField(max_length=100, blank=True)
    etag = models.CharField(max_length=200, blank=True)
    last_modified = models.CharField(max_length=100, blank=True)
    last_polled_at = models.DateTimeField(_("last polled"), null=True, blank=True)
    last_error = models.CharField(_("last error"), max_length=500, blank=True)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("owner"),
    )
    team = models.ForeignKey(
        Team,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("team"),
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("listening source")
        verbose_name_plural = _("listening sources")
        ordering = ["name", "pk"]

    def __str__(self) -> str:
        return self.name

    @property
    def network(self) -> str:
        if self.kind in (SourceKind.MASTODON_TAG, SourceKind.MASTODON_SEARCH):
            return "mastodon"
        return "feed" if self.kind == SourceKind.FEED else "webhook"

    @property
    def is_polled(self) -> bool:
        return self.kind in POLLED_KINDS


class Sentiment(models.TextChoices):
    POSITIVE = "positive", _("Positive")
    NEUTRAL = "neutral", _("Neutral")
    NEGATIVE = "negative", _("Negative")


class Mention(models.Model):
    source = models.ForeignKey(
        Source, on_delete=models.CASCADE, related_name="mentions", verbose_name=_("source")
    )
    external_id = models.CharField(_("external ID"), max_length=500)
    url = models.URLField(_("link"), max_length=1000, blank=True)
    author_handle = models.CharField(_("author"), max_length=200, blank=True)
    author_name = models.CharField(_("author name"), max_length=200, blank=True)
    author_url = models.URLField(_("author profile"), max_length=500, blank=True)
    # The handle normalised (``matching.handle_key``): what links the author to a party.
    author_key = models.CharField(max_length=200, blank=True, db_index=True)
    text = models.TextField(_("text"))
    published_at = models.DateTimeField(_("published"))
    language = models.CharField(_("language"), max_length=2, blank=True)
    sentiment = models.CharField(
        _("sentiment"), max_length=8, choices=Sentiment.choices, default=Sentiment.NEUTRAL
    )
    sentiment_score = models.FloatField(_("sentiment score"), default=0.0)
    keywords = models.ManyToManyField(
        Keyword, blank=True, related_name="mentions", verbose_name=_("keywords")
    )
    party = models.ForeignKey(
        "parties.Party",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="social_mentions",
        verbose_name=_("author's party"),
    )
    # What a user made of it (each once).
    lead = models.ForeignKey(
        "leads.Lead",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("lead"),
    )
    case = models.ForeignKey(
        "service.Case",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("case"),
    )
    reply = models.ForeignKey(
        "activities.Activity",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("logged reply"),
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("owner"),
    )
    team = models.ForeignKey(
        Team,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("team"),
    )
    created_at = models.DateTimeField(_("received"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("mention")
        verbose_name_plural = _("mentions")
        ordering = ["-published_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["source", "external_id"], name="social_mention_once_per_source"
            ),
        ]
        indexes = [
            models.Index(fields=["published_at", "id"], name="social_mention_time"),
            models.Index(fields=["team", "published_at"], name="social_mention_team_time"),
            models.Index(fields=["sentiment", "published_at"], name="social_mention_sentiment"),
        ]

    def __str__(self) -> str:
        return self.text[:80]

    @property
    def excerpt(self) -> str:
        return self.text if len(self.text) <= 160 else self.text[:159] + "…"


class WebhookReceipt(models.Model):
    """A webhook delivery (its ``webhook-id``) already taken: a replay within the signature's
    five-minute tolerance is answered without storing anything twice. Kept a day."""

    source = models.ForeignKey(Source, on_delete=models.CASCADE, related_name="+")
    webhook_id = models.CharField(max_length=200)
    received_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["source", "webhook_id"], name="social_webhook_receipt_once"
            ),
        ]

    def __str__(self) -> str:
        return self.webhook_id
