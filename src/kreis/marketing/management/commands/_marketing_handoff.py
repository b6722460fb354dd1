"""``kreis marketing handoff check|report|assign``: the handoff to sales in bulk.

- ``check``: run the SLA job now (reminders, escalations, recycling), as every five minutes.
- ``report --from DATE --to DATE [--json]``: SLA compliance per rep and per team (of all
  handoffs: the command runs as the system).
- ``assign LEAD_ID``: hand a new lead to the next rep by the assignment rules.
"""

from __future__ import annotations

import json
from datetime import date, timedelta

from django.core.management.base import CommandError
from django.utils import timezone

from kreis.leads.models import Lead
from kreis.marketing.handoff import queries, services


def _date(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise CommandError(f"Not a date (YYYY-MM-DD): {value!r}") from None


def register(subparsers) -> None:
    parser = subparsers.add_parser("handoff", help="Handoff to sales: SLA job, report, assign")
    actions = parser.add_subparsers(dest="handoff_action", required=True)
    actions.add_parser("check", help="Run the SLA job now (remind, escalate, recycle)")
    report = actions.add_parser("report", help="SLA compliance per rep and team")
    report.add_argument("--from", dest="start", help="First day (default: 30 days ago)")
    report.add_argument("--to", dest="end", help="Last day (default: today)")
    report.add_argument("--json", action="store_true", help="Print JSON")
    assign = actions.add_parser("assign", help="Hand a new lead off by the rules")
    assign.add_argument("lead_id", type=int)
    parser.set_defaults(run=run)


def run(command, options) -> None:
    out = command.stdout
    action = options["handoff_action"]
    if action == "check":
        result = services.check_sla()
        out.write(
            f"{result.reminded} reminded, {result.escalated} escalated, {result.recycled} "
            f"recycled ({result.reassigned} handed to another rep, {len(result.unassigned)} "
            "left without owner)."
        )
        return
    if action == "assign":
        lead = Lead.objects.filter(pk=options["lead_id"], deleted_at__isnull=True).first()
        if lead is None:
            raise CommandError(f"No lead {options['lead_id']}.")
        handoff = services.hand_off(lead)
        if handoff is None:
            raise CommandError(
                "Not handed off: the lead is not new, already waits for a first contact, "
                "or no sales rep can take it."
            )
        out.write(
            f"Lead {lead.pk} → {handoff.assigned_to.username}, first contact due "
            f"{timezone.localtime(handoff.due_at):%Y-%m-%d %H:%M}. "
            f"{services.reason_text(handoff.reason)}"
        )
        return
    today = timezone.localdate()
    end = _date(options["end"]) if options.get("end") else today
    start = _date(options["start"]) if options.get("start") else end - timedelta(days=29)
    if start > end:
        raise CommandError("--from must be on or before --to")
    report = queries.compliance_report(user=None, start=start, end=end)
    if options["json"]:
        out.write(json.dumps(report.as_dict(), indent=2))
        return
    out.write(f"SLA compliance of the handoffs assigned {start} – {end}")
    for title, rows in (("Per rep", report.reps), ("Per team", report.teams)):
        out.write(f"{title}:")
        out.write(
            f"  {'name':<28}{'total':>6}{'in time':>9}{'late':>6}{'recyc.':>7}{'open':>6}"
            f"{'compl.%':>9}{'median h':>10}"
        )
        for r in [*rows, report.total]:
            name = r.name if r is not report.total else "All"
            compliance = "—" if r.compliance is None else f"{r.compliance:.1f}"
            median = "—" if r.median_hours is None else f"{r.median_hours:.1f}"
            out.write(
                f"  {name[:27]:<28}{r.handoffs:>6}{r.in_time:>9}{r.late:>6}{r.recycled:>7}"
                f"{r.open:>6}{compliance:>9}{median:>10}"
            )
