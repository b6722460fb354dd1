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
from tests.automation import receiver as receiver_module

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

    def on_qualified(sender, lead, **kwargs):
        received.append(lead.pk)

    lead_qualified.connect(on_qualified, dispatch_uid="test-predictive-mql")
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


# --- the event, the hooks ---------------------------------------------------------------------


@pytest.fixture
def webhook_receiver():
    """A receiver on loopback that answers 200 (tests/automation's)."""
    found, server = receiver_module.start()
    yield found
    server.shutdown()
    server.server_close()


def test_qualifying_sends_the_lead_qualified_webhook(
    webhook_receiver, alice, dana, django_capture_on_commit_callbacks
):
    from standardwebhooks import Webhook

    from kreis.automation import services as webhooks

    receiver = webhook_receiver
    _subscription, secret = webhooks.subscription_create(
        actor=dana,
        owner=alice,
        name="MQL",
        target_url=receiver.url,
        events=["lead.qualified"],
        allow_private_target=True,
    )
    lead = Lead.objects.create(last_name="Wexford", owner=alice, score=80)
    with django_capture_on_commit_callbacks(execute=True):
        services.check_mql()
    with django_capture_on_commit_callbacks(execute=True):
        services.check_mql()  # not twice
    arrived = [Webhook(secret).verify(r.body, r.headers) for r in receiver.received]
    assert [(m["type"], m["data"]["id"]) for m in arrived] == [("lead.qualified", lead.pk)]
    assert arrived[0]["data"]["mql_at"]


def _rule_model(min_points_source: str = "web form"):
    from kreis.analytics.scoring import services as scoring

    model = scoring.scoring_model_create(
        actor=None,
        name="Lead fit",
        target="lead",
        criteria=[{"field": "source", "weight": 1, "thresholds": {min_points_source: 10}}],
    )
    scoring.scoring_model_make_primary(actor=None, model=model)
    return model


def test_the_rule_scoring_run_qualifies(qualified_signals):
    from kreis.analytics.scoring import engine

    fair = Lead.objects.create(last_name="Fair", source="fair")
    other = Lead.objects.create(last_name="Other", source="cold call")
    model = _rule_model("fair")  # making it primary applies it once
    assert qualified_signals == [fair.pk]
    engine.apply_model(model)
    assert qualified_signals == [fair.pk]
    other.refresh_from_db()
    assert other.score == 0
    assert other.mql_at is None


def test_a_web_form_scores_and_qualifies_its_lead_at_once(qualified_signals):
    from kreis.marketing.models import LeadForm
    from kreis.marketing.webforms import services as webforms

    _rule_model("web form")
    form = LeadForm.objects.create(
        name="Kontakt",
        key="kontakt",
        fields=[
            {"key": "last_name", "label": "Name", "type": "text", "required": True},
            {"key": "email", "label": "E-Mail", "type": "email", "required": True},
        ],
    )
    submission = webforms.submit(
        form,
        {"last_name": "Neu", "email": "neu@example.com"},
        ip="127.0.0.1",
        user_agent="test",
        page_url="https://example.com/kontakt",
        referrer="",
        utm={},
    )
    lead = Lead.objects.get(pk=submission.lead_id)
    assert lead.score == 100
    assert lead.scored_at is not None
    assert lead.mql_at is not None
    assert qualified_signals == [lead.pk]


# --- page, API, CLI ---------------------------------------------------------------------------


def test_the_page_tells_when_rules_apply_and_only_admins_train(dana, rory, alice):
    from django.test import Client

    from tests.conftest import client_for
    from tests.factories import UserFactory

    marketer = UserFactory(username="maren", role="marketing")
    page = client_for(marketer).get("/marketing/scoring/")
    assert page.status_code == 200
    assert 'data-testid="rules-apply"' in page.content.decode()
    assert "Too little history — the rule scores apply." in page.content.decode()
    assert 'data-testid="train-now"' not in page.content.decode()
    assert client_for(marketer).post("/marketing/scoring/train/").status_code == 403
    assert client_for(marketer).post("/marketing/scoring/settings/", {}).status_code == 403
    assert client_for(alice).get("/marketing/scoring/").status_code == 403
    assert client_for(rory).get("/marketing/scoring/").status_code == 200
    assert Client().get("/marketing/scoring/").status_code == 302
    assert not LeadScoringModel.objects.exists()

    make_history(120)
    admin = client_for(dana)
    assert 'data-testid="train-now"' in admin.get("/marketing/scoring/").content.decode()
    response = admin.post("/marketing/scoring/train/", follow=True)
    html = response.content.decode()
    # Jobs run at once in tests: the queued training has finished when the page comes back.
    assert "Model trained: AUC" in html
    assert 'data-testid="training-progress"' not in html
    assert 'data-testid="rules-apply"' not in html
    assert "Pricing page visits" in html
    assert "<svg" in html


def test_too_little_history_does_not_need_scikit_learn(monkeypatch):
    import sys

    make_history(12)
    for name in [m for m in sys.modules if m == "sklearn" or m.startswith("sklearn.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "sklearn", None)  # any import of it fails now
    row = services.train()
    assert row.usable is False
    assert "12 of 40" in row.message


def test_a_running_training_shows_its_step_and_blocks_train_now(dana):
    from tests.conftest import client_for
    from tests.factories import UserFactory

    training_id = services.training_begin()
    services.progress_recorder(training_id)(services.FOLD, 2, 5)
    admin = client_for(dana)
    html = admin.get("/marketing/scoring/").content.decode()
    assert 'data-testid="training-progress"' in html
    assert "Cross-validation: fold 2 of 5" in html
    assert 'hx-trigger="every 2s"' in html
    assert 'data-testid="train-now" disabled' in html

    # The bar asks for itself: the fragment alone, still polling.
    bar = admin.get("/marketing/scoring/", headers={"HX-Request": "true"})
    assert "Cross-validation: fold 2 of 5" in bar.content.decode()
    assert "<html" not in bar.content.decode()
    assert "HX-Refresh" not in bar.headers

    german = client_for(UserFactory(username="greta", role="marketing", language="de"))
    services.progress_recorder(training_id)(services.SCORING, 300, 1200)
    assert (
        "Offene Leads werden bewertet: 300 von 1200"
        in german.get("/marketing/scoring/", headers={"HX-Request": "true"}).content.decode()
    )

    # A second "Train now" meanwhile starts nothing.
    refused = admin.post("/marketing/scoring/train/", follow=True).content.decode()
    assert "A training is running already" in refused
    assert not LeadScoringModel.objects.exists()

    # Finished: the bar makes the page reload, which shows no bar and "Train now" again.
    services.training_end(training_id, row=None)
    bar = admin.get("/marketing/scoring/", headers={"HX-Request": "true"})
    assert bar.headers["HX-Refresh"] == "true"
    html = admin.get("/marketing/scoring/").content.decode()
    assert 'data-testid="training-progress"' not in html
    assert 'data-testid="train-now" disabled' not in html


def test_the_training_job_reports_each_step_and_frees_the_slot():
    from kreis.marketing.predictive.tasks import lead_scoring_train_enqueue

    make_history(120)
    Lead.objects.create(last_name="Open", source="referral")
    seen = []
    recorder = services.progress_recorder

    def spying(training_id):
        record = recorder(training_id)

        def both(step, done, total):
            record(step, done, total)
            seen.append((step, done, total))

        return both

    services.progress_recorder = spying
    try:
        training_id = lead_scoring_train_enqueue()
    finally:
        services.progress_recorder = recorder
    entry = services.training_progress(training_id)
    assert entry["finished"] is True
    assert entry["row"] == services.current_model().pk
    assert services.running_training() is None
    steps = [step for step, _done, _total in seen]
    assert steps[0] == services.READING
    folds = [(done, total) for step, done, total in seen if step == services.FOLD]
    assert folds == [(k, 5) for k in range(1, 6)]
    assert services.FITTING in steps
    assert seen[-1] == (services.SCORING, 1, 1)


def test_the_threshold_form_keeps_what_was_typed(dana):
    from tests.conftest import client_for

    admin = client_for(dana)
    bad = admin.post(
        "/marketing/scoring/settings/", {"mql_threshold": "150", "min_training_leads": "40"}
    )
    assert bad.status_code == 422
    assert 'value="150"' in bad.content.decode()
    assert MarketingSettings.load().mql_threshold == 60
    Lead.objects.create(last_name="Seventy", score=70)
    ok = admin.post(
        "/marketing/scoring/settings/", {"mql_threshold": "75", "min_training_leads": "50"}
    )
    assert ok.status_code == 302
    config = MarketingSettings.load()
    assert (config.mql_threshold, config.min_training_leads) == (75, 50)
    assert not Lead.objects.filter(mql_at__isnull=False).exists()


def _api(key, method, path, body=None):
    import json

    from django.test import Client

    return getattr(Client(), method)(
        f"/api/v1{path}",
        json.dumps(body) if body is not None else None,
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {key}",
    )


def test_the_api(dana, alice, api_key_for):
    from tests.factories import UserFactory

    marketer = api_key_for(UserFactory(username="maren", role="marketing"))
    admin = api_key_for(dana)
    rep = api_key_for(alice)
    empty = _api(marketer, "get", "/lead-scoring/model").json()
    assert empty["current"] is None
    assert empty["rules_apply"] is True
    assert _api(rep, "get", "/lead-scoring/model").status_code == 403
    assert _api(marketer, "post", "/lead-scoring/train").status_code == 403
    make_history(120)
    trained = _api(admin, "post", "/lead-scoring/train")
    assert trained.status_code == 201
    assert trained.json()["usable"] is True
    assert trained.json()["features"][0]["label"] in {"Source", "Pricing page visits"}
    model = _api(marketer, "get", "/lead-scoring/model").json()
    assert model["current"]["id"] == trained.json()["id"]
    assert len(model["history"]) == 1

    assert _api(marketer, "get", "/marketing/settings").status_code == 403
    assert _api(admin, "get", "/marketing/settings").json()["mql_threshold"] == 60
    refused = _api(admin, "put", "/marketing/settings", {"mql_threshold": -1})
    assert refused.status_code == 422
    assert "mql_threshold" in refused.content.decode()
    assert _api(admin, "put", "/marketing/settings", {"bogus": 1}).status_code == 422
    changed = _api(admin, "put", "/marketing/settings", {"mql_threshold": 72.5})
    assert changed.status_code == 200
    assert changed.json()["mql_threshold"] == 72.5
    assert _api(marketer, "put", "/marketing/settings", {"mql_threshold": 1}).status_code == 403
    assert MarketingSettings.load().mql_threshold == 72.5


def test_the_cli():
    from io import StringIO

    from django.core.management import call_command

    out = StringIO()
    call_command("marketing", "scoring", "train", stdout=out)
    assert "not used" in out.getvalue()
    make_history(120)
    out, err = StringIO(), StringIO()
    call_command("marketing", "scoring", "train", stdout=out, stderr=err)
    assert "used: 120 decided leads" in out.getvalue()
    assert "Reading the decided leads" in err.getvalue()
    assert "Cross-validation: fold 5 of 5" in err.getvalue()
    Lead.objects.create(last_name="Open", source="referral")
    out = StringIO()
    call_command("marketing", "scoring", "score", stdout=out)
    assert "1 open leads scored" in out.getvalue()
    out = StringIO()
    call_command("marketing", "scoring", "status", "--json", stdout=out)
    assert '"rules_apply": false' in out.getvalue()
