"""The complaint settings through the API: ``GET``/``PATCH /cases/config/settings``, for
administrators (``service.view_servicesettings`` / ``change_servicesettings``; 403 otherwise),
like the rest of ``/cases/config/…``. The public form itself needs no API: it is the form."""

from __future__ import annotations

from decimal import Decimal

from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Field, Router, Schema

from kreis.core.api_support import PROBLEM_RESPONSES, Input
from kreis.service.models import CaseCategory, ServiceSettings
from kreis.service.public_form import guard
from kreis.service.public_form.services import service_settings_update

router = Router(tags=["case configuration"])


class SettingsOut(Schema):
    form_enabled: bool
    form_allowed_origins: list[str] = Field(description="Websites that may embed the form.")
    form_category_id: int | None = Field(description="Used when the visitor picks none.")
    form_min_seconds: int
    form_posts_per_hour: int
    hourly_rate: Decimal
    rating_link_days: int


class SettingsPatch(Input):
    form_enabled: bool | None = None
    form_allowed_origins: list[str] | None = Field(None, max_length=50)
    form_category_id: int | None = Field(None, ge=1, le=2**31 - 1)
    form_min_seconds: int | None = Field(None, ge=0, le=3600)
    form_posts_per_hour: int | None = Field(None, ge=1, le=10_000)
    hourly_rate: Decimal | None = Field(None, ge=0, max_digits=8, decimal_places=2)
    rating_link_days: int | None = Field(None, ge=1, le=3650)


def _out(config: ServiceSettings) -> dict:
    return {
        "form_enabled": config.form_enabled,
        "form_allowed_origins": config.allowed_origins(),
        "form_category_id": config.form_category_id,
        "form_min_seconds": config.form_min_seconds,
        "form_posts_per_hour": config.form_posts_per_hour,
        "hourly_rate": config.hourly_rate,
        "rating_link_days": config.rating_link_days,
    }


@router.get(
    "/cases/config/settings",
    response={200: SettingsOut, **PROBLEM_RESPONSES},
    summary="The complaint settings",
    operation_id="case_settings_get",
)
def settings_get(request: HttpRequest):
    if not request.auth.has_perm("service.view_servicesettings"):
        raise PermissionDenied
    return _out(guard.current_settings())


@router.patch(
    "/cases/config/settings",
    response={200: SettingsOut, **PROBLEM_RESPONSES},
    summary="Change the complaint settings",
    operation_id="case_settings_update",
)
def settings_update(request: HttpRequest, payload: SettingsPatch):
    """Only the fields sent change. ``form_category_id: null`` takes the first active
    category for visitors who pick none."""
    changes = payload.model_dump(exclude_unset=True)
    if "form_category_id" in changes:
        pk = changes.pop("form_category_id")
        category = CaseCategory.objects.filter(pk=pk, is_active=True).first() if pk else None
        if pk and category is None:
            raise ValidationError({"form_category_id": _("Choose an active category.")})
        changes["form_category"] = category
    if changes.get("form_enabled") is None:
        changes.pop("form_enabled", None)
    return _out(service_settings_update(actor=request.auth, **changes))
