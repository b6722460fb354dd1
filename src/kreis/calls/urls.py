from django.urls import path

from kreis.calls import views

app_name = "calls"

urlpatterns = [
    path("", views.list_index, name="list"),
    path("log/", views.call_log, name="log"),
    path("lists/new/", views.list_create, name="create"),
    path("lists/<int:pk>/", views.list_detail, name="detail"),
    path("lists/<int:pk>/edit/", views.list_edit, name="edit"),
    path("lists/<int:pk>/work/", views.list_work, name="work"),
    path("lists/<int:pk>/export.csv", views.list_export, name="export"),
    path("entries/<int:pk>/log/", views.entry_log, name="entry_log"),
    path("entries/<int:pk>/release/", views.entry_release, name="entry_release"),
]
