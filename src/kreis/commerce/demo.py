"""Demo catalogue and transactions: ~60 products in six categories, and orders, invoices and
returns of the customer organisations over the last two years. Registered as a step of
``kreis demo`` after the parties' step.

The history is shaped for the analyses that read it: seasonality (strong spring and Q4, a
quiet August and Christmas), a Pareto-like spread of revenue across customers (so an ABC
analysis finds A, B and C customers), customers who keep to their favourite categories
(cross-buying shows), discounts on a quarter of the lines and about 3 % returns.
"""

from __future__ import annotations

import datetime as dt
import random
from bisect import bisect
from decimal import Decimal
from itertools import accumulate

from django.utils import timezone
from simple_history.utils import bulk_create_with_history

from kreis.commerce.models import Product, TransactionKind
from kreis.commerce.services import transactions_bulk_create
from kreis.core.demo import DemoContext
from kreis.parties.models import Party, PartyKind, PartyRole

SIZES = {"small": 2_000, "large": 1_000_000}  # transaction lines
BATCH_LINES = 10_000
DAYS = 730

# (sku, name, category, unit, list price, unit cost)
CATALOGUE = [
    ("WZ-1001", "Akku-Bohrschrauber 18 V", "Werkzeuge", "pc", "189.00", "112.40"),
    ("WZ-1002", "Cordless Impact Driver 18 V", "Werkzeuge", "pc", "219.00", "131.10"),
    ("WZ-1003", "Winkelschleifer 125 mm", "Werkzeuge", "pc", "129.00", "71.80"),
    ("WZ-1004", "Laser Distance Meter 50 m", "Werkzeuge", "pc", "99.00", "52.30"),
    ("WZ-1005", "Drehmomentschlüssel 40–200 Nm", "Werkzeuge", "pc", "149.00", "83.90"),
    ("WZ-1006", "Tool Case Pro, 120 pieces", "Werkzeuge", "pc", "279.00", "160.00"),
    ("WZ-1007", "Stichsäge 750 W", "Werkzeuge", "pc", "159.00", "92.50"),
    ("WZ-1008", "Digital Multimeter", "Werkzeuge", "pc", "69.90", "31.20"),
    ("WZ-1009", "Akku 18 V 5,0 Ah", "Werkzeuge", "pc", "89.00", "48.70"),
    ("WZ-1010", "Fast Charger 18 V", "Werkzeuge", "pc", "59.00", "29.40"),
    ("MA-2001", "CNC-Fräsmaschine K400", "Maschinen", "pc", "48900.00", "33800.00"),
    ("MA-2002", "Industrial Compressor 500 l", "Maschinen", "pc", "6490.00", "4210.00"),
    ("MA-2003", "Säulenbohrmaschine SB 32", "Maschinen", "pc", "2890.00", "1790.00"),
    ("MA-2004", "Hydraulic Press 30 t", "Maschinen", "pc", "12400.00", "8350.00"),
    ("MA-2005", "Bandsäge BS 350", "Maschinen", "pc", "4590.00", "2980.00"),
    ("MA-2006", "Laser Engraver L60", "Maschinen", "pc", "18900.00", "12600.00"),
    ("MA-2007", "Schweißgerät MIG 250", "Maschinen", "pc", "1690.00", "1010.00"),
    ("MA-2008", "Forklift Electric 1.6 t", "Maschinen", "pc", "27900.00", "21300.00"),
    ("MA-2009", "Drehbank D 180", "Maschinen", "pc", "9800.00", "6400.00"),
    ("MA-2010", "Industrial Vacuum 80 l", "Maschinen", "pc", "1290.00", "740.00"),
    ("VM-3001", "Schrauben-Sortiment Edelstahl", "Verbrauchsmaterial", "pc", "39.90", "14.10"),
    ("VM-3002", "Cutting Discs 125 mm (25)", "Verbrauchsmaterial", "pc", "34.50", "12.80"),
    ("VM-3003", "Schleifpapier P120 (50)", "Verbrauchsmaterial", "pc", "24.90", "8.20"),
    ("VM-3004", "Hydrauliköl HLP 46", "Verbrauchsmaterial", "l", "6.80", "3.10"),
    ("VM-3005", "Welding Wire 0.8 mm", "Verbrauchsmaterial", "kg", "8.90", "4.60"),
    ("VM-3006", "Kühlschmierstoff Konzentrat", "Verbrauchsmaterial", "l", "11.40", "5.30"),
    ("VM-3007", "Cable Ties 300 mm (100)", "Verbrauchsmaterial", "pc", "9.90", "2.70"),
    ("VM-3008", "Bohrer-Set HSS-Co 19-tlg.", "Verbrauchsmaterial", "pc", "64.00", "27.50"),
    ("VM-3009", "Industrial Grease 1 kg", "Verbrauchsmaterial", "kg", "14.20", "6.10"),
    ("VM-3010", "Reinigungstücher (500)", "Verbrauchsmaterial", "pc", "29.00", "11.90"),
    ("AS-4001", "Schutzhandschuhe Nitril (100)", "Arbeitsschutz", "pc", "12.90", "5.40"),
    ("AS-4002", "Safety Glasses Clear", "Arbeitsschutz", "pc", "8.50", "2.90"),
    ("AS-4003", "Gehörschutz-Kapsel SNR 30", "Arbeitsschutz", "pc", "24.00", "10.80"),
    ("AS-4004", "Safety Shoes S3, pair", "Arbeitsschutz", "pc", "89.00", "46.00"),
    ("AS-4005", "Warnweste EN ISO 20471", "Arbeitsschutz", "pc", "6.90", "2.10"),
    ("AS-4006", "Hard Hat EN 397", "Arbeitsschutz", "pc", "19.90", "7.80"),
    ("AS-4007", "Atemschutzmaske FFP2 (20)", "Arbeitsschutz", "pc", "18.00", "6.40"),
    ("AS-4008", "First Aid Kit DIN 13157", "Arbeitsschutz", "pc", "49.00", "22.30"),
    ("AS-4009", "Auffanggurt Komplettset", "Arbeitsschutz", "pc", "239.00", "131.00"),
    ("AS-4010", "Knee Pads Gel", "Arbeitsschutz", "pc", "27.50", "11.20"),
    ("SW-5001", "Kreis Wartungsplaner, Lizenz/Jahr", "Software", "license", "480.00", "60.00"),
    ("SW-5002", "CAD Viewer Pro, licence/year", "Software", "license", "290.00", "45.00"),
    ("SW-5003", "Maschinen-Monitoring, Sensor/Monat", "Software", "month", "19.00", "4.50"),
    ("SW-5004", "Fleet Dashboard, user/month", "Software", "month", "29.00", "6.00"),
    ("SW-5005", "Lagerverwaltung Cloud, Lizenz/Jahr", "Software", "license", "1200.00", "180.00"),
    ("SW-5006", "API Connector ERP", "Software", "license", "2400.00", "350.00"),
    ("SW-5007", "Predictive Maintenance Add-on", "Software", "license", "3600.00", "620.00"),
    ("SW-5008", "Schulungsportal, Nutzer/Jahr", "Software", "license", "150.00", "22.00"),
    ("SW-5009", "Mobile App Field Service, user/year", "Software", "license", "240.00", "35.00"),
    ("SW-5010", "Backup & Archiv, TB/Monat", "Software", "month", "49.00", "17.00"),
    ("DL-6001", "Inbetriebnahme vor Ort", "Dienstleistungen", "h", "120.00", "68.00"),
    (
        "DL-6002",
        "Maintenance Contract Basic, month",
        "Dienstleistungen",
        "month",
        "189.00",
        "96.00",
    ),
    ("DL-6003", "Wartungsvertrag Premium, Monat", "Dienstleistungen", "month", "449.00", "231.00"),
    ("DL-6004", "On-site Repair", "Dienstleistungen", "h", "110.00", "64.00"),
    ("DL-6005", "Schulung Maschinenbedienung (Tag)", "Dienstleistungen", "day", "950.00", "520.00"),
    ("DL-6006", "Remote Support", "Dienstleistungen", "h", "89.00", "41.00"),
    ("DL-6007", "Kalibrierung Messmittel", "Dienstleistungen", "pc", "75.00", "33.00"),
    ("DL-6008", "Express Delivery", "Dienstleistungen", "pc", "49.00", "31.00"),
    ("DL-6009", "Anfahrtspauschale", "Dienstleistungen", "pc", "65.00", "38.00"),
    ("DL-6010", "Safety Inspection (UVV)", "Dienstleistungen", "pc", "240.00", "122.00"),
]

# Seasonality: strong spring and Q4, quiet August (holidays) and December (Christmas).
MONTH_WEIGHTS = {
    1: 0.85, 2: 0.95, 3: 1.2, 4: 1.25, 5: 1.15, 6: 1.0,
    7: 0.9, 8: 0.55, 9: 1.05, 10: 1.2, 11: 1.4, 12: 0.7,
}  # fmt: skip
CHANNELS = ["field", "field", "direct", "online", "online", "partner"]
DISCOUNT_RATES = [Decimal(r) for r in ("0.02", "0.03", "0.05", "0.05", "0.08", "0.10", "0.15")]
PREFIX = {TransactionKind.ORDER: "SO", TransactionKind.INVOICE: "RE", TransactionKind.RETURN: "GS"}


def _catalogue() -> list[Product]:
    """The demo products (created once; existing SKUs are kept as they are)."""
    existing = set(Product.objects.values_list("sku", flat=True))
    new = [
        Product(
            sku=sku,
            name=name,
            category=category,
            unit=unit,
            list_price=Decimal(price),
            unit_cost=Decimal(cost),
            currency="EUR",
        )
        for sku, name, category, unit, price, cost in CATALOGUE
        if sku not in existing
    ]
    bulk_create_with_history(new, Product, batch_size=500)
    return list(Product.objects.filter(sku__in=[row[0] for row in CATALOGUE]).order_by("sku"))


def _day_weights(today: dt.date) -> tuple[list[dt.date], list[float]]:
    """Days of the last two years with their cumulative weights: season, weekday, growth."""
    days, weights = [], []
    for offset in range(DAYS, -1, -1):
        day = today - dt.timedelta(days=offset)
        weight = MONTH_WEIGHTS[day.month] * (1 + 0.15 * (DAYS - offset) / DAYS)
        if day.weekday() >= 5:
            weight *= 0.08
        if (day.month, day.day) >= (12, 22) or (day.month, day.day) <= (1, 6):
            weight *= 0.3
        days.append(day)
        weights.append(weight)
    return days, list(accumulate(weights))


def _quantity(rng: random.Random, product: Product, scale: float) -> Decimal:
    if product.unit in {"l", "kg"}:
        return Decimal(str(round(rng.uniform(5, 120) * scale, 1)))
    if product.unit == "h":
        return Decimal(rng.randint(2, 16)) / 2 * Decimal(max(1, round(scale)))
    if product.list_price >= 1000:
        return Decimal(1 if rng.random() < 0.9 else 2)
    if product.list_price >= 100:
        return Decimal(max(1, round(rng.randint(1, 4) * scale)))
    return Decimal(max(1, round(rng.randint(1, 25) * scale)))


def create_transactions(context: DemoContext) -> dict[str, int]:
    """Orders, invoices and returns of customer organisations, in batches of ~10,000 lines,
    each batch one database transaction through ``transactions_bulk_create``."""
    rng = random.Random(context.fake["de_DE"].random.random())  # noqa: S311 (demo data)
    products = _catalogue()
    customers = list(
        Party.objects.filter(
            kind=PartyKind.ORGANIZATION,
            role_assignments__role=PartyRole.CUSTOMER,
            deleted_at__isnull=True,
        )
        .only("pk", "owner_id", "team_id", "deleted_at")
        .order_by("pk")
    )
    if not customers:
        return {"products": len(products), "transaction lines": 0}
    # Pareto-like customer weights: big customers buy more often and more at a time, so
    # roughly a fifth of the customers make three quarters of the revenue (capped, so no
    # single customer dominates a small demo).
    weights = [min(rng.paretovariate(1.1), 30.0) for _ in customers]
    cumulative = list(accumulate(weights))
    scale = {c.pk: 1 + w / 10 for c, w in zip(customers, weights, strict=True)}
    categories: dict[str, list[Product]] = {}
    for product in products:
        categories.setdefault(product.category, []).append(product)
    names = sorted(categories)
    favourites = {c.pk: rng.sample(names, rng.randint(1, 3)) for c in customers}
    days, day_cumulative = _day_weights(timezone.localdate())
    total, done, transactions = SIZES[context.size], 0, 0
    numbers = dict.fromkeys(PREFIX, 0)
    while done < total:
        rows, batch_lines = [], 0
        while batch_lines < BATCH_LINES and done + batch_lines < total:
            customer = customers[bisect(cumulative, rng.random() * cumulative[-1])]
            roll = rng.random()
            kind = (
                TransactionKind.RETURN
                if roll < 0.03
                else TransactionKind.ORDER
                if roll < 0.23
                else TransactionKind.INVOICE
            )
            size = rng.randint(1, 2) if kind == TransactionKind.RETURN else rng.randint(1, 7)
            # Batches end on exact multiples of BATCH_LINES, so progress reports whole percents.
            size = min(size, BATCH_LINES - batch_lines, total - done - batch_lines)
            lines = []
            for _ in range(size):
                if rng.random() < 0.75:
                    pool = categories[rng.choice(favourites[customer.pk])]
                else:
                    pool = products
                product = rng.choice(pool)
                quantity = _quantity(rng, product, scale[customer.pk])
                price = product.list_price
                if rng.random() < 0.1:
                    price = (price * Decimal(str(rng.uniform(0.93, 1.05)))).quantize(
                        Decimal("0.01")
                    )
                discount = Decimal("0")
                if kind != TransactionKind.RETURN and rng.random() < 0.25:
                    gross = quantity * price
                    discount = (gross * rng.choice(DISCOUNT_RATES)).quantize(Decimal("0.01"))
                lines.append(
                    {
                        "product": product,
                        "quantity": quantity,
                        "unit_price": price,
                        "discount": discount,
                    }
                )
            day = days[bisect(day_cumulative, rng.random() * day_cumulative[-1])]
            numbers[kind] += 1
            rows.append(
                {
                    "party": customer,
                    "kind": kind,
                    "date": day,
                    "number": f"{PREFIX[kind]}-{day.year}-{numbers[kind]:07d}",
                    "channel": rng.choice(CHANNELS),
                    "currency": "EUR",
                    "lines": lines,
                }
            )
            batch_lines += size
        transactions_bulk_create(actor=None, rows=rows)
        transactions += len(rows)
        done += batch_lines
        if context.progress:
            context.progress("transactions", done, total)
    return {"products": len(products), "transactions": transactions, "transaction lines": done}
