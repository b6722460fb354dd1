"""Relationship type pages under /marketing/relationship-types/."""

from django.urls import path

from kreis.marketing.relationships import views

app_name = "relationships"

urlpatterns = [
    path("", views.type_list, name="list"),
    path("new/", views.type_create, name="create"),
    path("apply/", views.type_apply, name="apply"),
    path("progress/", views.apply_progress, name="progress"),
    path("<int:pk>/", views.type_edit, name="edit"),
    path("<int:pk>/delete/", views.type_delete, name="delete"),
    path("applications/<int:pk>/undo/", views.run_undo, name="run_undo"),
]
