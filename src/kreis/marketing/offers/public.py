"""The public download link of a content offer (no sign-in): ``/download/<token>/``."""

from __future__ import annotations

from django.http import FileResponse, HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from kreis.marketing.offers import services


@never_cache
@require_http_methods(["GET", "HEAD"])
def download(request: HttpRequest, token: str) -> HttpResponse:
    """``/download/<token>/``: the offer's file as an attachment, counted; an expired or
    unknown link gets a page that says so."""
    found, state = services.download_for_token(token)
    if state != services.LinkState.VALID:
        return render(
            request,
            "marketing/offers/link_invalid.html",
            {"state": state, "offer": found.offer if found else None},
            status=410 if state == services.LinkState.EXPIRED else 404,
        )
    if request.method == "GET":
        services.download_open(found)
    offer = found.offer
    response = FileResponse(
        offer.file.open("rb"),
        as_attachment=True,
        filename=offer.filename,
        content_type=offer.content_type,
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Referrer-Policy"] = "no-referrer"
    return response
