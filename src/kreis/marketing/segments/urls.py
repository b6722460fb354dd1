"""Segment pages under /marketing/segments/."""

from django.urls import path

from kreis.marketing.segments import views

app_name = "segments"

urlpatterns = [
    path("", views.segment_list, name="list"),
    path("new/", views.segment_create, name="create"),
    path("preview/", views.segment_preview, name="preview"),
    path("from-view/", views.segment_from_view, name="from_view"),
    path("<int:pk>/", views.segment_detail, name="detail"),
    path("<int:pk>/edit/", views.segment_edit, name="edit"),
    path("<int:pk>/delete/", views.segment_delete, name="delete"),
    path("<int:pk>/count/", views.segment_count, name="count"),
    path("<int:pk>/refresh/", views.segment_refresh, name="refresh"),
    path("<int:pk>/members/add/", views.segment_members_add, name="members_add"),
    path("<int:pk>/members/remove/", views.segment_members_remove, name="members_remove"),
    path("<int:pk>/export.<str:fmt>", views.segment_export, name="export"),
]
