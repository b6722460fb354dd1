"""Shared by the import tests of leads, deals, activities, products and transactions: a CSV
from rows, an import job from it, and running it (the test queue runs it at once)."""

from __future__ import annotations

from kreis.migration import services
from kreis.migration.models import ImportJob


def csv_bytes(header, rows) -> bytes:
    lines = [";".join(header), *(";".join(str(c) for c in r) for r in rows)]
    return ("\n".join(lines) + "\n").encode("utf-8")


def create(actor, entity, header, rows, *, mapping=None, **kwargs) -> ImportJob:
    """A job for the CSV, each header mapped to the target of the same name unless given."""
    return services.import_create(
        actor=actor,
        upload=csv_bytes(header, rows),
        name=f"{entity}.csv",
        entity=entity,
        source="cli",
        mapping=mapping or {h: h for h in header},
        **kwargs,
    )


def check(actor, job):
    return services.import_check(actor=actor, job=job)


def run(actor, job) -> ImportJob:
    job = services.import_start(actor=actor, job=job)
    job.refresh_from_db()
    return job


def problems(report) -> set[tuple[int, str]]:
    """(row, column) of each problem of a check."""
    return {(p.row, p.column) for p in report.problems}
