"""The predictive lead score: training, scoring, and the MQL threshold event.

**Training** (``train``) learns from the decided leads: converted (1) versus disqualified (0).
Leads disqualified as spam are left out — they were never prospects, and a model that learns to
spot spam says nothing about who buys. The features are those of
``kreis.marketing.predictive.features``. The model is a scikit-learn pipeline: one-hot encoding
of the categories (unknown values ignored), standardised numbers, and a logistic regression —
with some dozens to a few thousand leads it is the model that does not overfit, trains in a
moment, gives probabilities one can read as "chance of conversion", and whose weights can be
shown. Its quality is the ROC AUC of a stratified k-fold cross-validation (k = 5, fewer when
one class has fewer than 5 leads). The weight of each feature is its permutation importance
(how much the AUC drops when that column is shuffled), with the direction and, for a category,
its strongest value from the coefficients.

A training is stored as a ``LeadScoringModel`` row in any case. It is ``usable`` only with at
least ``MarketingSettings.min_training_leads`` decided leads, at least two of each class, and
an AUC of at least ``MIN_AUC`` (a model no better than a coin would only add noise); otherwise
its ``message`` says why and the rule scores apply. The fitted pipeline is stored in the row
(joblib bytes; loaded only from our own database). The newest usable row scores the leads.

**Progress**: ``train`` and ``score_leads`` take an optional ``progress(step, done, total)``
callback. "Train now" in the web UI runs as a job (``tasks.lead_scoring_train_now``) whose
callback writes a progress entry per training into the Django cache (``training_begin``,
``progress_recorder``, ``training_end``); the scoring page reads it (``running_training``) and
shows the step while the job works. One training at a time: the slot is claimed with
``cache.add``.

**Scoring** (``score_leads``) writes ``Lead.predicted_score`` (probability × 100) and
``predicted_at`` of open leads, vectorised and with ``bulk_update``.

**MQL** (``check_mql``): a lead's *effective score* is its predicted score while a usable
model exists, else its rule score (``Lead.score`` from ``kreis.analytics.scoring``). An open
lead whose effective score reaches ``MarketingSettings.mql_threshold`` for the first time gets
``mql_at`` and ``kreis.marketing.signals.lead_qualified`` is sent — once: a lead with
``mql_at`` is never qualified again. It runs after every scoring: the nightly predictive
scoring, the analytics run's rule scoring (``kreis.analytics.scoring.engine.apply_model``) and a
web form's submission (``kreis.analytics.scoring.receivers``).
"""

from __future__ import annotations

import datetime as dt
import io
import time
import uuid
from collections.abc import Callable, Iterable

import joblib
import numpy as np
from django.conf import settings as django_settings
from django.core.cache import cache
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import F, Q, QuerySet
from django.db.models.functions import Coalesce
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from kreis.leads.models import DisqualifyReason, Lead, LeadStatus
from kreis.marketing.models import LeadScoringModel, MarketingSettings
from kreis.marketing.predictive.features import CATEGORICAL, COLUMNS, NUMERIC, lead_features
from kreis.marketing.signals import lead_qualified

OPEN_STATUSES = (LeadStatus.NEW, LeadStatus.CONTACTED, LeadStatus.QUALIFIED)
MIN_AUC = 0.55
MAX_FOLDS = 5
BATCH = 1000

_loaded: dict[int, object] = {}  # model row id → fitted pipeline

# The steps of a training, in order, as the progress callback names them.
QUEUED, READING, FOLD, FITTING, SCORING = "queued", "reading", "fold", "fitting", "scoring"
Progress = Callable[[str, int, int], None]  # (step, done, total)


def decided_leads() -> QuerySet:
    """Leads the model learns from: converted, or disqualified for a reason other than spam."""
    return Lead.objects.filter(deleted_at__isnull=True).filter(
        Q(status=LeadStatus.CONVERTED)
        | (Q(status=LeadStatus.DISQUALIFIED) & ~Q(disqualify_reason=DisqualifyReason.SPAM))
    )


def open_leads() -> QuerySet:
    return Lead.objects.filter(deleted_at__isnull=True, status__in=OPEN_STATUSES)


def current_model() -> LeadScoringModel | None:
    """The newest usable training: it scores the leads (None: the rule scores apply)."""
    return LeadScoringModel.objects.filter(usable=True).order_by("-trained_at", "-pk").first()


def latest_training() -> LeadScoringModel | None:
    return LeadScoringModel.objects.order_by("-trained_at", "-pk").first()


def build_pipeline():
    from sklearn.compose import ColumnTransformer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    columns = ColumnTransformer(
        [
            ("category", OneHotEncoder(handle_unknown="ignore"), CATEGORICAL),
            ("number", StandardScaler(), NUMERIC),
        ]
    )
    return Pipeline([("features", columns), ("model", LogisticRegression(max_iter=2000))])


def _directions(pipeline) -> dict[str, tuple[str, str]]:
    """Per input column: the sign of its strongest coefficient and, for a category, the value
    it belongs to."""
    names = pipeline.named_steps["features"].get_feature_names_out()
    coefficients = pipeline.named_steps["model"].coef_[0]
    best: dict[str, tuple[float, str]] = {}
    for name, weight in zip(names, coefficients, strict=True):
        column = _column_of(name)
        value = name.partition("__")[2][len(column) + 1 :] if name.startswith("category__") else ""
        if column not in best or abs(weight) > abs(best[column][0]):
            best[column] = (float(weight), value)
    return {c: ("+" if w >= 0 else "-", v) for c, (w, v) in best.items()}


def _column_of(name: str) -> str:
    """The input column of an output column of the feature step ("category__source_web")."""
    part, _sep, rest = name.partition("__")
    if part == "category":
        return next(c for c in CATEGORICAL if rest.startswith(c + "_"))
    return rest


def _importances(pipeline, x, y, repeats: int = 5) -> list[dict]:
    """Permutation importance of each input column: the mean drop of the AUC when its values
    are shuffled between the leads. The features are transformed once and a column's block of
    encoded columns is shuffled there (the same as shuffling the input column, since the
    encoding works row by row) — sklearn's permutation_importance would encode the whole
    frame again for every shuffle, 20 times slower."""
    from sklearn.metrics import roc_auc_score

    step, model = pipeline.named_steps["features"], pipeline.named_steps["model"]
    encoded = step.transform(x)
    encoded = encoded.toarray() if hasattr(encoded, "toarray") else np.asarray(encoded)
    blocks: dict[str, list[int]] = {}
    for index, name in enumerate(step.get_feature_names_out()):
        blocks.setdefault(_column_of(name), []).append(index)
    base = roc_auc_score(y, model.decision_function(encoded))
    rng = np.random.default_rng(0)
    directions = _directions(pipeline)
    rows = []
    for column in COLUMNS:
        block = blocks.get(column, [])
        drops = []
        for _repeat in range(repeats if block else 0):
            shuffled = encoded.copy()
            shuffled[:, block] = encoded[rng.permutation(len(encoded))][:, block]
            drops.append(base - roc_auc_score(y, model.decision_function(shuffled)))
        sign, value = directions.get(column, ("+", ""))
        weight = float(np.mean(drops)) if drops else 0.0
        rows.append(
            {"feature": column, "weight": round(weight, 4), "direction": sign, "value": value}
        )
    rows.sort(key=lambda row: (-row["weight"], row["feature"]))
    return rows


def _dump(pipeline) -> bytes:
    buffer = io.BytesIO()
    joblib.dump(pipeline, buffer, compress=3)
    return buffer.getvalue()


def load_pipeline(row: LeadScoringModel):
    """The fitted pipeline of a training (only rows of our own database are ever loaded)."""
    if row.pk not in _loaded:
        _loaded.clear()
        _loaded[row.pk] = joblib.load(io.BytesIO(bytes(row.model)))  # noqa: S301 - our own row
    return _loaded[row.pk]


def _no_progress(step: str, done: int, total: int) -> None:
    return None


def train(now: dt.datetime | None = None, *, progress: Progress | None = None) -> LeadScoringModel:
    """Train on the decided leads and store the result (usable or with the reason why not).
    ``progress`` hears of each step: reading the decided leads, each cross-validation fold
    (k of n), fitting on all of them. scikit-learn is imported only when there is enough
    history to train on."""
    progress = progress or _no_progress
    now = now or timezone.now()
    started = time.monotonic()
    config = MarketingSettings.load()
    progress(READING, 0, 0)
    # In lead order: the folds and the shuffles of the importances then do not depend on the
    # order the database returns rows in (PostgreSQL's varies), so one history trains one model.
    frame = lead_features(decided_leads(), decided=True).sort_index()
    y = (frame["status"] == LeadStatus.CONVERTED).to_numpy(dtype="int64")
    samples, positives = len(y), int(y.sum())
    negatives = samples - positives
    row = LeadScoringModel(trained_at=now, samples=samples, positives=positives, usable=False)
    with translation.override(django_settings.LANGUAGE_CODE):
        if samples < config.min_training_leads:
            row.message = _(
                "Too little history: %(count)d of %(needed)d decided leads. The rule scores apply."
            ) % {"count": samples, "needed": config.min_training_leads}
        elif min(positives, negatives) < 2:
            row.message = _(
                "Too little history: %(converted)d converted and %(disqualified)d disqualified "
                "leads; the model needs at least two of each. The rule scores apply."
            ) % {"converted": positives, "disqualified": negatives}
        else:
            x = frame[COLUMNS]
            folds = min(MAX_FOLDS, positives, negatives)
            aucs = _cross_validate(x, y, folds=folds, progress=progress)
            progress(FITTING, 0, 1)
            pipeline = build_pipeline()
            pipeline.fit(x, y)
            row.folds = folds
            row.auc = round(float(np.mean(aucs)), 4)
            row.auc_std = round(float(np.std(aucs)), 4)
            row.importances = _importances(pipeline, x, y)
            row.model = _dump(pipeline)
            row.usable = row.auc >= MIN_AUC
            if not row.usable:
                row.message = _(
                    "The model predicts no better than chance (AUC %(auc).2f). "
                    "The rule scores apply."
                ) % {"auc": row.auc}
            else:
                row.message = _("Trained in %(seconds).1f s.") % {
                    "seconds": time.monotonic() - started
                }
    row.save()
    return row


def _cross_validate(x, y, *, folds: int, progress: Progress) -> list[float]:
    """ROC AUC of each fold of a stratified k-fold cross-validation (what sklearn's
    ``cross_val_score(..., scoring="roc_auc")`` computes), fold by fold so the progress can
    tell which one is running."""
    from sklearn.base import clone
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import StratifiedKFold

    template = build_pipeline()
    cv = StratifiedKFold(n_splits=folds, shuffle=True, random_state=0)
    aucs = []
    for k, (learn, test) in enumerate(cv.split(x, y), start=1):
        progress(FOLD, k, folds)
        pipeline = clone(template).fit(x.iloc[learn], y[learn])
        aucs.append(roc_auc_score(y[test], pipeline.predict_proba(x.iloc[test])[:, 1]))
    return aucs


def _open_subset(leads) -> QuerySet:
    """Open leads among ``leads`` (a queryset, leads or ids; None: all open leads)."""
    qs = open_leads()
    if leads is None:
        return qs
    if isinstance(leads, QuerySet):
        return qs.filter(pk__in=leads.values("pk"))
    ids = [getattr(lead, "pk", lead) for lead in leads]
    return qs.filter(pk__in=ids)


def score_leads(
    leads: Iterable | QuerySet | None = None,
    *,
    now: dt.datetime | None = None,
    progress: Progress | None = None,
) -> int:
    """Write the predicted score of these open leads (all open leads: None) with the current
    model; nothing while no usable model exists. Returns the number of leads scored;
    ``progress`` hears "scoring, i of N" after each batch."""
    row = current_model()
    if row is None:
        return 0
    progress = progress or _no_progress
    now = now or timezone.now()
    pipeline = load_pipeline(row)
    qs = _open_subset(leads)
    total = 0
    ids = list(qs.order_by("pk").values_list("pk", flat=True))
    progress(SCORING, 0, len(ids))
    for start in range(0, len(ids), 20 * BATCH):
        chunk = ids[start : start + 20 * BATCH]
        frame = lead_features(Lead.objects.filter(pk__in=chunk))
        if not len(frame):
            continue
        scores = np.round(pipeline.predict_proba(frame[COLUMNS])[:, 1] * 100, 2)
        updates = [
            Lead(pk=int(pk), predicted_score=float(score), predicted_at=now)
            for pk, score in zip(frame.index, scores, strict=True)
        ]
        Lead.objects.bulk_update(updates, ["predicted_score", "predicted_at"], batch_size=BATCH)
        total += len(updates)
        progress(SCORING, min(start + 20 * BATCH, len(ids)), len(ids))
    return total


def effective_score_expression():
    """The score the MQL threshold is held against, as a database expression."""
    if current_model() is not None:
        return Coalesce(F("predicted_score"), F("score"))
    return F("score")


def check_mql(
    leads: Iterable | QuerySet | None = None, *, now: dt.datetime | None = None
) -> list[Lead]:
    """Stamp ``mql_at`` on open leads whose effective score reached the threshold for the first
    time and send ``lead_qualified`` for each (once per lead). Returns those leads."""
    now = now or timezone.now()
    threshold = MarketingSettings.load().mql_threshold
    candidates = list(
        _open_subset(leads)
        .filter(mql_at__isnull=True)
        .alias(effective=effective_score_expression())
        .filter(effective__gte=threshold)
        .order_by("pk")
    )
    qualified = []
    for lead in candidates:
        with transaction.atomic():
            if not Lead.objects.filter(pk=lead.pk, mql_at__isnull=True).update(mql_at=now):
                continue  # another run was quicker
            lead.mql_at = now
            lead_qualified.send(sender=Lead, lead=lead)
        qualified.append(lead)
    return qualified


def refresh_leads(leads: Iterable | QuerySet) -> list[Lead]:
    """Score these leads with the current model and qualify those that crossed the threshold
    (after a web form changed them)."""
    score_leads(leads)
    return check_mql(leads)


def effective_score(lead: Lead) -> tuple[float | None, str]:
    """A lead's effective score and where it comes from ("predicted" or "rules")."""
    if lead.predicted_score is not None and current_model() is not None:
        return lead.predicted_score, "predicted"
    return lead.score, "rules"


# --- settings ---------------------------------------------------------------------------------

SETTINGS_FIELDS = [
    f.name
    for f in MarketingSettings._meta.concrete_fields
    if f.name != "id" and getattr(f, "editable", True)
]


def settings_values(config: MarketingSettings) -> dict:
    return {name: getattr(config, name) for name in SETTINGS_FIELDS}


def settings_update(*, actor, data: dict) -> MarketingSettings:
    """Change some settings (administrators); every field is validated, nothing saved when
    one is wrong. Unknown fields are refused. Any part of lead management may use this for its
    own fields of ``MarketingSettings``."""
    if actor is None or not actor.has_perm("marketing.configure"):
        raise PermissionDenied
    unknown = sorted(set(data) - set(SETTINGS_FIELDS))
    if unknown:
        raise ValidationError({key: [_("Unknown setting.")] for key in unknown})
    config = MarketingSettings.load()
    for key, value in data.items():
        field = MarketingSettings._meta.get_field(key)
        try:
            value = field.to_python(value)
        except ValidationError as error:
            raise ValidationError({key: error.messages}) from error
        setattr(config, key, value)
    config.full_clean()
    config.save()
    return config


def train_and_score(
    now: dt.datetime | None = None, *, progress: Progress | None = None
) -> LeadScoringModel:
    """Train, then score the open leads with the current model and qualify who crossed the
    threshold (the weekly job, "Train now", the API and the CLI)."""
    row = train(now=now, progress=progress)
    score_leads(now=now, progress=progress)
    check_mql(now=now)
    return row


# --- progress of a training on demand ---------------------------------------------------------

PROGRESS_SECONDS = 15 * 60  # an entry not written for this long belongs to a training that died
_RUNNING_KEY = "kreis:lead-scoring-training:running"


def _training_key(training_id: str) -> str:
    return f"kreis:lead-scoring-training:{training_id}"


def training_begin(*, now: dt.datetime | None = None) -> str | None:
    """Claim the one training slot and put a progress entry for a new training (waiting for
    the job worker) into the cache. Returns its id; None while another training runs."""
    training_id = uuid.uuid4().hex
    if not cache.add(_RUNNING_KEY, training_id, PROGRESS_SECONDS):
        if running_training() is not None:
            return None
        cache.set(_RUNNING_KEY, training_id, PROGRESS_SECONDS)  # the slot's entry had expired
    entry = {
        "id": training_id,
        "started_at": now or timezone.now(),
        "step": QUEUED,
        "done": 0,
        "total": 0,
        "finished": False,
        "row": None,
    }
    cache.set(_training_key(training_id), entry, PROGRESS_SECONDS)
    return training_id


def training_progress(training_id: str) -> dict | None:
    """The progress entry of a training: id, started_at, step, done, total, finished and the
    ``LeadScoringModel`` id it made (once finished); None when unknown or expired."""
    return cache.get(_training_key(training_id))


def running_training() -> dict | None:
    """The progress entry of the training that runs now, or None."""
    training_id = cache.get(_RUNNING_KEY)
    entry = training_progress(training_id) if training_id else None
    return entry if entry and not entry["finished"] else None


def progress_recorder(training_id: str) -> Progress:
    """The progress callback of a training: every step updates its cache entry (and keeps
    its claim on the training slot alive)."""

    def record(step: str, done: int, total: int) -> None:
        entry = training_progress(training_id)
        if entry is None:
            return
        entry.update(step=step, done=done, total=total)
        cache.set(_training_key(training_id), entry, PROGRESS_SECONDS)
        cache.set(_RUNNING_KEY, training_id, PROGRESS_SECONDS)

    return record


def training_end(training_id: str, *, row: LeadScoringModel | None) -> None:
    """Mark a training finished (``row``: what it made; None: it failed) and free the slot."""
    entry = training_progress(training_id)
    if entry is not None:
        entry.update(finished=True, row=row.pk if row is not None else None)
        cache.set(_training_key(training_id), entry, PROGRESS_SECONDS)
    if cache.get(_RUNNING_KEY) == training_id:
        cache.delete(_RUNNING_KEY)


def progress_percent(entry: dict) -> int:
    """How far a training is, 0–100: reading 0–10, the folds 10–60, fitting 60–80, scoring
    80–100 (rough shares of the time each step takes)."""
    share = float(entry["done"]) / entry["total"] if entry["total"] else 0.0
    start, width = {QUEUED: (0, 0), READING: (0, 10), FOLD: (10, 50), FITTING: (60, 20)}.get(
        entry["step"], (80, 20)
    )
    if entry["step"] == FOLD:  # fold k of n is running: k - 1 are done
        share = (entry["done"] - 1) / entry["total"] if entry["total"] else 0.0
    return max(0, min(100, round(start + width * share)))


def progress_text(entry: dict) -> str:
    """The step of a training in words (the scoring page, the CLI)."""
    step, done, total = entry["step"], entry["done"], entry["total"]
    if step == READING:
        return _("Reading the decided leads …")
    if step == FOLD:
        return _("Cross-validation: fold %(k)d of %(n)d") % {"k": done, "n": total}
    if step == FITTING:
        return _("Fitting the model on all decided leads …")
    if step == SCORING:
        return _("Scoring the open leads: %(done)d of %(total)d") % {"done": done, "total": total}
    return _("Waiting for the job worker …")


def score_and_qualify(now: dt.datetime | None = None) -> tuple[int, int]:
    """The nightly run: predicted scores of all open leads, then the MQL check.
    Returns (leads scored, leads qualified)."""
    scored = score_leads(now=now)
    return scored, len(check_mql(now=now))
