"""``kreis automation rules list|export|import|run|try|purge``: the automation rules in bulk.

- ``list [--enabled]``: the rules with their trigger and state.
- ``export [ID …] [--output FILE]``: one, several or all rules as JSON (stdout by default).
- ``import FILE [--enable]``: create the rules of an export; all or, with any error, none
  (each error printed with its rule and place). Imported rules start disabled unless --enable.
- ``run ID --record TYPE:ID``: run a rule on a record now (its actions are carried out and the
  run logged, like a triggered run).
- ``try ID --record TYPE:ID``: the dry run: which conditions pass and what each action would do.
- ``purge [--days N]``: delete runs older than KREIS_RULE_RUN_LOG_DAYS (or N) days at once.
"""

from __future__ import annotations

import json
import sys

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from kreis.automation.rules import records, retention, services
from kreis.automation.rules.models import Rule


def _record(text: str) -> tuple[str, int]:
    kind, _sep, pk = text.partition(":")
    if kind not in records.MODELS or not pk.isdigit():
        raise CommandError(
            f"--record: expected TYPE:ID with TYPE one of {', '.join(records.MODELS)}, got {text!r}"
        )
    return kind, int(pk)


def _rule(pk: int) -> Rule:
    rule = Rule.objects.filter(pk=pk).first()
    if rule is None:
        raise CommandError(f"There is no rule {pk}.")
    return rule


class Command(BaseCommand):
    help = "Automation rules: list, export, import, run, try."

    def add_arguments(self, parser):
        area = parser.add_subparsers(dest="area", required=True)
        rules = area.add_parser("rules", help="automation rules")
        sub = rules.add_subparsers(dest="action", required=True)
        listing = sub.add_parser("list", help="list the rules")
        listing.add_argument("--enabled", action="store_true", help="only enabled rules")
        export = sub.add_parser("export", help="export rules as JSON")
        export.add_argument("ids", nargs="*", type=int, help="rule IDs (default: all)")
        export.add_argument("--output", "-o", help="write to this file instead of stdout")
        imp = sub.add_parser("import", help="import rules from an export (all or none)")
        imp.add_argument("file", help="the JSON file ('-' for stdin)")
        imp.add_argument("--enable", action="store_true", help="keep 'enabled' as exported")
        for name, text in (("run", "run a rule on a record now"), ("try", "dry run on a record")):
            one = sub.add_parser(name, help=text)
            one.add_argument("id", type=int)
            one.add_argument("--record", required=True, help="TYPE:ID, e.g. deal:42")
        purge = sub.add_parser("purge", help="delete runs older than KREIS_RULE_RUN_LOG_DAYS")
        purge.add_argument("--days", type=int, help="keep this many days instead")

    def handle(self, *args, **options):
        getattr(self, f"_{options['action']}")(options)

    def _purge(self, options):
        days = options.get("days")
        if days is not None and days < 1:
            raise CommandError("--days: expected at least 1")
        deleted = retention.runs_purge(days=days)
        self.stdout.write(f"deleted {deleted} rule runs")

    def _list(self, options):
        rules = Rule.objects.order_by("name", "pk")
        if options["enabled"]:
            rules = rules.filter(enabled=True)
        for rule in rules:
            state = "enabled " if rule.enabled else "disabled"
            record = f" ({rule.record_type})" if rule.record_type else ""
            self.stdout.write(f"{rule.pk:>5}  {state}  {rule.trigger}{record}  {rule.name}")

    def _export(self, options):
        rules = Rule.objects.order_by("pk")
        if options["ids"]:
            rules = rules.filter(pk__in=options["ids"])
            missing = set(options["ids"]) - set(rules.values_list("pk", flat=True))
            if missing:
                raise CommandError(f"There is no rule {', '.join(map(str, sorted(missing)))}.")
        text = json.dumps(services.export_rules(rules), ensure_ascii=False, indent=2)
        if options["output"]:
            with open(options["output"], "w", encoding="utf-8") as out:
                out.write(text + "\n")
            self.stderr.write(f"{rules.count()} rules written to {options['output']}")
        else:
            self.stdout.write(text)

    def _import(self, options):
        try:
            if options["file"] == "-":
                raw = sys.stdin.read()
            else:
                with open(options["file"], encoding="utf-8") as source:
                    raw = source.read()
        except OSError as exc:
            raise CommandError(str(exc)) from exc
        try:
            created = services.rules_import(actor=None, raw=raw, enable=options["enable"])
        except ValidationError as exc:
            for message in exc.messages:
                self.stderr.write(message)
            raise CommandError("Nothing imported.") from exc
        for rule in created:
            self.stdout.write(
                f"{rule.pk:>5}  {'enabled ' if rule.enabled else 'disabled'}  {rule.name}"
            )
        self.stderr.write(f"{len(created)} rules imported.")

    def _show(self, conditions, actions):
        for condition in conditions:
            mark = "pass" if condition["passed"] else "FAIL"
            self.stdout.write(f"  condition {mark}: {condition['text']}")
        for action in actions:
            text = action.get("error") or action.get("result", "")
            self.stdout.write(f"  action {action['status']}: {text}")

    def _run(self, options):
        kind, pk = _record(options["record"])
        try:
            run = services.rule_run_now(
                actor=None, rule=_rule(options["id"]), record_type=kind, record_id=pk
            )
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages)) from exc
        self.stdout.write(f"run {run.pk}: {run.status}")
        self._show(run.conditions, run.actions)

    def _try(self, options):
        kind, pk = _record(options["record"])
        try:
            outcome = services.rule_try(
                actor=None, rule=_rule(options["id"]), record_type=kind, record_id=pk
            )
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages)) from exc
        self.stdout.write("conditions hold" if outcome.passed else "conditions do not hold")
        self._show(outcome.conditions, outcome.actions)
