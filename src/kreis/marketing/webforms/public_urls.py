"""Public routes of web-to-lead forms: no sign-in (tests/core/test_route_access.py lists /f/ as
public)."""

from django.urls import path

from kreis.marketing.webforms import public

app_name = "webform_public"

urlpatterns = [
    path("<slug:key>/", public.form_page, name="form"),
    path("<slug:key>/embed/", public.form_page, {"embed": True}, name="embed"),
    path("<slug:key>/embed.js", public.embed_script, name="embed_js"),
    path("<slug:key>/submit", public.submit_endpoint, name="submit"),
]
