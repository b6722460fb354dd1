"""Campaign pages under /marketing/campaigns/ (names in the ``marketing`` namespace)."""

from django.urls import path

from kreis.marketing.campaigns import views

urlpatterns = [
    path("", views.campaign_list, name="campaign_list"),
    path("new/", views.campaign_create, name="campaign_create"),
    path("<int:pk>/", views.campaign_detail, name="campaign_detail"),
    path("<int:pk>/edit/", views.campaign_edit, name="campaign_edit"),
    path("<int:pk>/delete/", views.campaign_delete, name="campaign_delete"),
    path("<int:pk>/costs/", views.cost_add, name="campaign_cost_add"),
    path("<int:pk>/costs/<int:cost_pk>/delete/", views.cost_delete, name="campaign_cost_delete"),
    path("<int:pk>/members/segment/", views.members_add_segment, name="campaign_members_segment"),
    path("<int:pk>/members/mark/", views.members_mark, name="campaign_members_mark"),
    path(
        "<int:pk>/members/<int:member_pk>/remove/",
        views.member_remove,
        name="campaign_member_remove",
    ),
    path("<int:pk>/register/", views.event_register, name="campaign_event_register"),
    path(
        "<int:pk>/members/<int:member_pk>/attend/",
        views.event_attend,
        name="campaign_event_attend",
    ),
]
