"""Signals of the imports, for outer layers that react without the import knowing them
(the webhooks of ``kreis.automation``).

``import_finished(sender=ImportJob, job=<ImportJob>)`` is sent once the job's last chunk is
committed (status ``done``) or the job stopped with an error (status ``failed``), after the
transaction commits.
"""

from __future__ import annotations

from django.dispatch import Signal

import_finished = Signal()
