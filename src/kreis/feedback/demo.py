"""Demo surveys: two completed surveys (in their documentation phase) with invitations and
answers from demo customers, so that the analysis and report pages show real figures.

1. "Kundenzufriedenheit 2026 / Customer satisfaction 2026", online: recommendation (NPS, the
   loyalty index's recommend factor), satisfaction 1–5 per benefit dimension (CSAT),
   repurchase and switching (loyalty), expectation vs. performance (SOLL/IST), a single and
   a multiple choice, free text.
2. "Service nach Reklamation / Service after a complaint", online, some answers taken by phone
   and entered by the service agent.

Everything goes through the services: the surveys are created, their questions added and
their phases moved by ``kreis.feedback.services``; the invitations are made by
``survey_invite`` (``deliver=False``: the demo sends no mail); each online answer is submitted
through ``response_submit_online`` with the respondent's personal link — the demo makes that
link anew, as it plays the customer who got the mail (only a link's hash is stored) — and the
phone answers through ``response_enter``. So the parties' last NPS, CSAT and loyalty and their
timelines are set as for real answers. The respondents are a realistic mix of promoters,
passives and detractors, answering in their invitation's language; the number of answers
grows with the demo's size; ``--seed`` repeats them.
"""

from __future__ import annotations

import random

from kreis.core import tokens
from kreis.core.demo import DemoContext
from kreis.core.models import Role
from kreis.feedback import services
from kreis.feedback.models import (
    BenefitDimension,
    Invitation,
    LoyaltyFactor,
    QuestionKind,
    ResponseChannel,
    Survey,
    SurveyPhase,
)

ANSWERS = {"small": 20, "large": 80}  # per survey
BASE_URL = "http://127.0.0.1:8000/"
# The respondents' mood: promoter, passive or detractor, and what they answer from it.
MOODS = (("promoter", 0.45), ("passive", 0.32), ("detractor", 0.23))
NPS_BY_MOOD = {"promoter": (9, 10), "passive": (7, 8), "detractor": (2, 6)}
SCALE_BY_MOOD = {"promoter": (4, 5), "passive": (3, 4), "detractor": (1, 3)}

N, S, E = QuestionKind.NPS, QuestionKind.SCALE, QuestionKind.EXPECTATION
SINGLE, MULTIPLE, TEXT = QuestionKind.SINGLE, QuestionKind.MULTIPLE, QuestionKind.TEXT
D = BenefitDimension

SATISFACTION = {
    "name": "Kundenzufriedenheit 2026 / Customer satisfaction 2026",
    "goals": "Zufriedenheit und Loyalität der Privatkunden messen; Verbesserungen ableiten.",
    "core_questions": "Wie zufrieden sind unsere Kunden, und was hält sie?",
    "language": "de",
    "questions": [
        (
            N,
            "Wie wahrscheinlich ist es, dass Sie uns einem Freund oder Kollegen empfehlen?",
            "How likely are you to recommend us to a friend or colleague?",
            "",
            "",
            {"loyalty_factor": LoyaltyFactor.RECOMMEND},
        ),
        (
            S,
            "Wie zufrieden sind Sie mit der Qualität unserer Produkte?",
            "How satisfied are you with the quality of our products?",
            "",
            "",
            {"dimension": D.PRODUCT_QUALITY},
        ),
        (
            S,
            "Wie zufrieden sind Sie mit Bestellung und Lieferung?",
            "How satisfied are you with ordering and delivery?",
            "",
            "",
            {"dimension": D.PROCESS_SERVICE},
        ),
        (
            S,
            "Wie zufrieden sind Sie mit unserem Kundenservice?",
            "How satisfied are you with our customer service?",
            "",
            "",
            {"dimension": D.CUSTOMER_SERVICE},
        ),
        (
            S,
            "Werden Sie wieder bei uns kaufen?",
            "Will you buy from us again?",
            "",
            "",
            {"loyalty_factor": LoyaltyFactor.REPURCHASE},
        ),
        (
            S,
            "Wie wahrscheinlich ist es, dass Sie zu einem anderen Anbieter wechseln?",
            "How likely are you to switch to another provider?",
            "",
            "",
            {"loyalty_factor": LoyaltyFactor.SWITCHING},
        ),
        (
            E,
            "Produktqualität: was Sie erwartet haben und was Sie bekommen haben",
            "Product quality: what you expected and what you got",
            "",
            "",
            {"dimension": D.PRODUCT_QUALITY},
        ),
        (
            E,
            "Lieferzeit: was Sie erwartet haben und was Sie bekommen haben",
            "Delivery time: what you expected and what you got",
            "",
            "",
            {"dimension": D.PROCESS_SERVICE},
        ),
        (
            SINGLE,
            "Wie haben Sie zuletzt bei uns bestellt?",
            "How did you last order from us?",
            "Webshop\nTelefon\nE-Mail\nAußendienst",
            "Web shop\nPhone\nE-mail\nSales representative",
            {},
        ),
        (
            MULTIPLE,
            "Was sollten wir verbessern?",
            "What should we improve?",
            "Preise\nLieferzeit\nErreichbarkeit\nProduktauswahl\nRechnungen",
            "Prices\nDelivery time\nAvailability\nProduct range\nInvoices",
            {"required": False},
        ),
        (
            TEXT,
            "Was möchten Sie uns noch sagen?",
            "Anything else you would like to tell us?",
            "",
            "",
            {"required": False},
        ),
    ],
}
AFTER_COMPLAINT = {
    "name": "Service nach Reklamation / Service after a complaint",
    "goals": "Wie erleben Kunden die Bearbeitung ihrer Reklamation?",
    "core_questions": "Stellt die Lösung zufrieden, und empfehlen sie uns weiter?",
    "language": "en",
    "questions": [
        (
            S,
            "Wie zufrieden sind Sie mit der Lösung Ihres Anliegens?",
            "How satisfied are you with how your complaint was resolved?",
            "",
            "",
            {"dimension": D.CUSTOMER_SERVICE},
        ),
        (
            E,
            "Reaktionszeit: was Sie erwartet haben und was Sie erlebt haben",
            "Response time: what you expected and what you experienced",
            "",
            "",
            {"dimension": D.CUSTOMER_SERVICE},
        ),
        (
            N,
            "Würden Sie uns nach dieser Erfahrung weiterempfehlen?",
            "After this experience, would you recommend us?",
            "",
            "",
            {"loyalty_factor": LoyaltyFactor.RECOMMEND},
        ),
        (
            SINGLE,
            "Wie oft mussten Sie sich melden?",
            "How often did you have to get in touch?",
            "Einmal\nZweimal\nDreimal oder öfter",
            "Once\nTwice\nThree times or more",
            {},
        ),
        (
            TEXT,
            "Was hätten wir besser machen können?",
            "What could we have done better?",
            "",
            "",
            {"required": False},
        ),
    ],
}
COMMENTS = {
    "promoter": {
        "de": ["Immer zuverlässig, weiter so!", "Sehr kompetente Beratung.", ""],
        "en": ["Great products and friendly staff.", "Fast delivery, thank you!", ""],
    },
    "passive": {
        "de": ["Im Großen und Ganzen in Ordnung.", "Die Preise könnten besser sein.", ""],
        "en": ["Mostly fine, delivery could be faster.", "Good, but the web shop is slow.", ""],
    },
    "detractor": {
        "de": [
            "Lieferung kam zwei Wochen zu spät.",
            "Hotline nie erreichbar, sehr ärgerlich.",
            "Die Rechnung war schon wieder falsch.",
        ],
        "en": [
            "The device broke after a month.",
            "Nobody called me back about my complaint.",
            "Too expensive for what you get.",
        ],
    },
}


def _mood(rng: random.Random) -> str:
    draw, total = rng.random(), 0.0
    for mood, share in MOODS:
        total += share
        if draw < total:
            return mood
    return MOODS[-1][0]


def _answers(questions, mood: str, language: str, rng: random.Random) -> dict[int, dict]:
    """One respondent's answers as ``answers_clean`` reads them, following their mood."""
    low, high = SCALE_BY_MOOD[mood]
    raw: dict[int, dict] = {}
    for q in questions:
        if q.kind == N:
            raw[q.pk] = {"value": rng.randint(*NPS_BY_MOOD[mood])}
        elif q.kind == S:
            value = rng.randint(low, high)
            if q.loyalty_factor == LoyaltyFactor.SWITCHING:
                value = 6 - value  # the happy ones do not think of switching
            raw[q.pk] = {"value": value}
        elif q.kind == E:
            expected = rng.randint(3, 5)
            got = max(1, min(5, expected + {"promoter": 1, "passive": 0, "detractor": -2}[mood]))
            raw[q.pk] = {"value": expected, "value2": max(1, min(5, got + rng.randint(-1, 0)))}
        elif q.kind == SINGLE:
            raw[q.pk] = {"value": rng.randrange(len(q.options("en")))}
        elif q.kind == MULTIPLE:
            count = len(q.options("en"))
            picks = rng.sample(range(count), rng.randint(0 if mood == "promoter" else 1, 2))
            raw[q.pk] = {"choices": picks}
        elif q.kind == TEXT:
            raw[q.pk] = {"text": rng.choice(COMMENTS[mood][language])}
    return raw


def _survey(spec: dict, *, owner, inviter, agent, target: str, answers: int, rng) -> Survey:
    survey = services.survey_create(
        actor=owner,
        name=spec["name"],
        goals=spec["goals"],
        core_questions=spec["core_questions"],
        language=spec["language"],
        method="online",
        target_query=target,
    )
    for kind, text_de, text_en, options_de, options_en, extra in spec["questions"]:
        services.question_add(
            actor=owner,
            survey=survey,
            kind=kind,
            text_de=text_de,
            text_en=text_en,
            options_de=options_de,
            options_en=options_en,
            **extra,
        )
    for phase in (SurveyPhase.DESIGN, SurveyPhase.COLLECTION):
        services.survey_move(actor=owner, survey=survey, to_phase=phase)
    services.survey_invite(actor=inviter, survey=survey, base_url=BASE_URL, deliver=False)
    questions = list(survey.questions.all())
    invitations = list(
        Invitation.objects.filter(survey=survey).select_related("party").order_by("pk")
    )
    for invitation in rng.sample(invitations, min(answers, len(invitations))):
        raw_answers = _answers(questions, _mood(rng), invitation.language, rng)
        if rng.random() < 0.2:  # taken by phone: entered by the agent, if theirs, else admin
            staff = (
                agent if agent and agent.has_perm("core.view_record", invitation.party) else None
            )
            services.response_enter(
                actor=staff or inviter,
                survey=survey,
                party=invitation.party,
                channel=ResponseChannel.PHONE,
                raw_answers=raw_answers,
                language=invitation.language,
            )
            continue
        raw, digest = tokens.new_token()
        Invitation.objects.filter(pk=invitation.pk).update(token_hash=digest)
        services.response_submit_online(raw_token=raw, raw_answers=raw_answers)
    for phase, note in (
        (SurveyPhase.ANALYSIS, "Befragung abgeschlossen / collection finished"),
        (SurveyPhase.DOCUMENTATION, "Ergebnisse vorgestellt / results presented"),
    ):
        services.survey_move(actor=owner, survey=survey, to_phase=phase, note=note)
    return survey


def create_surveys(context: DemoContext) -> dict[str, int]:
    rng = random.Random(context.fake["de_DE"].random.random())  # noqa: S311 (demo data)
    by_role = {}
    for user in context.users:
        by_role.setdefault(user.role, user)
    inviter = by_role.get(Role.ADMIN)
    if inviter is None:
        return {"surveys": 0}
    owner = by_role.get(Role.MARKETING, inviter)
    agent = by_role.get(Role.SERVICE_AGENT)
    answers = ANSWERS.get(context.size, ANSWERS["small"])
    made = [
        _survey(
            spec,
            owner=owner,
            inviter=inviter,
            agent=agent,
            target=target,
            answers=answers,
            rng=rng,
        )
        for spec, target in (
            (SATISFACTION, "role=customer&kind=person"),
            (AFTER_COMPLAINT, "role=customer"),
        )
    ]
    return {
        "surveys": len(made),
        "survey_responses": sum(s.responses.count() for s in made),
    }
