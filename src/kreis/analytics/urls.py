from django.urls import path  # noqa: F401

from kreis.analytics.channel_metrics import channel_urlpatterns
from kreis.analytics.customer.views import party_urlpatterns
from kreis.analytics.kpis.views import kpis_urlpatterns
from kreis.analytics.margin.views import margin_urlpatterns
from kreis.analytics.reports.views import pages_urlpatterns
from kreis.analytics.runs.views import runs_urlpatterns
from kreis.analytics.scoring.views import scoring_urlpatterns

app_name = "analytics"

# Each topic's views add their patterns here.
urlpatterns: list = []
urlpatterns += runs_urlpatterns
urlpatterns += party_urlpatterns
urlpatterns += margin_urlpatterns
urlpatterns += scoring_urlpatterns
urlpatterns += pages_urlpatterns
urlpatterns += kpis_urlpatterns
urlpatterns += channel_urlpatterns
