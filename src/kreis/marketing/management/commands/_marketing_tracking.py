"""``kreis marketing tracking purge|stats``: website tracking in bulk.

- ``purge``: delete page visits older than the retention period (``--days`` overrides it
  for this run; ``visit_retention_days`` of the settings otherwise) — what the nightly job does.
- ``stats``: visits, visitors (identified and anonymous), top pages and sources of the last
  ``--days`` days (30), as text or ``--json``.
"""

from __future__ import annotations

import json

from django.core.management.base import CommandError
from django.core.serializers.json import DjangoJSONEncoder

from kreis.marketing.tracking import queries, services


def register(subparsers) -> None:
    parser = subparsers.add_parser("tracking", help="Website tracking: purge old visits, stats")
    actions = parser.add_subparsers(dest="tracking_action", required=True)
    purge = actions.add_parser("purge", help="Delete page visits older than the retention")
    purge.add_argument("--days", type=int, help="Keep this many days (default: the setting)")
    stats = actions.add_parser("stats", help="Visits, visitors, top pages and sources")
    stats.add_argument("--days", type=int, default=30, help="The period in days (30)")
    stats.add_argument("--json", action="store_true", help="Print JSON")
    parser.set_defaults(run=run)


def run(command, options) -> None:
    out = command.stdout
    days = options.get("days")
    if days is not None and days < 1:
        raise CommandError("--days must be at least 1")
    if options["tracking_action"] == "purge":
        result = services.visits_purge(retention_days=days)
        out.write(
            f"{result['visits']} page visits and {result['visitors']} anonymous visitors older "
            f"than {result['retention_days']} days deleted."
        )
        return
    stats = queries.stats(days=days)
    if options["json"]:
        out.write(json.dumps(stats, cls=DjangoJSONEncoder, indent=2))
        return
    out.write(
        f"Last {stats['days']} days: {stats['visits']} page visits, {stats['visitors']} "
        f"visitors ({stats['identified']} identified, {stats['anonymous']} anonymous)."
    )
    for title, key in (("Top pages", "top_pages"), ("UTM sources", "top_sources")):
        if stats[key]:
            out.write(f"{title}:")
            for row in stats[key]:
                out.write(f"  {row['visits']:>6}  {row['value']}")
