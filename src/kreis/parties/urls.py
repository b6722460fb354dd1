from django.urls import path

from kreis.parties import views

app_name = "parties"

urlpatterns = [
    path("", views.party_list, name="list"),
    path("new/<str:kind>/", views.party_create, name="create"),
    path("lookup/", views.party_lookup, name="lookup"),
    path("export.csv", views.party_export, name="export"),
    path("export.<str:fmt>", views.party_export, name="export_as"),
    path("bulk/", views.party_bulk, name="bulk"),
    path("duplicates/", views.party_duplicates, name="duplicates"),
    path("<int:pk>/merge/", views.party_merge, name="merge"),
    path("merges/<int:pk>/undo/", views.party_merge_undo, name="merge_undo"),
    path("<int:pk>/", views.party_detail, name="detail"),
    path("<int:pk>/edit/", views.party_edit, name="edit"),
    path("<int:pk>/delete/", views.party_delete, name="delete"),
    path("<int:pk>/graph.json", views.party_graph, name="graph"),
    path("<int:pk>/employments/", views.employment_add, name="employment_add"),
    path(
        "<int:pk>/employments/<int:employment_pk>/remove/",
        views.employment_remove,
        name="employment_remove",
    ),
    path("<int:pk>/relationships/", views.relationship_add, name="relationship_add"),
    path(
        "<int:pk>/relationships/<int:relationship_pk>/remove/",
        views.relationship_remove,
        name="relationship_remove",
    ),
]
