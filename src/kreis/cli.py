"""The ``kreis`` command: serve, worker, migrate, createuser, apikey, demo, check, and every
Django management command besides.

A bad setting stops the command with one line naming it (no traceback, nothing written).
"""

from __future__ import annotations

import os
import sys

COMMANDS = {
    "serve": ("serve", "serve the web app through gunicorn (HOST, PORT)", True),
    "worker": ("worker", "run the background job worker (Huey)", True),
    "migrate": ("migrate", "create or update the database tables", True),
    "createuser": ("createuser", "create a user: --username --password --role …", True),
    "apikey": ("apikey", "create, list or revoke personal API keys", True),
    "demo": ("demo", "create demo data: --size small|large", True),
    "reindex": ("reindex_search", "rebuild the search index (after bulk imports)", True),
    "import": ("import_file", "import a file: FILE --type … [--mapping …] [--dry-run]", True),
    "imports": ("imports", "list, resume or undo imports", True),
    "export": ("export_records", "export a record type as CSV, XLSX, JSON or vCard", True),
    "backup": ("backup", "write all data and uploaded files into one archive", True),
    "restore": ("restore", "restore a backup archive into an empty instance", True),
    "connectors": ("connectors", "list connectors or run one now", True),
    "webhooks": ("webhooks", "list webhooks and deliveries, redeliver failed ones, test", True),
    "automation": ("automation", "automation rules: rules list, export, import, run, try", True),
    "kpis": ("kpis", "print the satisfaction KPIs of a period (--start --end --grain)", True),
    "cases": ("cases", "complaint cases in bulk: list, export, import, close-resolved, …", True),
    "mail": ("mail", "two-way e-mail: accounts, sync, test, bounces, reindex", True),
    "marketing": ("marketing", "lead management: segments, campaigns, forms, consents, …", True),
    "surveys": ("surveys", "surveys: list, send-invitations, remind, analyse, report", True),
    "playbooks": ("playbooks", "playbooks: list, start, stop, advance, stats", True),
    "social": ("social", "social listening: poll, rescore, keywords, sources, …", True),
    "channels": ("channels", "channel preferences: prefs, optout, import-optouts, metrics", True),
    "mailings": ("mailings", "mass mailings: list, send, pause, resume, results, suppress", True),
    "calls": ("calls", "call lists: lists, create (from a segment or campaign), export", True),
    "inbox": ("inbox", "unified inbox: backfill, stats, sla", True),
    "check": ("check", "check settings, database, job queue and data folder", False),
}

USAGE = """usage: kreis <command> [options]

Kreis — an open-source CRM.

commands:
{commands}

Any other Django management command works too (e.g. kreis collectstatic, kreis shell).
Run 'kreis <command> --help' for a command's options.
"""


def _usage() -> str:
    lines = "\n".join(f"  {name:<11} {help_}" for name, (_, help_, _) in COMMANDS.items())
    return USAGE.format(commands=lines)


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in {"-h", "--help", "help"}:
        sys.stdout.write(_usage())
        return 0
    if argv[0] in {"--version", "version"}:
        from kreis import __version__

        print(f"kreis {__version__}")
        return 0
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kreis.settings")
    name, *rest = argv
    django_name, _help, needs_services = COMMANDS.get(name, (name, "", False))
    wants_help = "-h" in rest or "--help" in rest

    from kreis.config import ConfigError

    try:
        import django

        django.setup()
        if needs_services and not wants_help:
            from kreis.core.checks import preflight

            preflight()
    except ConfigError as exc:
        print(f"kreis: {exc}", file=sys.stderr)
        return 2

    from django.core.management import execute_from_command_line

    if name == "check" and not wants_help and "--database" not in rest:
        rest = [*rest, "--database", "default"]
    execute_from_command_line(["kreis", django_name, *rest])
    return 0


if __name__ == "__main__":
    sys.exit(main())
