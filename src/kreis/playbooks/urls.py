from django.urls import path

from kreis.playbooks import views

app_name = "playbooks"

urlpatterns = [
    path("", views.playbook_list, name="list"),
    path("new/", views.playbook_create, name="create"),
    path("<int:pk>/", views.playbook_detail, name="detail"),
    path("<int:pk>/edit/", views.playbook_edit, name="edit"),
    path("<int:pk>/delete/", views.playbook_delete, name="delete"),
    path("<int:pk>/advance/", views.playbook_advance, name="advance"),
    path("<int:pk>/steps/add/", views.step_add, name="step_add"),
    path("<int:pk>/steps/<int:step_pk>/", views.step_edit, name="step_edit"),
    path("<int:pk>/steps/<int:step_pk>/delete/", views.step_delete, name="step_delete"),
    path("<int:pk>/steps/<int:step_pk>/move/", views.step_move, name="step_move"),
    path(
        "<int:pk>/enrollments/<int:enrollment_pk>/remove/",
        views.enrollment_remove,
        name="enrollment_remove",
    ),
    path("party/<int:pk>/", views.party_panel, name="party_panel"),
    path("party/<int:pk>/start/", views.party_start, name="party_start"),
]
