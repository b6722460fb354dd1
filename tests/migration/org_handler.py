"""A small organisation handler for the engine's own tests (the real ones are the
record types' own): name, e-mail and external ID, matched by external ID, then e-mail."""

from __future__ import annotations

from django.core.exceptions import ValidationError

from kreis.migration.engine import Action, Handler, Prepared, RowProblem, snapshot
from kreis.migration.models import RecordAction
from kreis.parties.models import ContactKind, ContactPoint, Party, PartyKind
from kreis.parties.normalize import normalize_email


class OrgHandler(Handler):
    entity = "organization"
    model = Party
    # Tests set this to a row number: writing that row raises (a crash mid-import).
    explode_at: int | None = None

    def prepare(self, rows, ctx):
        prepared, problems = [], []
        for row in rows:
            bad = []
            name = row.values.get("name", "")
            if not name:
                bad.append(RowProblem(row.number, ctx.column("name"), "A name is needed."))
            email = row.values.get("email", "")
            if email:
                try:
                    email = normalize_email(email)
                except ValidationError as exc:
                    bad.append(RowProblem(row.number, ctx.column("email"), exc.messages[0]))
            if bad:
                problems.extend(bad)
                continue
            data = {"name": name, "email": email, "external_id": row.values.get("external_id")}
            prepared.append(Prepared(row=row, data=data))
        return prepared, problems

    def match(self, prepared, ctx):
        ext = {p.data["external_id"] for p in prepared if p.data["external_id"]}
        by_ext = dict(Party.objects.filter(external_id__in=ext).values_list("external_id", "pk"))
        emails = {p.data["email"] for p in prepared if p.data["email"]}
        by_email = dict(
            ContactPoint.objects.filter(kind=ContactKind.EMAIL, value__in=emails).values_list(
                "value", "party_id"
            )
        )
        for p in prepared:
            keys = []
            if p.data["external_id"]:
                keys.append(("external_id", p.data["external_id"]))
            if p.data["email"]:
                keys.append(("email", p.data["email"]))
            p.existing_id = None
            for kind, value in keys:
                found = (by_ext if kind == "external_id" else by_email).get(value)
                if found:
                    p.existing_id, p.match_by = found, kind
                    break
            p.same_as_row = None
            for key in keys:
                first = ctx.seen.setdefault(key, p.row.number)
                if first != p.row.number and p.same_as_row is None:
                    p.same_as_row, p.match_by = first, p.match_by or key[0]

    def write(self, prepared, ctx):
        if self.explode_at is not None and any(p.row.number >= self.explode_at for p in prepared):
            raise RuntimeError("worker died")
        records = []
        new = [p for p in prepared if p.action == Action.CREATE]
        parties = Party.objects.bulk_create(
            Party(
                kind=PartyKind.ORGANIZATION,
                name=p.data["name"],
                external_id=p.data["external_id"] or None,
                owner=ctx.actor,
            )
            for p in new
        )
        ContactPoint.objects.bulk_create(
            ContactPoint(
                party=party, kind=ContactKind.EMAIL, value=p.data["email"], is_primary=True
            )
            for p, party in zip(new, parties, strict=True)
            if p.data["email"]
        )
        for p, party in zip(new, parties, strict=True):
            p.object_id = party.pk
            records.append(
                ctx.record(p, model=Party, object_id=party.pk, action=RecordAction.CREATED)
            )
        existing = Party.objects.in_bulk(
            [p.existing_id for p in prepared if p.action != Action.CREATE]
        )
        for p in prepared:
            if p.action == Action.CREATE:
                continue
            party = existing[p.existing_id]
            if party.name == p.data["name"]:
                p.action = Action.SKIP
                continue
            before = snapshot(party, ["name"])
            Party.objects.filter(pk=party.pk).update(name=p.data["name"])
            records.append(
                ctx.record(
                    p, model=Party, object_id=party.pk, action=RecordAction.UPDATED, before=before
                )
            )
        return records
