"""A customer's figures over the relationship: fitted CLV models, lifecycle phase changes."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from kreis.analytics.runs.models import AnalyticsRun, TimeUnit
from kreis.parties.models import LifecyclePhase, Party


class ClvFit(models.Model):
    """The fitted BG/NBD and Gamma-Gamma parameters of one run."""

    run = models.OneToOneField(AnalyticsRun, on_delete=models.CASCADE, related_name="clv_fit")
    calibration_start = models.DateField(_("calibration start"))
    calibration_end = models.DateField(_("calibration end"))
    time_unit = models.CharField(_("time unit"), max_length=5, choices=TimeUnit.choices)
    horizon_months = models.PositiveSmallIntegerField(_("horizon in months"))
    discount_rate_yearly = models.DecimalField(
        _("discount rate per year (%)"), max_digits=5, decimal_places=2
    )
    customers = models.PositiveIntegerField(_("customers"))
    repeat_customers = models.PositiveIntegerField(_("repeat customers"))
    r = models.FloatField()
    alpha = models.FloatField()
    a = models.FloatField()
    b = models.FloatField()
    bgnbd_log_likelihood = models.FloatField(_("BG/NBD log-likelihood"))
    p = models.FloatField(null=True)
    q = models.FloatField(null=True)
    gamma = models.FloatField(null=True)
    gamma_gamma_log_likelihood = models.FloatField(_("Gamma-Gamma log-likelihood"), null=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("CLV model fit")
        verbose_name_plural = _("CLV model fits")
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"BG/NBD r={self.r:.3g} α={self.alpha:.3g} a={self.a:.3g} b={self.b:.3g}"


class PhaseChange(models.Model):
    """A customer's move from one lifecycle phase to another: history and event in one.

    Automation reacts to new rows (``kreis.analytics.signals.phase_changed`` is sent with them).
    """

    party = models.ForeignKey(Party, on_delete=models.CASCADE, related_name="phase_changes")
    date = models.DateField(_("date"))
    from_phase = models.CharField(
        _("from"), max_length=14, choices=LifecyclePhase.choices, blank=True
    )
    to_phase = models.CharField(_("to"), max_length=14, choices=LifecyclePhase.choices)
    reason = models.CharField(_("reason"), max_length=40, blank=True)
    facts = models.JSONField(_("facts"), default=dict, blank=True)
    won_back = models.BooleanField(_("won back"), default=False)
    manual = models.BooleanField(_("set by hand"), default=False)
    note = models.CharField(_("note"), max_length=300, blank=True)
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("phase change")
        verbose_name_plural = _("phase changes")
        ordering = ["-date", "-pk"]
        indexes = [
            models.Index(fields=["party", "date"], name="phasechange_party_date"),
            models.Index(fields=["date"], name="phasechange_date"),
        ]

    def __str__(self) -> str:
        return f"{self.party_id}: {self.from_phase or '–'} → {self.to_phase} ({self.date})"
