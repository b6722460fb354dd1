"""Scoring right after a web form (connected in ``AnalyticsConfig.ready``).

Lead management (``kreis.marketing``) may not import analytics, so the step that needs both
lives here: when a web form created or updated a lead (``kreis.marketing.signals
.form_submitted``), the lead is scored with the primary rule model at once
(``engine.score_leads_now``), then lead management gives it its predicted score and checks the
MQL threshold (``kreis.marketing.predictive.services.refresh_leads``), which sends
``lead_qualified`` when the lead crossed it — all inside the submission's transaction.
"""

from __future__ import annotations

from kreis.analytics.scoring import engine
from kreis.marketing.predictive import services as predictive


def on_form_submitted(sender, submission, **kwargs) -> None:
    lead_id = getattr(submission, "lead_id", None)
    if lead_id is None:
        return
    engine.score_leads_now([lead_id])
    predictive.refresh_leads([lead_id])


def connect() -> None:
    from kreis.marketing.signals import form_submitted

    form_submitted.connect(on_form_submitted, dispatch_uid="analytics-score-form-lead")
