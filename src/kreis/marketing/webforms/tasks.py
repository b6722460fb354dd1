"""Jobs of web-to-lead forms (Huey), registered by ``kreis.marketing.apps``: processing a
submission the public form took (enqueued by the form's view once the submission is kept:
``after_receive``; one job for a burst), moving what waits in the inbox file of a SQLite
installation into the database, and the sweeper that every minute moves the inbox and takes
every submission still pending a minute later — one whose job was lost with a worker, or whose
processing failed and is tried again (up to ``services.MAX_ATTEMPTS`` times, then it is
``failed`` and shown on the form's page)."""

from __future__ import annotations

import datetime as dt
import logging

from django.core.cache import cache
from django.utils import timezone
from huey import crontab
from huey.contrib.djhuey import db_periodic_task, db_task, lock_task

from kreis.marketing.models import FormSubmission, SubmissionOutcome
from kreis.marketing.webforms import services

log = logging.getLogger("kreis.marketing.webforms")

SWEEP_AFTER = dt.timedelta(seconds=60)
SWEEP_BATCH = 500


@db_task()
def process_submission(submission_id: int) -> bool:
    """True when this run processed it (False: done before, not visible yet, or failed —
    the sweeper takes it then)."""
    try:
        return services.process(submission_id) is not None
    except services.SubmissionGone:
        log.info("submission %s not visible yet; the sweeper takes it", submission_id)
    except Exception:
        log.exception("processing submission %s failed; the sweeper tries again", submission_id)
    return False


# Set while a job to process new submissions is on its way: a burst of submissions enqueues
# one job, not one each (each enqueue is a write to the job queue, beside the visitor's own).
NUDGE_KEY = "marketing:webforms:nudge"
NUDGE_TIMEOUT = 60  # a job lost before it started: the sweeper covers the submissions


@db_task()
def process_new() -> int:
    """Move the submissions waiting in the inbox file into the database and process every
    submission pending there that no attempt has failed yet; until none is left."""
    done = after = 0
    while True:
        # Cleared before looking: whatever is kept from now on enqueues a job of its own.
        cache.delete(NUDGE_KEY)
        services.move_waiting()
        ids = list(
            FormSubmission.objects.filter(
                outcome=SubmissionOutcome.PENDING, attempts=0, pk__gt=after
            )
            .order_by("pk")
            .values_list("pk", flat=True)[:SWEEP_BATCH]
        )
        if not ids:
            return done
        done += sum(process_submission.call_local(pk) for pk in ids)
        after = ids[-1]  # one that failed waits for the sweeper, not for this loop


def retry(*, actor, submission: FormSubmission) -> None:
    """A failed submission back to pending and its job enqueued (the form's page, the API,
    the admin)."""
    services.retry(actor=actor, submission=submission)
    process_submission(submission.pk)


def after_receive(submission: FormSubmission) -> None:
    """Enqueue the rest of a submission just kept (``services.receive``), unless a job is on
    its way already."""
    if cache.add(NUDGE_KEY, 1, NUDGE_TIMEOUT):
        process_new()


def sweep(now: dt.datetime | None = None, *, limit: int = SWEEP_BATCH) -> tuple[int, int]:
    """Move the inbox, then process the submissions pending for longer than a minute:
    (processed, failed)."""
    services.move_waiting()
    cutoff = (now or timezone.now()) - SWEEP_AFTER
    ids = list(
        FormSubmission.objects.filter(outcome=SubmissionOutcome.PENDING, created_at__lt=cutoff)
        .order_by("created_at", "pk")
        .values_list("pk", flat=True)[:limit]
    )
    done = failed = 0
    for pk in ids:
        if process_submission.call_local(pk):
            done += 1
        elif FormSubmission.objects.filter(pk=pk, outcome=SubmissionOutcome.PENDING).exists():
            failed += 1
    return done, failed


@db_periodic_task(crontab(minute="*"))
@lock_task("marketing-submissions-sweep")
def sweep_pending_submissions() -> list[int]:
    done, failed = sweep()
    if done or failed:
        log.info("submission sweeper: %d processed, %d still failing", done, failed)
    return [done, failed]
