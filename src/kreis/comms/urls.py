from django.urls import path

from kreis.comms import views

app_name = "comms"

urlpatterns = [
    path("", views.message_list, name="list"),
    path("threads/<int:pk>/", views.thread_detail, name="thread"),
    path("messages/<int:pk>/", views.message_detail, name="message"),
    path("messages/<int:pk>/body/", views.message_body, name="message_body"),
    path("messages/<int:pk>/images/", views.message_images, name="message_images"),
    path("attachments/<int:pk>/", views.attachment_download, name="attachment"),
    path("party/<int:pk>/", views.party_panel, name="party_panel"),
    path("accounts/", views.account_list, name="accounts"),
    path("accounts/new/", views.account_create, name="account_create"),
    path("accounts/<int:pk>/", views.account_detail, name="account"),
    path("accounts/<int:pk>/test/", views.account_test, name="account_test"),
    path("accounts/<int:pk>/sync/", views.account_sync, name="account_sync"),
    path("accounts/<int:pk>/progress/", views.account_progress, name="account_progress"),
    path("accounts/<int:pk>/delete/", views.account_delete, name="account_delete"),
    path("accounts/<int:pk>/rules/", views.rule_add, name="rule_add"),
    path("rules/<int:pk>/delete/", views.rule_delete, name="rule_delete"),
    path("compose/", views.compose, name="compose"),
    path("compose/template/", views.template_render, name="template_render"),
    path("templates/", views.template_list, name="templates"),
    path("templates/new/", views.template_edit, name="template_create"),
    path("templates/<int:pk>/", views.template_edit, name="template"),
    path("templates/<int:pk>/delete/", views.template_delete, name="template_delete"),
]
