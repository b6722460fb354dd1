"""Backup pages under ``/manage/backups/`` (names ``backups:list`` …)."""

from django.urls import path

from kreis.migration.backups import views

app_name = "backups"

urlpatterns = [
    path("", views.backup_list, name="list"),
    path("new/", views.backup_create, name="create"),
    path("<int:pk>/download/", views.backup_download, name="download"),
    path("<int:pk>/delete/", views.backup_delete, name="delete"),
]
