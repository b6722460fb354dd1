"""Handoff pages under /marketing/handoff/ (names in the ``marketing`` namespace)."""

from django.urls import path

from kreis.marketing.handoff import views

urlpatterns = [
    path("", views.queue, name="handoff_queue"),
    path("rules/", views.rule_list, name="handoff_rules"),
    path("rules/new/", views.rule_create, name="handoff_rule_create"),
    path("rules/<int:pk>/edit/", views.rule_edit, name="handoff_rule_edit"),
    path("rules/<int:pk>/delete/", views.rule_delete, name="handoff_rule_delete"),
    path("rules/<int:pk>/move/", views.rule_move, name="handoff_rule_move"),
    path("report/", views.report, name="handoff_report"),
    path("settings/", views.settings_page, name="handoff_settings"),
    path("leads/<int:pk>/", views.lead_panel, name="handoff_lead_panel"),
    path("leads/<int:pk>/hand-off/", views.lead_hand_off, name="handoff_lead"),
]
