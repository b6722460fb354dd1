"""A customer's figures over the relationship: fitted CLV models, lifecycle phase changes."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from kreis.analytics.runs.models import AnalyticsRun, TimeUnit
from kreis.parties.models import ClvMarginBasis, LifecyclePhase, Party


class ClvFit(models.Model):
    """The fitted BG/NBD and Gamma-Gamma parameters of one run."""

    run = models.OneToOneField(AnalyticsRun, on_delete=models.CASCADE, related_name="clv_fit")
    calibration_start = models.DateField(_("calibration start"))
    calibration_end = models.DateField(_("calibration end"))
    time_unit = models.CharField(_("time unit"), max_length=5, choices=TimeUnit.choices)
    horizon_months = models.PositiveSmallIntegerField(_("horizon in months"))  # total CLV
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
    # A fit that ends on a parameter bound or stops short of the maximum says so (and why).
    bgnbd_converged = models.BooleanField(_("BG/NBD converged"), default=True)
    bgnbd_message = models.TextField(_("BG/NBD optimiser message"), blank=True)
    gamma_gamma_converged = models.BooleanField(_("Gamma-Gamma converged"), null=True)
    gamma_gamma_message = models.TextField(_("Gamma-Gamma optimiser message"), blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("CLV model fit")
        verbose_name_plural = _("CLV model fits")
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"BG/NBD r={self.r:.3g} α={self.alpha:.3g} a={self.a:.3g} b={self.b:.3g}"

    @property
    def horizon_years(self) -> float:
        return self.horizon_months / 12

    @property
    def converged(self) -> bool:
        return self.bgnbd_converged and self.gamma_gamma_converged is not False

    @property
    def reason(self) -> str:
        """Why the fit is not to be trusted ('' when it converged), model by model."""
        reasons = []
        if not self.bgnbd_converged:
            reasons.append(f"BG/NBD: {self.bgnbd_message or 'did not converge'}")
        if self.gamma_gamma_converged is False:
            reasons.append(f"Gamma-Gamma: {self.gamma_gamma_message or 'did not converge'}")
        return " · ".join(reasons)


# What the expected margin per purchase rests on: the party's vocabulary (filters use it).
MarginBasis = ClvMarginBasis


class CustomerValue(models.Model):
    """A customer's CLV figures beside the total on the party (``Party.clv``): the residual
    over the horizon, the value of the next 12 months and the margin per purchase they rest on.
    Rewritten by every run."""

    party = models.OneToOneField(
        Party,
        on_delete=models.CASCADE,
        primary_key=True,
        related_name="customer_value",
        verbose_name=_("party"),
    )
    next_12_months = models.DecimalField(
        _("CLV of the next 12 months"),
        max_digits=14,
        decimal_places=2,
        help_text=_("Discounted margin expected in the next 12 months."),
    )
    residual = models.DecimalField(
        _("residual value"),
        max_digits=14,
        decimal_places=2,
        help_text=_("Discounted margin expected over the CLV horizon."),
    )
    expected_margin = models.FloatField(_("expected margin per purchase"))
    margin_basis = models.CharField(
        _("margin basis"), max_length=10, choices=MarginBasis.choices, db_index=True
    )

    class Meta:
        verbose_name = _("customer value")
        verbose_name_plural = _("customer values")
        indexes = [models.Index(fields=["next_12_months"], name="customervalue_next_12")]

    def __str__(self) -> str:
        return f"{self.party_id}: {self.next_12_months} (12 months)"


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
