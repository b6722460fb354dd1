"""The nightly analytics run: refresh the warehouse, compute every customer figure, store it.

``run()`` is what ``kreis analytics run``, ``POST /api/v1/analytics/run`` and the nightly job
call. Steps: warehouse refresh → activity, ABC, RFM and CLV summary (Ibis, on the warehouse
backend) → BG/NBD + Gamma-Gamma fit and predictions (NumPy/SciPy) → lifecycle phases → figures
written to the parties in one database transaction, phase changes recorded and announced →
active scoring models applied.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import tempfile
import time
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from kreis.analytics import analyses, sqlarrow, warehouse
from kreis.analytics.customer import clv, lifecycle
from kreis.analytics.customer.models import ClvFit, CustomerValue, PhaseChange
from kreis.analytics.runs.models import AnalyticsRun, AnalyticsSettings, RunStatus
from kreis.analytics.signals import phase_changed
from kreis.parties.models import Party

log = logging.getLogger("kreis.analytics")

DAYS_PER_MONTH = 365.25 / 12
# The CLV figures computed per party; without a model they stay empty.
CLV_COLUMNS = (
    "p_alive",
    "expected_purchases",
    "clv_residual",
    "clv_next_12",
    "expected_margin",
    "margin_basis",
)
Progress = Callable[[str, int], None]


@dataclass
class Figures:
    """What one run computed: the per-party frame and the model fits."""

    frame: pd.DataFrame
    bgnbd: clv.BgNbdFit | None
    gamma_gamma: clv.GammaGammaFit | None
    calibration_start: dt.date | None
    calibration_end: dt.date
    gamma_gamma_usable: bool = False


def _date(day: float | int | None) -> dt.date | None:
    if day is None or pd.isna(day):
        return None
    return warehouse.EPOCH + dt.timedelta(days=int(day))


def _dates64(days: pd.Series) -> np.ndarray:
    """Day numbers (float with NaN) → datetime64[D] with NaT."""
    values = days.to_numpy(dtype="float64", na_value=np.nan)
    out = np.full(values.shape, np.datetime64("NaT"), dtype="datetime64[D]")
    ok = ~np.isnan(values)
    out[ok] = values[ok].astype("int64").astype("datetime64[D]")
    return out


def lifecycle_rules(cfg: AnalyticsSettings) -> lifecycle.LifecycleRules:
    return lifecycle.LifecycleRules(
        socialization_days=cfg.socialization_days,
        growth_pct=float(cfg.growth_pct),
        decline_pct=float(cfg.decline_pct),
        endangered_p_alive=cfg.endangered_p_alive,
        dissolution_p_alive=cfg.dissolution_p_alive,
        recency_factor=cfg.recency_factor,
        abstinence_days=cfg.abstinence_days,
        min_repeat_purchases=cfg.min_repeat_purchases,
        detractor_days=cfg.detractor_days,
    )


def calibration_end(cfg: AnalyticsSettings, as_of: dt.date) -> dt.date:
    return cfg.calibration_end or as_of - dt.timedelta(days=1)


def compute(t: analyses.Tables, cfg: AnalyticsSettings, as_of: dt.date) -> Figures:
    """Every figure per party (parties that are customers or prospects, or have sales)."""
    parties = t["dim_customer"]
    parties = parties.filter(~parties.deleted)
    activity = analyses.customer_activity(t, as_of=as_of)
    start = as_of - dt.timedelta(days=round(cfg.abc_months * DAYS_PER_MONTH))
    abc = analyses.abc(
        t,
        start=start,
        end=as_of,
        metric=cfg.abc_metric,
        a_pct=float(cfg.abc_a),
        b_pct=float(cfg.abc_b),
    ).select("party_id", "abc_class")
    rfm = analyses.rfm(t, as_of=as_of).select(
        "party_id", rfm_recency="r", rfm_frequency="f", rfm_monetary="m", rfm_segment="segment"
    )
    joined = (
        parties.left_join(activity, "party_id")
        .drop("party_id_right")
        .left_join(abc, "party_id")
        .drop("party_id_right")
        .left_join(rfm, "party_id")
        .drop("party_id_right")
    )
    joined = joined.filter(joined.is_customer | joined.is_prospect | joined.purchase_days.notnull())
    frame = joined.select(
        "party_id",
        "is_customer",
        "termination_announced",
        "contract_end",
        "purchasing_potential",
        "purchase_days",
        "first_day",
        "last_day",
        "revenue_12m",
        "revenue_prev_12m",
        "historical_value",
        "abc_class",
        "rfm_recency",
        "rfm_frequency",
        "rfm_monetary",
        "rfm_segment",
    ).to_pandas()
    frame = frame.sort_values("party_id", kind="stable").reset_index(drop=True)
    # Customers without revenue in the ABC period are C (prospects without purchases: none).
    bought = frame["purchase_days"].fillna(0).to_numpy() > 0
    frame["abc_class"] = frame["abc_class"].fillna("").astype(str)
    frame.loc[(frame["abc_class"] == "") & bought, "abc_class"] = "C"

    cal_end = calibration_end(cfg, as_of)
    summary = analyses.clv_summary(t, calibration_end=cal_end, unit=cfg.time_unit).to_pandas()
    for column in CLV_COLUMNS:
        frame[column] = "" if column == "margin_basis" else np.nan
    bgnbd = gamma_gamma = None
    usable = False
    cal_start = None
    if len(summary) >= cfg.min_clv_customers:
        cal_start = _date(summary["first_day"].min())
        bgnbd, gamma_gamma, usable, predictions = predict_clv(summary, cfg)
        frame = frame.drop(columns=list(CLV_COLUMNS)).merge(predictions, on="party_id", how="left")
    # Total CLV (DOMAIN.md §7.5) = historical value + discounted residual over the horizon.
    frame["clv"] = frame["historical_value"].astype("float64") + frame["clv_residual"]
    return Figures(frame, bgnbd, gamma_gamma, cal_start, cal_end, usable)


def predict_clv(
    summary: pd.DataFrame, cfg: AnalyticsSettings
) -> tuple[clv.BgNbdFit, clv.GammaGammaFit | None, bool, pd.DataFrame]:
    """Fit BG/NBD on every customer and Gamma-Gamma on the repeat buyers with a positive mean
    margin; per customer P(alive), the purchases expected in the next 12 months, the expected
    margin per purchase with what it rests on, and the discounted residual value over the next
    12 months and over the CLV horizon (DOMAIN.md §7.5).

    Expected margin per purchase: a customer whose own mean margin is ≤ 0 (repeat buyers: the
    mean of the repeat purchases; one-time buyers: their purchase, returns netted in) is valued
    at that mean, never at a positive model estimate (``own_mean``); other repeat buyers get
    Gamma-Gamma's E[M | x, zbar] (``model``), other one-time buyers the population mean
    pγ/(q − 1) (``population``). Without a usable Gamma-Gamma fit (too few repeat buyers,
    no convergence, q ≤ 1) only the ``own_mean`` customers are valued.
    """
    x = summary["x"].to_numpy(dtype="float64")
    t_x = summary["t_x"].to_numpy(dtype="float64")
    age = summary["T"].to_numpy(dtype="float64")
    zbar = summary["zbar"].to_numpy(dtype="float64")
    first_value = summary["first_value"].to_numpy(dtype="float64")
    bgnbd = clv.fit_bgnbd(x, t_x, age)
    if not bgnbd.converged:
        log.warning("BG/NBD fit did not converge: %s", bgnbd.message)
    per_month = DAYS_PER_MONTH / analyses.UNIT_DAYS[cfg.time_unit]
    out = pd.DataFrame({"party_id": summary["party_id"].to_numpy()})
    out["p_alive"] = bgnbd.p_alive(x, t_x, age)
    out["expected_purchases"] = bgnbd.expected_purchases(12 * per_month, x, t_x, age)

    repeat = x > 0
    positive = repeat & (zbar > 0)
    gamma_gamma, usable = None, False
    if positive.sum() >= cfg.min_clv_customers:
        gamma_gamma = clv.fit_gamma_gamma(x[positive], zbar[positive])
        # q ≤ 1 has no finite mean purchase value: too few or too uniform repeat buyers.
        usable = gamma_gamma.converged and gamma_gamma.q > 1
        if not usable:
            log.warning("Gamma-Gamma fit unusable (q=%.3g): %s", gamma_gamma.q, gamma_gamma.message)

    own_mean = np.where(repeat, zbar, first_value)
    loss = own_mean <= 0
    margin = np.where(loss, own_mean, np.nan)
    basis = np.where(loss, "own_mean", "").astype(object)
    if usable and gamma_gamma is not None:
        modelled = ~loss
        margin[modelled] = gamma_gamma.expected_average_value(
            x[modelled], np.where(repeat, zbar, 0.0)[modelled]
        )
        basis[modelled & repeat] = "model"
        basis[modelled & ~repeat] = "population"
    monthly = (1 + float(cfg.discount_rate_yearly) / 100) ** (1 / 12) - 1
    next_12, residual = clv.discounted_purchases(
        bgnbd,
        x,
        t_x,
        age,
        months=(12, cfg.horizon_years * 12),
        discount_rate_monthly=monthly,
        periods_per_month=per_month,
    )
    out["clv_next_12"] = next_12 * margin
    out["clv_residual"] = residual * margin
    out["expected_margin"] = margin
    out["margin_basis"] = basis
    return bgnbd, gamma_gamma, usable, out


def classify_phases(
    frame: pd.DataFrame, stored: pd.DataFrame, cfg: AnalyticsSettings, as_of: dt.date
) -> pd.DataFrame:
    """Lifecycle phase per party (DOMAIN.md §2), from the figures and the stored phase."""
    merged = frame.merge(stored, on="party_id", how="left")
    complaints = _open_severe_complaints(merged["party_id"])
    features = pd.DataFrame(
        {
            "party_id": merged["party_id"],
            "purchase_days": merged["purchase_days"].fillna(0).astype("int64"),
            "first_purchase": _dates64(merged["first_day"]),
            "last_purchase": _dates64(merged["last_day"]),
            "revenue_12m": merged["revenue_12m"].fillna(0.0).astype("float64"),
            "revenue_prev_12m": merged["revenue_prev_12m"].fillna(0.0).astype("float64"),
            "p_alive": merged["p_alive"].astype("float64"),
            "terminated": merged["termination_announced"].fillna(False).astype(bool),
            "contract_end": pd.to_datetime(merged["contract_end"]).to_numpy("datetime64[D]"),
            "complaint_case": complaints["case"],
            "open_severe_complaints": complaints["count"],
            "detractor_at": _last_detractor_answer(merged["party_id"]),
            **_last_poor_rating(merged["party_id"]),
            "prev_phase": merged["prev_phase"].fillna("").astype(str),
            "prev_since": pd.to_datetime(merged["prev_since"]).to_numpy("datetime64[D]"),
            "won_back_at": pd.to_datetime(merged["prev_won_back_at"]).to_numpy("datetime64[D]"),
        }
    )
    result = lifecycle.classify(features, as_of, lifecycle_rules(cfg), facts_as_json=True)
    result["override"] = merged["override"].fillna(False).astype(bool).to_numpy()
    result["prev_phase"] = features["prev_phase"].to_numpy()
    result["prev_since"] = merged["prev_since"].to_numpy()
    return result


STORED_PHASES = pa.schema(
    [
        ("party_id", pa.int64()),
        ("prev_phase", pa.string()),
        ("prev_since", pa.int32()),
        ("prev_won_back_at", pa.int32()),
        ("override", pa.bool_()),
    ]
)


def _stored_phases() -> pd.DataFrame:
    """Every live party's phase as stored, read as Arrow columns (a million parties in ~1 s)."""
    party = connection.ops.quote_name(Party._meta.db_table)
    sql = (
        f"SELECT id, lifecycle_phase, {warehouse.day_sql('lifecycle_since')}, "  # noqa: S608
        f"{warehouse.day_sql('won_back_at')}, lifecycle_override FROM {party} "
        "WHERE deleted_at IS NULL"
    )
    table = sqlarrow.read_table(sql, STORED_PHASES)
    for name in ("prev_since", "prev_won_back_at"):
        index = table.schema.get_field_index(name)
        table = table.set_column(index, name, table[name].cast(pa.date32()))
    return table.to_pandas()


OPEN_SEVERE_CASES = pa.schema(
    [("party_id", pa.int64()), ("cases", pa.int64()), ("oldest", pa.string())]
)


def _open_severe_complaints(party_ids: pd.Series) -> dict[str, np.ndarray]:
    """Per party, how many open complaint cases of high or critical severity it has
    (``count``) and the oldest one's number as a code (``case``, NaN for none;
    kreis.service.models.case_number_code), read as Arrow columns in one grouped query."""
    from kreis.service.models import OPEN_STATUSES, SEVERE, Case, case_number_code

    table = connection.ops.quote_name(Case._meta.db_table)
    statuses = ", ".join(f"'{s}'" for s in OPEN_STATUSES)  # the model's own choice values
    severities = ", ".join(f"'{s}'" for s in SEVERE)
    sql = (
        f"SELECT party_id, COUNT(*), MIN(number) FROM {table} "  # noqa: S608  (constants)
        f"WHERE status IN ({statuses}) AND severity IN ({severities}) GROUP BY party_id"
    )
    counts = sqlarrow.read_table(sql, OPEN_SEVERE_CASES).to_pandas()
    index = counts["party_id"].to_numpy()
    found = pd.Series(counts["cases"].to_numpy(), index=index)
    # Numbers (six-digit sequences) sort by year, then sequence: the smallest is the oldest.
    oldest = pd.Series([float(case_number_code(n)) for n in counts["oldest"]], index=index)
    return {
        "count": party_ids.map(found).fillna(0).astype("int64").to_numpy(),
        "case": party_ids.map(oldest).astype("float64").to_numpy(),
    }


LAST_DETRACTOR = pa.schema([("party_id", pa.int64()), ("day", pa.int32())])


def _last_detractor_answer(party_ids: pd.Series) -> np.ndarray:
    """Per party, the UTC date of its last survey answer of 0–6 on the NPS question
    (kreis.feedback; anonymous answers have no party), NaT without one: one grouped read as
    Arrow. The lifecycle rules decide whether it lies within the detractor window."""
    from kreis.feedback.models import Response

    table = connection.ops.quote_name(Response._meta.db_table)
    day = warehouse._timestamp_day_sql("MAX(created_at)")
    sql = (
        f"SELECT party_id, {day} FROM {table} "  # noqa: S608  (constants, no input)
        "WHERE party_id IS NOT NULL AND nps <= 6 GROUP BY party_id"
    )
    days = sqlarrow.read_table(sql, LAST_DETRACTOR).to_pandas()
    found = pd.Series(days["day"].to_numpy(dtype="float64"), index=days["party_id"].to_numpy())
    return _dates64(party_ids.map(found))


POOR_RATINGS = pa.schema(
    [
        ("party_id", pa.int64()),
        ("day", pa.int32()),
        ("rating", pa.int64()),
        ("number", pa.string()),
    ]
)


def _last_poor_rating(party_ids: pd.Series) -> dict[str, np.ndarray]:
    """Per party, its last resolution rating of 1 or 2 (kreis.service.rating): the UTC date
    (``poor_rating_at``, NaT without one), the rating and its case's number as a code
    (kreis.service.models.case_number_code), read as Arrow in one query. The lifecycle rules
    decide whether it lies within the window of detractor answers."""
    from kreis.service.models import Case, CaseRating, case_number_code
    from kreis.service.rating import POOR_RATING

    rating = connection.ops.quote_name(CaseRating._meta.db_table)
    case = connection.ops.quote_name(Case._meta.db_table)
    day = warehouse._timestamp_day_sql("r.created_at")
    sql = (
        f"SELECT c.party_id, {day}, r.rating, c.number FROM {rating} r "  # noqa: S608
        f"JOIN {case} c ON c.id = r.case_id WHERE r.rating <= {int(POOR_RATING)} "
        "ORDER BY c.party_id, r.created_at, r.id"
    )
    rows = sqlarrow.read_table(sql, POOR_RATINGS).to_pandas()
    last = rows.drop_duplicates("party_id", keep="last").set_index("party_id")
    codes = pd.Series(
        [float(case_number_code(n)) for n in last["number"]], index=last.index, dtype="float64"
    )
    return {
        "poor_rating_at": _dates64(party_ids.map(last["day"].astype("float64"))),
        "poor_rating": party_ids.map(last["rating"].astype("float64")).to_numpy("float64"),
        "poor_rating_case": party_ids.map(codes).to_numpy("float64"),
    }


# --- Writing the figures back -----------------------------------------------------------------

FIGURE_COLUMNS = (
    ("abc_class", "varchar(1)"),
    ("rfm_recency", "integer"),
    ("rfm_frequency", "integer"),
    ("rfm_monetary", "integer"),
    ("rfm_segment", "varchar(20)"),
    ("revenue_12m", "numeric(14,2)"),
    ("historical_value", "numeric(14,2)"),
    ("clv", "numeric(14,2)"),
    ("p_alive", "double precision"),
    ("expected_purchases", "double precision"),
    ("lifecycle_phase", "varchar(14)"),
    ("lifecycle_reason", "varchar(40)"),
    ("lifecycle_facts", "text"),
    ("lifecycle_since", "date"),
    ("won_back_at", "date"),
    ("figures_computed_at", "timestamp with time zone"),
)
# Staged beside them and stored in analytics' CustomerValue (Party.clv holds the total).
VALUE_COLUMNS = (
    ("clv_next_12", "numeric(14,2)"),
    ("clv_residual", "numeric(14,2)"),
    ("expected_margin", "double precision"),
    ("margin_basis", "varchar(10)"),
)
STAGE_COLUMNS = FIGURE_COLUMNS + VALUE_COLUMNS


def _arrow_column(values: pd.Series, kind: str) -> pa.Array:
    """One figure column as Arrow, converted whole (a million rows × 16 columns)."""
    if kind in {"numeric(14,2)", "double precision", "integer"}:
        numbers = pd.to_numeric(values, errors="coerce").to_numpy(dtype="float64")
        missing = np.isnan(numbers)
        if kind == "integer":
            return pa.array(np.where(missing, 0, numbers).astype("int64"), mask=missing)
        if kind == "numeric(14,2)":
            numbers = np.round(numbers, 2)
        return pa.array(numbers, mask=missing)
    if kind == "date":
        days = pd.to_datetime(values, errors="coerce").to_numpy("datetime64[D]")
        missing = np.isnat(days)
        return pa.array(np.datetime_as_string(days, unit="D"), pa.string(), mask=missing)
    return pa.array(values.astype(object).where(values.notna(), "").astype(str), pa.string())


def figures_table(frame: pd.DataFrame, computed_at: dt.datetime) -> pa.Table:
    """The rows to store: ``id`` and every figure column, typed for the staging table."""
    arrays = {"id": pa.array(frame["party_id"].to_numpy(dtype="int64"))}
    for name, kind in STAGE_COLUMNS:
        if name == "figures_computed_at":
            arrays[name] = pa.array([computed_at.isoformat()] * len(frame), pa.string())
        else:
            arrays[name] = _arrow_column(frame[name], kind)
    return pa.table(arrays)


CLASS_COLUMNS = ("abc_class", "rfm_segment", "lifecycle_phase")
SQLITE_CACHE_KIB = 256 * 1024
STAGE = "kreis_stage.kreis_figures"


@contextmanager
def _sqlite_cache(cursor):
    """A large page cache while a million parties are rewritten: with SQLite's default 2 MB the
    pages of the CLV index are written to the journal again and again (27 s → 16 s)."""
    if connection.vendor != "sqlite":
        yield
        return
    cursor.execute("PRAGMA cache_size")
    before = cursor.fetchone()[0]
    cursor.execute(f"PRAGMA cache_size = -{SQLITE_CACHE_KIB}")
    try:
        yield
    finally:
        cursor.execute(f"PRAGMA cache_size = {int(before)}")


@contextmanager
def staged(table: pa.Table):
    """The figures in a staging table; yields its name.

    On SQLite outside a transaction, ADBC writes them into a file of their own (1 M rows in
    about a second, against ~8 s of ``executemany``), which the Django connection attaches; the
    ADBC library never opens the operational database itself (see ``sqlarrow``). Elsewhere a
    temporary table, filled by COPY on PostgreSQL and ``executemany`` on SQLite.
    """
    if connection.vendor == "sqlite" and not connection.in_atomic_block:
        try:
            import adbc_driver_sqlite.dbapi as driver
        except ImportError:
            driver = None
        if driver is not None:
            with tempfile.TemporaryDirectory(dir=settings.DATA_DIR) as folder:
                path = str(Path(folder) / "figures.sqlite3")
                with driver.connect(path) as con, con.cursor() as cursor:
                    cursor.adbc_ingest("kreis_figures", table, mode="create")
                    cursor.execute("CREATE UNIQUE INDEX kreis_figures_id ON kreis_figures (id)")
                    con.commit()
                with connection.cursor() as cursor:
                    cursor.execute("ATTACH DATABASE %s AS kreis_stage", [path])
                try:
                    yield STAGE
                finally:
                    with connection.cursor() as cursor:
                        cursor.execute("DETACH DATABASE kreis_stage")
            return
    decl = ", ".join(f"{name} {kind}" for name, kind in STAGE_COLUMNS)
    columns = table.column_names
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS kreis_figures")
        cursor.execute(f"CREATE TEMPORARY TABLE kreis_figures (id bigint PRIMARY KEY, {decl})")
        rows = list(zip(*table.to_pydict().values(), strict=True))
        if connection.vendor == "postgresql":
            with cursor.cursor.copy(
                f"COPY kreis_figures ({', '.join(columns)}) FROM STDIN"
            ) as copy:
                for row in rows:
                    copy.write_row(row)
        else:
            marks = ", ".join(["%s"] * len(columns))
            for start in range(0, len(rows), 50_000):
                cursor.executemany(
                    f"INSERT INTO kreis_figures VALUES ({marks})",  # noqa: S608
                    rows[start : start + 50_000],
                )
    try:
        yield "kreis_figures"
    finally:
        with connection.cursor() as cursor:
            cursor.execute("DROP TABLE IF EXISTS kreis_figures")


def write_figures(stage: str) -> int:
    """Store the staged figures on the parties with one UPDATE … FROM; parties that dropped out
    of the analysis get their figures cleared. The CLV details are written anew."""
    party = connection.ops.quote_name(Party._meta.db_table)
    values = connection.ops.quote_name(CustomerValue._meta.db_table)
    columns = [name for name, _ in FIGURE_COLUMNS]
    postgres = connection.vendor == "postgresql"
    with connection.cursor() as cursor, _sqlite_cache(cursor):
        facts = "CAST(f.lifecycle_facts AS jsonb)" if postgres else "f.lifecycle_facts"
        # Every row's figures move daily (P(alive), CLV); the indexed classes seldom: they are
        # written only where they changed, which spares three index updates per party.
        daily = [name for name in columns if name not in CLASS_COLUMNS]
        assignments = ", ".join(
            f"{name} = {facts if name == 'lifecycle_facts' else 'f.' + name}" for name in daily
        )
        cursor.execute(
            f"UPDATE {party} SET {assignments} FROM {stage} f "  # noqa: S608
            f"WHERE {party}.id = f.id"
        )
        updated = cursor.rowcount
        differs = " OR ".join(
            f"{party}.{name} IS DISTINCT FROM f.{name}"
            if postgres
            else f"{party}.{name} IS NOT f.{name}"
            for name in CLASS_COLUMNS
        )
        cursor.execute(
            f"UPDATE {party} SET "  # noqa: S608
            + ", ".join(f"{name} = f.{name}" for name in CLASS_COLUMNS)
            + f" FROM {stage} f WHERE {party}.id = f.id AND ({differs})"
        )
        cursor.execute(
            f"UPDATE {party} SET abc_class = '', rfm_recency = NULL, rfm_frequency = NULL, "  # noqa: S608
            "rfm_monetary = NULL, rfm_segment = '', revenue_12m = NULL, historical_value = NULL, "
            "clv = NULL, p_alive = NULL, expected_purchases = NULL, figures_computed_at = NULL "
            f"WHERE figures_computed_at IS NOT NULL AND NOT EXISTS "
            f"(SELECT 1 FROM {stage} f WHERE f.id = {party}.id)"
        )
        cursor.execute(f"DELETE FROM {values}")  # noqa: S608
        cursor.execute(
            f"INSERT INTO {values} "  # noqa: S608
            "(party_id, next_12_months, residual, expected_margin, margin_basis) "
            "SELECT f.id, f.clv_next_12, f.clv_residual, f.expected_margin, f.margin_basis "
            f"FROM {stage} f WHERE f.clv_residual IS NOT NULL"
        )
    return updated


# --- The run ----------------------------------------------------------------------------------


@contextmanager
def _timed(timings: dict, name: str):
    started = time.perf_counter()
    yield
    timings[name] = round(time.perf_counter() - started, 3)


def run(
    *,
    as_of: dt.date | None = None,
    full: bool = False,
    user=None,
    progress: Progress | None = None,
    con=None,
    record: AnalyticsRun | None = None,
) -> AnalyticsRun:
    """Refresh the warehouse and recompute every figure. Raises on failure after recording it."""
    cfg = AnalyticsSettings.load()
    as_of = as_of or timezone.localdate()
    record = record or AnalyticsRun.objects.create(as_of=as_of, started_by=user)
    timings: dict[str, float] = {}
    counts: dict[str, int] = {}

    def step(label: str, pct: int) -> None:
        AnalyticsRun.objects.filter(pk=record.pk).update(step=label, progress=pct)
        if progress:
            progress(label, pct)

    own = con is None
    try:
        con = con or warehouse.connect()
        step("warehouse", 5)
        with _timed(timings, "warehouse"):
            refreshed = warehouse.refresh(con=con, full=full)
        counts.update({f"rows.{k}": v for k, v in refreshed.rows.items()})
        step("figures", 35)
        with _timed(timings, "figures"):
            figures = compute(warehouse.tables(con), cfg, as_of)
        frame = figures.frame
        counts["parties"] = len(frame)
        step("lifecycle", 65)
        with _timed(timings, "lifecycle"):
            phases = classify_phases(frame, _stored_phases(), cfg, as_of)
        step("store", 75)
        with _timed(timings, "store"):
            changes = store(record, figures, phases, as_of)
        counts["phase_changes"] = len(changes)
        phase_changed.send(sender=PhaseChange, changes=changes, run=record)
        step("scoring", 90)
        with _timed(timings, "scoring"):
            from kreis.analytics.scoring import engine

            scored = engine.apply_active_models()
        counts["scored"] = int(sum(v for v in scored.values() if isinstance(v, int)))
        record.status = RunStatus.DONE
        record.progress = 100
        record.step = "done"
    except Exception as exc:
        log.exception("analytics run failed")
        record.status = RunStatus.FAILED
        record.error = f"{type(exc).__name__}: {exc}"
        raise
    finally:
        if own and con is not None:
            con.disconnect()
        record.timings = timings
        record.counts = counts
        record.finished_at = timezone.now()
        record.save()
    return record


def _gamma_gamma_problem(fit: clv.GammaGammaFit) -> str:
    """Why a Gamma-Gamma fit is not used ('' when it is)."""
    if not fit.converged:
        return fit.message
    if fit.q <= 1:
        return f"q = {fit.q:.3g} ≤ 1: the mean margin per purchase is infinite"
    return ""


def store(
    record: AnalyticsRun, figures: Figures, phases: pd.DataFrame, as_of: dt.date
) -> list[PhaseChange]:
    """Write figures, phases and the model fit in one transaction; return the phase changes."""
    frame = figures.frame.copy()
    keep = phases["override"].to_numpy()
    prev_phase = phases["prev_phase"].to_numpy()
    new_phase = np.where(keep, prev_phase, phases["phase"].to_numpy())
    changed = (new_phase != prev_phase) & ~keep
    frame["lifecycle_phase"] = new_phase
    frame["lifecycle_reason"] = np.where(keep, "", phases["reason"].to_numpy())
    frame["lifecycle_facts"] = phases["facts"].to_numpy()  # JSON text
    since = pd.Series(phases["prev_since"].to_numpy(), dtype="object")
    since[changed | since.isna().to_numpy()] = as_of
    frame["lifecycle_since"] = since.to_numpy()
    frame["won_back_at"] = pd.to_datetime(phases["won_back_at"]).to_numpy("datetime64[D]")
    computed_at = timezone.now()
    idx = np.flatnonzero(changed)
    party_ids = frame["party_id"].to_numpy()[idx].tolist()
    reasons = np.asarray(phases["reason"].astype(str))[idx].tolist()
    facts = phases["facts"].to_numpy()[idx].tolist()
    won_back = phases["won_back"].to_numpy(dtype=bool)[idx].tolist()
    changes = [
        PhaseChange(
            party_id=party_ids[n],
            date=as_of,
            from_phase=prev_phase[i] or "",
            to_phase=new_phase[i],
            reason=reasons[n],
            facts=json.loads(facts[n]),
            won_back=won_back[n],
        )
        for n, i in enumerate(idx)
    ]
    with staged(figures_table(frame, computed_at)) as stage, transaction.atomic():
        write_figures(stage)
        PhaseChange.objects.bulk_create(changes, batch_size=5000)
        if figures.bgnbd is not None:
            cfg = AnalyticsSettings.load()
            gg = figures.gamma_gamma
            ClvFit.objects.create(
                run=record,
                calibration_start=figures.calibration_start,
                calibration_end=figures.calibration_end,
                time_unit=cfg.time_unit,
                horizon_months=cfg.horizon_years * 12,
                discount_rate_yearly=cfg.discount_rate_yearly,
                customers=figures.bgnbd.n_customers,
                repeat_customers=gg.n_customers if gg else 0,
                r=figures.bgnbd.r,
                alpha=figures.bgnbd.alpha,
                a=figures.bgnbd.a,
                b=figures.bgnbd.b,
                bgnbd_log_likelihood=figures.bgnbd.log_likelihood,
                p=gg.p if gg else None,
                q=gg.q if gg else None,
                gamma=gg.gamma if gg else None,
                gamma_gamma_log_likelihood=gg.log_likelihood if gg else None,
                bgnbd_converged=figures.bgnbd.converged,
                bgnbd_message="" if figures.bgnbd.converged else figures.bgnbd.message,
                gamma_gamma_converged=figures.gamma_gamma_usable if gg else None,
                gamma_gamma_message=_gamma_gamma_problem(gg) if gg else "",
            )
    return changes
