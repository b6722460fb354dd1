from django.urls import include, path

from kreis.migration import views

app_name = "migration"

urlpatterns = [
    path("", views.import_list, name="list"),
    path("new/", views.import_upload, name="upload"),
    path("<int:pk>/", views.import_detail, name="detail"),
    path("<int:pk>/mapping/", views.import_mapping, name="mapping"),
    path("<int:pk>/check/", views.import_check, name="check"),
    path("<int:pk>/check/cancel/", views.import_check_cancel, name="check_cancel"),
    path("<int:pk>/rows/<int:row>/", views.import_fix_row, name="fix_row"),
    path("<int:pk>/start/", views.import_start, name="start"),
    path("<int:pk>/cancel/", views.import_cancel, name="cancel"),
    path("<int:pk>/errors.csv", views.import_errors, name="errors"),
    path("<int:pk>/undo/", views.import_undo, name="undo"),
    path("connectors/", include("kreis.migration.connectors.urls")),
]
