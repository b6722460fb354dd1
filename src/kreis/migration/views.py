"""The import wizard (upload → mapping → check → run) and the list of past imports.

Each step is a page of its own; every write goes through ``kreis.migration.services`` and
every import is fetched through ``queries.import_get_for_user`` (own imports, all for
administrators), so a forgotten permission check is impossible.
"""

from __future__ import annotations

import itertools

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db.models import Count
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from kreis.core.web import apply_errors, is_htmx
from kreis.migration import queries, services
from kreis.migration.forms import MappingForm, RowFixForm, UploadForm
from kreis.migration.mapping import PRESETS
from kreis.migration.models import DuplicateMode, ImportJob, ImportRowError, ImportSource
from kreis.migration.models import ImportStatus as Status
from kreis.migration.targets import targets_for

PAGE_SIZE = 25
BAD_ROWS_SHOWN = 50  # rows with problems listed in the wizard; all are in the CSV
SAMPLE_ROWS = 3  # different values shown per column on the mapping page
SAMPLE_SCAN = 200  # rows read to find them

STEPS = (
    (1, gettext_lazy("Upload")),
    (2, gettext_lazy("Mapping")),
    (3, gettext_lazy("Check")),
    (4, gettext_lazy("Import")),
)

MODE_HELP = (
    (
        DuplicateMode.CREATE,
        gettext_lazy("Every row becomes a new record, even when the same one exists already."),
    ),
    (
        DuplicateMode.UPDATE,
        gettext_lazy(
            "The existing record takes the file's values (empty cells change nothing); "
            "rows without a match become new records. Importing the same file again "
            "changes nothing."
        ),
    ),
    (
        DuplicateMode.SKIP,
        gettext_lazy("The existing record stays as it is; only rows without a match are added."),
    ),
    (
        DuplicateMode.MERGE,
        gettext_lazy(
            "The row is merged into the existing record (an undoable merge): its values fill "
            "the record's empty fields; nothing is overwritten."
        ),
    ),
)

DELIMITERS = {
    ",": gettext_lazy("commas"),
    ";": gettext_lazy("semicolons"),
    "\t": gettext_lazy("tabs"),
    "|": gettext_lazy("vertical bars"),
}

ACTIONS = (
    ("create", gettext_lazy("new")),
    ("update", gettext_lazy("update")),
    ("merge", gettext_lazy("merge")),
    ("skip", gettext_lazy("skip")),
    ("invalid", gettext_lazy("has problems")),
)

PRESET_NAMES = {preset.key: preset.name for preset in PRESETS}


def _job(request: HttpRequest, pk: int) -> ImportJob:
    return queries.import_get_for_user(user=request.user, pk=pk)


def _writable(request: HttpRequest) -> None:
    if request.user.is_read_only:
        raise PermissionDenied


def _wizard(job: ImportJob | None, step: int, **context) -> dict:
    facts = {}
    if job is not None:
        facts = {
            "delimiter_label": DELIMITERS.get(job.delimiter, job.delimiter),
            "preset_label": PRESET_NAMES.get(job.preset, job.preset),
        }
    return {"job": job, "step": step, "steps": STEPS, **facts, **context}


@login_required
def import_list(request: HttpRequest) -> HttpResponse:
    jobs = queries.import_list_for_user(user=request.user)
    page = Paginator(jobs, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "migration/list.html", {"page": page})


@login_required
def import_upload(request: HttpRequest) -> HttpResponse:
    """Step 1: the record type, the file and perhaps a saved mapping."""
    _writable(request)
    form = UploadForm(request.POST or None, request.FILES or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            job = services.import_create(
                actor=request.user,
                upload=upload,
                name=upload.name,
                entity=form.cleaned_data["entity"],
                source=ImportSource.WEB,
                template=form.cleaned_data["template"],
            )
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            return redirect("migration:mapping", pk=job.pk)
    context = _wizard(None, 1, form=form, max_mb=settings.KREIS_IMPORT_MAX_MB)
    return render(request, "migration/upload.html", context)


def _not_in_wizard(job: ImportJob) -> bool:
    return job.status not in (Status.UPLOADED, Status.CHECKING, Status.VALIDATED)


def _start_check(request: HttpRequest, job: ImportJob) -> None:
    """The check of every row: at once for a small file, else as a job the check page
    follows. A refusal (no worker, the import started meanwhile) is said on that page."""
    try:
        services.import_check_start(actor=request.user, job=job)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))


@login_required
def import_mapping(request: HttpRequest, pk: int) -> HttpResponse:
    """Step 2: a target for each column, what happens to duplicates, save as a template."""
    job = _job(request, pk)
    if _not_in_wizard(job):
        return redirect("migration:detail", pk=job.pk)
    if job.status == Status.CHECKING:  # the settings are fixed while the rows are checked
        return redirect("migration:check", pk=job.pk)
    _writable(request)
    form = MappingForm(request.POST or None, job=job, targets=targets_for(job.entity))
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            job = services.import_configure(
                actor=request.user,
                job=job,
                mapping=form.mapping(),
                duplicate_mode=data["duplicate_mode"],
            )
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            missing = services.missing_targets(job.entity, job.mapping)
            if missing:
                form.add_error(
                    None, _("No column fills %(fields)s.") % {"fields": ", ".join(missing)}
                )
            elif not data["save_template"] or _save_template(request, form, job):
                _start_check(request, job)
                return redirect("migration:check", pk=job.pk)
    return _mapping_page(request, form, job)


def _save_template(request: HttpRequest, form: MappingForm, job: ImportJob) -> bool:
    name = form.cleaned_data["template_name"].strip()
    try:
        services.mapping_template_create(
            actor=request.user,
            name=name,
            entity=job.entity,
            mapping=job.mapping,
            options={"duplicate_mode": job.duplicate_mode},
            shared=form.cleaned_data["template_shared"],
        )
    except ValidationError as exc:
        for error in exc.messages:
            form.add_error("template_name", error)
        return False
    messages.success(request, _("Mapping saved as the template “%(name)s”.") % {"name": name})
    return True


def _mapping_page(request: HttpRequest, form: MappingForm, job: ImportJob) -> HttpResponse:
    samples = _samples(job)
    columns = [
        {"header": header, "field": field, "samples": samples[index]}
        for index, header, field in form.column_fields()
    ]
    context = _wizard(job, 2, form=form, columns=columns, mode_help=MODE_HELP)
    return render(request, "migration/mapping.html", context)


def _samples(job: ImportJob, rows: int = SAMPLE_ROWS) -> list[list[str]]:
    """Per column, the first few different non-empty values of the file."""
    found: list[list[str]] = [[] for _header in job.headers]
    try:
        table = services.open_job_table(job)
        for row in itertools.islice(table.rows(), SAMPLE_SCAN):
            for index, value in enumerate(row[: len(found)]):
                value = value.strip()
                if value and value not in found[index] and len(found[index]) < rows:
                    found[index].append(value[:60])
    except ValidationError:  # the file was readable at upload; if not now, show no samples
        pass
    return found


def _bad_rows(job: ImportJob) -> list[dict]:
    """The first rows with problems, each with its problems and a form to fix its values."""
    numbers = list(
        ImportRowError.objects.filter(job=job)
        .order_by("row")
        .values_list("row", flat=True)
        .distinct()[:BAD_ROWS_SHOWN]
    )
    rows: dict[int, dict] = {}
    for error in ImportRowError.objects.filter(job=job, row__in=numbers).order_by("row", "pk"):
        entry = rows.setdefault(
            error.row,
            {
                "row": error.row,
                "problems": [],
                "form": RowFixForm(headers=job.headers, values=error.values or []),
            },
        )
        entry["problems"].append(error)
    return list(rows.values())


def _preview_table(job: ImportJob, check) -> tuple[list[str], list[dict]]:
    """The preview's column labels (the mapped fields, in the file's order) and its rows."""
    labels = {t.key: t.label for t in targets_for(job.entity)}
    keys = [job.mapping[h] for h in job.headers if job.mapping.get(h)]
    actions = dict(ACTIONS)
    rows = [
        {
            "row": line.number,
            "action": actions.get(line.action, line.action),
            "invalid": line.action == "invalid",
            "values": [line.values.get(key, "") for key in keys],
        }
        for line in check.preview
    ]
    return [labels.get(key, key) for key in keys], rows


@login_required
def import_check(request: HttpRequest, pk: int) -> HttpResponse:
    """Step 3: the dry run over every row — while it runs as a job, its progress (polled by
    HTMX; the page reloads when it is done); then what the import would do, the problems per
    row and column, and the first rows as they will be imported. POST starts it (again)."""
    job = _job(request, pk)
    if _not_in_wizard(job):
        return redirect("migration:detail", pk=job.pk)
    _writable(request)
    if request.method == "POST":
        _start_check(request, job)
        return redirect("migration:check", pk=job.pk)
    if is_htmx(request):
        if job.status != Status.CHECKING:
            response = HttpResponse(status=204)
            response["HX-Refresh"] = "true"  # the report is a whole page of its own
            return response
        return render(request, "migration/_check_progress.html", {"job": job, **_checking(job)})
    if job.status == Status.CHECKING:
        return render(request, "migration/check.html", _wizard(job, 3, **_checking(job)))
    if job.status == Status.UPLOADED:  # never checked, or the check was cancelled or failed
        return render(request, "migration/check.html", _wizard(job, 3, check=None))
    check = services.import_check_report(job)
    columns, preview = _preview_table(job, check)
    context = _wizard(
        job,
        3,
        check=check,
        bad_rows=_bad_rows(job),
        preview_columns=columns,
        preview=preview,
        mapped_headers=[h for h in job.headers if job.mapping.get(h)],
    )
    return render(request, "migration/check.html", context)


def _checking(job: ImportJob) -> dict:
    orphaned = services.import_check_is_orphaned(job)
    return {
        "progress": queries.import_progress(job),
        "orphaned": orphaned,
        "polling": not orphaned,
    }


@login_required
@require_POST
def import_check_cancel(request: HttpRequest, pk: int) -> HttpResponse:
    """Stop the running check; the mapping can change and the check start again."""
    job = _job(request, pk)
    _writable(request)
    try:
        services.import_check_cancel(actor=request.user, job=job)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, _("The check was cancelled; nothing was written."))
    return redirect("migration:check", pk=job.pk)


@login_required
@require_POST
def import_fix_row(request: HttpRequest, pk: int, row: int) -> HttpResponse:
    """Correct one row's values in the wizard; the check runs again."""
    job = _job(request, pk)
    _writable(request)
    if _not_in_wizard(job):
        return redirect("migration:detail", pk=job.pk)
    form = RowFixForm(request.POST, headers=job.headers, values=[])
    form.is_valid()
    try:
        problems = services.import_fix_row(
            actor=request.user, job=job, row=row, values=form.values()
        )
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect("migration:check", pk=job.pk)
    if problems:
        messages.warning(
            request,
            _("Row %(row)s still has a problem: %(problem)s")
            % {"row": row, "problem": "; ".join(p.message for p in problems)},
        )
    else:
        messages.success(request, _("Row %(row)s is fixed.") % {"row": row})
    return redirect("migration:check", pk=job.pk)


def _can_start(job: ImportJob) -> bool:
    return job.status in (Status.UPLOADED, Status.VALIDATED) or services.import_can_resume(job)


@login_required
@require_POST
def import_start(request: HttpRequest, pk: int) -> HttpResponse:
    """Step 4 begins: the import goes to the job queue (a failed one resumes after its last
    committed chunk)."""
    job = _job(request, pk)
    _writable(request)
    if not _can_start(job):
        return redirect("migration:detail", pk=job.pk)
    try:
        if request.POST.get("skip_invalid") and not _not_in_wizard(job):
            options = {k: v for k, v in job.options.items() if k != "fixes"}
            job = services.import_configure(
                actor=request.user, job=job, options={**options, "skip_invalid": True}
            )
        job = services.import_start(actor=request.user, job=job)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        target = "migration:detail" if _not_in_wizard(job) else "migration:check"
        return redirect(target, pk=job.pk)
    return redirect("migration:detail", pk=job.pk)


@login_required
@require_POST
def import_cancel(request: HttpRequest, pk: int) -> HttpResponse:
    """Abort the wizard: the import is cancelled and its file deleted; nothing was imported."""
    job = _job(request, pk)
    _writable(request)
    try:
        services.import_cancel(actor=request.user, job=job)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect("migration:detail", pk=job.pk)
    messages.success(
        request, _("The import of “%(name)s” was cancelled.") % {"name": job.original_name}
    )
    return redirect("migration:list")


POLLING = (Status.QUEUED, Status.RUNNING, Status.UNDOING)


def _can_undo(job: ImportJob) -> bool:
    """Undo is offered for a finished or failed import that wrote something."""
    wrote = job.created_count + job.updated_count + job.merged_count
    return job.status in (Status.DONE, Status.FAILED) and wrote > 0


@login_required
def import_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """Step 4 and the record of a past import: live progress while it runs, then what it did."""
    job = _job(request, pk)
    labels = {t.key: t.label for t in targets_for(job.entity)}
    context = _wizard(
        job,
        4,
        progress=queries.import_progress(job),
        polling=job.status in POLLING and not services.import_is_orphaned(job),
        can_resume=services.import_can_resume(job),
        can_undo=_can_undo(job),
        wizard=job.source == ImportSource.WEB,
        mapping_rows=[
            (header, labels.get(job.mapping[header], job.mapping[header]))
            for header in job.headers
            if job.mapping.get(header)
        ],
    )
    if is_htmx(request):
        return render(request, "migration/_progress.html", context)
    return render(request, "migration/detail.html", context)


@login_required
def import_errors(request: HttpRequest, pk: int) -> StreamingHttpResponse:
    """The rows that were not imported, as the file had them plus what is wrong, as CSV."""
    job = _job(request, pk)
    stem = job.original_name.rsplit(".", 1)[0]
    safe = "".join(c if c.isalnum() or c in "-_" else "_" for c in stem)[:80] or "import"
    response = StreamingHttpResponse(
        services.import_errors_csv(job), content_type="text/csv; charset=utf-8"
    )
    response["Content-Disposition"] = f'attachment; filename="{safe}-errors.csv"'
    return response


@login_required
def import_undo(request: HttpRequest, pk: int) -> HttpResponse:
    """Undo a whole import, after a page that says what will happen."""
    job = _job(request, pk)
    _writable(request)
    if request.method == "POST":
        try:
            job = services.import_undo(actor=request.user, job=job)
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            if job.status == Status.UNDONE:
                messages.success(request, _("The import is undone."))
            else:
                messages.info(request, _("The import is being undone in the background."))
        return redirect("migration:detail", pk=job.pk)
    if not _can_undo(job):
        return redirect("migration:detail", pk=job.pk)
    # What undo reverts, record by record: with persons, the organisations made for them too.
    counts = dict(job.records.values_list("action").annotate(n=Count("pk")).order_by())
    return render(request, "migration/undo.html", _wizard(job, 4, counts=counts))
