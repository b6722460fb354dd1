from django.urls import path

from kreis.pricing.quotes import public

app_name = "quote_public"

urlpatterns = [
    path("<str:token>/", public.respond, name="respond"),
    path("<str:token>/pdf/", public.pdf, name="pdf"),
]
