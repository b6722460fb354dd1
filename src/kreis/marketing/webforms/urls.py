"""Staff pages of web forms, under /marketing/forms/."""

from django.urls import path

from kreis.marketing.webforms import views

app_name = "webforms"

urlpatterns = [
    path("", views.form_list, name="list"),
    path("new/", views.form_create, name="create"),
    path("<int:pk>/", views.form_detail, name="detail"),
    path("<int:pk>/edit/", views.form_edit, name="edit"),
    path("<int:pk>/delete/", views.form_delete, name="delete"),
    path(
        "<int:pk>/submissions/<int:submission_pk>/retry/",
        views.submission_retry,
        name="submission-retry",
    ),
    path("<int:pk>/submissions.csv", views.submissions_export, name="export"),
]
