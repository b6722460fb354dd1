from django.urls import path

from kreis.pricing.quotes import public_views

app_name = "quote_public"

urlpatterns = [path("<str:token>/", public_views.respond, name="respond")]
