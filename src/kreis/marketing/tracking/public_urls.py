"""Public addresses of website tracking (no sign-in): /t/kreis.js and /t/collect."""

from django.urls import path

from kreis.marketing.tracking import views

app_name = "tracking_public"

urlpatterns = [
    path("kreis.js", views.snippet, name="snippet"),
    path("collect", views.collect, name="collect"),
]
