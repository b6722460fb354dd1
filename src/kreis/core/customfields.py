"""Custom fields: typed fields administrators add to parties, leads and deals.

Definitions are ``CustomField`` rows; values live in each record's ``custom`` JSON column,
keyed by the field's ``key``, stored in a JSON-native form: text, URL and choice as strings,
numbers as numbers, money as a decimal string ("1250.00", exact), dates as ISO strings,
yes/no as booleans and multiple choice as a list of strings. Forms, detail pages, lists,
filters, the API and CSV exports all go through this module.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal, InvalidOperation
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db.models import QuerySet
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from kreis.core.models import CustomField, CustomFieldType
from kreis.core.money import format_money

ENTITIES = {
    "party": gettext_lazy("Organisations and persons"),
    "lead": gettext_lazy("Leads"),
    "deal": gettext_lazy("Deals"),
}
FORM_PREFIX = "cf_"
MAX_TEXT = 1000


def custom_fields_for(entity: str) -> list[CustomField]:
    """The active fields of a record type, in their configured order."""
    return list(CustomField.objects.filter(entity=entity, is_active=True))


def _clean_one(field: CustomField, raw: Any) -> Any:
    """One value in its stored form; ``None`` for empty. Raises ValueError with a message."""
    if raw is None or raw == "" or raw == []:
        return None
    if any("\x00" in str(v) for v in (raw if isinstance(raw, list | tuple) else [raw])):
        raise ValueError(_("must not contain NUL characters"))
    kind = field.type
    if kind == CustomFieldType.TEXT:
        text = str(raw).strip()
        if len(text) > MAX_TEXT:
            raise ValueError(_("At most %(n)d characters.") % {"n": MAX_TEXT})
        return text or None
    if kind == CustomFieldType.NUMBER:
        if isinstance(raw, bool):
            raise ValueError(_("Enter a number."))
        try:
            number = Decimal(str(raw).strip().replace(",", "."))
        except InvalidOperation:
            raise ValueError(_("Enter a number.")) from None
        if not number.is_finite():
            raise ValueError(_("Enter a number."))
        return int(number) if number == number.to_integral_value() else float(number)
    if kind == CustomFieldType.MONEY:
        if isinstance(raw, bool):
            raise ValueError(_("Enter an amount."))
        try:
            amount = Decimal(str(raw).strip().replace(",", "."))
        except InvalidOperation:
            raise ValueError(_("Enter an amount.")) from None
        if not amount.is_finite() or abs(amount) >= Decimal("1e12"):
            raise ValueError(_("Enter an amount."))
        return str(amount.quantize(Decimal("0.01")))
    if kind == CustomFieldType.DATE:
        if isinstance(raw, dt.date):
            return raw.isoformat()
        try:
            return dt.date.fromisoformat(str(raw).strip()).isoformat()
        except ValueError:
            raise ValueError(_("Enter a date as YYYY-MM-DD.")) from None
    if kind == CustomFieldType.BOOLEAN:
        if isinstance(raw, bool):
            return raw
        text = str(raw).strip().lower()
        if text in {"1", "true", "yes", "ja", "on"}:
            return True
        if text in {"0", "false", "no", "nein", "off"}:
            return False
        raise ValueError(_("Enter yes or no."))
    if kind == CustomFieldType.CHOICE:
        if str(raw) not in field.choices:
            raise ValueError(_("Choose one of: %s") % ", ".join(field.choices))
        return str(raw)
    if kind == CustomFieldType.MULTI_CHOICE:
        values = raw if isinstance(raw, list | tuple) else [raw]
        unknown = [str(v) for v in values if str(v) not in field.choices]
        if unknown:
            raise ValueError(_("Not an option: %s") % ", ".join(unknown))
        return [c for c in field.choices if c in {str(v) for v in values}]
    if kind == CustomFieldType.URL:
        text = str(raw).strip()
        try:
            URLValidator(schemes=["http", "https"])(text)
        except ValidationError:
            raise ValueError(_("Enter a web address starting with http:// or https://.")) from None
        return text
    raise ValueError(_("Unknown field type."))


def clean_custom_values(
    entity: str,
    values: dict[str, Any] | None,
    *,
    existing: dict[str, Any] | None = None,
    fields: list[CustomField] | None = None,
) -> dict[str, Any]:
    """Validate ``values`` against the fields of ``entity`` and merge them into ``existing``.

    Keys not defined (or inactive) are errors, not ignored; a value of ``None`` or "" clears
    the field. Required fields must end up with a value. Values of fields an administrator
    has since deactivated are kept as they are. ``fields``: the entity's active fields
    (``custom_fields_for``) when the caller has them already (bulk writes: one query a batch).
    """
    fields_by_key = {f.key: f for f in (custom_fields_for(entity) if fields is None else fields)}
    result = dict(existing or {})
    errors: dict[str, list[str]] = {}
    for key, raw in (values or {}).items():
        field = fields_by_key.get(key)
        if field is None:
            errors[f"custom.{key}"] = [_("There is no custom field “%s”.") % key]
            continue
        try:
            value = _clean_one(field, raw)
        except ValueError as exc:
            errors[f"custom.{key}"] = [str(exc)]
            continue
        if value is None:
            result.pop(key, None)
        else:
            result[key] = value
    for key, field in fields_by_key.items():
        if field.required and result.get(key) in (None, "", []) and f"custom.{key}" not in errors:
            errors[f"custom.{key}"] = [_("%s is required.") % field.label]
    if errors:
        raise ValidationError(errors)
    return result


def display_value(field: CustomField, value: Any) -> str:
    """A value as people read it: dates and money in the active language, yes/no in words."""
    if value in (None, "", []):
        return ""
    if field.type == CustomFieldType.BOOLEAN:
        return _("Yes") if value else _("No")
    if field.type == CustomFieldType.DATE:
        try:
            return date_format(dt.date.fromisoformat(value), "SHORT_DATE_FORMAT")
        except (TypeError, ValueError):
            return str(value)
    if field.type == CustomFieldType.MULTI_CHOICE:
        return ", ".join(value) if isinstance(value, list) else str(value)
    if field.type == CustomFieldType.MONEY:
        return format_money(value)
    return str(value)


def custom_cells(record: Any, fields: list[CustomField]) -> list[str]:
    """The record's values of ``fields`` for a list row or CSV line (export form for CSV)."""
    values = getattr(record, "custom", None) or {}
    cells = []
    for field in fields:
        value = values.get(field.key)
        if isinstance(value, list):
            cells.append(", ".join(value))
        elif isinstance(value, bool):
            cells.append(_("Yes") if value else _("No"))
        else:
            cells.append("" if value is None else str(value))
    return cells


def custom_columns(entity: str) -> list[CustomField]:
    return custom_fields_for(entity)


def custom_display(record: Any, entity: str) -> list[tuple[str, str, CustomField]]:
    """(label, shown value, field) for each active field with a value, for detail pages."""
    values = getattr(record, "custom", None) or {}
    rows = []
    for field in custom_fields_for(entity):
        shown = display_value(field, values.get(field.key))
        if shown:
            rows.append((field.label, shown, field))
    return rows


def filter_by_custom(queryset: QuerySet, entity: str, params) -> QuerySet:
    """Apply ``cf_<key>=value`` filters from a query string (``cf_<key>_min``/``_max`` for
    numbers, money and dates). Unknown keys and unparsable values are ignored: a list filter
    never errors."""
    for field in custom_fields_for(entity):
        name = FORM_PREFIX + field.key
        lookup = f"custom__{field.key}"
        raw = (params.get(name) or "").strip().replace("\x00", "")
        if field.type in (CustomFieldType.NUMBER, CustomFieldType.MONEY, CustomFieldType.DATE):
            for suffix, op in (("_min", "gte"), ("_max", "lte"), ("", "exact")):
                bound = (params.get(name + suffix) or "").strip().replace("\x00", "")
                if not bound:
                    continue
                try:
                    value = _clean_one(field, bound)
                except ValueError:
                    continue
                if field.type == CustomFieldType.MONEY:
                    # Stored as decimal strings: compare numerically via the number form.
                    queryset = _money_filter(queryset, lookup, op, Decimal(value))
                else:
                    queryset = queryset.filter(**{f"{lookup}__{op}": value})
            continue
        if not raw:
            continue
        if field.type == CustomFieldType.BOOLEAN:
            try:
                queryset = queryset.filter(**{lookup: _clean_one(field, raw)})
            except ValueError:
                continue
        elif field.type == CustomFieldType.MULTI_CHOICE:
            # The stored list's JSON text contains the quoted option.
            queryset = queryset.filter(**{f"{lookup}__icontains": f'"{raw}"'})
        elif field.type == CustomFieldType.CHOICE:
            queryset = queryset.filter(**{lookup: raw})
        else:
            queryset = queryset.filter(**{f"{lookup}__icontains": raw})
    return queryset


def _money_filter(queryset: QuerySet, lookup: str, op: str, bound: Decimal) -> QuerySet:
    from django.db.models import DecimalField
    from django.db.models.fields.json import KeyTextTransform
    from django.db.models.functions import Cast

    key = lookup.split("__", 1)[1]
    annotation = f"_cf_{key}_amount"
    queryset = queryset.annotate(
        **{
            annotation: Cast(
                KeyTextTransform(key, "custom"), DecimalField(max_digits=14, decimal_places=2)
            )
        }
    )
    return queryset.filter(**{f"{annotation}__{op}": bound})


def active_filters(entity: str, params) -> list[tuple[CustomField, str]]:
    """The custom filters a list shows: (field, current value) for choice, yes/no and text."""
    return [
        (field, (params.get(FORM_PREFIX + field.key) or "").strip())
        for field in custom_fields_for(entity)
        if field.type
        in (
            CustomFieldType.CHOICE,
            CustomFieldType.MULTI_CHOICE,
            CustomFieldType.BOOLEAN,
            CustomFieldType.TEXT,
        )
    ]


def form_field(field: CustomField, initial: Any = None) -> forms.Field:
    """The Django form field for a custom field."""
    common = {"label": field.label, "required": field.required, "help_text": field.help_text}
    kind = field.type
    if kind == CustomFieldType.NUMBER:
        return forms.DecimalField(**common, initial=initial)
    if kind == CustomFieldType.MONEY:
        return forms.DecimalField(**common, decimal_places=2, initial=initial)
    if kind == CustomFieldType.DATE:
        return forms.DateField(
            **common, initial=initial, widget=forms.DateInput(attrs={"type": "date"})
        )
    if kind == CustomFieldType.BOOLEAN:
        common["required"] = False  # an unticked box is a "no", not a missing value
        return forms.BooleanField(**common, initial=bool(initial))
    if kind == CustomFieldType.CHOICE:
        return forms.ChoiceField(
            **common, initial=initial, choices=[("", "—"), *((c, c) for c in field.choices)]
        )
    if kind == CustomFieldType.MULTI_CHOICE:
        return forms.MultipleChoiceField(
            **common,
            initial=initial or [],
            choices=[(c, c) for c in field.choices],
            widget=forms.CheckboxSelectMultiple,
        )
    if kind == CustomFieldType.URL:
        return forms.URLField(**common, initial=initial, assume_scheme="https")
    return forms.CharField(**common, initial=initial, max_length=MAX_TEXT)


class CustomFieldsFormMixin:
    """Adds the active custom fields of a record type to a form, named ``cf_<key>``."""

    custom_entity: str | None = None

    def add_custom_fields(self, entity: str, initial: dict[str, Any] | None = None) -> None:
        self.custom_entity = entity
        self._custom_defs = custom_fields_for(entity)
        for field in self._custom_defs:
            value = (initial or {}).get(field.key)
            self.fields[FORM_PREFIX + field.key] = form_field(field, value)
        # Re-apply Bootstrap classes to the new widgets.
        for name in (FORM_PREFIX + f.key for f in self._custom_defs):
            widget = self.fields[name].widget
            if isinstance(widget, forms.CheckboxInput):
                css = "form-check-input"
            elif isinstance(widget, forms.CheckboxSelectMultiple):
                continue
            elif isinstance(widget, forms.Select):
                css = "form-select"
            else:
                css = "form-control"
            widget.attrs["class"] = css

    def custom_field_names(self) -> list[str]:
        return [FORM_PREFIX + f.key for f in getattr(self, "_custom_defs", [])]

    def custom_values(self) -> dict[str, Any]:
        """The cleaned values keyed by field key (empty ones as ``None``, which clears)."""
        values = {}
        for field in getattr(self, "_custom_defs", []):
            value = self.cleaned_data.get(FORM_PREFIX + field.key)
            if field.type == CustomFieldType.BOOLEAN:
                values[field.key] = bool(value)
            elif value in ("", [], None):
                values[field.key] = None
            else:
                values[field.key] = value
        return values
