from django.urls import path

from kreis.leads import views

app_name = "leads"

urlpatterns = [
    path("", views.lead_list, name="list"),
    path("new/", views.lead_create, name="create"),
    path("duplicates/", views.lead_duplicates, name="duplicates"),
    path("party-lookup/", views.party_lookup, name="party_lookup"),
    path("export.csv", views.lead_export, name="export"),
    path("export.<str:fmt>", views.lead_export, name="export_as"),
    path("bulk/", views.lead_bulk, name="bulk"),
    path("<int:pk>/", views.lead_detail, name="detail"),
    path("<int:pk>/edit/", views.lead_edit, name="edit"),
    path("<int:pk>/delete/", views.lead_delete, name="delete"),
    path("<int:pk>/status/", views.lead_status, name="status"),
    path("<int:pk>/convert/", views.lead_convert, name="convert"),
]
