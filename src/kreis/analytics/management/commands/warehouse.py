"""``kreis warehouse refresh [--full]``: bring the analytics warehouse up to date."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from kreis.analytics import warehouse


class Command(BaseCommand):
    help = (
        "Copy what changed in the operational database into the analytics warehouse "
        "(DuckDB in the data folder, or the Ibis backend of KREIS_WAREHOUSE)."
    )

    def add_arguments(self, parser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        refresh = sub.add_parser("refresh", help="Load changed facts and the dimensions.")
        refresh.add_argument("--full", action="store_true", help="Rebuild every table.")
        sub.add_parser("info", help="Show where the warehouse is and its tables' row counts.")

    def handle(self, *args, action: str, full: bool = False, **options) -> None:
        self.verbosity = options.get("verbosity", 1)
        try:
            if action == "info":
                self.stdout.write(f"warehouse: {warehouse.location()}")
                for name, table in warehouse.tables(warehouse.connect()).items():
                    self.stdout.write(f"{name}: {table.count().to_pyarrow().as_py():,} rows")
                return
            result = warehouse.refresh(full=full, progress=self._progress)
        except warehouse.WarehouseBusy as exc:
            raise CommandError(
                "the warehouse is busy or empty: run `kreis warehouse refresh`"
            ) from exc
        except warehouse.WarehouseError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(
            f"{'full' if result.full else 'incremental'} refresh in {result.seconds:.1f} s: "
            + ", ".join(f"{k} {v:,} rows" for k, v in result.rows.items())
        )

    def _progress(self, label: str, pct: int) -> None:
        if self.verbosity > 1:
            self.stderr.write(f"[{pct:3d} %] {label}")
