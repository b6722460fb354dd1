"""API route for the figures per sales channel."""

from decimal import Decimal
from typing import Annotated

from django.http import HttpRequest
from django.utils import timezone
from ninja import Field, Router, Schema

from kreis.core.api_support import PROBLEM_RESPONSES
from kreis.sales.channels.queries import channel_figures
from kreis.sales.models import PeriodKind
from kreis.sales.periods import period_containing, period_from_key

router = Router(tags=["sales management"])

PeriodKey = Annotated[str, Field(pattern=r"^\d{4}(-(Q[1-4]|0[1-9]|1[0-2]))?$")]


class SalesChannelFiguresOut(Schema):
    channel: str
    label: str
    revenue: Decimal
    deals_won: int
    deals_lost: int
    won_amount: Decimal
    win_rate_percent: Decimal | None
    average_deal_size: Decimal | None


@router.get(
    "/sales/channels",
    response={200: list[SalesChannelFiguresOut], **PROBLEM_RESPONSES},
    summary="Revenue, deals won, win rate and average deal size per channel in a period",
)
def channel_list(request: HttpRequest, period: PeriodKey | None = None):
    p = (
        period_from_key(period)
        if period
        else period_containing(timezone.localdate(), PeriodKind.YEAR)
    )
    return [
        {
            "channel": r.code,
            "label": r.label,
            "revenue": r.revenue,
            "deals_won": r.won,
            "deals_lost": r.lost,
            "won_amount": r.won_amount,
            "win_rate_percent": r.win_rate,
            "average_deal_size": r.average_deal,
        }
        for r in channel_figures(user=request.auth, period=p)
    ]
