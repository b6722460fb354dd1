"""Demo catalogue and transactions: ~60 products in six categories, and orders, invoices and
returns of the customer organisations over the last two years. Registered as a step of
``kreis demo`` after the parties' step.

The history is shaped for the analyses that read it: customers buy and drop out as the
BG/NBD model assumes and spend as Gamma-Gamma assumes (so the CLV fit finds plausible
parameters and some customers are probably gone), with seasonality (strong spring and Q4, a
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

from kreis.commerce.bulk import transactions_bulk_create
from kreis.commerce.models import Product, TransactionKind
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
# The buying process: BG/NBD with Gamma-Gamma spend. a, b, p, q and γ are the CDNOW fits
# (Fader, Hardie & Lee 2005; Fader & Hardie 2013); r and α (per week) let a B2B customer buy
# more often than a CDNOW music buyer (mean rate r/α = 0.2 a week, times the customer's
# Pareto weight, instead of 0.05), so the small demo's 74 customers carry enough repeat
# purchases for a fit that converges.
BGNBD = {"r": 0.6, "alpha": 3.0, "a": 0.79, "b": 2.43}
GAMMA_GAMMA = {"p": 6.25, "q": 3.74, "gamma": 15.44}
SPEND_EUR = 40  # CDNOW's ~35 US$ per purchase → orders of ~1,400 EUR on average
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


def _line(rng: random.Random, pool: list[Product], target: float) -> tuple[Product, Decimal]:
    """A product of the pool priced for a line worth about ``target`` EUR, and its quantity:
    what costs between a fiftieth of the target and a little more than it (else the nearest
    price), so a 40 EUR line is a box of gloves and a 30,000 EUR line a machine."""
    prices = [float(product.list_price) for product in pool]  # the pool is sorted by price
    low, high = bisect(prices, target / 50), bisect(prices, target * 1.2)
    if low >= high:
        index = min(max(high - 1, 0), len(pool) - 1)
        product = pool[index]
    else:
        product = pool[rng.randrange(low, high)]
    units = target / float(product.list_price)
    if product.unit in {"l", "kg"}:
        return product, Decimal(str(max(1.0, round(units, 1))))
    if product.unit == "h":
        return product, Decimal(max(1, round(units * 2))) / 2
    if product.list_price >= 1000:
        return product, Decimal(max(1, min(round(units), 3)))
    return product, Decimal(max(1, round(units)))


def purchase_histories(
    rng: random.Random, weights: list[float], day_cumulative: list[float]
) -> list[list[int]]:
    """Per customer, the purchase days (indices into the demo's days) of a BG/NBD buying
    process (Fader, Hardie & Lee 2005): purchase rate λ ~ Gamma(r, α) per week, drop-out
    probability p ~ Beta(a, b); after each repeat purchase the customer drops out with
    probability p. A customer's weight multiplies its rate (the Pareto customers buy more
    often, which leaves the spend model untouched). Time runs on the seasonal day weights (a
    busy November day counts more than a day in August), so the process keeps the
    seasonality. First purchases fall in the first 90 % of the period, more of them early
    (an established customer base that still grows)."""
    horizon = day_cumulative[-1]
    mean_day = horizon / len(day_cumulative)  # the weight of an average day
    histories = []
    for weight in weights:
        rate = weight * rng.gammavariate(BGNBD["r"], 1 / BGNBD["alpha"]) / 7 / mean_day
        dropout = rng.betavariate(BGNBD["a"], BGNBD["b"])
        moment = horizon * 0.9 * rng.random() ** 1.5
        moments = [moment]
        while rate > 0:
            moment += rng.expovariate(rate)
            if moment >= horizon:
                break
            moments.append(moment)
            if rng.random() < dropout:
                break
        last = len(day_cumulative) - 1
        histories.append([min(bisect(day_cumulative, m), last) for m in moments])
    return histories


def create_transactions(context: DemoContext) -> dict[str, int]:
    """Orders, invoices and returns of customer organisations, in batches of ~10,000 lines,
    each batch one database transaction through ``transactions_bulk_create``.

    When each customer buys comes from a BG/NBD process (``purchase_histories``), what each
    purchase is worth from Gamma-Gamma spend (Fader & Hardie 2013): a customer's mean order
    value follows Gamma(q, γ) and each order Gamma(p, ν). The lines of the size's budget
    are spread over
    the purchases, each line priced to its share of the order value."""
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
    categories: dict[str, list[Product]] = {}
    for product in products:
        categories.setdefault(product.category, []).append(product)
    pools = {name: sorted(pool, key=lambda p: p.list_price) for name, pool in categories.items()}
    everything = sorted(products, key=lambda p: p.list_price)
    names = sorted(categories)
    days, day_cumulative = _day_weights(timezone.localdate())

    # Who buys when (BG/NBD), and what each customer's orders are worth on average.
    # Pareto-like weights (capped, so no single customer dominates a small demo): the big
    # customers buy more often, so roughly a fifth of them make most of the revenue.
    weights = [1 + min(rng.paretovariate(1.1), 30.0) / 10 for _ in customers]
    histories = purchase_histories(rng, weights, day_cumulative)
    gamma = GAMMA_GAMMA["gamma"] * SPEND_EUR  # rate: scaling z by S scales γ by S
    profiles = []
    for customer in customers:
        nu = rng.gammavariate(GAMMA_GAMMA["q"], 1 / gamma)  # Gamma-Gamma ν, a rate
        profiles.append((customer, nu, rng.sample(names, rng.randint(1, 3))))
    events = [(day, i) for i, history in enumerate(histories) for day in history]
    returns = {e for e in range(len(events)) if rng.random() < 0.03}

    # The size's line budget: one line per purchase and return, the rest spread at random.
    total = SIZES[context.size]
    if len(events) + len(returns) > total:  # more purchases than lines: keep a random share
        events = rng.sample(events, total * 97 // 100)
        returns = {e for e in returns if e < len(events)}
    n_lines = [1] * len(events)
    for _ in range(total - len(events) - len(returns)):
        n_lines[rng.randrange(len(events))] += 1
    order = sorted(range(len(events)), key=lambda e: events[e])  # numbers follow the dates

    numbers = dict.fromkeys(PREFIX, 0)
    rows: list[dict] = []
    done = batch_lines = transactions = 0

    def add(kind: str, day: dt.date, customer: Party, lines: list[dict]) -> None:
        nonlocal batch_lines
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
        batch_lines += len(lines)

    for e in order:
        day_index, i = events[e]
        customer, nu, favourites = profiles[i]
        value = rng.gammavariate(GAMMA_GAMMA["p"], 1 / nu)  # Gamma-Gamma z, mean p/ν
        shares = [rng.expovariate(1.0) for _ in range(n_lines[e])]
        lines = []
        for share in shares:
            pool = pools[rng.choice(favourites)] if rng.random() < 0.75 else everything
            product, quantity = _line(rng, pool, value * share / sum(shares))
            price = product.list_price
            if rng.random() < 0.1:
                price = (price * Decimal(str(rng.uniform(0.93, 1.05)))).quantize(Decimal("0.01"))
            discount = Decimal("0")
            if rng.random() < 0.25:
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
        kind = TransactionKind.ORDER if rng.random() < 0.2 else TransactionKind.INVOICE
        add(kind, days[day_index], customer, lines)
        if e in returns:  # part of one line sent back within two weeks
            line = rng.choice(lines)
            back = max(Decimal(1), (line["quantity"] / 2).to_integral_value())
            later = days[min(day_index + rng.randint(1, 14), len(days) - 1)]
            add(
                TransactionKind.RETURN,
                later,
                customer,
                [{"product": line["product"], "quantity": back, "unit_price": line["unit_price"]}],
            )
        if batch_lines >= BATCH_LINES or e == order[-1]:
            transactions_bulk_create(actor=None, rows=rows)
            transactions += len(rows)
            done += batch_lines
            rows.clear()
            batch_lines = 0
            if context.progress:
                context.progress("transactions", done, total)
    return {"products": len(products), "transactions": transactions, "transaction lines": done}
