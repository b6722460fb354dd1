"""Changing the complaint settings (``ServiceSettings``, one row): the public form's options,
and the hourly rate and rating-link days that live in the same row."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from kreis.core.models import User
from kreis.service.models import CaseCategory, ServiceSettings
from kreis.service.public_form.guard import is_origin

FIELDS = (
    "form_enabled",
    "form_allowed_origins",
    "form_category",
    "form_min_seconds",
    "form_posts_per_hour",
    "hourly_rate",
    "rating_link_days",
)


@transaction.atomic
def service_settings_update(*, actor: User | None, **changes: Any) -> ServiceSettings:
    """Change some of the settings; the row is validated whole and saved, or nothing changes.

    ``form_allowed_origins``: a list of web origins (``https://www.example.com``; a trailing
    slash is dropped), kept one per line. ``form_category``: an active category or None."""
    if actor is not None and not actor.has_perm("service.change_servicesettings"):
        raise PermissionDenied
    unknown = set(changes) - set(FIELDS)
    if unknown:
        raise ValidationError({name: _("This field cannot be set.") for name in sorted(unknown)})
    config = ServiceSettings.objects.select_for_update().filter(pk=1).first()
    config = config or ServiceSettings.load()
    if "form_allowed_origins" in changes:
        origins = [str(o).strip().rstrip("/") for o in changes.pop("form_allowed_origins") or []]
        wrong = [o for o in origins if o and not is_origin(o.lower())]
        if wrong:
            raise ValidationError(
                {
                    "form_allowed_origins": _(
                        "Not a website origin: %(wrong)s. Give scheme and host (and a port if "
                        "needed), without a path, e.g. https://www.example.com."
                    )
                    % {"wrong": ", ".join(wrong)}
                }
            )
        config.form_allowed_origins = "\n".join(o for o in origins if o)
    if "form_category" in changes:
        category = changes.pop("form_category")
        if category is not None and not (isinstance(category, CaseCategory) and category.is_active):
            raise ValidationError({"form_category": _("Choose an active category.")})
        config.form_category = category
    for name, value in changes.items():
        setattr(config, name, value)
    config.full_clean()
    config.save()
    return config
