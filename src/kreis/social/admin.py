"""Social listening in the Django admin: keywords and sources configured, mentions read (they
come from the sources; what they become is done on the mention's page)."""

from django.contrib import admin
from django.db import models

from kreis.social.models import Keyword, Mention, Source


@admin.register(Keyword)
class KeywordAdmin(admin.ModelAdmin):
    list_display = ["term", "kind", "product", "competitor", "is_active"]
    list_filter = ["kind", "is_active"]
    search_fields = ["term"]
    raw_id_fields = ["product", "competitor"]


@admin.register(Source)
class SourceAdmin(admin.ModelAdmin):
    list_display = ["name", "kind", "is_active", "last_polled_at", "last_error", "team"]
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}
    list_filter = ["kind", "is_active"]
    search_fields = ["name", "url", "query"]
    raw_id_fields = ["owner", "team"]
    # The token and secret are shown on the source's page to its owner; the access token is
    # stored encrypted and set through the app.
    exclude = ["access_token", "webhook_secret"]
    readonly_fields = ["webhook_token", "cursor", "etag", "last_modified", "last_polled_at"]


@admin.register(Mention)
class MentionAdmin(admin.ModelAdmin):
    list_display = ["__str__", "source", "author_handle", "sentiment", "published_at"]
    list_filter = ["sentiment", "language", "source"]
    search_fields = ["text", "author_handle", "author_name"]
    list_select_related = ["source"]
    raw_id_fields = ["party", "lead", "case", "reply", "owner", "team", "source"]
    filter_horizontal = ["keywords"]
    date_hierarchy = "published_at"
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}
