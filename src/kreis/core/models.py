"""Users, teams, roles, API keys and notifications: what every other part of Kreis builds on."""

from __future__ import annotations

import hashlib
import secrets

from django.conf import settings
from django.contrib.auth.models import AbstractUser, UserManager
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class Role(models.TextChoices):
    """What a user may do in general; which records they see follows from owner and team."""

    ADMIN = "admin", _("Administrator")
    SALES_MANAGER = "sales_manager", _("Sales manager")
    SALES_REP = "sales_rep", _("Sales rep")
    SERVICE_AGENT = "service_agent", _("Service agent")
    MARKETING = "marketing", _("Marketing")
    READ_ONLY = "read_only", _("Read-only")


ROLE_DESCRIPTIONS = {
    Role.ADMIN: _("Sees and changes everything; manages users, teams, roles and settings."),
    Role.SALES_MANAGER: _(
        "Sees and changes the records of the teams they manage; plans targets and pipelines."
    ),
    Role.SALES_REP: _("Sees and changes their own records and those of their team."),
    Role.SERVICE_AGENT: _("Handles cases and complaints for their own and their team's customers."),
    Role.MARKETING: _(
        "Runs campaigns, segments and mailings for their own and their team's records."
    ),
    Role.READ_ONLY: _("Reads the records of their teams; changes nothing."),
}


class User(AbstractUser):
    role = models.CharField(_("role"), max_length=20, choices=Role.choices, default=Role.SALES_REP)
    language = models.CharField(
        _("language"), max_length=5, choices=settings.LANGUAGES, blank=True, default=""
    )
    job_title = models.CharField(_("job title"), max_length=120, blank=True)
    phone = models.CharField(_("phone"), max_length=40, blank=True)

    objects = UserManager()

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")
        ordering = ["last_name", "first_name", "username"]

    def __str__(self) -> str:
        return self.get_full_name() or self.username

    @property
    def is_admin(self) -> bool:
        return self.is_active and (self.role == Role.ADMIN or self.is_superuser)

    @property
    def is_read_only(self) -> bool:
        return self.role == Role.READ_ONLY

    def team_ids(self) -> set[int]:
        """Teams the user belongs to, cached on the instance for the request."""
        if not hasattr(self, "_team_ids"):
            self._team_ids = set(self.memberships.values_list("team_id", flat=True))
        return self._team_ids

    def managed_team_ids(self) -> set[int]:
        if not hasattr(self, "_managed_team_ids"):
            self._managed_team_ids = set(
                self.memberships.filter(is_manager=True).values_list("team_id", flat=True)
            )
        return self._managed_team_ids


class Team(models.Model):
    name = models.CharField(_("name"), max_length=120, unique=True)
    description = models.TextField(_("description"), blank=True)
    members = models.ManyToManyField(
        User, through="Membership", related_name="teams", verbose_name=_("members")
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("team")
        verbose_name_plural = _("teams")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Membership(models.Model):
    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="memberships")
    is_manager = models.BooleanField(_("manager of the team"), default=False)
    joined_at = models.DateTimeField(_("joined"), auto_now_add=True)

    class Meta:
        verbose_name = _("team membership")
        verbose_name_plural = _("team memberships")
        constraints = [
            models.UniqueConstraint(fields=["team", "user"], name="membership_unique_team_user")
        ]

    def __str__(self) -> str:
        return f"{self.user} @ {self.team}"


class ApiKeyScope(models.TextChoices):
    READ = "read", _("Read")
    READ_WRITE = "read_write", _("Read and write")


API_KEY_PREFIX = "kreis_"


def hash_api_key(raw: str) -> str:
    # The key carries 256 random bits, so a plain SHA-256 is enough: no dictionary to guess from.
    return hashlib.sha256(raw.encode()).hexdigest()


class ApiKey(models.Model):
    """A personal key for integrations. Only its hash is stored; the key is shown once."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_keys")
    name = models.CharField(_("name"), max_length=100)
    prefix = models.CharField(_("prefix"), max_length=16, editable=False)
    key_hash = models.CharField(max_length=64, unique=True, editable=False)
    scope = models.CharField(
        _("scope"), max_length=12, choices=ApiKeyScope.choices, default=ApiKeyScope.READ
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    last_used_at = models.DateTimeField(_("last used"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("revoked"), null=True, blank=True)

    class Meta:
        verbose_name = _("API key")
        verbose_name_plural = _("API keys")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @staticmethod
    def generate() -> tuple[str, str, str]:
        """A new raw key with its display prefix and hash."""
        raw = API_KEY_PREFIX + secrets.token_urlsafe(32)
        return raw, raw[: len(API_KEY_PREFIX) + 6], hash_api_key(raw)

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None

    @property
    def can_write(self) -> bool:
        return self.scope == ApiKeyScope.READ_WRITE


class Notification(models.Model):
    """A message for one user, shown in the notifications area of the app shell."""

    class Level(models.TextChoices):
        INFO = "info", _("Information")
        SUCCESS = "success", _("Success")
        WARNING = "warning", _("Warning")

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="notifications")
    level = models.CharField(max_length=10, choices=Level.choices, default=Level.INFO)
    title = models.CharField(_("title"), max_length=200)
    body = models.TextField(_("text"), blank=True)
    url = models.CharField(_("link"), max_length=500, blank=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now, db_index=True)
    read_at = models.DateTimeField(_("read"), null=True, blank=True)

    class Meta:
        verbose_name = _("notification")
        verbose_name_plural = _("notifications")
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["user", "read_at"], name="notification_user_unread")]

    def __str__(self) -> str:
        return self.title


class CustomFieldType(models.TextChoices):
    TEXT = "text", _("Text")
    NUMBER = "number", _("Number")
    DATE = "date", _("Date")
    CHOICE = "choice", _("Choice")
    MULTI_CHOICE = "multi_choice", _("Multiple choice")
    BOOLEAN = "boolean", _("Yes/no")
    MONEY = "money", _("Money")
    URL = "url", _("URL")


class CustomField(models.Model):
    """A field an administrator adds to parties, leads or deals; values live in ``custom``."""

    entity = models.CharField(_("record type"), max_length=20)
    key = models.SlugField(
        _("key"),
        max_length=50,
        help_text=_("Name in the API and exports: lower case letters, digits, underscores."),
    )
    label = models.CharField(_("label"), max_length=100)
    type = models.CharField(_("type"), max_length=12, choices=CustomFieldType.choices)
    choices = models.JSONField(
        _("choices"), default=list, blank=True, help_text=_("For choice fields: the options.")
    )
    required = models.BooleanField(_("required"), default=False)
    help_text = models.CharField(_("help text"), max_length=200, blank=True)
    position = models.PositiveSmallIntegerField(_("position"), default=0)
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("custom field")
        verbose_name_plural = _("custom fields")
        ordering = ["entity", "position", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["entity", "key"], name="custom_field_unique_key")
        ]

    def __str__(self) -> str:
        return self.label


class SavedView(models.Model):
    """A user's named filter, sort and column set of one list."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="saved_views")
    list_name = models.CharField(_("list"), max_length=30)
    name = models.CharField(_("name"), max_length=80)
    query = models.CharField(_("filters"), max_length=1000, blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("saved view")
        verbose_name_plural = _("saved views")
        ordering = ["list_name", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["user", "list_name", "name"], name="saved_view_unique_name"
            )
        ]

    def __str__(self) -> str:
        return self.name


class SearchEntry(models.Model):
    """One searchable record (party, lead, deal, …) in the global search index.

    ``text`` holds the record's names, e-mails, phones, companies and notes, folded for
    matching (lower case, umlauts spelt out: Müller → mueller). Owner and team are copied
    from the record, so the index itself answers "may this user see it?". On SQLite an FTS5
    trigram table mirrors ``text``; on PostgreSQL a trigram (pg_trgm) index covers it.
    """

    entity = models.CharField(max_length=20)
    object_id = models.BigIntegerField()
    title = models.CharField(max_length=200)
    subtitle = models.CharField(max_length=200, blank=True)
    url = models.CharField(max_length=200)
    icon = models.CharField(max_length=30, default="search")
    text = models.TextField()
    owner_id = models.BigIntegerField(null=True, blank=True)
    team_id = models.BigIntegerField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("search entry")
        verbose_name_plural = _("search entries")
        constraints = [
            models.UniqueConstraint(fields=["entity", "object_id"], name="search_entry_unique")
        ]
        indexes = [models.Index(fields=["owner_id", "team_id"], name="search_entry_owner_team")]

    def __str__(self) -> str:
        return self.title


class WorkerHeartbeat(models.Model):
    """A job worker (Huey consumer) that is or was running: it writes ``beat_at`` every few
    seconds while alive, so the web app, ``/healthz`` and long-running jobs can tell a worker
    that died from one that is busy. One row per consumer process (``name`` = host:pid:start)."""

    name = models.CharField(_("name"), max_length=200, unique=True)
    hostname = models.CharField(_("host"), max_length=150)
    pid = models.PositiveIntegerField(_("process id"))
    embedded = models.BooleanField(_("embedded in kreis serve"), default=False)
    started_at = models.DateTimeField(_("started"))
    beat_at = models.DateTimeField(_("last heartbeat"), db_index=True)
    stopped_at = models.DateTimeField(_("stopped"), null=True, blank=True)

    class Meta:
        verbose_name = _("job worker")
        verbose_name_plural = _("job workers")
        ordering = ["-beat_at"]

    def __str__(self) -> str:
        return self.name


class IdempotencyKey(models.Model):
    """An API ``POST`` sent with an ``Idempotency-Key`` header, and the answer it got: a
    retry with the same key gets that answer again instead of a second effect (see
    ``kreis.core.idempotency``). Kept 24 hours."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=255)
    path = models.CharField(max_length=500)
    request_hash = models.CharField(max_length=64)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    # Empty while the first request is still being answered.
    completed_at = models.DateTimeField(null=True, blank=True)
    status = models.PositiveSmallIntegerField(null=True, blank=True)
    headers = models.JSONField(default=dict, blank=True)
    body = models.BinaryField(default=b"", blank=True)

    class Meta:
        verbose_name = _("idempotency key")
        verbose_name_plural = _("idempotency keys")
        constraints = [
            models.UniqueConstraint(fields=["user", "key"], name="idempotency_key_unique")
        ]

    def __str__(self) -> str:
        return self.key


# Sales competencies (kreis.core.competencies): registered with the core app here.
from kreis.core.competencies.models import (  # noqa: E402, F401
    Competency,
    CompetencyKind,
    Level,
    UserCompetency,
)
