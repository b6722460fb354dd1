"""The pipeline Kreis ships speaks the reader's language; names an administrator typed stay
as typed."""

from __future__ import annotations

import pytest

from kreis.sales import services
from kreis.sales.models import Pipeline
from tests.conftest import client_for
from tests.sales.factories import DealFactory, default_pipeline, stage_named

pytestmark = pytest.mark.django_db

ENGLISH = ["Qualification", "Needs analysis", "Proposal", "Negotiation", "Won", "Lost"]
GERMAN = ["Qualifizierung", "Bedarfsanalyse", "Angebot", "Verhandlung", "Gewonnen", "Verloren"]


def _speaking(user, language: str):
    user.language = language
    user.save(update_fields=["language"])
    return client_for(user)


def _board(user, language: str) -> str:
    return _speaking(user, language).get("/deals/").content.decode()


@pytest.mark.parametrize(
    ("language", "names", "others"), [("de", GERMAN, ENGLISH), ("en", ENGLISH, GERMAN)]
)
def test_shipped_stage_names_follow_the_users_language(alice, north, language, names, others):
    DealFactory(owner=alice, team=north, name="Fräsmaschine Nord")
    page = _board(alice, language)
    for name in names:
        assert f"{name}</h2>" in page  # the board's column heads
    for name in others[:4]:  # Won/Lost aside, the other language's names do not show
        assert f"{name}</h2>" not in page
    deals = _speaking(alice, language).get("/deals/list/").content.decode()
    assert names[0] in deals


def test_a_pipeline_shipped_in_german_reads_english_to_an_english_user(alice, north):
    Pipeline.objects.all().delete()
    services.ensure_default_pipeline(language="de")
    assert default_pipeline().name == "Vertrieb"
    page = _board(alice, "en")
    assert "Qualification</h2>" in page
    assert "Qualifizierung</h2>" not in page


@pytest.mark.parametrize("language", ["de", "en"])
def test_a_renamed_stage_stays_as_typed(alice, north, dana, language):
    services.stage_update(actor=dana, stage=stage_named("Proposal"), name="Angebot raus")
    services.stage_update(actor=dana, stage=stage_named("Negotiation"), name="Final talks")
    deal = DealFactory(owner=alice, team=north, stage=stage_named("Angebot raus"))
    page = _board(alice, language)
    assert "Angebot raus</h2>" in page
    assert "Final talks</h2>" in page
    detail = _speaking(alice, language).get(f"/deals/{deal.pk}/").content.decode()
    assert "Angebot raus" in detail
    assert ("Qualifizierung" if language == "de" else "Qualification") in detail
