"""Predictive lead scoring: training on decided leads, the predicted score, the MQL event."""

from __future__ import annotations

import datetime as dt
import random

import pytest
from django.utils import timezone

from kreis.leads.models import DisqualifyReason, Lead, LeadStatus
from kreis.marketing.models import LeadScoringModel, MarketingSettings, PageVisit, Visitor
from kreis.marketing.predictive import services
from kreis.marketing.signals import lead_qualified

pytestmark = pytest.mark.django_db


def make_history(n: int, *, seed: int = 3) -> None:
    """Decided leads where referrals and pricing-page visits convert, others mostly not."""
    rng = random.Random(seed)
    now = timezone.now()
    visitor = Visitor.objects.create(
        uid=f"v{seed}", consented_at=now, first_seen=now, last_seen=now
    )
    visits = []
    for i in range(n):
        referral = rng.random() < 0.4
        pricing = rng.random() < 0.5
        chance = 0.1 + 0.4 * referral + 0.4 * pricing
        converted = rng.random() < chance
        lead = Lead.objects.create(
            last_name=f"L{i}",
            source="referral" if referral else rng.choice(["fair", "web", "cold call"]),
            status=LeadStatus.CONVERTED if converted else LeadStatus.DISQUALIFIED,
            disqualify_reason="" if converted else DisqualifyReason.NO_NEED,
            converted_at=now if converted else None,
        )
        pages = ["/pricing"] * (3 if pricing else 0) + ["/blog"] * rng.randint(0, 5)
        for path in pages:
            visits.append(
                PageVisit(
                    visitor=visitor,
                    lead=lead,
                    url=f"https://example.com{path}",
                    path=path,
                    at=now - dt.timedelta(days=rng.randint(1, 9)),
                )
            )
    PageVisit.objects.bulk_create(visits)


def test_too_little_history_is_not_used_and_says_why():
    make_history(12)
    row = services.train()
    assert row.usable is False
    assert "12 of 40" in row.message
    assert services.current_model() is None
    lead = Lead.objects.create(last_name="Open", source="referral", score=70)
    assert services.score_leads() == 0
    lead.refresh_from_db()
    assert lead.predicted_score is None
    assert services.effective_score(lead) == (70, "rules")


def test_training_learns_what_converts():
    make_history(240)
    row = services.train()
    assert row.usable, row.message
    assert row.auc > 0.7
    assert row.folds == 5
    assert row.samples == 240
    top = [item["feature"] for item in row.importances[:2]]
    assert set(top) == {"source", "pricing_visits"}
    source = next(item for item in row.importances if item["feature"] == "source")
    assert source["value"] == "referral"
    assert source["direction"] == "+"


def _trained(n: int = 200) -> LeadScoringModel:
    make_history(n)
    row = services.train()
    assert row.usable, row.message
    return row


def test_open_leads_get_a_predicted_score_and_referrals_score_higher():
    _trained()
    now = timezone.now()
    visitor = Visitor.objects.create(uid="open", consented_at=now, first_seen=now, last_seen=now)
    hot = Lead.objects.create(last_name="Hot", source="referral")
    for _k in range(3):
        PageVisit.objects.create(visitor=visitor, lead=hot, url="x", path="/pricing", at=now)
    cold = Lead.objects.create(last_name="Cold", source="cold call")
    done = Lead.objects.create(last_name="Done", status=LeadStatus.DISQUALIFIED)
    assert services.score_leads(now=now) == 2
    hot.refresh_from_db()
    cold.refresh_from_db()
    done.refresh_from_db()
    assert hot.predicted_at == now
    assert cold.predicted_at == now
    assert 0 <= cold.predicted_score < hot.predicted_score <= 100
    assert hot.predicted_score > 50 > cold.predicted_score
    assert done.predicted_score is None
    assert services.effective_score(hot) == (hot.predicted_score, "predicted")


def test_spam_is_not_learnt_from():
    Lead.objects.create(
        last_name="Bot", status=LeadStatus.DISQUALIFIED, disqualify_reason=DisqualifyReason.SPAM
    )
    Lead.objects.create(
        last_name="No", status=LeadStatus.DISQUALIFIED, disqualify_reason=DisqualifyReason.NO_NEED
    )
    row = services.train()
    assert row.samples == 1
    assert row.positives == 0


@pytest.fixture
def qualified_signals():
    received = []

    def receiver(sender, lead, **kwargs):
        received.append(lead.pk)

    lead_qualified.connect(receiver, dispatch_uid="test-predictive-mql")
    yield received
    lead_qualified.disconnect(dispatch_uid="test-predictive-mql")


def test_crossing_the_threshold_qualifies_once(qualified_signals):
    config = MarketingSettings.load()
    config.mql_threshold = 70
    config.save()
    low = Lead.objects.create(last_name="Low", score=69.9)
    high = Lead.objects.create(last_name="High", score=70)
    closed = Lead.objects.create(last_name="Closed", score=95, status=LeadStatus.CONVERTED)
    first = timezone.now()
    assert [lead.pk for lead in services.check_mql(now=first)] == [high.pk]
    assert qualified_signals == [high.pk]
    # The next run does not qualify it again, even with a higher score.
    Lead.objects.filter(pk=high.pk).update(score=90)
    Lead.objects.filter(pk=low.pk).update(score=75)
    assert [lead.pk for lead in services.check_mql()] == [low.pk]
    assert qualified_signals == [high.pk, low.pk]
    high.refresh_from_db()
    closed.refresh_from_db()
    assert high.mql_at == first
    assert closed.mql_at is None


def test_the_predicted_score_decides_while_a_model_is_used(qualified_signals):
    _trained()
    lead = Lead.objects.create(last_name="Rules say yes", source="cold call", score=99)
    services.score_leads()
    lead.refresh_from_db()
    assert lead.predicted_score < MarketingSettings.load().mql_threshold
    assert services.check_mql() == []
    assert qualified_signals == []


def test_the_threshold_setting_is_validated():
    from django.core.exceptions import PermissionDenied, ValidationError

    from tests.factories import UserFactory

    admin = UserFactory(username="admin-p", role="admin")
    with pytest.raises(ValidationError) as error:
        services.settings_update(actor=admin, data={"mql_threshold": 140})
    assert "mql_threshold" in error.value.message_dict
    with pytest.raises(ValidationError):
        services.settings_update(actor=admin, data={"no_such_setting": 1})
    marketer = UserFactory(username="marketer-p", role="marketing")
    with pytest.raises(PermissionDenied):
        services.settings_update(actor=marketer, data={"mql_threshold": 50})
    services.settings_update(actor=admin, data={"mql_threshold": "55.5"})
    assert MarketingSettings.load().mql_threshold == 55.5
