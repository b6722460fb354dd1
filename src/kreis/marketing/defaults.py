"""Starting configuration: version 1 of a consent text per purpose in German and English.
Created by marketing's data migration (0002) and again by ``ensure_defaults`` wherever a
database may have been emptied since (tests that flush tables); administrators and marketing
add new versions (never edit old ones: a consent points at the exact wording agreed to)."""

from __future__ import annotations

TEXTS = {
    "newsletter": (
        "Ja, ich möchte den Newsletter per E-Mail erhalten. Meine Einwilligung kann ich "
        "jederzeit über den Abmeldelink in jeder E-Mail widerrufen.",
        "Yes, I would like to receive the newsletter by e-mail. I can withdraw my consent at "
        "any time through the unsubscribe link in every e-mail.",
    ),
    "marketing": (
        "Ja, ich möchte Angebote und Produktinformationen per E-Mail erhalten. Meine "
        "Einwilligung kann ich jederzeit über den Abmeldelink widerrufen.",
        "Yes, I would like to receive offers and product information by e-mail. I can "
        "withdraw my consent at any time through the unsubscribe link.",
    ),
    "events": (
        "Ja, ich möchte Einladungen zu Veranstaltungen per E-Mail erhalten. Meine Einwilligung "
        "kann ich jederzeit widerrufen.",
        "Yes, I would like to receive invitations to events by e-mail. I can withdraw my "
        "consent at any time.",
    ),
    "tracking": (
        "Ich bin einverstanden, dass meine Seitenaufrufe auf dieser Website mit einem "
        "eigenen Cookie erfasst und meiner Anfrage zugeordnet werden. Keine Weitergabe an "
        "Dritte; Widerruf jederzeit.",
        "I agree that my page visits on this website are recorded with a first-party cookie "
        "and linked to my enquiry. Nothing is passed to third parties; withdraw at any time.",
    ),
    "phone": (
        "Ja, ich bin mit Anrufen zu Angeboten und Produktinformationen einverstanden. Meine "
        "Einwilligung kann ich jederzeit widerrufen.",
        "Yes, I agree to be called about offers and product information. I can withdraw my "
        "consent at any time.",
    ),
}


def ensure_defaults(apps=None) -> None:
    """Create version 1 of each purpose's text in each language where that purpose and
    language has no text at all; existing texts stay as they are. ``apps``: a migration's
    historical app registry."""
    if apps is None:
        from kreis.marketing.models import ConsentText
    else:
        ConsentText = apps.get_model("marketing", "ConsentText")  # noqa: N806
    for purpose, (german, english) in TEXTS.items():
        for language, text in (("de", german), ("en", english)):
            if not ConsentText.objects.filter(purpose=purpose, language=language).exists():
                ConsentText.objects.create(purpose=purpose, language=language, version=1, text=text)
