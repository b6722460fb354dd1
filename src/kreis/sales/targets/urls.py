from django.urls import path

from kreis.sales.targets import views

app_name = "targets"

urlpatterns = [
    path("", views.target_list, name="list"),
    path("team/", views.target_team, name="team"),
    path("new/", views.target_create, name="create"),
    path("export.csv", views.target_export, name="export"),
    path("import/", views.target_import, name="import"),
    path("<int:pk>/", views.target_detail, name="detail"),
    path("<int:pk>/edit/", views.target_edit, name="edit"),
    path("<int:pk>/delete/", views.target_delete, name="delete"),
]
