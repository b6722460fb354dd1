"""Starting configuration: an SLA per severity, the usual complaint categories and root
causes. Administrators change them in the admin; nothing here is customer data."""

from django.db import migrations

SLAS = [("low", 16, 80), ("medium", 8, 40), ("high", 4, 16), ("critical", 1, 8)]
CATEGORIES = [
    ("Produktmangel", "Product defect", "defect"),
    ("Garantie", "Warranty", "warranty"),
    ("Lieferung", "Delivery", "delivery"),
    ("Rechnung", "Billing", "billing"),
    ("Service", "Service", "service"),
    ("Sonstiges", "Other", "other"),
]
ROOT_CAUSES = [
    ("Fertigungsfehler", "Manufacturing fault"),
    ("Transportschaden", "Damaged in transit"),
    ("Fehler des Lieferanten", "Supplier fault"),
    ("Fehlerhafte Dokumentation", "Faulty documentation"),
    ("Bedienfehler", "Operating error"),
    ("Abrechnungsfehler", "Billing error"),
    ("Kommunikation", "Communication"),
]


def forwards(apps, schema_editor):
    SlaPolicy = apps.get_model("service", "SlaPolicy")
    CaseCategory = apps.get_model("service", "CaseCategory")
    RootCause = apps.get_model("service", "RootCause")
    for severity, ack, resolve in SLAS:
        SlaPolicy.objects.get_or_create(
            severity=severity, defaults={"hours_to_acknowledge": ack, "hours_to_resolve": resolve}
        )
    for name_de, name_en, kind in CATEGORIES:
        CaseCategory.objects.get_or_create(name_en=name_en, defaults={"name_de": name_de, "kind": kind})
    for name_de, name_en in ROOT_CAUSES:
        RootCause.objects.get_or_create(name_en=name_en, defaults={"name_de": name_de})


class Migration(migrations.Migration):
    dependencies = [("service", "0001_cases")]

    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
