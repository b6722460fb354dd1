from django.urls import include, path

from kreis.core import manage_views, views

app_name = "core"

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("search/", views.search, name="search"),
    path("notifications/", views.notifications, name="notifications"),
    path("notifications/read/", views.notification_read, name="notifications_read_all"),
    path("notifications/<int:pk>/read/", views.notification_read, name="notification_read"),
    path("language/", views.set_language, name="set_language"),
    path("me/", views.profile, name="profile"),
    path("me/api-keys/", views.api_keys, name="api_keys"),
    path("me/api-keys/<int:pk>/revoke/", views.api_key_revoke, name="api_key_revoke"),
    path("manage/users/", manage_views.user_list, name="user_list"),
    path("manage/users/new/", manage_views.user_create, name="user_create"),
    path("manage/users/<int:pk>/", manage_views.user_edit, name="user_edit"),
    path("manage/roles/", manage_views.role_list, name="role_list"),
    path("manage/custom-fields/", manage_views.custom_field_list, name="custom_field_list"),
    path("manage/custom-fields/new/", manage_views.custom_field_edit, name="custom_field_create"),
    path(
        "manage/custom-fields/<int:pk>/", manage_views.custom_field_edit, name="custom_field_edit"
    ),
    path("me/views/", manage_views.saved_view_create, name="saved_view_create"),
    path("me/views/<int:pk>/delete/", manage_views.saved_view_delete, name="saved_view_delete"),
    path("teams/", manage_views.team_list, name="team_list"),
    path("teams/new/", manage_views.team_create, name="team_create"),
    path("teams/<int:pk>/", manage_views.team_detail, name="team_detail"),
    path("teams/<int:pk>/members/", manage_views.team_member_add, name="team_member_add"),
    path(
        "teams/<int:pk>/members/<int:user_pk>/remove/",
        manage_views.team_member_remove,
        name="team_member_remove",
    ),
    path("teams/<int:pk>/delete/", manage_views.team_delete, name="team_delete"),
    path("competencies/", include("kreis.core.competencies.urls")),
]
