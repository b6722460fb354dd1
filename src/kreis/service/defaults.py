"""Starting configuration: an SLA per severity, the usual complaint categories and root
causes. Created by service's data migration (0002) and again by ``ensure_defaults`` wherever
a database may have been emptied since (tests that flush tables, a restore of an old backup);
administrators change them in the admin. Nothing here is customer data."""

from __future__ import annotations

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


def ensure_defaults(apps=None) -> None:
    """Create whichever of the default SLA policies, categories and root causes are missing
    (by severity and English name); existing ones, changed or not, stay as they are.
    ``apps``: a migration's historical app registry."""
    if apps is None:
        from kreis.service.models import CaseCategory, RootCause, SlaPolicy
    else:
        SlaPolicy = apps.get_model("service", "SlaPolicy")  # noqa: N806
        CaseCategory = apps.get_model("service", "CaseCategory")  # noqa: N806
        RootCause = apps.get_model("service", "RootCause")  # noqa: N806
    for severity, ack, resolve in SLAS:
        SlaPolicy.objects.get_or_create(
            severity=severity, defaults={"hours_to_acknowledge": ack, "hours_to_resolve": resolve}
        )
    for name_de, name_en, kind in CATEGORIES:
        CaseCategory.objects.get_or_create(
            name_en=name_en, defaults={"name_de": name_de, "kind": kind}
        )
    for name_de, name_en in ROOT_CAUSES:
        RootCause.objects.get_or_create(name_en=name_en, defaults={"name_de": name_de})
