"""Demo lead management beyond the campaigns: a web form with its submissions, double opt-ins,
tracked visitors, a content offer, segments, assignment rules with handoffs and a training of
the predictive score. Runs after the campaign demo (``marketing.campaigns.demo``), whose
campaign codes the submissions carry as ``utm_campaign``.

- The form "Kontakt & Beratung" (German fields, the newsletter consent) is sent through
  ``webforms.services.submit``, so leads, notes, campaign touches and the linking of
  visitors are what the application itself makes. Its times are then moved back to the day
  the visitor sent it (the services stamp "now"), as the other demo steps do.
- Consents are written as the double opt-in leaves them — requested, confirmation mail sent,
  confirmed a little later (a few withdrawn by the one-click link since, the newest still
  waiting) — but no mail goes out: a demo must not write to anyone.
- Visitors browse the demo website before they send the form, some three times and more
  to the price page (the follow-up rule's pattern); others stay anonymous.
- The content offer is a real PDF, made with WeasyPrint, handed out to some senders.
- The predictive score is trained once: on a small demo it may well say "too little
  history", which is then what the page shows.

Repeatable with ``--seed``; no step reads the clock except to place times before now.
"""

from __future__ import annotations

import datetime as dt
import random
import string

from django.core.files.base import ContentFile
from django.db.models import Max
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.text import slugify

from kreis.activities.models import Activity
from kreis.core.demo import DemoContext
from kreis.core.models import Role
from kreis.leads.models import Lead, LeadStatus
from kreis.marketing.campaigns.services import refresh_lead_attribution
from kreis.marketing.consent.services import current_text, unsubscribe_token
from kreis.marketing.defaults import ensure_defaults
from kreis.marketing.handoff import services as handoff_services
from kreis.marketing.models import (
    Campaign,
    CampaignTouch,
    Consent,
    ConsentBasis,
    ConsentChannel,
    ConsentEvent,
    ConsentEventKind,
    ConsentPurpose,
    ConsentSource,
    ConsentStatus,
    FollowUpRule,
    FollowUpTrigger,
    FormSubmission,
    LeadAssignmentRule,
    SegmentKind,
)
from kreis.marketing.offers import services as offer_services
from kreis.marketing.predictive.services import train
from kreis.marketing.segments import services as segment_services
from kreis.marketing.tracking.services import VisitIn, visits_record
from kreis.marketing.webforms import services as form_services
from kreis.parties.models import Party, PartyKind

SCALE = {"small": 1, "large": 3}
SITE = "https://www.kreis-demo.example"
FIELDS = [
    {"key": "salutation", "label": "Anrede", "required": False},
    {"key": "first_name", "label": "Vorname", "required": False},
    {"key": "last_name", "label": "Nachname", "required": True},
    {"key": "email", "label": "E-Mail", "required": True},
    {"key": "company", "label": "Firma", "required": False},
    {"key": "phone", "label": "Telefon", "required": False},
    {"key": "territory", "label": "Region", "required": False},
    {"key": "message", "label": "Ihre Nachricht", "required": False},
]
# Where the senders came from: (utm_source, utm_medium, utm_campaign, referrer).
ORIGINS = [
    ("newsletter", "email", "newsletter-q1", ""),
    ("linkedin", "social", "linkedin-ads-spring", "https://www.linkedin.com/"),
    ("messe", "qr", "fruehjahrsmesse-hannover", ""),
    ("", "", "", "https://www.google.de/"),
    ("", "", "", "https://www.bing.com/"),
]
PAGES = [
    ("/", "Kreis Demo GmbH – Startseite"),
    ("/produkte/kreis-crm", "Kreis CRM – Funktionen"),
    ("/preise", "Preise und Pakete"),
    ("/referenzen", "Referenzen aus dem Maschinenbau"),
    ("/blog/crm-einfuehrung", "Blog: CRM in 90 Tagen einführen"),
    ("/kontakt", "Kontakt & Beratung"),
]
MESSAGES = [
    "Wir suchen ein CRM für 25 Vertriebsmitarbeiter. Bitte um einen Demo-Termin.",
    "Können Sie uns ein Angebot für 10 Lizenzen schicken?",
    "Interesse an der Schnittstelle zu unserem ERP.",
    "Bitte rufen Sie mich zurück, am besten vormittags.",
    "",
    "Gibt es eine Testversion?",
]
REGIONS = ["Nord", "Nord", "Süd", "West", ""]
BROWSER = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/126.0 Safari/537.36"


def create_lead_management(context: DemoContext) -> dict[str, int]:
    rng = random.Random(context.fake["de_DE"].random.random())  # noqa: S311 (demo data)
    scale = SCALE.get(context.size, 1)
    marketer = next((u for u in context.users if u.role == Role.MARKETING), None)
    reps = [u for u in context.users if u.role == Role.SALES_REP]
    if not reps:
        return {}
    ensure_defaults()
    now = timezone.now().replace(microsecond=0)
    form = form_services.form_create(
        actor=None,
        name="Kontakt & Beratung",
        key="kontakt",
        language="de",
        title="Sprechen Sie mit uns",
        intro="Wir melden uns innerhalb eines Werktags bei Ihnen.",
        fields=FIELDS,
        consent_purposes=[ConsentPurpose.NEWSLETTER],
        submit_label="Anfrage senden",
        thank_you_text="Vielen Dank! Bitte bestätigen Sie noch Ihre E-Mail-Adresse.",
        allowed_origins=SITE,
        lead_source="Website",
    )
    form.owner = marketer
    form.save(update_fields=["owner"])
    offer = _offer(marketer)
    rules = _assignment_rules(context, reps)
    submissions = _submissions(rng, context, form, offer, now, 20 * scale)
    anonymous = _anonymous_visitors(rng, now, 10 * scale)
    # The offer is behind the form from now on (earlier senders got it handed out above; a
    # follow-up rule sends it to whoever looks at the prices three times in two weeks).
    offer.form = form
    offer.save(update_fields=["form"])
    FollowUpRule.objects.create(
        name="Dreimal Preise angesehen",
        trigger=FollowUpTrigger.VISITS,
        path_contains="/preise",
        visit_count=3,
        within_days=14,
        offer=offer,
    )
    handoffs = _handoffs(rng, submissions, now)
    segments = _segments(marketer, scale)
    model = train(now=now)
    return {
        "lead_forms": 1,
        "form_submissions": len(submissions),
        "consents_confirmed": Consent.objects.filter(
            purpose=ConsentPurpose.NEWSLETTER, confirmed_at__isnull=False
        ).count(),
        "tracked_visitors": len({s.visitor_uid for s in submissions if s.visitor_uid}) + anonymous,
        "content_offers": 1,
        "assignment_rules": len(rules),
        "lead_handoffs": handoffs,
        "segments": segments,
        "predictive_trainings": 1 if model.pk else 0,
    }


# --- the offer --------------------------------------------------------------------------------


def _offer(marketer):
    from weasyprint import HTML

    html = render_to_string("marketing/integration/checkliste.html")
    pdf = HTML(string=html).write_pdf()
    return offer_services.offer_create(
        actor=None,
        file=ContentFile(pdf, name="Checkliste-CRM-Einfuehrung.pdf"),
        name="Checkliste CRM-Einführung",
        description="Zwölf Schritte von der Auswahl bis zum Go-live, zum Abhaken.",
        language="de",
        topic="CRM-Einführung",
        position=1,
    )


# --- submissions, consents, visits ------------------------------------------------------------


def _uid(rng: random.Random) -> str:
    return "".join(rng.choice(string.ascii_letters + string.digits) for _ in range(32))


def _browse(rng: random.Random, uid: str, start: dt.datetime, pages: list[str], referrer: str):
    """The visitor's visits, one page after another from ``start``; returns the last time."""
    at = start
    titles = dict(PAGES)
    for n, path in enumerate(pages):
        visits_record(
            uid=uid,
            visits=[VisitIn(url=SITE + path, title=titles[path], referrer=referrer, at=at)],
            consented_at=start,
            now=at,
        )
        referrer = SITE + path
        at += dt.timedelta(minutes=rng.randint(1, 6) if n % 3 else rng.randint(60, 60 * 48))
    return at


def _anonymous_visitors(rng: random.Random, now: dt.datetime, count: int) -> int:
    for _n in range(count):
        start = now - dt.timedelta(days=rng.randint(1, 40), minutes=rng.randint(0, 600))
        pages = rng.sample([p for p, _t in PAGES], k=rng.randint(1, 4))
        _browse(rng, _uid(rng), start, pages, rng.choice(["https://www.google.de/", ""]))
    return count


def _persons_with_email():
    return list(
        Party.objects.filter(
            kind=PartyKind.PERSON, deleted_at__isnull=True, contact_points__kind="email"
        )
        .order_by("pk")
        .distinct()[:1]
    )


def _marks() -> dict[type, int]:
    """The highest id of each record a submission makes, to find what it made."""
    models = (FormSubmission, CampaignTouch, Lead, Activity, Consent, ConsentEvent)
    return {m: m.objects.aggregate(top=Max("pk"))["top"] or 0 for m in models}


# The times each record gets from the services ("now"), to move back to the day it was sent.
STAMPED = {
    FormSubmission: ("created_at",),
    CampaignTouch: ("at",),
    Lead: ("created_at", "updated_at"),
    Activity: ("occurred_at", "created_at", "updated_at"),
    Consent: ("requested_at", "confirmed_at"),
    ConsentEvent: ("at",),
}


def _move_back(marks: dict[type, int], since: dt.datetime, when: dt.datetime) -> None:
    for model, fields in STAMPED.items():
        made = model.objects.filter(pk__gt=marks[model])
        for field in fields:
            made.filter(**{f"{field}__gte": since}).update(**{field: when})


def _submissions(rng, context: DemoContext, form, offer, now: dt.datetime, count: int):
    fake = context.fake["de_DE"]
    known = _persons_with_email()
    sent = []
    for n in range(count):
        when = now - dt.timedelta(days=42 * (count - n) / count, minutes=rng.randint(0, 240))
        first, last = fake.first_name(), fake.last_name()
        # Names as Faker makes them ("von der Heide", "Özdemir"): letters and digits only.
        local = ".".join(slugify(part.replace("ß", "ss")) for part in (first, last))
        email = f"{local}.{n}@{slugify(fake.domain_word())}-demo.example"
        if n == count - 1 and sent:
            # Someone writes again: the duplicate matcher updates their lead.
            first, last = sent[0].data.get("first_name", ""), sent[0].data["last_name"]
            email = sent[0].data["email"]
        elif n == count // 2 and known:
            # A customer's contact uses the form: no lead, the note goes to the person.
            person = known[0]
            first, last = person.first_name, person.last_name
            email = person.contact_points.filter(kind="email").values_list("value", flat=True)[0]
        source, medium, campaign, referrer = ORIGINS[n % len(ORIGINS)]
        uid = _uid(rng) if n % 5 in (0, 2) else None
        if uid:
            pages = ["/", "/produkte/kreis-crm", "/kontakt"]
            if n % 5 == 0:
                pages = ["/preise", "/produkte/kreis-crm", "/preise", "/referenzen", "/preise"]
            start = when - dt.timedelta(days=rng.randint(3, 9))
            _browse(rng, uid, start, pages, referrer)
        utm = {"utm_source": source, "utm_medium": medium, "utm_campaign": campaign}
        query = "&".join(f"{k}={v}" for k, v in utm.items() if v)
        data = {
            "salutation": rng.choice(["Frau", "Herr", ""]),
            "first_name": first,
            "last_name": last,
            "email": email,
            "company": fake.company() if n % 4 else "",
            "phone": f"+49 40 {rng.randint(1000000, 9999999)}" if n % 3 == 0 else "",
            "territory": rng.choice(REGIONS),
            "message": rng.choice(MESSAGES),
        }
        marks, since = _marks(), timezone.now()
        submission = form_services.submit(
            form,
            data,
            ip=f"198.51.100.{n % 250 + 1}",
            user_agent=BROWSER,
            page_url=f"{SITE}/kontakt" + (f"?{query}" if query else ""),
            referrer=referrer,
            utm=utm,
            visitor_uid=uid,
            base_url="https://crm.kreis-demo.example",
        )
        _move_back(marks, since, when)
        submission.refresh_from_db()
        submission.visitor_uid = uid  # type: ignore[attr-defined]
        if submission.lead_id:
            refresh_lead_attribution(submission.lead)
        if n % 8 != 7 and submission.outcome != "updated":
            _newsletter_consent(rng, submission, when, now, withdrawn=n in (3, 11))
        if n % 2 == 0:
            download, _raw = offer_services.hand_out(
                offer, lead=submission.lead, party=submission.party, submission=submission, now=when
            )
            opened = when + dt.timedelta(minutes=rng.randint(2, 300))
            type(download).objects.filter(pk=download.pk).update(
                created_at=when,
                downloaded_at=opened if opened < now else None,
                download_count=rng.randint(1, 3) if opened < now else 0,
            )
        sent.append(submission)
    return sent


def _newsletter_consent(rng, submission, when: dt.datetime, now: dt.datetime, *, withdrawn: bool):
    """The newsletter consent as the double opt-in leaves it (no mail is sent in a demo)."""
    confirmed = when + dt.timedelta(minutes=rng.randint(3, 20 * 60))
    waiting = confirmed > now
    consent = Consent.objects.create(
        party=submission.party,
        lead=submission.lead,
        email=submission.data["email"],
        purpose=ConsentPurpose.NEWSLETTER,
        channel=ConsentChannel.EMAIL,
        status=ConsentStatus.PENDING if waiting else ConsentStatus.GRANTED,
        basis=ConsentBasis.DOUBLE_OPT_IN,
        source=ConsentSource.FORM,
        text=current_text(ConsentPurpose.NEWSLETTER, "de"),
        language="de",
        requested_at=when,
        ip_address=submission.ip_address,
        user_agent=submission.user_agent,
        confirmed_at=None if waiting else confirmed,
        confirmed_ip=None if waiting else submission.ip_address,
        note=f"Web form “{submission.form.name}”",
    )
    unsubscribe_token(consent)
    events = [(ConsentEventKind.REQUESTED, when, ""), (ConsentEventKind.MAIL_SENT, when, "")]
    if not waiting:
        events.append((ConsentEventKind.CONFIRMED, confirmed, ""))
        if withdrawn:
            gone = min(now, confirmed + dt.timedelta(days=rng.randint(2, 10)))
            Consent.objects.filter(pk=consent.pk).update(
                status=ConsentStatus.WITHDRAWN, withdrawn_at=gone
            )
            events.append((ConsentEventKind.WITHDRAWN, gone, "one-click"))
    ConsentEvent.objects.bulk_create(
        ConsentEvent(
            consent=consent,
            kind=kind,
            at=at,
            ip_address=submission.ip_address if kind != ConsentEventKind.MAIL_SENT else None,
            user_agent=submission.user_agent if kind != ConsentEventKind.MAIL_SENT else "",
            note=note,
        )
        for kind, at, note in events
    )
    data = dict(submission.data)
    data["consents"] = [ConsentPurpose.NEWSLETTER]
    FormSubmission.objects.filter(pk=submission.pk).update(data=data)


# --- handoff ----------------------------------------------------------------------------------


def _assignment_rules(context: DemoContext, reps) -> list[LeadAssignmentRule]:
    """Beside the handoff demo's rules (language, team): one by territory, first in line."""
    south = next((t for t in context.teams if t.name == "Vertrieb Süd"), None)
    rule = LeadAssignmentRule(name="Region Süd", position=5)
    values = {"territory": "Süd", "team": south, "workload_cap": 20}
    return [handoff_services.rule_save(actor=None, rule=rule, values=values)]


def _handoffs(rng, submissions, now: dt.datetime) -> int:
    """Hand the form's newest leads to sales, as the MQL threshold would: one contacted in
    time, one late, the rest still waiting."""
    leads = [
        s.lead
        for s in submissions
        if s.lead_id and s.lead.status == LeadStatus.NEW and not s.lead.handoffs.exists()
    ]
    picked = leads[-6:]
    made = 0
    for n, lead in enumerate(picked):
        lead.refresh_from_db()
        at = max(lead.created_at + dt.timedelta(hours=2), now - dt.timedelta(hours=30 - n * 5))
        handoff = handoff_services.hand_off(lead, now=min(at, now))
        if handoff is None:
            continue
        made += 1
        if n == 0:
            handoff_services.record_first_contact(lead_id=lead.pk, at=at + dt.timedelta(hours=3))
        elif n == 1:
            handoff_services.record_first_contact(
                lead_id=lead.pk, at=min(now, at + dt.timedelta(hours=29))
            )
    return made


# --- segments ---------------------------------------------------------------------------------


def _segments(marketer, scale: int) -> int:
    segment_services.segment_create(
        actor=None,
        name="A-Kunden mit hohem CLV",
        description="Organisationen der ABC-Klasse A mit einem Kundenwert ab 50.000 €.",
        kind=SegmentKind.DYNAMIC,
        conditions=[
            {"field": "kind", "op": "eq", "value": PartyKind.ORGANIZATION},
            {"field": "abc_class", "op": "eq", "value": "A"},
            {"field": "clv", "op": "gte", "value": "50000"},
        ],
        match="all",
        owner=marketer,
    )
    fair = Campaign.objects.filter(code="fruehjahrsmesse-hannover").first()
    static = segment_services.segment_create(
        actor=None,
        name="Messe-Nachfass Hannover",
        description="Gesprächspartner vom Messestand, von Hand ausgewählt.",
        kind=SegmentKind.STATIC,
        owner=marketer,
    )
    members = (
        fair.members.filter(party__isnull=False).values_list("party_id", flat=True)
        if fair is not None
        else Party.objects.filter(kind=PartyKind.PERSON).values_list("pk", flat=True)
    )
    segment_services.members_add(
        actor=None, segment=static, party_ids=list(members.order_by("pk")[: 15 * scale])
    )
    return 2
