"""Lead management's pages under /marketing/ (signed-in staff). The public pages (web forms,
opt-in confirmation, unsubscribe, tracking, downloads) are in the project's urls.py."""

from django.urls import include, path  # noqa: F401 (the parts' includes below)

app_name = "marketing"

urlpatterns: list = [
    path("campaigns/", include("kreis.marketing.campaigns.urls")),
    path("forms/", include("kreis.marketing.webforms.urls")),
    path("tracking/", include("kreis.marketing.tracking.urls")),
    path("offers/", include("kreis.marketing.offers.urls")),
    path("segments/", include("kreis.marketing.segments.urls")),
    path("relationship-types/", include("kreis.marketing.relationships.urls")),
    path("scoring/", include("kreis.marketing.predictive.urls")),
    path("consent/", include("kreis.marketing.consent.urls")),
    path("handoff/", include("kreis.marketing.handoff.urls")),
]
