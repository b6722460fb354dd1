from django.contrib import admin
from django.urls import include, path

from kreis.api import api
from kreis.core.views import healthz

admin.site.site_header = "Kreis"
handler400 = "kreis.core.views.bad_request"

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("accounts/", include("allauth.urls")),
    path("api/v1/", api.urls),
    path("django-admin/", admin.site.urls),
    path("parties/", include("kreis.parties.urls")),
    path("leads/", include("kreis.leads.urls")),
    path("deals/", include("kreis.sales.urls")),
    path("activities/", include("kreis.activities.urls")),
    path("surveys/", include("kreis.feedback.urls")),
    path("cases/", include("kreis.service.urls")),
    path("mail/", include("kreis.comms.urls")),
    path("marketing/", include("kreis.marketing.urls")),
    path("mailings/", include("kreis.mailings.urls")),
    path("complaint/", include("kreis.service.public_form.urls")),  # public: no sign-in
    path("consent/", include("kreis.marketing.consent.public_urls")),  # public: opt-in links
    path("f/", include("kreis.marketing.webforms.public_urls")),  # public: web-to-lead forms
    path("t/", include("kreis.marketing.tracking.public_urls")),  # public: tracking snippet
    path("download/", include("kreis.marketing.offers.public_urls")),  # public: offer downloads
    path("commerce/", include("kreis.commerce.urls")),
    path("pricing/", include("kreis.pricing.urls")),
    path("q/", include("kreis.pricing.public_urls")),  # public: a quote's acceptance link
    path("analytics/", include("kreis.analytics.urls")),
    path("playbooks/", include("kreis.playbooks.urls")),
    path("social/", include("kreis.social.urls")),  # hooks/ is public
    path("channels/", include("kreis.channels.urls")),
    path("inbox/", include("kreis.inbox.urls")),
    path("calls/", include("kreis.calls.urls")),
    path("integration/", include("kreis.automation.urls")),
    path("automation/", include("kreis.automation.rules.urls")),  # rules; hooks/ is public
    path("imports/", include("kreis.migration.urls")),
    path("manage/backups/", include("kreis.migration.backups.urls")),
    path("", include("kreis.core.urls")),
]
