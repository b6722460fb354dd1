"""Relationship types (DOMAIN.md §6): the kind of relationship Kreis keeps with a segment's
customers, e.g. "Key account" (a named owner) versus "Online customer" (the online team, no
personal owner). Applying a type sets owner and team of the segment's members; a party in
several segments takes the type of the highest priority. Which playbooks apply to a type is
kept by the playbooks app (``Playbook.relationship_types``)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from kreis.core.models import Team
from kreis.parties.models import Party


class Ownership(models.TextChoices):
    NAMED = "named", _("A named owner")
    ROUND_ROBIN = "round_robin", _("Round-robin within the team")
    TEAM = "team", _("The team, no personal owner")


class RelationshipType(models.Model):
    """One way of looking after a segment's customers, and who owns them.

    ``ownership`` decides what applying the type writes on each member: ``named`` sets
    ``owner`` (and the team when one is given); ``round_robin`` spreads the members over the
    team's active members in turn; ``team`` sets the team and clears the personal owner.
    With ``keep_existing_owner`` a member that already has an owner keeps them and their team
    (it only gets the type), so a rep's own customers are not taken away by a nightly run."""

    name_de = models.CharField(_("name (German)"), max_length=120)
    name_en = models.CharField(_("name (English)"), max_length=120)
    segment = models.ForeignKey(
        "marketing.Segment",
        on_delete=models.CASCADE,
        related_name="relationship_types",
        verbose_name=_("segment"),
    )
    priority = models.PositiveSmallIntegerField(
        _("priority"),
        default=10,
        help_text=_("A customer in several segments takes the type with the highest priority."),
    )
    ownership = models.CharField(
        _("owned by"), max_length=12, choices=Ownership.choices, default=Ownership.TEAM
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("named owner"),
    )
    team = models.ForeignKey(
        Team,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("team"),
    )
    keep_existing_owner = models.BooleanField(
        _("keep an existing owner"),
        default=False,
        help_text=_("Customers who already have an owner keep them and their team."),
    )
    description = models.TextField(_("description"), blank=True)
    is_active = models.BooleanField(_("active"), default=True)
    last_user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("last assigned to"),
    )
    applied_at = models.DateTimeField(_("last applied"), null=True, blank=True)
    applied_count = models.PositiveIntegerField(_("customers changed last time"), default=0)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("relationship type")
        verbose_name_plural = _("relationship types")
        ordering = ["-priority", "name_en", "pk"]

    def __str__(self) -> str:
        return self.name

    @property
    def name(self) -> str:
        return self.name_de if (get_language() or "").startswith("de") else self.name_en


class PartyRelationshipType(models.Model):
    """The relationship type a party has now (written when types are applied): one row per
    party, so the party list and the API show it with one join."""

    party = models.OneToOneField(
        Party, on_delete=models.CASCADE, related_name="relationship_type_link"
    )
    relationship_type = models.ForeignKey(
        RelationshipType,
        on_delete=models.CASCADE,
        related_name="party_links",
        verbose_name=_("relationship type"),
    )
    assigned_at = models.DateTimeField(_("assigned"), auto_now=True)

    class Meta:
        verbose_name = _("party relationship type")
        verbose_name_plural = _("party relationship types")

    def __str__(self) -> str:
        return f"{self.party_id}: {self.relationship_type_id}"


class RelationshipApplyRun(models.Model):
    """One application of the relationship types that changed something, kept so it can be
    undone: each changed party's type, owner and team before and after (``changes``)."""

    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("applied by"),
    )
    only = models.ForeignKey(
        RelationshipType,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("only the type"),
    )
    applied_at = models.DateTimeField(_("applied"), auto_now_add=True)
    changed = models.PositiveIntegerField(_("customers changed"), default=0)
    undone_at = models.DateTimeField(_("undone"), null=True, blank=True)
    undone_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("undone by"),
    )
    restored = models.PositiveIntegerField(_("customers restored"), default=0)
    skipped = models.PositiveIntegerField(_("customers skipped (changed since)"), default=0)
    skipped_type_deleted = models.PositiveIntegerField(
        _("of those, previous type deleted"),
        default=0,
        help_text=_("Customers left as they are because their previous type has been deleted."),
    )

    class Meta:
        verbose_name = _("relationship type application")
        verbose_name_plural = _("relationship type applications")
        ordering = ["-applied_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.applied_at:%Y-%m-%d %H:%M} ({self.changed})"


class RelationshipApplyChange(models.Model):
    """One party changed by an application: its type, owner and team before and after."""

    run = models.ForeignKey(RelationshipApplyRun, on_delete=models.CASCADE, related_name="changes")
    party = models.ForeignKey(Party, on_delete=models.CASCADE, related_name="+")
    type_before = models.ForeignKey(
        RelationshipType, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    # The run replaced or removed the party's type: with ``type_before`` empty now, that type
    # has been deleted since, and an undo would leave the party with no type (it skips it).
    type_replaced = models.BooleanField(default=False)
    owner_before = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    team_before = models.ForeignKey(Team, on_delete=models.SET_NULL, null=True, related_name="+")
    type_after = models.ForeignKey(
        RelationshipType, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    owner_after = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    team_after = models.ForeignKey(Team, on_delete=models.SET_NULL, null=True, related_name="+")

    class Meta:
        verbose_name = _("relationship type change")
        verbose_name_plural = _("relationship type changes")
        indexes = [models.Index(fields=["run", "party"], name="relapplychange_run_party")]

    def __str__(self) -> str:
        return f"{self.run_id}: {self.party_id}"
