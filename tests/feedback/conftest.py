import pytest

from kreis.core.models import Role
from kreis.feedback import services
from kreis.feedback.models import QuestionKind, SurveyMethod, SurveyPhase
from kreis.parties.models import Address, ContactKind, ContactPoint
from tests.factories import MembershipFactory, UserFactory
from tests.parties.factories import PersonFactory


@pytest.fixture
def marta(north):
    """Marketing, team North."""
    user = UserFactory(username="marta", role=Role.MARKETING)
    MembershipFactory(team=north, user=user)
    return user


@pytest.fixture
def sam(north):
    """A service agent of team North."""
    user = UserFactory(username="sam", role=Role.SERVICE_AGENT)
    MembershipFactory(team=north, user=user)
    return user


def person(*, team, owner=None, email="", country=None, **fields):
    party = PersonFactory(team=team, owner=owner, **fields)
    if email:
        ContactPoint.objects.create(
            party=party, kind=ContactKind.EMAIL, value=email, is_primary=True
        )
    if country:
        Address.objects.create(party=party, street="Hauptstr. 1", city="Köln", country=country)
    return party


# The questions of ``build_survey``, in order: key, kind, German and English text, the rest.
QUESTIONS = [
    (
        "nps",
        QuestionKind.NPS,
        "Wie wahrscheinlich empfehlen Sie uns weiter?",
        "How likely are you to recommend us?",
        {"loyalty_factor": "recommend"},
    ),
    (
        "repurchase",
        QuestionKind.SCALE,
        "Werden Sie wieder bei uns kaufen?",
        "Will you buy from us again?",
        {"loyalty_factor": "repurchase", "dimension": "product_quality"},
    ),
    (
        "switching",
        QuestionKind.SCALE,
        "Erwägen Sie einen Wechsel?",
        "Are you thinking of switching?",
        {"loyalty_factor": "switching", "required": False},
    ),
    (
        "delivery",
        QuestionKind.EXPECTATION,
        "Lieferzeit",
        "Delivery time",
        {"dimension": "process_service", "required": False},
    ),
    (
        "channel",
        QuestionKind.MULTIPLE,
        "Wie bestellen Sie?",
        "How do you order?",
        {
            "options_de": "Telefon\nE-Mail\nShop",
            "options_en": "Phone\nE-mail\nShop",
            "required": False,
        },
    ),
    (
        "text",
        QuestionKind.TEXT,
        "Was können wir besser machen?",
        "What could we do better?",
        {"required": False},
    ),
]


def build_survey(actor, *, anonymous=False, method=SurveyMethod.ONLINE, collect=True, **fields):
    survey = services.survey_create(
        actor=actor, name="Zufriedenheit 2026", anonymous=anonymous, method=method, **fields
    )
    q = {
        key: services.question_add(
            actor=actor, survey=survey, kind=kind, text_de=de, text_en=en, **extra
        )
        for key, kind, de, en, extra in QUESTIONS
    }
    if collect:
        services.survey_move(actor=actor, survey=survey, to_phase=SurveyPhase.DESIGN)
        services.survey_move(actor=actor, survey=survey, to_phase=SurveyPhase.COLLECTION)
        survey.refresh_from_db()
    return survey, q
