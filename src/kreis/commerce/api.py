"""API routes of commerce."""

from ninja import Router

router = Router(tags=["commerce"])
