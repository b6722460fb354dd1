"""The complaint analysis (included into kreis.service.urls, namespace service)."""

from django.urls import path

from kreis.service.analysis import views

urlpatterns = [
    path("analysis/", views.analysis_page, name="analysis"),
    path("analysis/report/", views.analysis_report, name="analysis_report"),
    path("analysis/subscription/", views.subscription, name="analysis_subscription"),
    path("analysis/reports/<int:pk>/", views.archived_report, name="analysis_archived_report"),
]
