"""The segments' nightly job (Huey), registered by ``kreis.marketing.apps``."""

from __future__ import annotations

import logging

from huey import crontab
from huey.contrib.djhuey import db_periodic_task, lock_task

from kreis.marketing.segments.services import snapshot_all

log = logging.getLogger("kreis.marketing.segments")


# Every night at 04:10 (after the analytics have computed the figures): each segment's
# member count, kept as the day's snapshot.
@db_periodic_task(crontab(hour="4", minute="10"))
@lock_task("marketing-segment-snapshots")
def snapshot_segments() -> int:
    """Count every segment and keep today's snapshot."""
    done = snapshot_all()
    log.info("segment snapshots: %d segments counted", done)
    return done
