"""``kreis connectors``: list the connectors, run one now (or every due one), add one."""

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from kreis.core.models import User
from kreis.migration.connectors import services
from kreis.migration.models import Connector, ConnectorKind, DuplicateMode, ImportEntity


def _messages(exc: ValidationError) -> str:
    if hasattr(exc, "error_dict"):
        return "; ".join(f"{field}: {' '.join(msgs)}" for field, msgs in exc.message_dict.items())
    return " ".join(exc.messages)


class Command(BaseCommand):
    help = "Connectors (scheduled imports from a folder or URL): list, run, add."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        sub.add_parser("list", help="list the connectors with their last result")
        run = sub.add_parser("run", help="run a connector now (in this process) and wait")
        run.add_argument("name", nargs="?", help="the connector's name")
        run.add_argument("--due", action="store_true", help="run every connector that is due")
        add = sub.add_parser("add", help="add a connector")
        add.add_argument("--name", required=True)
        where = add.add_mutually_exclusive_group(required=True)
        where.add_argument("--folder", help="a folder inside KREIS_CONNECTOR_FOLDERS")
        where.add_argument("--url", help="an http(s) URL")
        add.add_argument("--run-as", required=True, help="username of the importing user")
        add.add_argument("--entity", choices=ImportEntity.values, default=ImportEntity.TRANSACTION)
        add.add_argument("--template", help="name of a mapping template for that record type")
        add.add_argument("--duplicates", choices=DuplicateMode.values, default=DuplicateMode.UPDATE)
        add.add_argument("--hour", type=int, default=2, help="hour of day (0-23, local time)")
        add.add_argument(
            "--allow-private",
            action="store_true",
            help="allow a URL on this machine or the private network",
        )
        add.add_argument("--move-done", action="store_true", help="move imported files to done/")
        add.add_argument("--disabled", action="store_true", help="add it switched off")

    def handle(self, *args, action, **opts):
        getattr(self, f"_{action}")(**opts)

    def _list(self, **opts):
        rows = Connector.objects.select_related("template", "run_as")
        if not rows:
            self.stdout.write("no connectors")
        for c in rows:
            when = (
                timezone.localtime(c.last_run_at).strftime("%Y-%m-%d %H:%M")
                if c.last_run_at
                else "-"
            )
            state = "enabled" if c.enabled else "disabled"
            self.stdout.write(
                f"{c.name}\t{c.kind}\t{services.location_label(c)}\t{c.entity}\t"
                f"{c.schedule_hour:02d}:00\t{state}\t{when}\t{c.last_status or '-'}"
            )

    def _run(self, *, name, due, **opts):
        if due:
            done = services.connectors_run_due()
            for connector, result in done:
                self._report(connector, result)
            if not done:
                self.stdout.write("no connector is due")
            return
        if not name:
            raise CommandError("name a connector, or use --due")
        connector = Connector.objects.select_related("run_as", "template").filter(name=name).first()
        if connector is None:
            raise CommandError(f"no connector named {name!r}")
        result = services.connector_run(connector=connector)
        self._report(connector, result)
        if not result.ok:
            raise CommandError(f"{connector.name}: {connector.last_status or result.outcome}")

    def _report(self, connector, result):
        connector.refresh_from_db()
        self.stdout.write(f"{connector.name}: {connector.last_status}")
        for job in result.jobs:
            self.stdout.write(
                f"  import {job.pk} {job.original_name}: {job.status}, {job.created_count} "
                f"created, {job.updated_count} updated, {job.skipped_count} skipped, "
                f"{job.failed_count} failed"
            )

    def _add(self, **opts):
        run_as = User.objects.filter(username=opts["run_as"]).first()
        if run_as is None:
            raise CommandError(f"no user named {opts['run_as']!r}")
        template = None
        if opts["template"]:
            template = (
                services.template_choices(entity=opts["entity"])
                .filter(name=opts["template"])
                .first()
            )
            if template is None:
                raise CommandError(
                    f"no shared or administrator's mapping template {opts['template']!r} "
                    f"for {opts['entity']}"
                )
        try:
            connector = services.connector_create(
                actor=None,
                name=opts["name"],
                kind=ConnectorKind.FOLDER if opts["folder"] else ConnectorKind.URL,
                location=opts["folder"] or opts["url"],
                entity=opts["entity"],
                template=template,
                duplicate_mode=opts["duplicates"],
                schedule_hour=opts["hour"],
                enabled=not opts["disabled"],
                allow_private=opts["allow_private"],
                move_done=opts["move_done"],
                run_as=run_as,
            )
        except ValidationError as exc:
            raise CommandError(_messages(exc)) from None
        self.stdout.write(f"added connector {connector.name} (id {connector.pk})")
