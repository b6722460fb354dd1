"""Lead management in the Django admin: each part registers its models in its own admin
module, imported here."""

import kreis.marketing.campaigns.admin  # noqa: E402,F401
import kreis.marketing.consent.admin  # noqa: E402,F401
import kreis.marketing.handoff.admin  # noqa: E402,F401
import kreis.marketing.offers.admin  # noqa: E402,F401
import kreis.marketing.predictive.admin  # noqa: E402,F401
import kreis.marketing.relationships.admin  # noqa: E402,F401
import kreis.marketing.segments.admin  # noqa: E402,F401
import kreis.marketing.tracking.admin  # noqa: E402,F401
import kreis.marketing.webforms.admin  # noqa: E402,F401
