"""Improvement actions and root causes (included into kreis.service.urls, namespace service)."""

from django.urls import path

from kreis.service.improvement import views

urlpatterns = [
    path("improvement-actions/", views.action_list, name="action_list"),
    path("improvement-actions/new/", views.action_create, name="action_create"),
    path("improvement-actions/<int:pk>/", views.action_detail, name="action_detail"),
    path("improvement-actions/<int:pk>/edit/", views.action_edit, name="action_edit"),
    path("root-causes/<int:pk>/", views.root_cause_detail, name="root_cause"),
]
