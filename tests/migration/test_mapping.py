"""Column suggestions and the recognised exports of other CRMs (the samples are built from
the column names these products document for their exports)."""

from pathlib import Path

import pytest
from django.utils import translation

from kreis.core.models import CustomField
from kreis.migration.mapping import detect_preset, normalize, suggest_mapping
from kreis.migration.readers import open_table
from kreis.migration.targets import ENTITIES, targets_for

SAMPLES = Path(__file__).parent / "samples"


def built_in(entity):
    return targets_for(entity, custom=None)


def test_normalize_ignores_case_umlauts_and_punctuation():
    assert normalize("E-Mail-Adresse") == normalize("email adresse") == "emailadresse"
    assert normalize("Straße") == normalize("STRASSE")
    assert normalize("USt-IdNr.") == "ustidnr"


def test_german_headers_of_a_person_list_are_suggested():
    headers = [
        "Anrede",
        "Vorname",
        "Nachname",
        "Firma",
        "E-Mail",
        "Tel.",
        "Handy",
        "Straße",
        "PLZ",
        "Ort",
        "Kundennummer",
        "Abteilung",
        "Lieblingsfarbe",
    ]
    assert suggest_mapping("person", headers, targets=built_in("person")) == {
        "Anrede": "salutation",
        "Vorname": "first_name",
        "Nachname": "last_name",
        "Firma": "organization",
        "E-Mail": "email",
        "Tel.": "phone",
        "Handy": "mobile",
        "Straße": "street",
        "PLZ": "postal_code",
        "Ort": "city",
        "Kundennummer": "external_id",
        "Abteilung": "department",
    }


def test_english_headers_of_an_account_list_are_suggested():
    headers = ["Account Name", "Email Address", "Zip", "City", "Street", "VAT ID", "Industry"]
    assert suggest_mapping("organization", headers, targets=built_in("organization")) == {
        "Account Name": "name",
        "Email Address": "email",
        "Zip": "postal_code",
        "City": "city",
        "Street": "street",
        "VAT ID": "vat_id",
        "Industry": "industry",
    }


def test_the_same_word_means_what_the_record_type_needs():
    assert suggest_mapping("organization", ["Firma"], targets=built_in("organization")) == {
        "Firma": "name"
    }
    assert suggest_mapping("lead", ["Firma"], targets=built_in("lead")) == {"Firma": "company"}
    assert suggest_mapping("deal", ["Umsatz", "Ansprechpartner"], targets=built_in("deal")) == {
        "Umsatz": "amount",
        "Ansprechpartner": "contact",
    }
    assert suggest_mapping("person", ["Ansprechpartner"], targets=built_in("person")) == {
        "Ansprechpartner": "full_name"
    }


def test_record_prefixes_name_the_record_a_column_belongs_to():
    headers = ["Person - Name", "Person - Email", "Organization - Name", "Organization - Address"]
    assert suggest_mapping("person", headers, targets=built_in("person")) == {
        "Person - Name": "full_name",
        "Person - Email": "email",
        "Organization - Name": "organization",
    }
    assert suggest_mapping("lead", headers, targets=built_in("lead")) == {
        "Person - Name": "full_name",
        "Person - Email": "email",
        "Organization - Name": "company",
    }
    assert suggest_mapping("deal", headers, targets=built_in("deal")) == {
        "Person - Name": "contact",
        "Person - Email": "contact_email",
        "Organization - Name": "organization",
    }


def test_each_target_is_used_once_and_a_second_email_goes_to_email_2():
    mapping = suggest_mapping(
        "person", ["E-Mail", "E-Mail-Adresse", "Email"], targets=built_in("person")
    )
    assert mapping == {"E-Mail": "email", "E-Mail-Adresse": "email_2"}


def test_umlauts_spelled_out_and_odd_spacing_match():
    mapping = suggest_mapping(
        "organization",
        ["  strasse ", "POSTLEITZAHL", "u.st-id-nr"],
        targets=built_in("organization"),
    )
    assert mapping == {
        "  strasse ": "street",
        "POSTLEITZAHL": "postal_code",
        "u.st-id-nr": "vat_id",
    }


def test_transaction_lines_are_suggested():
    headers = ["Belegnummer", "Belegdatum", "Kundennummer", "Artikelnummer", "Menge", "Einzelpreis"]
    assert suggest_mapping("transaction", headers, targets=built_in("transaction")) == {
        "Belegnummer": "number",
        "Belegdatum": "date",
        "Kundennummer": "party_external_id",
        "Artikelnummer": "line.sku",
        "Menge": "line.quantity",
        "Einzelpreis": "line.unit_price",
    }


@pytest.mark.django_db
def test_custom_fields_are_targets_by_label_or_key():
    CustomField.objects.create(
        entity="party", key="umsatzklasse", label="Umsatzklasse", type="text"
    )
    CustomField.objects.create(entity="deal", key="umsatz", label="Umsatz", type="money")
    CustomField.objects.create(entity="deal", key="old", label="Alt", type="text", is_active=False)

    assert suggest_mapping("organization", ["Umsatzklasse", "Firma"]) == {
        "Umsatzklasse": "custom.umsatzklasse",
        "Firma": "name",
    }
    # the administrator's own field wins over the built-in amount
    assert suggest_mapping("deal", ["Umsatz", "Alt"]) == {"Umsatz": "custom.umsatz"}
    keys = [t.key for t in targets_for("person")]
    assert "custom.umsatzklasse" in keys
    assert "custom.umsatz" not in keys


@pytest.mark.parametrize(
    ("sample", "preset", "entity", "expected"),
    [
        (
            "hubspot_contacts.csv",
            "hubspot_contacts",
            "person",
            {
                "Record ID": "external_id",
                "First Name": "first_name",
                "Last Name": "last_name",
                "Email": "email",
                "Company Name": "organization",
                "Postal Code": "postal_code",
                "Contact owner": "owner",
            },
        ),
        (
            "hubspot_kontakte_de.csv",
            "hubspot_contacts",
            "person",
            {
                "Datensatz-ID": "external_id",
                "Vorname": "first_name",
                "Nachname": "last_name",
                "E-Mail": "email",
                "Name des Unternehmens": "organization",
                "Postleitzahl": "postal_code",
                "Stadt": "city",
            },
        ),
        (
            "hubspot_companies.csv",
            "hubspot_companies",
            "organization",
            {"Record ID": "external_id", "Company name": "name", "Industry": "industry"},
        ),
        (
            "hubspot_deals.csv",
            "hubspot_deals",
            "deal",
            {"Deal Name": "name", "Deal Stage": "stage", "Amount": "amount"},
        ),
        (
            "salesforce_contacts.csv",
            "salesforce_contacts",
            "person",
            {
                "Id": "external_id",
                "AccountId": "organization_external_id",
                "FirstName": "first_name",
                "LastName": "last_name",
                "MailingStreet": "street",
                "MailingPostalCode": "postal_code",
                "MobilePhone": "mobile",
                "Title": "position",
            },
        ),
        (
            "salesforce_accounts.csv",
            "salesforce_accounts",
            "organization",
            {"Id": "external_id", "Name": "name", "BillingCity": "city", "Type": "roles"},
        ),
        (
            "salesforce_opportunities.csv",
            "salesforce_opportunities",
            "deal",
            {
                "Name": "name",
                "StageName": "stage",
                "Amount": "amount",
                "CloseDate": "expected_close",
            },
        ),
        (
            "pipedrive_persons.csv",
            "pipedrive_persons",
            "person",
            {
                "Person - Name": "full_name",
                "Person - Email - Work": "email",
                "Person - Email - Home": "email_2",
                "Person - Phone - Mobile": "mobile",
                "Person - Organization": "organization",
                "Organization - ID": "organization_external_id",
            },
        ),
        (
            "pipedrive_organizations.csv",
            "pipedrive_organizations",
            "organization",
            {"Organization - Name": "name", "Organization - Address": "street"},
        ),
        (
            "pipedrive_deals.csv",
            "pipedrive_deals",
            "deal",
            {"Deal - Title": "name", "Deal - Value": "amount", "Deal - Contact person": "contact"},
        ),
        (
            "odoo_contacts.csv",
            "odoo_contacts",
            "person",
            {
                "id": "external_id",
                "name": "full_name",
                "parent_id": "organization",
                "zip": "postal_code",
            },
        ),
        (
            "odoo_kontakte_de.csv",
            "odoo_contacts",
            "person",
            {
                "Name": "full_name",
                "Zugehöriges Unternehmen": "organization",
                "PLZ": "postal_code",
                "Stichwörter": "tags",
            },
        ),
        (
            "odoo_companies.csv",
            "odoo_companies",
            "organization",
            {"name": "name", "vat": "vat_id", "city": "city"},
        ),
        (
            "odoo_opportunities.csv",
            "odoo_opportunities",
            "deal",
            {"name": "name", "partner_id": "organization", "expected_revenue": "amount"},
        ),
        (
            "dynamics_contacts.csv",
            "dynamics_contacts",
            "person",
            {
                "(Do Not Modify) Contact": "external_id",
                "Full Name": "full_name",
                "Company Name": "organization",
                "Address 1: City": "city",
            },
        ),
        (
            "dynamics_kontakte_de.csv",
            "dynamics_contacts",
            "person",
            {
                "(Nicht ändern) Kontakt": "external_id",
                "Vollständiger Name": "full_name",
                "Firmenname": "organization",
                "Telefon (geschäftlich)": "phone",
                "Adresse 1: Postleitzahl": "postal_code",
            },
        ),
        (
            "dynamics_accounts.csv",
            "dynamics_accounts",
            "organization",
            {"(Do Not Modify) Account": "external_id", "Account Name": "name"},
        ),
        (
            "dynamics_opportunities.csv",
            "dynamics_opportunities",
            "deal",
            {"Topic": "name", "Potential Customer": "organization", "Est. Revenue": "amount"},
        ),
    ],
)
def test_other_crms_exports_are_recognised_and_mapped(sample, preset, entity, expected):
    table = open_table(SAMPLES / sample)
    found = detect_preset(table.headers, targets_of=built_in)

    assert found is not None
    assert (found.key, found.entity) == (preset, entity)
    assert {h: found.mapping.get(h) for h in expected} == expected
    # a target is filled by one column only, and never by a column the CRM uses internally
    assert len(set(found.mapping.values())) == len(found.mapping)
    assert not any("Row Checksum" in h or "Zeilenprüfsumme" in h for h in found.mapping)
    assert found.mapping_for(entity) == found.mapping
    assert found.mapping_for("product") == {}


def test_a_plain_spreadsheet_is_no_preset():
    assert detect_preset(["Firma", "E-Mail", "PLZ", "Ort"], targets_of=built_in) is None


def test_recognised_exports_are_named_in_the_users_language():
    found = detect_preset(open_table(SAMPLES / "hubspot_contacts.csv").headers, targets_of=built_in)
    with translation.override("de"):
        assert str(found.name) == "HubSpot – Kontakte"
    with translation.override("en"):
        assert str(found.name) == "HubSpot – contacts"


def test_every_preset_name_has_a_german_translation():
    from kreis.migration.mapping import PRESETS

    def names(language: str) -> list[str]:
        with translation.override(language):
            return [str(p.name) for p in PRESETS if p.key != "vcard"]

    assert [de == en for de, en in zip(names("de"), names("en"), strict=True)] == [False] * 17


def test_every_suggested_target_exists():
    for entity in ENTITIES:
        keys = {t.key for t in built_in(entity)}
        from kreis.migration.mapping import SYNONYMS

        assert set(SYNONYMS[entity]) <= keys, entity
