"""API routes of activities."""

from ninja import Router

router = Router(tags=["activities"])
