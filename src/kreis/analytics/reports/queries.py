"""Read-side helpers over the stored results (operational database): fits and mixes."""

from __future__ import annotations

from django.db.models import Count

from kreis.analytics.customer.models import ClvFit
from kreis.parties.models import AbcClass, LifecyclePhase, Party, RfmSegment


def latest_fit() -> ClvFit | None:
    return ClvFit.objects.select_related("run").first()


def clv_payload(fit: ClvFit) -> dict:
    """The API contract of GET /api/v1/analytics/clv."""
    return {
        "computed_at": fit.created_at,
        "run": fit.run_id,
        "calibration": {
            "start": fit.calibration_start,
            "end": fit.calibration_end,
            "time_unit": fit.time_unit,
        },
        "horizon_months": fit.horizon_months,
        "horizon_years": fit.horizon_years,
        "discount_rate_yearly": float(fit.discount_rate_yearly),
        "converged": fit.converged,
        "reason": fit.reason,
        "bgnbd": {
            "r": fit.r,
            "alpha": fit.alpha,
            "a": fit.a,
            "b": fit.b,
            "log_likelihood": fit.bgnbd_log_likelihood,
            "customers": fit.customers,
            "converged": fit.bgnbd_converged,
            "message": fit.bgnbd_message,
        },
        "gamma_gamma": {
            "p": fit.p,
            "q": fit.q,
            "gamma": fit.gamma,
            "log_likelihood": fit.gamma_gamma_log_likelihood,
            "customers": fit.repeat_customers,
            "converged": fit.gamma_gamma_converged,
            "message": fit.gamma_gamma_message,
        },
    }


def _mix(parties, field: str, choices) -> list[tuple[str, str, int]]:
    counts = dict(
        parties.exclude(**{field: ""}).values_list(field).annotate(n=Count("pk")).order_by()
    )
    return [(value, str(label), counts.get(value, 0)) for value, label in choices]


def _alive(parties=None):
    return parties if parties is not None else Party.objects.filter(deleted_at__isnull=True)


def abc_mix(parties=None) -> list[tuple[str, str, int]]:
    return _mix(_alive(parties), "abc_class", AbcClass.choices)


def rfm_mix(parties=None) -> list[tuple[str, str, int]]:
    return _mix(_alive(parties), "rfm_segment", RfmSegment.choices)


def phase_mix(parties=None) -> list[tuple[str, str, int]]:
    return _mix(_alive(parties), "lifecycle_phase", LifecyclePhase.choices)
