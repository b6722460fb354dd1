"""Jobs of the predictive lead score (Huey), registered by ``kreis.marketing.apps``: the weekly
training (Sundays 02:15), the nightly scoring with the MQL check (02:45), and a training on
demand ("Train now" on the scoring page) that reports its progress."""

from __future__ import annotations

import logging

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from huey import crontab
from huey.contrib.djhuey import HUEY, db_periodic_task, db_task, lock_task

from kreis.marketing.predictive import services

log = logging.getLogger("kreis.marketing.scoring")


@db_periodic_task(crontab(day_of_week="0", hour="2", minute="15"))
@lock_task("marketing-lead-scoring-train")
def lead_scoring_train_weekly() -> int:
    row = services.train_and_score()
    log.info("lead scoring trained: usable=%s auc=%s %s", row.usable, row.auc, row.message)
    return row.pk


@db_periodic_task(crontab(hour="2", minute="45"))
@lock_task("marketing-lead-scoring-score")
def lead_scoring_nightly() -> list[int]:
    scored, qualified = services.score_and_qualify()
    return [scored, qualified]


@db_task()
def lead_scoring_train_now(training_id: str | None = None) -> int | None:
    """Train and score now; with ``training_id`` (from ``training_begin``) its progress entry
    follows the steps and is marked finished at the end, also when the training fails or
    the weekly training holds the lock."""
    row = None
    try:
        with HUEY.lock_task("marketing-lead-scoring-train"):
            progress = services.progress_recorder(training_id) if training_id else None
            row = services.train_and_score(progress=progress)
    finally:
        if training_id:
            services.training_end(training_id, row=row)
    log.info("lead scoring trained on demand: usable=%s", row.usable if row else None)
    return row.pk if row else None


def lead_scoring_train_enqueue() -> str:
    """Queue a training ("Train now"): returns the id of its progress entry. Refused while
    another training started this way runs."""
    training_id = services.training_begin()
    if training_id is None:
        raise ValidationError(_("A training is running already; wait until it has finished."))
    lead_scoring_train_now(training_id)
    return training_id
