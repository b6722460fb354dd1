from django.urls import path

from kreis.channels import views

app_name = "channels"

urlpatterns = [
    path("party/<int:pk>/", views.party_panel, name="party_panel"),
    path("party/<int:pk>/edit/", views.preference_edit, name="preference_edit"),
]
