"""The skills matrix under /competencies/ (included by ``kreis.core.urls``)."""

from django.urls import path

from kreis.core.competencies import views

urlpatterns = [
    path("", views.matrix, name="competency_matrix"),
    path("users/<int:pk>/", views.user_levels, name="competency_user"),
    path("catalogue/", views.catalogue, name="competency_catalogue"),
    path("catalogue/new/", views.competency_create, name="competency_create"),
    path("catalogue/<int:pk>/", views.competency_edit, name="competency_edit"),
    path("catalogue/<int:pk>/delete/", views.competency_delete, name="competency_delete"),
]
