"""``kreis cases config export|import``: the complaint configuration as one JSON file.

The file holds the categories, root causes, SLA policies, assignment rules and e-mail templates
(``kreis.service.config.config_export``), with natural keys instead of ids, so it moves from
one instance to another (a test system to production)::

    kreis cases config export --output complaints-config.json
    kreis cases config import complaints-config.json --dry-run
    kreis cases config import complaints-config.json

An import changes the rows it matches (a category and a root cause by English name, an SLA
policy by severity, a rule by name, an e-mail template by key and language) and creates the
others; it deletes nothing. It runs in one transaction: the first problem stops it with its
place (``sla_policies[2].day_end: …``) and nothing is written. ``--dry-run`` checks only.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from django.core.exceptions import ValidationError
from django.core.management.base import CommandError

from kreis.service.config import SECTIONS, config_export, config_import


def register(subparsers) -> None:
    config = subparsers.add_parser(
        "config",
        help="export or import the complaint configuration (categories, root causes, SLAs, "
        "assignment rules, e-mail templates) as JSON",
    )
    actions = config.add_subparsers(dest="config_action", required=True)
    export = actions.add_parser("export", help="write the configuration as JSON")
    export.add_argument("--output", help="write to this file (default: standard output)")
    export.set_defaults(run=run_config_export)
    importing = actions.add_parser("import", help="apply a configuration file written by export")
    importing.add_argument("file", help="the JSON file ('-': standard input)")
    importing.add_argument("--dry-run", action="store_true", help="check only, write nothing")
    importing.set_defaults(run=run_config_import)


def run_config_export(command, options) -> None:
    text = json.dumps(config_export(), indent=2, ensure_ascii=False) + "\n"
    if options.get("output"):
        Path(options["output"]).write_text(text, encoding="utf-8")
        command.stdout.write(f"configuration written to {options['output']}")
    else:
        command.stdout.write(text, ending="")


def run_config_import(command, options) -> None:
    name = options["file"]
    try:
        raw = sys.stdin.read() if name == "-" else Path(name).read_text(encoding="utf-8")
    except OSError as exc:
        raise CommandError(f"cannot read {name}: {exc.strerror or exc}") from exc
    except UnicodeDecodeError as exc:
        raise CommandError(f"{name} is not UTF-8 text") from exc
    try:
        data = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise CommandError(f"{name} is not JSON: {exc}") from exc
    try:
        counts = config_import(actor=None, data=data, dry_run=options["dry_run"])
    except ValidationError as exc:
        raise CommandError("; ".join(exc.messages) + " — nothing was imported") from exc
    for section in SECTIONS:
        done = counts[section]
        command.stdout.write(f"{section}: {done['created']} created, {done['changed']} changed")
    if options["dry_run"]:
        command.stdout.write("dry run: nothing written")
