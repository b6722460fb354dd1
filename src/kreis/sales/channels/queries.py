"""Figures per sales channel (DOMAIN.md §6) in a period, over what the user may see:

- **revenue**: net revenue of order transactions dated in the period, returns subtracted, by
  the transaction's channel (free text read by ``normalize.channel_of``);
- **deals won** and **won amount**: deals closed won in the period, by the deal's channel;
- **win rate** = won ÷ (won + lost) among the deals closed in the period;
- **average deal size** = won amount ÷ deals won.

Deals and transactions without a (known) channel are shown as "no channel". Two grouped
queries, whatever the number of records.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Count, Sum
from django.utils import timezone

from kreis.commerce.models import SalesChannel, Transaction, TransactionKind
from kreis.commerce.queries import signed
from kreis.core.models import User
from kreis.core.queries import visible_records
from kreis.sales.channels.normalize import channel_of
from kreis.sales.models import Deal, StageKind
from kreis.sales.periods import Period

CENT = Decimal("0.01")
NONE = "none"


@dataclass
class ChannelFigures:
    code: str
    label: str
    revenue: Decimal = Decimal(0)
    won: int = 0
    lost: int = 0
    won_amount: Decimal = Decimal(0)

    @property
    def win_rate(self) -> Decimal | None:
        closed = self.won + self.lost
        return None if not closed else (Decimal(self.won) * 100 / closed).quantize(Decimal("0.1"))

    @property
    def average_deal(self) -> Decimal | None:
        return None if not self.won else (self.won_amount / self.won).quantize(CENT)


def channel_figures(*, user: User, period: Period) -> list[ChannelFigures]:
    from django.utils.translation import gettext as _

    figures = {code: ChannelFigures(code, str(label)) for code, label in SalesChannel.choices}
    figures[NONE] = ChannelFigures(NONE, _("No channel"))
    txns = (
        visible_records(Transaction.objects.filter(deleted_at__isnull=True), user=user)
        .filter(
            kind__in=(TransactionKind.ORDER, TransactionKind.RETURN),
            date__range=(period.start, period.end),
        )
        .values_list("channel")
        .annotate(total=Sum(signed("net_revenue")))
        .order_by()
    )
    revenue: dict[str, Decimal] = defaultdict(Decimal)
    for text, total in txns:
        revenue[channel_of(text) or NONE] += Decimal(total or 0)
    start = timezone.make_aware(dt.datetime.combine(period.start, dt.time.min))
    end = timezone.make_aware(dt.datetime.combine(period.end + dt.timedelta(days=1), dt.time.min))
    deals = (
        visible_records(Deal.objects.filter(deleted_at__isnull=True), user=user)
        .filter(
            stage__kind__in=(StageKind.WON, StageKind.LOST),
            closed_at__gte=start,
            closed_at__lt=end,
        )
        .values_list("channel", "stage__kind")
        .annotate(n=Count("pk"), total=Sum("amount"))
        .order_by()
    )
    for code, kind, n, total in deals:
        row = figures[code or NONE]
        if kind == StageKind.WON:
            row.won += n
            row.won_amount += Decimal(total or 0)
        else:
            row.lost += n
    for code, value in revenue.items():
        figures[code].revenue = value.quantize(CENT)
    for row in figures.values():
        row.won_amount = row.won_amount.quantize(CENT)
    return list(figures.values())
