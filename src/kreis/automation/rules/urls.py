from django.urls import path

from kreis.automation.rules import views

app_name = "rules"

urlpatterns = [
    path("rules/", views.rule_list, name="rule_list"),
    path("rules/new/", views.rule_create, name="rule_create"),
    path("rules/export/", views.rules_export, name="rules_export"),
    path("rules/import/", views.rules_import, name="rules_import"),
    path("rules/<int:pk>/", views.rule_detail, name="rule_detail"),
    path("rules/<int:pk>/edit/", views.rule_edit, name="rule_edit"),
    path("rules/<int:pk>/try/", views.rule_try, name="rule_try"),
    path("rules/<int:pk>/toggle/", views.rule_toggle, name="rule_toggle"),
    path("rules/<int:pk>/delete/", views.rule_delete, name="rule_delete"),
    path("rules/<int:pk>/rotate/", views.rule_rotate_secret, name="rule_rotate"),
    path("rules/<int:pk>/export/", views.rule_export, name="rule_export"),
    path("hooks/<str:token>/", views.inbound, name="inbound"),
]
