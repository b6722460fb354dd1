"""Jobs of the predictive lead score (Huey), registered by ``kreis.marketing.apps``: the weekly
training (Sundays 02:15), the nightly scoring with the MQL check (02:45), and a training on
demand."""

from __future__ import annotations

import logging

from huey import crontab
from huey.contrib.djhuey import db_periodic_task, db_task, lock_task

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
@lock_task("marketing-lead-scoring-train")
def lead_scoring_train_now() -> int:
    return services.train_and_score().pk
