"""Public routes of consents: no sign-in (the links in marketing mails; tests/core/
test_route_access.py lists /consent/ as public)."""

from django.urls import path

from kreis.marketing.consent import public

app_name = "consent_public"

urlpatterns = [
    path("confirm/<str:token>/", public.confirm, name="confirm"),
    path("unsubscribe/<str:token>/", public.unsubscribe, name="unsubscribe"),
]
