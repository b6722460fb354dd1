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
