from django.urls import path

from kreis.marketing.tracking import views

app_name = "tracking"

urlpatterns = [
    path("", views.overview, name="overview"),
    path("settings/", views.settings_edit, name="settings"),
    path("visitors/<int:pk>/", views.visitor_detail, name="visitor"),
    path("leads/<int:pk>/visits/", views.lead_visits, name="lead_visits"),
    path("parties/<int:pk>/visits/", views.party_visits, name="party_visits"),
]
