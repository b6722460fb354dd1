from django.urls import path

from kreis.mailings import views

app_name = "mailings"

urlpatterns = [
    path("", views.mailing_list, name="list"),
    path("new/", views.mailing_create, name="create"),
    path("<int:pk>/", views.mailing_detail, name="detail"),
    path("<int:pk>/edit/", views.mailing_edit, name="edit"),
    path("<int:pk>/preview/", views.mailing_preview, name="preview"),
    path("<int:pk>/sample/", views.mailing_sample, name="sample"),
    path("<int:pk>/start/", views.mailing_start, name="start"),
    path("<int:pk>/pause/", views.mailing_pause, name="pause"),
    path("<int:pk>/resume/", views.mailing_resume, name="resume"),
    path("<int:pk>/cancel/", views.mailing_cancel, name="cancel"),
    path("<int:pk>/delete/", views.mailing_delete, name="delete"),
    path("suppressions/", views.suppression_list, name="suppressions"),
    path("suppressions/import/", views.suppression_import, name="suppression_import"),
    path("suppressions/<int:pk>/delete/", views.suppression_delete, name="suppression_delete"),
]
