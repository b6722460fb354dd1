from django.urls import path

from kreis.sales.forecast import views

app_name = "forecasting"

urlpatterns = [
    path("", views.forecast_page, name="page"),
    path("submit/", views.forecast_submit, name="submit"),
    path("adjust/", views.forecast_adjust, name="adjust"),
    path("deals/", views.forecast_deals, name="deals"),
]
