"""A field value as JSON, for the previous values bulk writes keep for undo."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any


def json_value(value: Any) -> Any:
    """Decimals as text (exact), dates and times in ISO format, the rest as it is; the
    field's ``to_python`` reads each back."""
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dt.date | dt.datetime | dt.time):
        return value.isoformat()
    return value


def apply_values(instance: Any, values: dict[str, Any]) -> dict[str, Any]:
    """Set ``values`` (field name → value; related objects for foreign keys; ``custom``
    merged into the record's) on ``instance`` where they differ. Returns the previous values
    of the fields that changed, by attname, as JSON (``json_value``)."""
    before: dict[str, Any] = {}
    for name, value in values.items():
        if name == "custom":
            value = {**instance.custom, **value}
        attname = instance._meta.get_field(name).attname
        new = value.pk if attname != name and value is not None else value
        old = getattr(instance, attname)
        if new != old:
            before[attname] = json_value(old)
            setattr(instance, attname, new)
    return before
