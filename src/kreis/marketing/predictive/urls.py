from django.urls import path

from kreis.marketing.predictive import views

app_name = "scoring"

urlpatterns = [
    path("", views.scoring_page, name="page"),
    path("train/", views.scoring_train, name="train"),
    path("settings/", views.scoring_settings, name="settings"),
]
