"""Sales competencies (DOMAIN.md §6): skills, languages and product expertise per rep, each
with a level, shown in a skills matrix and used by the lead and case assignment rules.

Core imports no domain app, so product expertise names a product *category* (the text of
``commerce.Product.category``), and a language its ISO 639-1 code (``de``, ``en``, ``fr``)."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _


class CompetencyKind(models.TextChoices):
    SKILL = "skill", _("Skill")
    LANGUAGE = "language", _("Language")
    PRODUCT = "product", _("Product expertise")


class Level(models.IntegerChoices):
    BASIC = 1, _("Basic")
    GOOD = 2, _("Good")
    ADVANCED = 3, _("Advanced")
    EXPERT = 4, _("Expert")


class Competency(models.Model):
    """One thing a rep can be good at. ``key`` is what rules and imports match on: the
    language code, the product category, or a short name for a skill."""

    kind = models.CharField(_("kind"), max_length=10, choices=CompetencyKind.choices)
    key = models.CharField(
        _("key"),
        max_length=100,
        help_text=_(
            "Language: the ISO code (de, en, fr). Product expertise: the product category "
            "exactly as on the products. Skill: a short name (e.g. negotiation)."
        ),
    )
    name = models.CharField(_("name"), max_length=120)
    description = models.TextField(_("description"), blank=True)
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("competency")
        verbose_name_plural = _("competencies")
        ordering = ["kind", "name", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["kind", "key"], name="competency_unique_kind_key")
        ]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        self.key = (self.key or "").strip()
        if self.kind == CompetencyKind.LANGUAGE:
            self.key = self.key.lower()
            if not (2 <= len(self.key) <= 3 and self.key.isalpha()):
                raise ValidationError(
                    {"key": _("A language is named by its ISO code, e.g. de, en or fr.")}
                )


class UserCompetency(models.Model):
    """A user's level in one competency (a cell of the skills matrix)."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="competencies",
        verbose_name=_("user"),
    )
    competency = models.ForeignKey(
        Competency,
        on_delete=models.CASCADE,
        related_name="holders",
        verbose_name=_("competency"),
    )
    level = models.PositiveSmallIntegerField(
        _("level"),
        choices=Level.choices,
        validators=[MinValueValidator(1), MaxValueValidator(4)],
    )
    updated_at = models.DateTimeField(_("updated"), auto_now=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("updated by"),
    )

    class Meta:
        verbose_name = _("user competency")
        verbose_name_plural = _("user competencies")
        ordering = ["user", "competency"]
        constraints = [
            models.UniqueConstraint(fields=["user", "competency"], name="user_competency_unique")
        ]
        indexes = [
            models.Index(fields=["competency", "level", "user"], name="user_competency_match")
        ]

    def __str__(self) -> str:
        return f"{self.user_id}: {self.competency_id} = {self.level}"
