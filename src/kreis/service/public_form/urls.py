"""Public routes: no sign-in (tests/core/test_route_access.py lists /complaint/ as public)."""

from django.urls import path

from kreis.service.public_form import views

app_name = "complaint"

urlpatterns = [
    path("", views.complaint_form, name="form"),
    path("embed/", views.complaint_form, {"embed": True}, name="embed"),
    path("embed.js", views.embed_script, name="embed_js"),
]
