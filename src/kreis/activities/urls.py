from django.urls import path

from kreis.activities import ical, views

app_name = "activities"

urlpatterns = [
    path("", views.activity_list, name="list"),
    path("export.csv", views.activity_export, name="export"),
    path("export.<str:fmt>", views.activity_export, name="export_as"),
    path("bulk/", views.activity_bulk, name="bulk"),
    path("my-day/", views.my_day, name="my_day"),
    path("timeline/", views.timeline, name="timeline"),
    path("lookup/parties/", views.party_lookup, name="party_lookup"),
    path("calendar.ics", ical.calendar_feed, name="calendar"),
    path("new/<str:kind>/", views.activity_create, name="create"),
    path("<int:pk>/", views.activity_detail, name="detail"),
    path("<int:pk>/edit/", views.activity_edit, name="edit"),
    path("<int:pk>/delete/", views.activity_delete, name="delete"),
    path("<int:pk>/complete/", views.activity_complete, name="complete"),
    path("<int:pk>/reopen/", views.activity_reopen, name="reopen"),
    path("<int:pk>/ical", ical.meeting_ics, name="ical"),
]
