"""Which column of an import file fills which field: suggestions and other CRMs' exports.

``suggest_mapping(entity, headers)`` proposes a target (see ``targets``) for each header it
recognises. Headers are compared after ``normalize``: lower case, umlauts spelled out (ä →
ae, ß → ss), everything but letters and digits dropped — so "E-Mail-Adresse", "e-mail
adresse" and "EMailAdresse" are one name. Three passes, strongest first, each target used
once: (1) the label or key of a custom field, (2) the key or label of a target in English or
German, (3) the synonym lists below (German and English headers of spreadsheets and CRMs).
A second e-mail or phone column goes to ``email_2`` / ``phone_2``. Headers with a record-type
prefix ("Person - Name", "Organization - Name", Pipedrive's style) are read for that record:
in a person file "Organization - Name" is the person's organisation.

``detect_preset(headers)`` recognises the exports of HubSpot, Salesforce (Data Export, API
field names), Pipedrive, Odoo and Microsoft Dynamics 365 (Excel export) by their column
names, in English and German, and returns the record type and a complete mapping: the
preset's own columns, and suggestions for the others.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from django.utils import translation
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from kreis.migration.targets import CUSTOM_PREFIX, Target, targets_for

_UMLAUTS = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", "ß": "ss", "é": "e", "è": "e"})
_NOT_ALNUM = re.compile(r"[^0-9a-z]+")


def normalize(header: str) -> str:
    """ "E-Mail-Adresse" → "emailadresse"; "Straße" and "Strasse" → "strasse"."""
    return _NOT_ALNUM.sub("", header.casefold().translate(_UMLAUTS))


def _names(text: str) -> set[str]:
    return {normalize(n) for n in text.split("|") if n.strip()}


# --- synonyms: target → header names, "|"-separated ---------------------------------------

_ORG_NAMES = (
    "Firma|Firmenname|Firmierung|Unternehmen|Unternehmensname|Name des Unternehmens|Company|"
    "Company Name|Account|Account Name|AccountName|Organisation|Organization|Organisationsname|"
    "Organization Name|Arbeitgeber|Employer|Associated Company|Related Company|"
    "Zugehöriges Unternehmen|Kunde|Kundenname|Customer|Customer Name|Name 1|Name1"
)
_EXTERNAL_ID = (
    "External ID|Externe ID|Extern ID|ID|Record ID|Datensatz-ID|Kundennummer|Kunden-Nr|"
    "Kundennr|Kd-Nr|Kd.-Nr.|Customer Number|Customer No|Customer ID|Kunden-ID|Debitor|"
    "Debitorennummer|Referenz|Reference|Ref|UID|Import ID"
)
_PARTY_EXTERNAL_ID = (
    "Kundennummer|Kunden-Nr|Kundennr|Kd-Nr|Customer Number|Customer No|Customer ID|Kunden-ID|"
    "Debitor|Debitorennummer|Debitor-Nr|Account ID|AccountId|Account Number|Party ID"
)
_ORG_EXTERNAL_ID = (
    "Firmen-ID|Firmennummer|Unternehmens-ID|Company ID|Account ID|AccountId|Organisation ID|"
    "Organization ID|Associated Company IDs|Associated Company ID|parent_id/id"
)
_CONTACT = {
    "email": "E-Mail|Email|E-Mail-Adresse|Email Address|E-Mail Address|Mail|E-Mail 1|Email 1|"
    "Primary Email|Work Email|E-Mail (geschäftlich)|E-Mail geschäftlich|Emailadresse|"
    "Email_from|Emailaddress1|E-Mail-Adresse 1",
    "email_2": "E-Mail 2|Email 2|Zweite E-Mail|E-Mail (privat)|E-Mail privat|Private Email|"
    "Home Email|Secondary Email|Weitere E-Mail|Emailaddress2|E-Mail-Adresse 2",
    "phone": "Telefon|Tel|Tel.|Phone|Phone Number|Telefonnummer|Business Phone|"
    "Telefon geschäftlich|Telefon (geschäftlich)|Work Phone|Festnetz|Main Phone|Haupttelefon|"
    "Rufnummer|Telephone|Telefon 1|Phone 1|Telephone1|Geschäftlich",
    "phone_2": "Telefon 2|Phone 2|Home Phone|Telefon privat|Telefon (privat)|Private Phone|"
    "Other Phone|Weitere Telefonnummer|Telephone2|HomePhone|OtherPhone",
    "mobile": "Mobil|Handy|Mobile|Mobile Phone|Mobiltelefon|Mobilnummer|Mobile Phone Number|"
    "Mobiltelefonnummer|Cell|Cell Phone|Handynummer|Mobilfunk|MobilePhone|Mobilfunknummer",
    "fax": "Fax|Telefax|Faxnummer|Fax Number|Business Fax|Fax geschäftlich",
    "social": "LinkedIn|LinkedIn URL|LinkedIn-Profil|LinkedIn Profile|Xing|Xing-Profil|Social|"
    "Social Profile|Twitter|Twitter Username",
}
_ADDRESS = {
    "street": "Straße|Strasse|Str|Str.|Street|Street Address|Adresse|Anschrift|Address|"
    "Address Line 1|Straße und Hausnummer|Straße/Hausnummer|Street 1|Adresse 1: Straße 1|"
    "Address 1: Street 1|MailingStreet|Mailing Street|BillingStreet|Billing Street|"
    "Rechnungsadresse Straße",
    "postal_code": "PLZ|Postleitzahl|Zip|Zip Code|Postal Code|Postcode|Post Code|"
    "Zip/Postal Code|MailingPostalCode|Mailing Postal Code|BillingPostalCode|"
    "Billing Postal Code|Address 1: ZIP/Postal Code|Adresse 1: Postleitzahl|Rechnungsadresse PLZ",
    "city": "Ort|Stadt|City|Town|Wohnort|Gemeinde|MailingCity|Mailing City|BillingCity|"
    "Billing City|Address 1: City|Adresse 1: Ort|Rechnungsadresse Ort",
    "region": "Bundesland|Region|State|State/Region|State/Province|Province|Kanton|"
    "MailingState|Mailing State|BillingState|Billing State|Address 1: State/Province|"
    "Adresse 1: Bundesland/Kanton|Bundesland/Region|County",
    "country": "Land|Country|Country/Region|Staat|Länderkennzeichen|Land/Region|Country Code|"
    "Ländercode|MailingCountry|Mailing Country|BillingCountry|Billing Country|"
    "Address 1: Country/Region|Adresse 1: Land/Region",
}
_PARTY = {
    "external_id": _EXTERNAL_ID,
    "website": "Webseite|Website|Homepage|URL|Web|Internet|Website URL|WWW|Internetseite|"
    "Internetadresse|Company Domain Name|Domain|Websiteurl",
    "notes": "Notiz|Notizen|Bemerkung|Bemerkungen|Kommentar|Kommentare|Notes|Note|Description|"
    "Beschreibung|Comment|Comments|Anmerkung|Anmerkungen|Info|Hinweis|Hinweise",
    "source": "Quelle|Source|Lead Source|LeadSource|Herkunft|Leadquelle|Original Source|"
    "Kontaktquelle|AccountSource",
    "territory": "Gebiet|Territory|Vertriebsgebiet|Verkaufsgebiet|Sales Territory",
    "iban": "IBAN|Bankverbindung|Bankverbindung IBAN|Konto IBAN",
    "contract_end": "Vertragsende|Contract End|Vertragsablauf|Laufzeitende|Contract End Date",
    "roles": "Rolle|Rollen|Roles|Role|Typ|Type|Kundentyp|Customer Type|Account Type|Beziehung|"
    "Relationship|Kontakttyp",
    "tags": "Tags|Tag|Schlagwörter|Schlagworte|Stichwörter|Stichworte|Labels|Label|Kategorien|"
    "Categories|Kategorie|Category|Merkmale|Gruppen|Groups",
    "owner": "Besitzer|Inhaber|Betreuer|Kundenbetreuer|Verantwortlich|Verantwortlicher|"
    "Zuständig|Owner|Account Owner|Contact Owner|Kontaktinhaber|Record Owner|Sales Rep|"
    "Salesperson|Verkäufer|Vertriebsmitarbeiter|Bearbeiter|Assigned To|Zugewiesen an|"
    "Company Owner|Unternehmensinhaber|Außendienst|Aussendienst",
    "team": "Team|Vertriebsteam|Sales Team|Verkaufsteam",
    **_CONTACT,
    **_ADDRESS,
}
SYNONYMS: dict[str, dict[str, str]] = {
    "organization": {
        **_PARTY,
        "name": _ORG_NAMES + "|Name",
        "industry": "Branche|Industry|Sector|Sektor|Industrie|Wirtschaftszweig|Branchen",
        "size": "Mitarbeiter|Mitarbeiterzahl|Anzahl Mitarbeiter|Employees|Number of Employees|"
        "NumberOfEmployees|Company Size|Größe|Unternehmensgröße|Size|Beschäftigte",
        "vat_id": "USt-IdNr.|USt-IdNr|USt-ID|UStID|Umsatzsteuer-ID|Umsatzsteuer-IdNr|"
        "Umsatzsteuer-Identifikationsnummer|VAT|VAT ID|VAT Number|VAT Reg No|Tax ID|USt-Id-Nr",
        "purchasing_potential": "Einkaufspotenzial|Einkaufspotential|Kaufpotenzial|Potenzial|"
        "Potential|Purchasing Potential|Umsatzpotenzial|Umsatzpotential|Jahrespotenzial",
        "termination_announced": "Gekündigt|Kündigung|Termination Announced|Kündigung erhalten",
    },
    "person": {
        **_PARTY,
        "salutation": "Anrede|Salutation|Prefix|Briefanrede|Titel|Akademischer Titel",
        "first_name": "Vorname|First Name|Firstname|Given Name|Rufname|Vornamen",
        "last_name": "Nachname|Last Name|Lastname|Surname|Family Name|Familienname|Zuname",
        "full_name": "Name|Vollständiger Name|Full Name|Fullname|Kontakt|Kontaktname|"
        "Ansprechpartner|Ansprechperson|Contact|Contact Name|Kontaktperson|Person|Person Name|"
        "Personenname",
        "organization": _ORG_NAMES,
        "organization_external_id": _ORG_EXTERNAL_ID,
        "position": "Position|Funktion|Job Title|Title|Jobtitel|Berufsbezeichnung|"
        "Stellenbezeichnung|Job Position|Jobbezeichnung|Berufsbezeichnung|Rolle im Unternehmen",
        "department": "Abteilung|Department|Bereich|Fachbereich",
    },
    "lead": {
        "external_id": _EXTERNAL_ID,
        "status": "Status|Lead Status|Lead-Status|Leadstatus",
        "salutation": "Anrede|Salutation|Prefix",
        "first_name": "Vorname|First Name|Firstname|Given Name",
        "last_name": "Nachname|Last Name|Lastname|Surname|Family Name|Familienname",
        "full_name": "Name|Vollständiger Name|Full Name|Kontakt|Ansprechpartner|Contact|"
        "Contact Name|Kontaktperson",
        "company": _ORG_NAMES,
        "position": "Position|Funktion|Job Title|Title|Jobtitel|Berufsbezeichnung",
        "email": _CONTACT["email"],
        "phone": _CONTACT["phone"] + "|" + _CONTACT["mobile"],
        "website": _PARTY["website"],
        "source": _PARTY["source"],
        "budget": "Budget|Estimated Budget|Geschätztes Budget|Umsatz|Volumen",
        "authority": "Entscheider|Entscheidungsbefugnis|Authority|Decision Maker",
        "need": "Bedarf|Need|Anforderung|Anforderungen",
        "timeline": "Zeitrahmen|Zeitplan|Timeline|Termin",
        "disqualify_reason": "Disqualifizierungsgrund|Disqualification Reason|Grund",
        "notes": _PARTY["notes"],
        "tags": _PARTY["tags"],
        "owner": _PARTY["owner"],
        "team": _PARTY["team"],
    },
    "deal": {
        "external_id": _EXTERNAL_ID,
        "name": "Name|Titel|Title|Deal Name|Dealname|Opportunity Name|Topic|Thema|Bezeichnung|"
        "Verkaufschance|Opportunity|Geschäft|Deal|Name des Deals|Projekt|Project",
        "pipeline": "Pipeline|Vertriebspipeline|Sales Pipeline",
        "stage": "Phase|Stage|Deal Stage|StageName|Stage Name|Verkaufsphase|Stufe|Deal-Phase|"
        "Dealphase|Pipeline Phase|Pipelinephase|Vertriebsphase",
        "amount": "Betrag|Wert|Value|Amount|Umsatz|Volumen|Deal Value|Est. Revenue|"
        "Geschätzter Umsatz|Erwarteter Umsatz|Expected Revenue|Auftragswert|Dealwert|Summe",
        "currency": "Währung|Currency|CurrencyIsoCode|Currency Code|Währungscode",
        "expected_close": "Abschlussdatum|Erwarteter Abschluss|Close Date|CloseDate|"
        "Expected Close|Expected Close Date|Est. Close Date|Voraussichtliches Abschlussdatum|"
        "Geschätztes Abschlussdatum|Abschluss|Expected Closing",
        "closed_at": "Geschlossen am|Closed At|Closed|Won Time|Gewonnen am|Closed Date|"
        "Actual Close Date|Tatsächliches Abschlussdatum",
        "lost_reason": "Verlustgrund|Lost Reason|Grund für Verlust|Lost reason",
        "lost_note": "Verlustnotiz|Lost Note|Verlustkommentar",
        "source": _PARTY["source"],
        "notes": _PARTY["notes"],
        "organization": _ORG_NAMES + "|Potential Customer|Potenzieller Kunde",
        "organization_external_id": _ORG_EXTERNAL_ID,
        "contact": "Ansprechpartner|Kontakt|Contact|Contact Person|Kontaktperson|"
        "Associated Contact|Person|Hauptkontakt|Primary Contact",
        "contact_email": "E-Mail|Email|Kontakt E-Mail|Contact Email|E-Mail Ansprechpartner",
        "contact_external_id": "Kontakt-ID|Contact ID|ContactId|Associated Contact IDs",
        "tags": _PARTY["tags"],
        "owner": _PARTY["owner"] + "|Deal Owner|Dealinhaber|Deal-Inhaber|Opportunity Owner",
        "team": _PARTY["team"],
    },
    "activity": {
        "external_id": "External ID|Externe ID|ID|Record ID|Activity ID|Aktivitäts-ID",
        "kind": "Typ|Art|Type|Aktivitätstyp|Activity Type|Kind|Aktivitätsart",
        "subject": "Betreff|Subject|Titel|Title|Thema|Aufgabe|Task",
        "body": "Beschreibung|Notiz|Inhalt|Details|Body|Description|Note|Notes|Text|Bemerkung",
        "occurred_at": "Datum|Date|Zeitpunkt|Due Date|Fällig|Fälligkeitsdatum|Fällig am|Start|"
        "Beginn|Startzeit|Activity Date|Termin|Datum/Uhrzeit|Due",
        "ends_at": "Ende|End|Endzeit|End Time|Bis",
        "done_at": "Erledigt am|Done|Completed|Abgeschlossen am|Erledigt|Completed Date",
        "direction": "Richtung|Direction",
        "duration_minutes": "Dauer|Duration|Dauer (min)|Dauer in Minuten|Duration (minutes)",
        "outcome": "Ergebnis|Outcome|Result|Call Outcome|Anrufergebnis",
        "location": "Ort|Location|Raum|Treffpunkt",
        "party": "Firma|Kontakt|Kunde|Name|Party|Organisation|Organization|Company|Person|"
        "Contact|Account|Account Name",
        "party_external_id": _PARTY_EXTERNAL_ID,
        "party_email": "E-Mail|Email|Kontakt E-Mail|Contact Email",
        "deal_external_id": "Deal ID|Deal-ID|Opportunity ID|Verkaufschance-ID",
        "lead_external_id": "Lead ID|Lead-ID",
        "owner": _PARTY["owner"] + "|Zugewiesen|Assignee",
        "team": _PARTY["team"],
    },
    "product": {
        "sku": "SKU|Artikelnummer|Art-Nr|Art.-Nr.|ArtNr|Artikel-Nr|Produktnummer|Product Code|"
        "ProductCode|Item Number|Materialnummer|Artikelnr|Item No|Product ID|Produkt-ID|"
        "Default Code|Interne Referenz|Internal Reference",
        "name": "Name|Bezeichnung|Artikelbezeichnung|Produktname|Product Name|Artikel|Produkt|"
        "Product|Item|Artikelname",
        "list_price": "Preis|Listenpreis|VK|Verkaufspreis|List Price|Price|Unit Price|VK-Preis|"
        "Einzelpreis|Sales Price|ListPrice|Nettopreis",
        "unit_cost": "EK|Einkaufspreis|Kosten|Stückkosten|Unit Cost|Cost|EK-Preis|Selbstkosten|"
        "Standard Price|Standardpreis|Herstellkosten",
        "unit": "Einheit|Unit|ME|Mengeneinheit|UoM|Unit of Measure|Maßeinheit",
        "currency": "Währung|Currency",
        "category": "Kategorie|Warengruppe|Category|Produktgruppe|Artikelgruppe|"
        "Product Category|Produktkategorie|Family|Produktfamilie",
        "description": "Beschreibung|Description|Langtext|Artikelbeschreibung",
        "is_active": "Aktiv|Active|IsActive|Verfügbar",
    },
    "transaction": {
        "external_id": "External ID|Externe ID|ID|Transaction ID|Transaktions-ID|Beleg-ID",
        "number": "Belegnummer|Belegnr|Beleg-Nr|Rechnungsnummer|Rechnungsnr|Rechnungs-Nr|"
        "Auftragsnummer|Auftrags-Nr|Bestellnummer|Bestell-Nr|Order Number|Invoice Number|"
        "Order ID|Order No|Invoice No|Nummer|Number|Beleg|Dokumentnummer|Document Number",
        "kind": "Art|Typ|Belegart|Type|Kind|Dokumentart|Document Type|Vorgangsart",
        "date": "Datum|Belegdatum|Rechnungsdatum|Auftragsdatum|Bestelldatum|Date|Order Date|"
        "Invoice Date|Lieferdatum|Buchungsdatum",
        "party": "Kunde|Kundenname|Firma|Customer|Customer Name|Name|Debitor Name|"
        "Debitorname|Account Name|Company",
        "party_external_id": _PARTY_EXTERNAL_ID,
        "party_email": "E-Mail|Email|Kunden-E-Mail|Customer Email",
        "currency": "Währung|Currency|Währungscode",
        "channel": "Kanal|Vertriebskanal|Channel|Sales Channel|Vertriebsweg",
        "note": "Notiz|Bemerkung|Note|Notes|Kommentar|Comment",
        "owner": _PARTY["owner"],
        "team": _PARTY["team"],
        "line.sku": "Artikelnummer|SKU|Art-Nr|Art.-Nr.|ArtNr|Artikel-Nr|Product Code|"
        "Item Number|Materialnummer|Produktnummer|Artikelnr|Item No",
        "line.description": "Artikelbezeichnung|Bezeichnung|Beschreibung|Description|Artikel|"
        "Produkt|Product|Item|Positionstext|Line Description|Text",
        "line.quantity": "Menge|Anzahl|Quantity|Qty|Stück|Stückzahl|Anz|Anz.",
        "line.unit_price": "Einzelpreis|Preis|Stückpreis|Unit Price|Price|VK|"
        "Netto-Einzelpreis|Nettopreis|Umsatz|Betrag|Nettobetrag|Amount|Net Amount",
        "line.discount": "Rabatt|Discount|Nachlass|Rabattbetrag",
    },
}
_SYNONYMS = {
    entity: {key: _names(text) for key, text in table.items()} for entity, table in SYNONYMS.items()
}
# When the target is taken, the next column of the same kind goes here.
OVERFLOW = {"email": "email_2", "phone": "phone_2", "mobile": "phone_2"}

# "Person - Name", "Organization - Address", "Deal - Title": which record the prefix names.
_PREFIX = re.compile(
    r"^\s*(?P<prefix>person|kontakt|contact|organi[sz]ation|company|unternehmen|firma|account|"
    r"deal|geschäft|geschaeft|opportunity|lead|product|produkt|activity|aktivität)\s*[-:]\s+",
    re.I,
)
_PREFIX_RECORD = {
    "person": "person",
    "kontakt": "person",
    "contact": "person",
    "organisation": "organization",
    "organization": "organization",
    "company": "organization",
    "unternehmen": "organization",
    "firma": "organization",
    "account": "organization",
    "deal": "deal",
    "geschäft": "deal",
    "geschaeft": "deal",
    "opportunity": "deal",
    "lead": "lead",
    "product": "product",
    "produkt": "product",
    "activity": "activity",
    "aktivität": "activity",
}
# A column of another record in the file: (this entity, that record) → {column: target}.
_FOREIGN = {
    ("person", "organization"): {
        "name": "organization",
        "id": "organization_external_id",
    },
    ("deal", "organization"): {"name": "organization", "id": "organization_external_id"},
    ("deal", "person"): {
        "name": "contact",
        "email": "contact_email",
        "id": "contact_external_id",
    },
    ("lead", "organization"): {"name": "company"},
    ("activity", "organization"): {"name": "party", "id": "party_external_id"},
    ("activity", "person"): {"email": "party_email"},
    ("activity", "deal"): {"id": "deal_external_id"},
    ("activity", "lead"): {"id": "lead_external_id"},
    ("transaction", "organization"): {"name": "party", "id": "party_external_id"},
    ("transaction", "product"): {"id": "line.sku", "name": "line.description"},
}


def _split_prefix(entity: str, header: str) -> tuple[str, str | None]:
    """(the header without a record prefix, a target fixed by a foreign prefix or None)."""
    m = _PREFIX.match(header)
    if m is None:
        return header, None
    record = _PREFIX_RECORD[m["prefix"].lower()]
    rest = header[m.end() :]
    if record == entity or (entity, record) == ("lead", "person"):  # a lead is a person
        return rest, None
    foreign = _FOREIGN.get((entity, record), {})
    key = normalize(rest)
    if key in ("name", "titel", "title", "firmenname", "companyname"):
        return rest, foreign.get("name", "")
    if key in ("id", "externalid", "externeid", "recordid"):
        return rest, foreign.get("id", "")
    if key.startswith(("email", "mail")):
        return rest, foreign.get("email", "")
    return rest, ""  # another record's field: not this record's


def _labels(targets: Iterable[Target]) -> dict[str, str]:
    """Normalised key and labels (English and German) of the built-in targets → key."""
    found: dict[str, str] = {}
    for lang in ("en", "de"):
        with translation.override(lang):
            for t in targets:
                if not t.is_custom:
                    found.setdefault(normalize(str(t.label)), t.key)
    for t in targets:
        if not t.is_custom:
            found.setdefault(normalize(t.key), t.key)
    return found


def suggest_mapping(
    entity: str,
    headers: Iterable[str],
    *,
    targets: list[Target] | None = None,
    taken: Iterable[str] = (),
) -> dict[str, str]:
    """{header: target key} for the headers recognised; unknown headers are left out.

    ``targets`` defaults to ``targets_for(entity)`` (with the custom fields, from the
    database); ``taken`` are targets already mapped (by a preset) and not suggested again.
    """
    if targets is None:
        targets = targets_for(entity)
    headers = list(headers)
    valid = {t.key for t in targets}
    used = set(taken)
    result: dict[str, str] = {}
    names: dict[str, str] = {}
    for header in headers:
        rest, fixed = _split_prefix(entity, header)
        if fixed is not None:
            if fixed and fixed in valid and fixed not in used:
                result[header] = fixed
                used.add(fixed)
            names[header] = ""  # another record's column: no further guess
        else:
            names[header] = normalize(rest)

    def claim(header: str, key: str | None, *, overflow: bool = False) -> None:
        if key is None or key not in valid or header in result:
            return
        if key in used:
            if not overflow:
                return
            key = OVERFLOW.get(key)
            if key is None or key in used or key not in valid:
                return
        result[header] = key
        used.add(key)

    custom = {}
    for t in targets:
        if t.is_custom:
            custom.setdefault(normalize(str(t.label)), t.key)
            custom.setdefault(normalize(t.key.removeprefix(CUSTOM_PREFIX)), t.key)
    labels = _labels(targets)
    synonyms = _SYNONYMS.get(entity, {})
    lookup = {name: key for key, names_ in synonyms.items() for name in names_}
    for table in (custom, labels, lookup):
        for header in headers:
            if names[header]:
                claim(header, table.get(names[header]))
    # A second e-mail or phone column, in the file's order.
    for header in headers:
        name = names[header]
        if name:
            claim(header, labels.get(name) or lookup.get(name), overflow=True)
    return result


# --- presets: other CRMs' exports -----------------------------------------------------------


@dataclass(frozen=True)
class Preset:
    """An export format of another CRM: its name, the record type and its mapping."""

    key: str
    name: str | Promise  # shown to the user: in their language
    entity: str
    # columns as the CRM writes them → target; matched to the file's headers normalised
    columns: dict[str, str]
    # all of these (normalised) must be present; any one group of ``signature`` suffices
    signature: tuple[tuple[str, ...], ...]
    # none of these may be present (tells contacts from companies)
    absent: tuple[str, ...] = ()
    mapping: dict[str, str] = field(default_factory=dict)

    def mapping_for(self, entity: str) -> dict[str, str]:
        """The mapping when importing as ``entity``: empty for another record type."""
        return dict(self.mapping) if entity == self.entity else {}

    def matches(self, names: set[str]) -> bool:
        if any(normalize(a) in names for a in self.absent):
            return False
        return any(all(normalize(h) in names for h in group) for group in self.signature)


def _cols(text: str) -> dict[str, str]:
    """ "Header=target; Header=target" → dict."""
    result = {}
    for item in text.split(";"):
        if item.strip():
            header, _eq, target = item.rpartition("=")
            result[header.strip()] = target.strip()
    return result


# Odoo keeps persons and companies in one model (res.partner): the columns both exports share,
# technical names, English and German labels.
ODOO_PARTNER = (
    "id=external_id; street=street; zip=postal_code; city=city; state_id=region; "
    "country_id=country; phone=phone; mobile=mobile; email=email; website=website; "
    "category_id=tags; user_id=owner; comment=notes; "
    "External ID=external_id; Street=street; Zip=postal_code; City=city; State=region; "
    "Country=country; Phone=phone; Mobile=mobile; Email=email; Website=website; Tags=tags; "
    "Salesperson=owner; Notes=notes; "
    "Externe ID=external_id; Straße=street; PLZ=postal_code; Stadt=city; Ort=city; "
    "Bundesland=region; Land=country; Telefon=phone; Mobil=mobile; E-Mail=email; "
    "Stichwörter=tags; Schlagwörter=tags; Vertriebsmitarbeiter=owner; Verkäufer=owner; "
    "Notizen=notes; "
)

PRESETS: list[Preset] = [
    # HubSpot: export of a contacts/companies/deals view (English or German UI language).
    Preset(
        key="hubspot_contacts",
        name=_("HubSpot – contacts"),
        entity="person",
        columns=_cols(
            "Record ID=external_id; First Name=first_name; Last Name=last_name; Email=email; "
            "Phone Number=phone; Mobile Phone Number=mobile; Job Title=position; "
            "Company Name=organization; Associated Company IDs=organization_external_id; "
            "Street Address=street; City=city; State/Region=region; Postal Code=postal_code; "
            "Zip=postal_code; Country/Region=country; Website URL=website; "
            "Contact owner=owner; Lead Status=tags; Original Source=source; "
            "Datensatz-ID=external_id; Vorname=first_name; Nachname=last_name; "
            "E-Mail=email; Telefonnummer=phone; Mobiltelefonnummer=mobile; "
            "Jobbezeichnung=position; Name des Unternehmens=organization; "
            "Unternehmensname=organization; Adresse=street; Stadt=city; "
            "Bundesland/Region=region; Postleitzahl=postal_code; Land/Region=country; "
            "Website-URL=website; Kontaktinhaber=owner; Originalquelle=source"
        ),
        signature=(
            ("Record ID", "First Name"),
            ("Record ID", "Email"),
            ("Datensatz-ID", "Vorname"),
        ),
    ),
    Preset(
        key="hubspot_companies",
        name=_("HubSpot – companies"),
        entity="organization",
        columns=_cols(
            "Record ID=external_id; Company name=name; Company Domain Name=website; "
            "Website URL=website; Phone Number=phone; Street Address=street; City=city; "
            "State/Region=region; Postal Code=postal_code; Country/Region=country; "
            "Industry=industry; Number of Employees=size; Company owner=owner; "
            "Lifecycle Stage=roles; Description=notes; "
            "Datensatz-ID=external_id; Name des Unternehmens=name; Unternehmensname=name; "
            "Domain-Name des Unternehmens=website; Website-URL=website; Telefonnummer=phone; "
            "Adresse=street; Stadt=city; Bundesland/Region=region; Postleitzahl=postal_code; "
            "Land/Region=country; Branche=industry; Anzahl der Mitarbeiter=size; "
            "Unternehmensinhaber=owner; Lifecycle-Phase=roles; Beschreibung=notes"
        ),
        signature=(
            ("Record ID", "Company name"),
            ("Record ID", "Company Domain Name"),
            ("Datensatz-ID", "Name des Unternehmens"),
            ("Datensatz-ID", "Unternehmensname"),
        ),
        absent=("First Name", "Vorname", "Deal Name", "Name des Deals"),
    ),
    Preset(
        key="hubspot_deals",
        name=_("HubSpot – deals"),
        entity="deal",
        columns=_cols(
            "Record ID=external_id; Deal Name=name; Pipeline=pipeline; Deal Stage=stage; "
            "Amount=amount; Close Date=expected_close; Deal owner=owner; "
            "Associated Company=organization; Associated Company IDs=organization_external_id; "
            "Associated Contact=contact; Associated Contact IDs=contact_external_id; "
            "Deal Description=notes; Currency=currency; "
            "Datensatz-ID=external_id; Name des Deals=name; Deal-Phase=stage; Betrag=amount; "
            "Abschlussdatum=expected_close; Dealinhaber=owner; Deal-Inhaber=owner; "
            "Zugeordnetes Unternehmen=organization; Zugeordneter Kontakt=contact; "
            "Beschreibung des Deals=notes; Währung=currency"
        ),
        signature=(
            ("Record ID", "Deal Name"),
            ("Record ID", "Deal Stage"),
            ("Datensatz-ID", "Name des Deals"),
            ("Datensatz-ID", "Deal-Phase"),
        ),
    ),
    # Salesforce: Data Export (Setup → Data Export), one CSV per object, API field names.
    Preset(
        key="salesforce_contacts",
        name=_("Salesforce – contacts (Data Export)"),
        entity="person",
        columns=_cols(
            "Id=external_id; AccountId=organization_external_id; Salutation=salutation; "
            "FirstName=first_name; LastName=last_name; MailingStreet=street; "
            "MailingCity=city; MailingState=region; MailingPostalCode=postal_code; "
            "MailingCountry=country; Phone=phone; Fax=fax; MobilePhone=mobile; "
            "HomePhone=phone_2; Email=email; Title=position; Department=department; "
            "LeadSource=source; Description=notes"
        ),
        signature=(("Id", "AccountId", "LastName", "FirstName"),),
    ),
    Preset(
        key="salesforce_accounts",
        name=_("Salesforce – accounts (Data Export)"),
        entity="organization",
        columns=_cols(
            "Id=external_id; Name=name; Type=roles; BillingStreet=street; BillingCity=city; "
            "BillingState=region; BillingPostalCode=postal_code; BillingCountry=country; "
            "Phone=phone; Fax=fax; Website=website; Industry=industry; "
            "NumberOfEmployees=size; Description=notes; AccountSource=source"
        ),
        signature=(("Id", "Name", "BillingCity"), ("Id", "Name", "BillingStreet")),
        absent=("LastName", "StageName"),
    ),
    Preset(
        key="salesforce_opportunities",
        name=_("Salesforce – opportunities (Data Export)"),
        entity="deal",
        columns=_cols(
            "Id=external_id; AccountId=organization_external_id; Name=name; "
            "Description=notes; StageName=stage; Amount=amount; CloseDate=expected_close; "
            "LeadSource=source; CurrencyIsoCode=currency"
        ),
        signature=(("Id", "Name", "StageName", "CloseDate"),),
    ),
    Preset(
        key="salesforce_leads",
        name=_("Salesforce – leads (Data Export)"),
        entity="lead",
        columns=_cols(
            "Id=external_id; Salutation=salutation; FirstName=first_name; LastName=last_name; "
            "Title=position; Company=company; Phone=phone; Email=email; Website=website; "
            "LeadSource=source; Status=status; Description=notes"
        ),
        signature=(("Id", "LastName", "Company", "Status"),),
    ),
    # Pipedrive: export of a list view; columns carry the record as a prefix.
    Preset(
        key="pipedrive_persons",
        name=_("Pipedrive – people"),
        entity="person",
        columns=_cols(
            "Person - ID=external_id; Person - Name=full_name; Person - First name=first_name; "
            "Person - Last name=last_name; Person - Email=email; Person - Email - Work=email; "
            "Person - Email - Home=email_2; Person - Phone=phone; Person - Phone - Work=phone; "
            "Person - Phone - Mobile=mobile; Person - Phone - Home=phone_2; "
            "Person - Organization=organization; Organization - Name=organization; "
            "Organization - ID=organization_external_id; Person - Owner=owner; "
            "Person - Label=tags; Person - Labels=tags; Person - Job title=position; "
            "Person - Postal address=street; Person - Notes=notes; "
            "Person - Vorname=first_name; Person - Nachname=last_name; "
            "Person - E-Mail=email; Person - Telefon=phone; Person - Organisation=organization; "
            "Organisation - Name=organization; Person - Besitzer=owner; Person - Label=tags"
        ),
        signature=(("Person - Name",), ("Person - ID", "Person - Email")),
        absent=("Deal - Title", "Deal - Titel"),
    ),
    Preset(
        key="pipedrive_organizations",
        name=_("Pipedrive – organisations"),
        entity="organization",
        columns=_cols(
            "Organization - ID=external_id; Organization - Name=name; "
            "Organization - Address=street; "
            "Organization - Address - Street/road name=street; "
            "Organization - Address - City/town/village/locality=city; "
            "Organization - Address - ZIP/Postal code=postal_code; "
            "Organization - Address - Country=country; Organization - Owner=owner; "
            "Organization - Label=tags; Organization - Website=website; "
            "Organization - Industry=industry; Organization - Notes=notes; "
            "Organisation - ID=external_id; Organisation - Name=name; "
            "Organisation - Adresse=street; Organisation - Besitzer=owner; "
            "Organisation - Label=tags"
        ),
        signature=(("Organization - Name",), ("Organisation - Name",)),
        absent=("Person - Name", "Deal - Title", "Deal - Titel"),
    ),
    Preset(
        key="pipedrive_deals",
        name=_("Pipedrive – deals"),
        entity="deal",
        columns=_cols(
            "Deal - ID=external_id; Deal - Title=name; Deal - Value=amount; "
            "Deal - Currency=currency; Deal - Pipeline=pipeline; Deal - Stage=stage; "
            "Deal - Expected close date=expected_close; Deal - Won time=closed_at; "
            "Deal - Lost reason=lost_reason; Deal - Owner=owner; "
            "Deal - Organization=organization; Organization - Name=organization; "
            "Deal - Contact person=contact; Person - Name=contact; "
            "Person - Email=contact_email; Deal - Label=tags; Deal - Source=source; "
            "Deal - Titel=name; Deal - Wert=amount; Deal - Währung=currency; "
            "Deal - Phase=stage; Deal - Erwartetes Abschlussdatum=expected_close; "
            "Deal - Organisation=organization; Deal - Kontaktperson=contact; "
            "Deal - Besitzer=owner; Deal - Verlustgrund=lost_reason"
        ),
        signature=(("Deal - Title",), ("Deal - Titel",)),
    ),
    # Odoo: Contacts → Export, "import-compatible" (technical names) or with labels.
    Preset(
        key="odoo_contacts",
        name=_("Odoo – contacts"),
        entity="person",
        columns=_cols(
            ODOO_PARTNER + "name=full_name; parent_id=organization; "
            "parent_id/id=organization_external_id; function=position; title=salutation; "
            "Name=full_name; Related Company=organization; Company Name=organization; "
            "Job Position=position; Title=salutation; "
            "Zugehöriges Unternehmen=organization; Arbeitsposition=position; "
            "Stellenbezeichnung=position; Anrede=salutation"
        ),
        signature=(
            ("name", "parent_id", "street2"),
            ("Name", "Related Company", "Street2"),
            ("Name", "Zugehöriges Unternehmen", "Straße 2"),
        ),
    ),
    Preset(
        key="odoo_companies",
        name=_("Odoo – companies"),
        entity="organization",
        columns=_cols(
            ODOO_PARTNER + "name=name; vat=vat_id; industry_id=industry; "
            "Name=name; Tax ID=vat_id; Industry=industry; "
            "USt-IdNr.=vat_id; Steuer-ID=vat_id; Branche=industry"
        ),
        signature=(
            ("name", "is_company", "street2"),
            ("Name", "Is a Company", "Street2"),
            ("Name", "Ist ein Unternehmen", "Straße 2"),
        ),
        absent=("parent_id", "Related Company", "Zugehöriges Unternehmen"),
    ),
    Preset(
        key="odoo_opportunities",
        name=_("Odoo – CRM opportunities"),
        entity="deal",
        columns=_cols(
            "id=external_id; name=name; partner_id=organization; expected_revenue=amount; "
            "stage_id=stage; user_id=owner; date_deadline=expected_close; "
            "tag_ids=tags; description=notes; email_from=contact_email; "
            "External ID=external_id; Opportunity=name; Customer=organization; "
            "Expected Revenue=amount; Stage=stage; Salesperson=owner; "
            "Expected Closing=expected_close; Tags=tags; "
            "Externe ID=external_id; Verkaufschance=name; Kunde=organization; "
            "Erwarteter Umsatz=amount; Phase=stage; Vertriebsmitarbeiter=owner; "
            "Erwarteter Abschluss=expected_close; Stichwörter=tags"
        ),
        signature=(
            ("name", "expected_revenue", "stage_id"),
            ("Opportunity", "Expected Revenue", "Stage"),
            ("Verkaufschance", "Erwarteter Umsatz", "Phase"),
        ),
    ),
    # Microsoft Dynamics 365: "Export to Excel" of a view; the first hidden columns carry
    # the record's GUID as "(Do Not Modify) <record>".
    Preset(
        key="dynamics_contacts",
        name=_("Microsoft Dynamics 365 – contacts"),
        entity="person",
        columns=_cols(
            "(Do Not Modify) Contact=external_id; Full Name=full_name; First Name=first_name; "
            "Last Name=last_name; Salutation=salutation; Job Title=position; "
            "Department=department; Company Name=organization; Account Name=organization; "
            "Email=email; Email Address 2=email_2; Business Phone=phone; Home Phone=phone_2; "
            "Mobile Phone=mobile; Fax=fax; Address 1: Street 1=street; Address 1: City=city; "
            "Address 1: State/Province=region; Address 1: ZIP/Postal Code=postal_code; "
            "Address 1: Country/Region=country; Website=website; Owner=owner; "
            "Description=notes; "
            "(Nicht ändern) Kontakt=external_id; Vollständiger Name=full_name; "
            "Vorname=first_name; Nachname=last_name; Anrede=salutation; "
            "Position=position; Abteilung=department; Firmenname=organization; "
            "E-Mail=email; E-Mail-Adresse 2=email_2; Telefon (geschäftlich)=phone; "
            "Telefon (privat)=phone_2; Mobiltelefon=mobile; "
            "Adresse 1: Straße 1=street; Adresse 1: Ort=city; "
            "Adresse 1: Bundesland/Kanton=region; Adresse 1: Postleitzahl=postal_code; "
            "Adresse 1: Land/Region=country; Besitzer=owner; Beschreibung=notes"
        ),
        signature=(("(Do Not Modify) Contact",), ("(Nicht ändern) Kontakt",)),
    ),
    Preset(
        key="dynamics_accounts",
        name=_("Microsoft Dynamics 365 – accounts"),
        entity="organization",
        columns=_cols(
            "(Do Not Modify) Account=external_id; Account Name=name; "
            "Account Number=external_id; Main Phone=phone; Fax=fax; Email=email; "
            "Website=website; Industry=industry; Number of Employees=size; "
            "Address 1: Street 1=street; Address 1: City=city; "
            "Address 1: State/Province=region; Address 1: ZIP/Postal Code=postal_code; "
            "Address 1: Country/Region=country; Owner=owner; Description=notes; "
            "(Nicht ändern) Firma=external_id; Firmenname=name; Kontonummer=external_id; "
            "Haupttelefon=phone; E-Mail=email; Website=website; Branche=industry; "
            "Anzahl Mitarbeiter=size; Adresse 1: Straße 1=street; Adresse 1: Ort=city; "
            "Adresse 1: Bundesland/Kanton=region; Adresse 1: Postleitzahl=postal_code; "
            "Adresse 1: Land/Region=country; Besitzer=owner; Beschreibung=notes"
        ),
        signature=(("(Do Not Modify) Account",), ("(Nicht ändern) Firma",)),
    ),
    Preset(
        key="dynamics_opportunities",
        name=_("Microsoft Dynamics 365 – opportunities"),
        entity="deal",
        columns=_cols(
            "(Do Not Modify) Opportunity=external_id; Topic=name; "
            "Potential Customer=organization; Contact=contact; Est. Revenue=amount; "
            "Est. Close Date=expected_close; Actual Close Date=closed_at; "
            "Pipeline Phase=stage; Sales Stage=stage; Owner=owner; Description=notes; "
            "Currency=currency; "
            "(Nicht ändern) Verkaufschance=external_id; Thema=name; "
            "Potenzieller Kunde=organization; Kontakt=contact; Geschätzter Umsatz=amount; "
            "Geschätztes Abschlussdatum=expected_close; "
            "Tatsächliches Abschlussdatum=closed_at; Pipelinephase=stage; "
            "Vertriebsphase=stage; Besitzer=owner; Beschreibung=notes; Währung=currency"
        ),
        signature=(("(Do Not Modify) Opportunity",), ("(Nicht ändern) Verkaufschance",)),
    ),
    Preset(
        key="dynamics_leads",
        name=_("Microsoft Dynamics 365 – leads"),
        entity="lead",
        columns=_cols(
            "(Do Not Modify) Lead=external_id; First Name=first_name; Last Name=last_name; "
            "Name=full_name; Topic=need; Company Name=company; Job Title=position; "
            "Email=email; Business Phone=phone; Website=website; Lead Source=source; "
            "Status Reason=status; Owner=owner; Description=notes; "
            "(Nicht ändern) Lead=external_id; Vorname=first_name; Nachname=last_name; "
            "Thema=need; Firmenname=company; Position=position; E-Mail=email; "
            "Telefon (geschäftlich)=phone; Leadquelle=source; Statusgrund=status; "
            "Besitzer=owner; Beschreibung=notes"
        ),
        signature=(("(Do Not Modify) Lead",), ("(Nicht ändern) Lead",)),
    ),
]
# vCard files read by readers.open_table have fixed English headers.
VCARD_PRESET = Preset(
    key="vcard",
    name="vCard",
    entity="person",
    columns=_cols(
        "UID=external_id; Full name=full_name; Salutation=salutation; First name=first_name; "
        "Last name=last_name; Organization=organization; Department=department; "
        "Title=position; E-mail=email; E-mail 2=email_2; Phone=phone; Phone 2=phone_2; "
        "Mobile=mobile; Fax=fax; Street=street; Postal code=postal_code; City=city; "
        "Region=region; Country=country; Website=website; Categories=tags; Note=notes"
    ),
    signature=(("UID", "Full name", "E-mail 2", "Phone 2", "Categories"),),
)
PRESETS.append(VCARD_PRESET)


def detect_preset(
    headers: Iterable[str],
    *,
    targets_of: Callable[[str], list[Target]] | None = None,
) -> Preset | None:
    """The first preset whose signature the headers show, with ``mapping`` set for these
    headers (the preset's columns, then suggestions for the rest); None if none fits.

    ``targets_of(entity)`` defaults to ``targets_for`` (with custom fields, from the DB).
    """
    headers = list(headers)
    names = {normalize(h) for h in headers}
    for preset in PRESETS:
        if not preset.matches(names):
            continue
        targets = (targets_of or targets_for)(preset.entity)
        valid = {t.key for t in targets}
        by_name = {normalize(h): target for h, target in preset.columns.items()}
        mapping: dict[str, str] = {}
        for header in headers:
            target = by_name.get(normalize(header))
            if target in valid and target not in mapping.values():
                mapping[header] = target
        rest = [h for h in headers if h not in mapping]
        mapping.update(
            suggest_mapping(preset.entity, rest, targets=targets, taken=mapping.values())
        )
        return Preset(
            key=preset.key,
            name=preset.name,
            entity=preset.entity,
            columns=preset.columns,
            signature=preset.signature,
            absent=preset.absent,
            mapping=mapping,
        )
    return None
