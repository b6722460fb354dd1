from django.urls import path  # noqa: F401

from kreis.analytics.views import pages_urlpatterns
from kreis.analytics.views_margin import margin_urlpatterns
from kreis.analytics.views_party import party_urlpatterns
from kreis.analytics.views_runs import runs_urlpatterns
from kreis.analytics.views_scoring import scoring_urlpatterns

app_name = "analytics"

# Each topic's views add their patterns here.
urlpatterns: list = []
urlpatterns += runs_urlpatterns
urlpatterns += party_urlpatterns
urlpatterns += margin_urlpatterns
urlpatterns += scoring_urlpatterns
urlpatterns += pages_urlpatterns
