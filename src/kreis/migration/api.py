"""API routes for imports and mapping templates.

An integrator uploads a file (``POST /imports``, multipart), optionally with a mapping (JSON)
or a template, then checks it (a job: ``POST /imports/{id}/check`` answers 202, the status is
*checking* until ``GET /imports/{id}/check`` has the report), fixes or skips bad rows, starts
it and follows its progress;
the rows not imported come back as JSON or CSV, and ``POST /imports/{id}/undo`` reverts it.
Every route works on the caller's own imports (administrators: all); other imports are 404.
"""

import json
from datetime import datetime
from typing import Annotated, Any, Literal

from django.core.exceptions import ValidationError
from django.http import HttpRequest, StreamingHttpResponse
from ninja import Field, File, Form, Router, Schema, Status
from ninja.errors import HttpError
from ninja.files import UploadedFile
from ninja.pagination import paginate

from kreis.core.api_support import (
    PROBLEM_RESPONSES,
    IdValue,
    Input,
    ObjectId,
    Pagination,
    Problem,
)
from kreis.migration import queries, services
from kreis.migration.models import (
    DuplicateMode,
    ImportEntity,
    ImportJob,
    ImportRowError,
    ImportSource,
    MappingTemplate,
)

router = Router(tags=["imports"])

EntityName = Literal[tuple(ImportEntity.values)]  # type: ignore[valid-type]
ModeName = Literal[tuple(DuplicateMode.values)]  # type: ignore[valid-type]
Mapping = dict[str, str]


class CountsOut(Schema):
    created: int
    updated: int
    merged: int
    skipped: int
    failed: int


class ProgressOut(Schema):
    percent: float
    rows_per_second: float | None
    seconds_left: float | None
    expected_end: datetime | None


class ImportOut(Schema):
    id: int
    entity: str
    status: str
    source: str
    file_name: str
    format: str
    encoding: str
    delimiter: str
    headers: list[str]
    preset: str = Field(description="The other CRM whose export the columns were recognised as.")
    mapping: Mapping = Field(description="File column → Kreis field.")
    duplicate_mode: str
    skip_invalid: bool
    fixed_rows: list[int] = Field(description="Rows corrected before the import.")
    template_id: int | None
    created_by_id: int | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    total_rows: int
    rows_done: int
    rows_checked: int = Field(description="Rows the check (dry run) has read so far.")
    counts: CountsOut
    progress: ProgressOut = Field(
        description="The import's progress; while the status is checking, the check's."
    )
    check: dict[str, Any] = Field(description="The last check's counts (empty: not checked).")
    error: str
    undone_at: datetime | None
    can_resume: bool

    @staticmethod
    def resolve_file_name(job: ImportJob) -> str:
        return job.original_name

    @staticmethod
    def resolve_skip_invalid(job: ImportJob) -> bool:
        return bool(job.options.get("skip_invalid"))

    @staticmethod
    def resolve_fixed_rows(job: ImportJob) -> list[int]:
        return sorted(int(r) for r in (job.options.get("fixes") or {}))

    @staticmethod
    def resolve_counts(job: ImportJob) -> dict[str, int]:
        return {
            "created": job.created_count,
            "updated": job.updated_count,
            "merged": job.merged_count,
            "skipped": job.skipped_count,
            "failed": job.failed_count,
        }

    @staticmethod
    def resolve_progress(job: ImportJob) -> dict[str, Any]:
        progress = queries.import_progress(job)
        return {
            "percent": progress.percent,
            "rows_per_second": progress.rows_per_second,
            "seconds_left": progress.seconds_left,
            "expected_end": progress.expected_end,
        }

    @staticmethod
    def resolve_check(job: ImportJob) -> dict[str, Any]:
        return job.check_summary

    @staticmethod
    def resolve_can_resume(job: ImportJob) -> bool:
        return services.import_can_resume(job)


class ProblemOut(Schema):
    row: int = Field(description="The row as a spreadsheet shows it (the header is row 1).")
    column: str = Field(description="The file's column at fault; empty: the row as a whole.")
    message: str


class PreviewOut(Schema):
    row: int
    values: dict[str, str] = Field(description="Kreis field → the cell's text.")
    action: str = Field(description="create, update, merge, skip, or invalid")
    match_by: str
    existing_id: int | None
    same_as_row: int | None
    problems: list[ProblemOut]


class CheckOut(Schema):
    total: int
    valid: int
    invalid: int
    create: int
    update: int
    merge: int
    skip: int
    in_file: int = Field(description="Rows repeating an earlier row of the file.")
    existing: int = Field(description="Rows matching a record already in Kreis.")
    missing: list[str] = Field(description="Required fields no column fills.")
    problems: list[ProblemOut] = Field(description="The first 500 problems.")
    preview: list[PreviewOut]


def _check(report: services.ImportCheck) -> dict[str, Any]:
    def problem(p) -> dict[str, Any]:
        return {"row": p.row, "column": p.column, "message": p.message}

    return {
        **report.summary(),
        "problems": [problem(p) for p in report.problems],
        "preview": [
            {
                "row": r.number,
                "values": r.values,
                "action": r.action,
                "match_by": r.match_by,
                "existing_id": r.existing_id,
                "same_as_row": r.same_as_row,
                "problems": [problem(p) for p in r.problems],
            }
            for r in report.preview
        ],
    }


def _job(request: HttpRequest, import_id: int) -> ImportJob:
    return queries.import_get_for_user(user=request.auth, pk=import_id)


def _mapping_arg(text: str | None) -> Mapping | None:
    if not text:
        return None
    try:
        value = json.loads(text)
    except ValueError:
        raise ValidationError({"mapping": "Not valid JSON."}) from None
    if not isinstance(value, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in value.items()
    ):
        raise ValidationError({"mapping": "Expected an object {column: field}."})
    return value


def _no_worker_is_503(call, **kwargs) -> ImportJob:
    """Work for the job queue with no worker alive: 503 (try again later), not 422."""
    try:
        return call(**kwargs)
    except ValidationError as exc:
        if getattr(exc, "code", None) == "no_worker":
            raise HttpError(503, " ".join(exc.messages)) from None
        raise


def _start(request: HttpRequest, job: ImportJob) -> ImportJob:
    return _no_worker_is_503(services.import_start, actor=request.auth, job=job)


@router.post(
    "/imports",
    response={201: ImportOut, 202: ImportOut, 503: Problem, **PROBLEM_RESPONSES},
    summary="Upload a file to import",
    operation_id="import_create",
)
def create_import(
    request: HttpRequest,
    file: File[UploadedFile],
    entity: Form[EntityName],
    mapping: Form[str | None] = None,
    template_id: Form[IdValue | None] = None,
    duplicate_mode: Form[ModeName | None] = None,
    skip_invalid: Form[bool] = False,
    dry_run: Form[bool] = False,
    start: Form[bool] = False,
):
    """Store the file and map its columns: ``mapping`` (JSON ``{"column": "field"}``) or a
    template's, else a recognised export's or suggestions from the header names.
    ``dry_run``: start the check of every row (see ``POST /imports/{id}/check``; the import
    comes back *checking*, or *validated* when it was small). ``start``: import at once when the
    check finds no invalid rows or ``skip_invalid`` is set (202; follow ``GET /imports/{id}``;
    as for ``POST /imports/{id}/start``, a big file needs ``skip_invalid`` or a check first).
    A file too big, of another type or unsafe is refused (422) and nothing is stored."""
    template = None
    if template_id is not None:
        template = queries.template_get_for_user(user=request.auth, pk=template_id)
    job = services.import_create(
        actor=request.auth,
        upload=file,
        name=file.name or "upload",
        entity=entity,
        source=ImportSource.API,
        template=template,
        mapping=_mapping_arg(mapping),
        duplicate_mode=duplicate_mode,
        options={"skip_invalid": skip_invalid},
    )
    if dry_run and not start:
        job = _no_worker_is_503(services.import_check_start, actor=request.auth, job=job)
    if start:
        job = _start(request, job)
        return Status(202, job)
    job.refresh_from_db()
    return Status(201, job)


@router.get("/imports", response=list[ImportOut], summary="Imports", operation_id="import_list")
@paginate(Pagination)
def list_imports(request: HttpRequest, entity: EntityName | None = None):
    return queries.import_list_for_user(user=request.auth, entity=entity)


@router.get(
    "/imports/{int:import_id}",
    response={200: ImportOut, **PROBLEM_RESPONSES},
    summary="An import: status, progress and counts",
    operation_id="import_detail",
)
def import_detail(request: HttpRequest, import_id: ObjectId):
    return _job(request, import_id)


class ConfigureIn(Input):
    mapping: Mapping | None = Field(None, description="File column → Kreis field.")
    duplicate_mode: ModeName | None = None
    skip_invalid: bool | None = None


@router.patch(
    "/imports/{int:import_id}",
    response={200: ImportOut, **PROBLEM_RESPONSES},
    summary="Change an import's mapping, duplicate mode or skipping before it starts",
    operation_id="import_update",
)
def import_update(request: HttpRequest, import_id: ObjectId, payload: ConfigureIn):
    job = _job(request, import_id)
    options = None
    if payload.skip_invalid is not None:
        options = {**job.options, "skip_invalid": payload.skip_invalid}
        options.pop("fixes", None)
    job = services.import_configure(
        actor=request.auth,
        job=job,
        mapping=payload.mapping,
        duplicate_mode=payload.duplicate_mode,
        options=options,
    )
    return job


@router.post(
    "/imports/{int:import_id}/check",
    response={202: ImportOut, 503: Problem, **PROBLEM_RESPONSES},
    summary="Check every row without writing (dry run), as a job; then GET …/check",
    operation_id="import_check",
)
def import_check(
    request: HttpRequest,
    import_id: ObjectId,
    preview_rows: Annotated[int, Field(ge=0, le=200)] = 20,
):
    """Start the check: always 202 with the import. Its status is *checking* while the job
    runs (``GET /imports/{id}`` shows ``rows_checked`` and the progress, rows/s and expected
    end) and *validated* when done; a file of up to ``KREIS_IMPORT_CHECK_AT_ONCE`` rows
    (default 1,000) is checked within this request and comes back *validated* at once.
    Then ``GET /imports/{id}/check`` returns the report. Nothing but the problems and the
    report is written. A check whose worker died may be started again; 503 when it needs
    the job queue and no worker is running."""
    job = _job(request, import_id)
    return Status(
        202,
        _no_worker_is_503(
            services.import_check_start, actor=request.auth, job=job, preview_rows=preview_rows
        ),
    )


@router.get(
    "/imports/{int:import_id}/check",
    response={200: CheckOut, **PROBLEM_RESPONSES},
    summary="The check's report: counts, the first 500 problems, the first rows (409 before)",
    operation_id="import_check_report",
)
def import_check_report(request: HttpRequest, import_id: ObjectId):
    """The finished check's report (the import is *validated*); 409 while it is still
    *checking*, before any check, and once the import has started."""
    job = _job(request, import_id)
    try:
        return _check(services.import_check_report(job))
    except ValidationError as exc:
        raise HttpError(409, " ".join(exc.messages)) from None


@router.post(
    "/imports/{int:import_id}/check/cancel",
    response={200: ImportOut, **PROBLEM_RESPONSES},
    summary="Stop a running check: the import is uploaded again, its problems dropped",
    operation_id="import_check_cancel",
)
def import_check_cancel(request: HttpRequest, import_id: ObjectId):
    return services.import_check_cancel(actor=request.auth, job=_job(request, import_id))


class FixIn(Input):
    row: int = Field(ge=2, le=100_000_000)
    values: dict[str, str] = Field(description="File column → corrected cell text.")


@router.post(
    "/imports/{int:import_id}/fixes",
    response={200: list[ProblemOut], **PROBLEM_RESPONSES},
    summary="Correct cells of a row before the import; returns the row's problems now",
    operation_id="import_fix_row",
)
def import_fix(request: HttpRequest, import_id: ObjectId, payload: FixIn):
    job = _job(request, import_id)
    problems = services.import_fix_row(
        actor=request.auth, job=job, row=payload.row, values=payload.values
    )
    return [{"row": p.row, "column": p.column, "message": p.message} for p in problems]


@router.post(
    "/imports/{int:import_id}/start",
    response={202: ImportOut, 503: Problem, **PROBLEM_RESPONSES},
    summary="Start the import (or resume one that failed or whose worker died)",
    operation_id="import_start",
)
def import_start(request: HttpRequest, import_id: ObjectId):
    """Queue the import (202). Unless ``skip_invalid`` is set it needs a check without
    invalid rows: an unchecked file of up to ``KREIS_IMPORT_CHECK_AT_ONCE`` rows is checked
    first within this request; a bigger one is refused (422, code ``not_checked``): start
    the check, and the import when it is *validated*."""
    return Status(202, _start(request, _job(request, import_id)))


@router.post(
    "/imports/{int:import_id}/cancel",
    response={200: ImportOut, **PROBLEM_RESPONSES},
    summary="Cancel an import that has not started",
    operation_id="import_cancel",
)
def import_cancel(request: HttpRequest, import_id: ObjectId):
    return services.import_cancel(actor=request.auth, job=_job(request, import_id))


@router.post(
    "/imports/{int:import_id}/undo",
    response={202: ImportOut, **PROBLEM_RESPONSES},
    summary="Undo the import: created records deleted, updated ones restored, merges undone",
    operation_id="import_undo",
)
def import_undo(request: HttpRequest, import_id: ObjectId):
    job = services.import_undo(actor=request.auth, job=_job(request, import_id))
    return Status(202, job)


class RowErrorOut(Schema):
    row: int
    column: str
    message: str
    values: list[str] = Field(description="The row's cells as read, in the file's column order.")


@router.get(
    "/imports/{int:import_id}/errors",
    response={200: list[RowErrorOut], **PROBLEM_RESPONSES},
    summary="The problems of the rows not imported",
    operation_id="import_errors",
)
@paginate(Pagination)
def import_errors(request: HttpRequest, import_id: ObjectId):
    job = _job(request, import_id)
    return ImportRowError.objects.filter(job=job).order_by("row", "pk")


@router.get(
    "/imports/{int:import_id}/errors.csv",
    response={200: None, **PROBLEM_RESPONSES},
    summary="The rows not imported as CSV, with an Error column: fix and import again",
    operation_id="import_errors_csv",
)
def import_errors_csv(request: HttpRequest, import_id: ObjectId):
    job = _job(request, import_id)
    response = StreamingHttpResponse(
        services.import_errors_csv(job), content_type="text/csv; charset=utf-8"
    )
    response["Content-Disposition"] = f'attachment; filename="import-{job.pk}-errors.csv"'
    return response


# --- mapping templates -------------------------------------------------------------------


class TemplateOut(Schema):
    id: int
    name: str
    entity: str
    mapping: Mapping
    options: dict[str, Any]
    shared: bool
    owner_id: int | None
    created_at: datetime
    updated_at: datetime


class TemplateIn(Input):
    name: str = Field(min_length=1, max_length=100)
    entity: EntityName
    mapping: Mapping
    duplicate_mode: ModeName | None = None
    skip_invalid: bool | None = None
    shared: bool = False


class TemplateUpdate(Input):
    name: str | None = Field(None, min_length=1, max_length=100)
    mapping: Mapping | None = None
    duplicate_mode: ModeName | None = None
    skip_invalid: bool | None = None
    shared: bool | None = None


def _template_options(payload, current: dict[str, Any] | None = None) -> dict[str, Any] | None:
    if payload.duplicate_mode is None and payload.skip_invalid is None:
        return None if current is not None else {}
    options = dict(current or {})
    if payload.duplicate_mode is not None:
        options["duplicate_mode"] = payload.duplicate_mode
    if payload.skip_invalid is not None:
        options["skip_invalid"] = payload.skip_invalid
    return options


@router.get(
    "/import-templates",
    response=list[TemplateOut],
    summary="Mapping templates (own and shared)",
    operation_id="import_template_list",
)
@paginate(Pagination)
def list_templates(request: HttpRequest, entity: EntityName | None = None):
    return queries.template_list_for_user(user=request.auth, entity=entity)


@router.post(
    "/import-templates",
    response={201: TemplateOut, **PROBLEM_RESPONSES},
    summary="Save a mapping template",
    operation_id="import_template_create",
)
def create_template(request: HttpRequest, payload: TemplateIn):
    template = services.mapping_template_create(
        actor=request.auth,
        name=payload.name,
        entity=payload.entity,
        mapping=payload.mapping,
        options=_template_options(payload),
        shared=payload.shared,
    )
    return Status(201, template)


@router.get(
    "/import-templates/{int:template_id}",
    response={200: TemplateOut, **PROBLEM_RESPONSES},
    summary="A mapping template",
    operation_id="import_template_detail",
)
def template_detail(request: HttpRequest, template_id: ObjectId) -> MappingTemplate:
    return queries.template_get_for_user(user=request.auth, pk=template_id)


@router.patch(
    "/import-templates/{int:template_id}",
    response={200: TemplateOut, **PROBLEM_RESPONSES},
    summary="Change a mapping template (its owner or an administrator)",
    operation_id="import_template_update",
)
def update_template(request: HttpRequest, template_id: ObjectId, payload: TemplateUpdate):
    template = queries.template_get_for_user(user=request.auth, pk=template_id, write=True)
    return services.mapping_template_update(
        actor=request.auth,
        template=template,
        name=payload.name,
        mapping=payload.mapping,
        options=_template_options(payload, template.options),
        shared=payload.shared,
    )


@router.delete(
    "/import-templates/{int:template_id}",
    response={204: None, **PROBLEM_RESPONSES},
    summary="Delete a mapping template (its owner or an administrator)",
    operation_id="import_template_delete",
)
def delete_template(request: HttpRequest, template_id: ObjectId):
    template = queries.template_get_for_user(user=request.auth, pk=template_id, write=True)
    services.mapping_template_delete(actor=request.auth, template=template)
    return Status(204, None)
