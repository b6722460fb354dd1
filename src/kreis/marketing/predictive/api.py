"""The predictive lead score and the lead management settings through the API.

- ``GET /lead-scoring/model``: the current model (the newest usable training, or null), the
  newest training and the history (marketing users, administrators; ``marketing.view``).
- ``POST /lead-scoring/train``: train now (administrators; ``marketing.configure``). It trains
  synchronously, within the request (a few seconds for thousands of decided leads), and
  answers with the training it made — an integrator gets the result without polling. The web
  page queues its "Train now" as a job with a progress bar instead.
- ``GET``/``PUT /marketing/settings``: every field of the lead management settings
  (``MarketingSettings``); ``PUT`` changes the fields sent, each validated, nothing saved when
  one is wrong (administrators).
"""

import datetime as dt
from typing import Any

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest
from ninja import Body, Router, Schema, Status

from kreis.core.api_support import PROBLEM_RESPONSES
from kreis.marketing.models import LeadScoringModel, MarketingSettings
from kreis.marketing.predictive import services
from kreis.marketing.predictive.features import label_of

router = Router(tags=["lead management"])
HISTORY = 50


class FeatureOut(Schema):
    feature: str
    label: str
    weight: float
    direction: str
    value: str


class TrainingOut(Schema):
    id: int
    trained_at: dt.datetime
    samples: int
    positives: int
    usable: bool
    auc: float | None
    auc_std: float | None
    folds: int
    message: str
    features: list[FeatureOut]


class ModelOut(Schema):
    current: TrainingOut | None
    latest: TrainingOut | None
    rules_apply: bool
    mql_threshold: float
    history: list[TrainingOut]


def training_out(row: LeadScoringModel | None) -> dict | None:
    if row is None:
        return None
    return {
        "id": row.pk,
        "trained_at": row.trained_at,
        "samples": row.samples,
        "positives": row.positives,
        "usable": row.usable,
        "auc": row.auc,
        "auc_std": row.auc_std,
        "folds": row.folds,
        "message": row.message,
        "features": [
            {
                "feature": item["feature"],
                "label": label_of(item["feature"]),
                "weight": item["weight"],
                "direction": item.get("direction", "+"),
                "value": item.get("value", ""),
            }
            for item in row.importances
        ],
    }


def _require(request: HttpRequest, perm: str) -> None:
    if not request.auth.has_perm(perm):
        raise PermissionDenied


@router.get(
    "/lead-scoring/model",
    response={200: ModelOut, **PROBLEM_RESPONSES},
    summary="The predictive lead scoring model: the current one, the newest training, history",
    operation_id="lead_scoring_model",
)
def lead_scoring_model(request: HttpRequest):
    _require(request, "marketing.view")
    current = services.current_model()
    history = LeadScoringModel.objects.defer("model").order_by("-trained_at", "-pk")[:HISTORY]
    return {
        "current": training_out(current),
        "latest": training_out(services.latest_training()),
        "rules_apply": current is None,
        "mql_threshold": MarketingSettings.load().mql_threshold,
        "history": [training_out(row) for row in history],
    }


@router.post(
    "/lead-scoring/train",
    response={201: TrainingOut, **PROBLEM_RESPONSES},
    summary="Train the predictive lead scoring model now and score the open leads with it",
    operation_id="lead_scoring_train",
)
def lead_scoring_train(request: HttpRequest):
    """Trains within the request (synchronously) and answers with the new training, usable or
    not (its ``message`` says why not); the open leads are scored with the current model."""
    _require(request, "marketing.configure")
    row = services.train_and_score()
    return Status(201, training_out(row))


@router.get(
    "/marketing/settings",
    response={200: dict[str, Any], **PROBLEM_RESPONSES},
    summary="The lead management settings (MQL threshold, training size, SLA, tracking, forms)",
    operation_id="marketing_settings_get",
)
def marketing_settings_get(request: HttpRequest):
    _require(request, "marketing.configure")
    return services.settings_values(MarketingSettings.load())


@router.put(
    "/marketing/settings",
    response={200: dict[str, Any], **PROBLEM_RESPONSES},
    summary="Change lead management settings: the fields sent, each validated",
    operation_id="marketing_settings_update",
)
def marketing_settings_update(request: HttpRequest, payload: dict[str, Any] = Body(...)):  # noqa: B008
    """Send only the fields to change, e.g. ``{"mql_threshold": 70}``. An unknown field or a
    value out of range is a 422 problem naming the field; nothing is saved then."""
    config = services.settings_update(actor=request.auth, data=payload)
    return services.settings_values(config)
