from django.urls import path

from kreis.feedback import views

app_name = "feedback"

urlpatterns = [
    path("", views.survey_list, name="list"),
    path("new/", views.survey_create, name="create"),
    # The public page behind a contact's personal link (no sign-in).
    path("a/<str:token>/", views.answer, name="answer"),
    path("<int:pk>/", views.survey_detail, name="detail"),
    path("<int:pk>/edit/", views.survey_edit, name="edit"),
    path("<int:pk>/delete/", views.survey_delete, name="delete"),
    path("<int:pk>/move/", views.survey_move, name="move"),
    path("<int:pk>/questions/add/", views.question_add, name="question_add"),
    path("<int:pk>/questions/<int:question_pk>/", views.question_edit, name="question_edit"),
    path(
        "<int:pk>/questions/<int:question_pk>/delete/",
        views.question_delete,
        name="question_delete",
    ),
    path("<int:pk>/questions/<int:question_pk>/move/", views.question_move, name="question_move"),
    path("<int:pk>/invite/", views.survey_invite, name="invite"),
    path("<int:pk>/remind/", views.survey_remind, name="remind"),
    path("<int:pk>/enter/", views.response_enter, name="enter"),
    path("<int:pk>/responses/<int:response_pk>/", views.response_detail, name="response"),
    path("<int:pk>/analysis/", views.survey_analysis, name="analysis"),
    path("<int:pk>/analysis.json", views.survey_analysis_json, name="analysis_json"),
    path("<int:pk>/reports/", views.report_create, name="report_create"),
    path("<int:pk>/reports/<int:report_pk>/", views.report_detail, name="report"),
    path("<int:pk>/reports/<int:report_pk>.pdf", views.report_pdf, name="report_pdf"),
]
