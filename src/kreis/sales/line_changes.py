"""Who hears that a deal's line items changed.

Other domain apps keep state that rests on a deal's lines — pricing's pending request to
approve the lines' discounts, which no longer asks about the lines the deal has. Those apps
import sales, so sales cannot import them (dependency direction, no cycles): each registers a
listener in its ``AppConfig.ready`` and ``deal_update`` calls every listener inside its own
transaction, after the new lines are saved, when the lines really changed. A failing listener
undoes the change: what rests on the lines never disagrees with them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from decimal import Decimal
from typing import Any, Protocol

from kreis.core.models import User
from kreis.sales.models import Deal


class LinesChanged(Protocol):
    def __call__(self, *, actor: User | None, deal: Deal) -> Any: ...


LISTENERS: list[Callable[..., Any]] = []


def register_lines_changed(listener: LinesChanged) -> None:
    """Call ``listener(actor=, deal=)`` whenever ``deal_update`` changes a deal's lines."""
    if listener not in LISTENERS:
        LISTENERS.append(listener)


def lines_signature(lines: Iterable[Any]) -> list[tuple[int, Decimal, Decimal, Decimal]]:
    """What a change of the lines means here: products, quantities, prices and discounts, in
    any order (a description alone or the order of the lines changes nothing of the price).
    Decimals compare by value: 2.000 from the database equals 2 from a form."""
    return sorted(
        (
            line.product_id or 0,
            Decimal(line.quantity),
            Decimal(line.unit_price),
            Decimal(line.discount or 0),
        )
        for line in lines
    )


def announce_lines_changed(*, actor: User | None, deal: Deal) -> None:
    for listener in LISTENERS:
        listener(actor=actor, deal=deal)
