"""``kreis marketing campaigns list|funnel ID|add-members ID --segment S|import-responses ID
FILE.csv``: campaigns in bulk.

- ``list``: every campaign with its channel, status, members, leads, won deals, revenue, cost
  and ROI (``--model last`` for last-touch attribution).
- ``funnel ID``: the campaign's funnel as text, or ``--json``.
- ``add-members ID --segment S``: add every party of the segment (its id or name), skipping
  members already in.
- ``import-responses ID FILE.csv``: response times from a CSV with a ``lead_id``,
  ``party_id`` or ``email`` column and any of ``sent``, ``opened``, ``clicked``,
  ``registered``, ``attended``, ``responded`` (an ISO date/time, or ``x`` for now).
"""

from __future__ import annotations

import csv
import json

from django.core.management.base import CommandError
from django.core.serializers.json import DjangoJSONEncoder

from kreis.marketing.campaigns import queries, services
from kreis.marketing.models import Campaign, Segment


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "campaigns", help="Campaigns: list, funnel, add members, import responses"
    )
    actions = parser.add_subparsers(dest="campaigns_action", required=True)
    listing = actions.add_parser("list", help="Every campaign with its key figures")
    listing.add_argument("--model", choices=queries.MODELS, default="first")
    funnel = actions.add_parser("funnel", help="A campaign's funnel")
    funnel.add_argument("id", type=int)
    funnel.add_argument("--model", choices=queries.MODELS, default="first")
    funnel.add_argument("--json", action="store_true", help="Print JSON")
    add = actions.add_parser("add-members", help="Add a segment's parties as members")
    add.add_argument("id", type=int)
    add.add_argument("--segment", required=True, help="The segment's id or name")
    responses = actions.add_parser("import-responses", help="Response times from a CSV file")
    responses.add_argument("id", type=int)
    responses.add_argument("file", help="CSV (UTF-8, comma or semicolon separated)")
    parser.set_defaults(run=run)


def _campaign(pk: int) -> Campaign:
    campaign = Campaign.objects.filter(pk=pk).first()
    if campaign is None:
        raise CommandError(f"There is no campaign with the id {pk}.")
    return campaign


def _money(value) -> str:
    return "-" if value is None else f"{value:.2f}"


def run(command, options) -> None:
    out = command.stdout
    action = options["campaigns_action"]
    if action == "list":
        campaigns = list(Campaign.objects.order_by("-starts_on", "-pk"))
        figures = queries.funnels([c.pk for c in campaigns], model=options["model"])
        out.write(
            f"{'ID':>5}  {'CODE':<24} {'CHANNEL':<8} {'STATUS':<10} {'MEMBERS':>7} {'LEADS':>6} "
            f"{'WON':>4} {'REVENUE':>12} {'COST':>10} {'ROI':>8}"
        )
        for c in campaigns:
            f = figures[c.pk]
            roi = "-" if f.roi_percent is None else f"{f.roi_percent}%"
            out.write(
                f"{c.pk:>5}  {c.code:<24} {c.channel:<8} {c.status:<10} {f.members:>7} "
                f"{f.leads:>6} {f.won:>4} {f.revenue:>12.2f} {f.cost:>10.2f} {roi:>8}"
            )
        return
    campaign = _campaign(options["id"])
    if action == "funnel":
        f = queries.funnel(campaign, model=options["model"])
        if options["json"]:
            out.write(json.dumps(f.as_dict(), cls=DjangoJSONEncoder, indent=2))
            return
        out.write(f"{campaign.name} ({options['model']} touch)")
        for stage in f.stages():
            share = "" if stage["percent"] is None else f"  {stage['percent']:>3} %"
            out.write(f"  {stage['key']:<14} {stage['count']:>7}{share}")
        out.write(f"  {'revenue':<14} {f.revenue:>10.2f}")
        out.write(f"  {'cost':<14} {f.cost:>10.2f}")
        out.write(f"  {'cost/lead':<14} {_money(f.cost_per_lead):>10}")
        out.write(f"  {'cost/won':<14} {_money(f.cost_per_won_customer):>10}")
        out.write(f"  {'ROI':<14} {'-' if f.roi_percent is None else f'{f.roi_percent} %':>10}")
        return
    if action == "add-members":
        value = options["segment"]
        segments = Segment.objects.filter(pk=int(value)) if value.isdigit() else None
        if segments is None or not segments.exists():
            segments = Segment.objects.filter(name__iexact=value)
        if segments.count() != 1:
            raise CommandError(f"No single segment with the id or name {value!r}.")
        result = services.members_add_from_segment(
            actor=None, campaign=campaign, segment=segments.get()
        )
        out.write(f"{result.added} members added, {result.skipped} were members already.")
        return
    try:
        with open(options["file"], encoding="utf-8-sig", newline="") as handle:
            sample = handle.read(4096)
            handle.seek(0)
            dialect = csv.Sniffer().sniff(sample, delimiters=",;") if sample else csv.excel
            rows = list(csv.DictReader(handle, dialect=dialect))
    except OSError as exc:
        raise CommandError(f"Cannot read {options['file']}: {exc.strerror}") from None
    except csv.Error as exc:
        raise CommandError(f"{options['file']} is no CSV file: {exc}") from None
    result = services.responses_import(actor=None, campaign=campaign, rows=rows)
    for error in result.errors:
        command.stderr.write(error)
    out.write(
        f"{result.updated} members updated, {result.added} added, "
        f"{len(result.errors)} lines skipped."
    )
