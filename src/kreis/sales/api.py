"""API routes of sales."""

from ninja import Router

router = Router(tags=["sales"])
