"""Consent pages under /marketing/consent/ (names in the ``marketing`` namespace)."""

from django.urls import path

from kreis.marketing.consent import views

urlpatterns = [
    path("texts/", views.texts, name="consent_texts"),
    path("texts/new/", views.text_new, name="consent_text_new"),
    path("texts/<int:pk>/", views.text_detail, name="consent_text"),
    path("<int:pk>/withdraw/", views.withdraw, name="consent_withdraw"),
    path("party/<int:pk>/", views.history_panel, {"kind": "party"}, name="consent_party"),
    path("lead/<int:pk>/", views.history_panel, {"kind": "lead"}, name="consent_lead"),
    path("party/<int:pk>/record/", views.record, {"kind": "party"}, name="consent_record_party"),
    path("lead/<int:pk>/record/", views.record, {"kind": "lead"}, name="consent_record_lead"),
]
