"""Import of organisations and of persons (with the organisation they work for).

A chunk's rows become ``party_create`` arguments (German numbers and dates read by
``values``; e-mail, phone, VAT ID and IBAN normalised by the domain), and the parties'
bulk path (``kreis.parties.bulk``) validates them all at once, matches them against Kreis
and the file (external ID, e-mail, phone, name + company — the duplicate warning's rules)
and writes them with history and search entries in a few statements per chunk.

Per duplicate mode: *create* adds the row anyway (not when its external ID is taken: that
key is unique, the row is skipped); *update* fills in what the row has and the party lacks
or has otherwise (never clearing), keeping the previous values for undo; *skip* leaves the
party alone; *merge* creates the row's party and merges it into the existing one with the
undoable merge (its fields fill the survivor's empty ones). A party the importing user may
not change is never updated or merged into: the row is skipped. An organisation named by a
person and not found (by external ID, else by name) is created, once per file.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from typing import Any

from babel import Locale
from django.utils.translation import gettext as _

from kreis.migration.engine import (
    Action,
    Context,
    Handler,
    Prepared,
    RowProblem,
    SourceRow,
    delete_by_ids,
    register_handler,
)
from kreis.migration.handlers.lookups import (
    RowReader,
    choice_labels,
    custom_values,
    owner_and_team,
)
from kreis.migration.models import ImportRecord, RecordAction
from kreis.parties import bulk
from kreis.parties.models import CompanySize, Party, PartyKind, PartyMerge, PartyRole
from kreis.parties.services import MERGE_FIELDS, SCALAR_FIELDS, party_merge, party_merge_undo

# The text fields, taken as they are (the domain strips and checks them).
TEXTS = tuple(
    f
    for f in SCALAR_FIELDS
    if f not in ("size", "purchasing_potential", "termination_announced", "contract_end")
)
EMAILS = (("email", ""), ("email_2", ""))
PHONES = (("phone", ""), ("phone_2", ""), ("mobile", "mobile"), ("fax", "fax"))
ADDRESS = ("street", "postal_code", "city", "region", "country")
# Fields of the domain's problems → the import target they came from.
ALIASES = {"owner_id": "owner", "team_id": "team", "organization_id": "organization"}


@cache
def _countries() -> dict[str, str]:
    """Country names in German and English (casefolded) → ISO code."""
    table = {}
    for language in ("en", "de"):
        for code, name in Locale(language).territories.items():
            if len(code) == 2 and code.isalpha():
                table[name.casefold()] = code
    return table


def _country(reader: RowReader) -> str:
    text = reader.row.values.get("country", "")
    if not text:
        return ""
    if len(text) == 2 and text.isalpha():
        return text.upper()
    code = _countries().get(text.casefold())
    if code is None:
        reader.problem("country", _("“%(value)s” is not a country.") % {"value": text})
        return ""
    return code


def _row_args(reader: RowReader, kind: str) -> tuple[dict[str, Any], dict[str, str]]:
    """The row as ``party_create`` arguments, and where each list item came from
    (``emails.0`` → ``email_2`` …) to name the column of a problem the domain finds."""
    values = reader.row.values
    args: dict[str, Any] = {}
    origin: dict[str, str] = {}
    for key in TEXTS:
        if values.get(key):
            args[key] = values[key]
    if (
        kind == PartyKind.PERSON
        and values.get("full_name")
        and not (values.get("first_name") or values.get("last_name"))
    ):
        first, _space, last = values["full_name"].rpartition(" ")
        args["first_name"], args["last_name"] = first, last
        origin["first_name"] = origin["last_name"] = "full_name"
    if kind == PartyKind.PERSON and args.get("first_name") and not args.get("last_name"):
        # As the API (``PersonCreate``): a person with a first name has a last name too.
        reader.problem("last_name", _("A person needs a last name."))
    if kind == PartyKind.ORGANIZATION:
        args.pop("first_name", None)
        args.pop("last_name", None)
        args.pop("salutation", None)
        size = reader.choice("size", CompanySize)
        if size:
            args["size"] = size
        potential = reader.decimal("purchasing_potential")
        if potential is not None:
            args["purchasing_potential"] = potential
        terminated = reader.boolean("termination_announced")
        if terminated is not None:
            args["termination_announced"] = terminated
    else:
        args.pop("name", None)
        for key in ("organization_external_id", "position", "department"):
            if values.get(key):
                args[key] = values[key]
        if values.get("organization"):
            args["organization_name"] = values["organization"]
    contract_end = reader.date("contract_end")
    if contract_end is not None:
        args["contract_end"] = contract_end
    for list_key, sources in (("emails", EMAILS), ("phones", PHONES)):
        items = []
        for target, label in sources:
            if values.get(target):
                origin[f"{list_key}.{len(items)}"] = target
                items.append({"value": values[target], "label": label})
        if items:
            args[list_key] = items
    if values.get("social"):
        args["socials"] = [{"value": values["social"]}]
        origin["socials.0"] = "social"
    if any(values.get(k) for k in ADDRESS):
        address = {k: values.get(k, "") for k in ADDRESS[:4]}
        address["country"] = _country(reader) or "DE"
        args["addresses"] = [address]
        for key in ADDRESS:
            origin[f"addresses.0.{key}"] = key
    roles = []
    for text in reader.tags("roles"):
        role = choice_labels(reader.ctx, PartyRole).get(text.casefold())
        if role is None:
            reader.problem("roles", _("“%(value)s” is not one of the choices.") % {"value": text})
        else:
            roles.append(role)
    if roles:
        args["roles"] = roles
    tags = reader.tags("tags")
    if tags:
        args["tags"] = tags
    custom = custom_values(reader)
    if custom:
        args["custom"] = custom
        for key in custom:
            origin[f"custom.{key}"] = f"custom.{key}"
    owner, team, _given = owner_and_team(reader)
    if owner is not None:
        args["owner"] = owner
    if team is not None:
        args["team"] = team
    return args, origin


def _column(ctx: Context, field: str, origin: dict[str, str]) -> str:
    if not field:
        return ""
    target = origin.get(field) or ALIASES.get(field) or field.split(".")[0]
    return ctx.column(target)


class PartyHandler(Handler):
    """Organisations or persons (one handler per kind)."""

    model = Party

    def __init__(self, entity: str) -> None:
        self.entity = entity  # type: ignore[misc]
        self.kind = PartyKind.ORGANIZATION if entity == "organization" else PartyKind.PERSON

    def prepare(
        self, rows: Sequence[SourceRow], ctx: Context
    ) -> tuple[list[Prepared], list[RowProblem]]:
        problems: list[RowProblem] = []
        candidates: list[tuple[SourceRow, dict[str, Any], dict[str, str]]] = []
        for row in rows:
            reader = RowReader(row, ctx)
            args, origin = _row_args(reader, self.kind)
            if reader.problems:
                problems += reader.problems
            else:
                candidates.append((row, args, origin))
        drafts, errors = bulk.party_rows_clean(
            actor=ctx.actor,
            rows=[args for _row, args, _origin in candidates],
            kind=self.kind,
            create_organizations=True,
            external_ids_taken=False,
        )
        for error in errors:
            row, _args, origin = candidates[error.row]
            problems.append(
                RowProblem(row.number, _column(ctx, error.field, origin), error.message)
            )
        prepared = [Prepared(row=candidates[d.row][0], data={"draft": d}) for d in drafts]
        problems.sort(key=lambda p: p.row)
        return prepared, problems

    def match(self, prepared: list[Prepared], ctx: Context) -> None:
        matches = bulk.match_parties(
            [p.data["draft"] for p in prepared],
            labels=[p.row.number for p in prepared],
            seen=ctx.seen,
        )
        for p, found in zip(prepared, matches, strict=True):
            p.existing_id = found.party_id if found else None
            p.same_as_row = found.same_as if found and found.party_id is None else None
            p.match_by = found.by if found else ""

    def write(self, prepared: list[Prepared], ctx: Context) -> list[ImportRecord]:
        records: list[ImportRecord] = []
        self._reuse_new_organizations(prepared, ctx)
        creating = [p for p in prepared if p.action in (Action.CREATE, Action.MERGE)]
        creating = self._skip_taken_external_ids(creating, prepared)
        if creating:
            ids, organization_ids = bulk.party_drafts_create(
                actor=ctx.actor, drafts=[p.data["draft"] for p in creating]
            )
            for p, pk in zip(creating, ids, strict=True):
                p.object_id = pk
                records.append(
                    ctx.record(p, model=Party, object_id=pk, action=RecordAction.CREATED)
                )
            records += self._organization_records(creating, organization_ids, ctx)
        merging = [p for p in creating if p.action == Action.MERGE and p.existing_id]
        if merging:
            records += self._merge(merging, ctx)
        updating = [p for p in prepared if p.action == Action.UPDATE and p.existing_id]
        if updating:
            # The rows created above may have made the organisation an update names.
            self._reuse_new_organizations(updating, ctx)
            records += self._new_organizations(updating, ctx)
            records += self._update(updating, ctx)
        return records

    def _new_organizations(self, updating: list[Prepared], ctx: Context) -> list[ImportRecord]:
        """The organisations that rows updating a party name and no one found."""
        ids = bulk.organizations_for_drafts_create(
            actor=ctx.actor, drafts=[p.data["draft"] for p in updating]
        )
        return self._organization_records(updating, ids, ctx)

    def _organization_records(
        self, prepared: list[Prepared], organization_ids: list[int], ctx: Context
    ) -> list[ImportRecord]:
        """A "created" record for each organisation made for the rows (at the first row
        naming it), remembered for the rest of the import."""
        records = []
        new = set(organization_ids)
        cached = ctx.cache.setdefault("new_organizations", {})
        for p in prepared:
            draft = p.data["draft"]
            if draft.organization is not None and draft.organization.pk in new:
                new.discard(draft.organization.pk)
                cached[draft.organization_key] = draft.organization
                records.append(
                    ctx.record(
                        p, model=Party, object_id=draft.organization.pk, action=RecordAction.CREATED
                    )
                )
        return records

    def _reuse_new_organizations(self, prepared: list[Prepared], ctx: Context) -> None:
        """An organisation an earlier chunk or round of this import created is used again,
        not created a second time (the chunk's rows were read before it existed)."""
        cached = ctx.cache.get("new_organizations", {})
        for p in prepared:
            draft = p.data["draft"]
            if draft.organization_key is not None and draft.organization_key in cached:
                draft.organization = cached[draft.organization_key]
                draft.organization_key = None

    def _skip_taken_external_ids(
        self, creating: list[Prepared], prepared: list[Prepared]
    ) -> list[Prepared]:
        """External IDs are unique: a row to create whose ID another party (also a deleted
        one) or an earlier row holds is skipped."""
        wanted = {
            p.data["draft"].fields.get("external_id")
            for p in creating
            if p.data["draft"].fields.get("external_id")
        }
        taken = set(
            Party.objects.filter(external_id__in=wanted).values_list("external_id", flat=True)
        )
        kept = []
        for p in creating:
            external_id = p.data["draft"].fields.get("external_id")
            if external_id and external_id in taken:
                p.action = Action.SKIP
                continue
            if external_id:
                taken.add(external_id)
            kept.append(p)
        return kept

    def _merge(self, merging: list[Prepared], ctx: Context) -> list[ImportRecord]:
        """The row's new party merged into the existing one (an undoable ``PartyMerge``):
        the survivor keeps its values and takes the row's where it has none."""
        records = []
        survivors = Party.objects.in_bulk([p.existing_id for p in merging])
        merged = Party.objects.in_bulk([p.object_id for p in merging])
        for p in merging:
            survivor = survivors.get(p.existing_id)
            other = merged[p.object_id]
            if survivor is None or (
                ctx.actor is not None and not ctx.actor.has_perm("core.change_record", survivor)
            ):
                continue
            take = [f for f in MERGE_FIELDS if not getattr(survivor, f) and getattr(other, f)]
            take = [f for f in take if f not in ("owner_id", "team_id", "custom")]
            merge = party_merge(
                actor=ctx.actor, survivor=survivor, merged=other, take_from_merged=take
            )
            records.append(
                ctx.record(
                    p,
                    model=Party,
                    object_id=survivor.pk,
                    action=RecordAction.MERGED,
                    merge_id=merge.pk,
                )
            )
        return records

    def _update(self, updating: list[Prepared], ctx: Context) -> list[ImportRecord]:
        results, errors = bulk.party_drafts_update(
            actor=ctx.actor, pairs=[(p.existing_id, p.data["draft"]) for p in updating]
        )
        refused = {e.row for e in errors}
        by_party = {r.party_id: r for r in results}
        records = []
        for p in updating:
            p.object_id = p.existing_id
            result = by_party.get(p.existing_id)
            if p.data["draft"].row in refused or result is None or result.before is None:
                p.action = Action.SKIP
                continue
            records.append(
                ctx.record(
                    p,
                    model=Party,
                    object_id=p.existing_id,
                    action=RecordAction.UPDATED,
                    before=result.before,
                )
            )
        return records

    def undo(self, records: Sequence[ImportRecord], ctx: Context) -> None:
        """Merges undone, updated parties given back what they had, created parties (and
        the organisations made for them) deleted with their search entries."""
        merge_ids = [r.merge_id for r in records if r.action == RecordAction.MERGED and r.merge_id]
        for merge in PartyMerge.objects.filter(pk__in=merge_ids, undone_at=None).order_by("-pk"):
            party_merge_undo(actor=None, merge=merge)
        bulk.party_updates_restore(
            actor=ctx.actor,
            befores=[
                (r.object_id, r.before)
                for r in records
                if r.action == RecordAction.UPDATED and r.before
            ],
        )
        created = sorted(
            {r.object_id for r in records if r.action == RecordAction.CREATED}, reverse=True
        )
        if created:
            delete_by_ids(Party, created)  # their search entries with them


register_handler(PartyHandler("organization"))
register_handler(PartyHandler("person"))
