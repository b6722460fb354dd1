"""The public download link of a content offer (no sign-in): /download/<token>/."""

from django.urls import path

from kreis.marketing.offers import public

app_name = "offers_public"

urlpatterns = [path("<str:token>/", public.download, name="download")]
