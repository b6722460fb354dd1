from django.urls import path

from kreis.social import views

app_name = "social"

urlpatterns = [
    path("", views.mention_list, name="mention_list"),
    path("mentions/<int:pk>/", views.mention_detail, name="mention_detail"),
    path("mentions/<int:pk>/lead/", views.mention_lead, name="mention_lead"),
    path("mentions/<int:pk>/case/", views.mention_case, name="mention_case"),
    path("mentions/<int:pk>/reply/", views.mention_reply, name="mention_reply"),
    path("keywords/", views.keyword_list, name="keyword_list"),
    path("keywords/<int:pk>/edit/", views.keyword_edit, name="keyword_edit"),
    path("keywords/<int:pk>/toggle/", views.keyword_toggle, name="keyword_toggle"),
    path("keywords/<int:pk>/delete/", views.keyword_delete, name="keyword_delete"),
    path("sources/", views.source_list, name="source_list"),
    path("sources/new/", views.source_create, name="source_create"),
    path("sources/<int:pk>/", views.source_detail, name="source_detail"),
    path("sources/<int:pk>/edit/", views.source_edit, name="source_edit"),
    path("sources/<int:pk>/delete/", views.source_delete, name="source_delete"),
    path("sources/<int:pk>/poll/", views.source_poll, name="source_poll"),
    path("sources/<int:pk>/rotate/", views.source_rotate, name="source_rotate"),
    path("party/<int:pk>/", views.party_panel, name="party_panel"),
    path("hooks/<str:token>/", views.webhook, name="webhook"),  # public: signed webhook
]
