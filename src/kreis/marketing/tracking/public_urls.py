"""Public addresses of website tracking (no sign-in): /t/kreis.js and /t/collect."""

from django.urls import path

from kreis.marketing.tracking import public

app_name = "tracking_public"

urlpatterns = [
    path("kreis.js", public.snippet, name="snippet"),
    path("collect", public.collect, name="collect"),
]
