"""Connector pages, included by ``kreis.migration.urls`` under ``connectors/`` (names in the
``migration`` namespace: ``migration:connector_list`` …)."""

from django.urls import path

from kreis.migration.connectors import views

urlpatterns = [
    path("", views.connector_list, name="connector_list"),
    path("new/", views.connector_create, name="connector_create"),
    path("<int:pk>/", views.connector_detail, name="connector_detail"),
    path("<int:pk>/run/", views.connector_run, name="connector_run"),
    path("<int:pk>/delete/", views.connector_delete, name="connector_delete"),
]
