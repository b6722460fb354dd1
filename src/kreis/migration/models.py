"""Imports: the job, what each committed chunk wrote (for undo), the rows that failed, and
saved column mappings; scheduled connectors that import from a folder or URL.

Crash safety rests on one rule: a chunk of rows is written in one transaction together with
its ``ImportRecord`` rows and the job's ``rows_done``. A worker killed at any point leaves
either the whole chunk (recorded) or nothing of it, and a restart resumes at ``rows_done``.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class ImportEntity(models.TextChoices):
    ORGANIZATION = "organization", _("Organisations")
    PERSON = "person", _("Persons")
    LEAD = "lead", _("Leads")
    DEAL = "deal", _("Deals")
    ACTIVITY = "activity", _("Activities")
    PRODUCT = "product", _("Products")
    TRANSACTION = "transaction", _("Transactions")


class DuplicateMode(models.TextChoices):
    """What happens to a row that matches an existing record (or an earlier row)."""

    CREATE = "create", _("Create a new record anyway")
    UPDATE = "update", _("Update the existing record")
    SKIP = "skip", _("Skip the row")
    MERGE = "merge", _("Merge into the existing record")


class ImportStatus(models.TextChoices):
    UPLOADED = "uploaded", _("Uploaded")  # file read, mapping to be confirmed
    CHECKING = "checking", _("Checking")  # the check (dry run) runs as a job
    VALIDATED = "validated", _("Checked")  # preview/dry run done, ready to start
    QUEUED = "queued", _("Queued")
    RUNNING = "running", _("Running")
    DONE = "done", _("Done")
    FAILED = "failed", _("Failed")
    CANCELLED = "cancelled", _("Cancelled")
    UNDOING = "undoing", _("Being undone")
    UNDONE = "undone", _("Undone")


class ImportSource(models.TextChoices):
    WEB = "web", _("Web wizard")
    CLI = "cli", _("Command line")
    API = "api", _("API")
    CONNECTOR = "connector", _("Connector")


class MappingTemplate(models.Model):
    """A saved column mapping (file header → Kreis field), reusable for the next file."""

    name = models.CharField(_("name"), max_length=100)
    entity = models.CharField(_("record type"), max_length=20, choices=ImportEntity.choices)
    # {"<file header>": "<target>", ...}; targets as listed by the entity's handler
    # (e.g. "name", "email", "address.city", "organization.name", "custom.<key>").
    mapping = models.JSONField(_("mapping"), default=dict)
    # Other choices kept with the mapping: duplicate mode, date order, delimiter, …
    options = models.JSONField(_("options"), default=dict, blank=True)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("owner"),
    )
    shared = models.BooleanField(
        _("shared"), default=False, help_text=_("Every user who imports may use it.")
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("mapping template")
        verbose_name_plural = _("mapping templates")
        ordering = ["entity", "name", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["owner", "entity", "name"], name="mapping_template_unique_name"
            )
        ]

    def __str__(self) -> str:
        return self.name


class ImportJob(models.Model):
    entity = models.CharField(_("record type"), max_length=20, choices=ImportEntity.choices)
    status = models.CharField(
        _("status"), max_length=10, choices=ImportStatus.choices, default=ImportStatus.UPLOADED
    )
    source = models.CharField(
        _("source"), max_length=10, choices=ImportSource.choices, default=ImportSource.WEB
    )
    # The uploaded file, kept in the data folder until the import is undone or purged.
    file = models.FileField(_("file"), upload_to="imports/%Y/%m/", max_length=300)
    original_name = models.CharField(_("file name"), max_length=255)
    file_sha256 = models.CharField(max_length=64, blank=True, db_index=True)
    # What the reader detected: csv / xlsx / vcard / json, and for CSV encoding and delimiter.
    format = models.CharField(_("format"), max_length=10, blank=True)
    encoding = models.CharField(_("encoding"), max_length=30, blank=True)
    delimiter = models.CharField(_("delimiter"), max_length=2, blank=True)
    headers = models.JSONField(_("columns"), default=list, blank=True)
    preset = models.CharField(_("recognised export"), max_length=30, blank=True)
    mapping = models.JSONField(_("mapping"), default=dict, blank=True)
    template = models.ForeignKey(
        MappingTemplate,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="imports",
        verbose_name=_("mapping template"),
    )
    duplicate_mode = models.CharField(
        _("duplicates"), max_length=10, choices=DuplicateMode.choices, default=DuplicateMode.UPDATE
    )
    # skip_invalid, fixes {"<row>": {"<header>": "<value>"}}, skip_rows [..], owner id, …
    options = models.JSONField(_("options"), default=dict, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        related_name="+",
        verbose_name=_("imported by"),
    )
    connector = models.ForeignKey(
        "migration.Connector",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="imports",
        verbose_name=_("connector"),
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    started_at = models.DateTimeField(_("started"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)
    # Progress: data rows in the file, and rows through the last committed chunk.
    total_rows = models.PositiveIntegerField(_("rows"), default=0)
    rows_done = models.PositiveIntegerField(_("rows done"), default=0)
    created_count = models.PositiveIntegerField(_("created"), default=0)
    updated_count = models.PositiveIntegerField(_("updated"), default=0)
    merged_count = models.PositiveIntegerField(_("merged"), default=0)
    skipped_count = models.PositiveIntegerField(_("skipped"), default=0)
    failed_count = models.PositiveIntegerField(_("failed"), default=0)
    error = models.TextField(_("error"), blank=True)
    # The last check (dry run): rows valid/invalid, would create/update/merge/skip, duplicates.
    check_summary = models.JSONField(_("check"), default=dict, blank=True)
    # The check's first rows as the import would take them (its problems are ImportRowErrors).
    check_preview = models.JSONField(default=list, blank=True)
    # The check running as a job: when its worker claimed it (None: waiting in the queue; also
    # the claim's token, so a cancelled or restarted check's old run stops writing) and the
    # rows read so far — for its progress bar, rows/s and expected end.
    check_started_at = models.DateTimeField(null=True, blank=True)
    rows_checked = models.PositiveIntegerField(_("rows checked"), default=0)
    # The current run (a resumed import starts a new one): when it began, at which row, and
    # when its last chunk committed — for rows/s, the expected end, and a worker that died.
    run_started_at = models.DateTimeField(null=True, blank=True)
    run_started_rows = models.PositiveIntegerField(default=0)
    progress_at = models.DateTimeField(null=True, blank=True)
    # The worker running it (its heartbeat name, kreis.core.worker): when that worker's
    # heartbeat stops, the job is known to be orphaned and can be resumed or undone.
    run_by = models.CharField(max_length=200, blank=True)
    undone_at = models.DateTimeField(_("undone"), null=True, blank=True)
    undone_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("undone by"),
    )

    class Meta:
        verbose_name = _("import")
        verbose_name_plural = _("imports")
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.original_name} ({self.get_entity_display()})"


class RecordAction(models.TextChoices):
    CREATED = "created", _("created")
    UPDATED = "updated", _("updated")
    MERGED = "merged", _("merged")


class ImportRecord(models.Model):
    """One record an import wrote, with what undo needs: the previous values of an updated
    record, or the merge to undo. Written in the same transaction as the record itself."""

    job = models.ForeignKey(ImportJob, on_delete=models.CASCADE, related_name="records")
    row = models.PositiveIntegerField(_("row"))
    model = models.CharField(max_length=60)  # "<app_label>.<model_name>"
    object_id = models.BigIntegerField()
    action = models.CharField(max_length=8, choices=RecordAction.choices)
    before = models.JSONField(null=True, blank=True)
    merge = models.ForeignKey(
        "parties.PartyMerge", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        indexes = [models.Index(fields=["job", "action", "model"], name="import_record_undo")]

    def __str__(self) -> str:
        return f"{self.action} {self.model} #{self.object_id} (row {self.row})"


class ImportRowError(models.Model):
    """A row that was not imported: which column, what is wrong, and the row as it was, so
    the error rows download as a CSV ready to fix and import again."""

    job = models.ForeignKey(ImportJob, on_delete=models.CASCADE, related_name="row_errors")
    row = models.PositiveIntegerField(_("row"))
    column = models.CharField(_("column"), max_length=255, blank=True)
    message = models.CharField(_("problem"), max_length=500)
    values = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["row", "pk"]
        indexes = [models.Index(fields=["job", "row"], name="import_row_error_job")]

    def __str__(self) -> str:
        return f"row {self.row}, {self.column}: {self.message}"


class ConnectorKind(models.TextChoices):
    FOLDER = "folder", _("Watched folder")
    URL = "url", _("HTTP(S) URL")


class Connector(models.Model):
    """A scheduled import (e.g. the ERP's orders of yesterday) from a folder or a URL, with a
    mapping template; idempotent through ``external_id``."""

    name = models.CharField(_("name"), max_length=100, unique=True)
    kind = models.CharField(_("kind"), max_length=6, choices=ConnectorKind.choices)
    entity = models.CharField(
        _("record type"),
        max_length=20,
        choices=ImportEntity.choices,
        default=ImportEntity.TRANSACTION,
    )
    location = models.CharField(
        _("folder or URL"),
        max_length=500,
        help_text=_("A folder on the server (files are picked up once) or an http(s) URL."),
    )
    template = models.ForeignKey(
        MappingTemplate,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="connectors",
        verbose_name=_("mapping template"),
    )
    duplicate_mode = models.CharField(
        _("duplicates"), max_length=10, choices=DuplicateMode.choices, default=DuplicateMode.UPDATE
    )
    schedule_hour = models.PositiveSmallIntegerField(
        _("hour of day"), default=2, help_text=_("The import runs daily at this hour (0–23).")
    )
    enabled = models.BooleanField(_("enabled"), default=True)
    # Set by an administrator for a target on the office network or the machine itself; the
    # URL guard (core.netguard) refuses loopback, private and metadata addresses otherwise.
    allow_private = models.BooleanField(
        _("allow private network"),
        default=False,
        help_text=_("Allow a URL on this machine or the private network (e.g. the ERP server)."),
    )
    move_done = models.BooleanField(
        _("move imported files"),
        default=False,
        help_text=_("Move each imported file into the subfolder “done”."),
    )
    run_as = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("imports as"),
    )
    last_run_at = models.DateTimeField(_("last run"), null=True, blank=True)
    last_status = models.CharField(_("last result"), max_length=300, blank=True)
    # Set while a run is in progress (claimed with a conditional UPDATE), so the hourly run
    # and "Run now" never import the same file twice at once; a stale claim expires.
    running_since = models.DateTimeField(_("running since"), null=True, blank=True)
    # Files already imported (folder) or the last ETag/Last-Modified seen (URL).
    state = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("connector")
        verbose_name_plural = _("connectors")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class BackupStatus(models.TextChoices):
    RUNNING = "running", _("Running")
    DONE = "done", _("Done")
    FAILED = "failed", _("Failed")


class Backup(models.Model):
    """An archive written by ``kreis.migration.backup.backup_write`` into the backup folder
    (``KREIS_BACKUP_DIR``): by an administrator ("Back up now", the API) or the nightly
    schedule. The row is the archive's entry in the list; the file is the archive itself."""

    file_name = models.CharField(_("file"), max_length=100, unique=True)
    status = models.CharField(
        _("status"), max_length=10, choices=BackupStatus.choices, default=BackupStatus.RUNNING
    )
    scheduled = models.BooleanField(_("scheduled"), default=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("started by"),
    )
    started_at = models.DateTimeField(_("started"), auto_now_add=True)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)
    # The progress bar's whole; the tables written so far are kept in the cache (the backup
    # reads inside one snapshot transaction, so it does not write its own row meanwhile).
    tables_total = models.PositiveIntegerField(default=0)
    rows = models.PositiveBigIntegerField(_("rows"), default=0)
    files = models.PositiveIntegerField(_("uploaded files"), default=0)
    size_bytes = models.PositiveBigIntegerField(_("size"), default=0)
    # The archive was read back after writing: every checksum and row count as its manifest
    # says (``backup_verify``).
    verified = models.BooleanField(_("verified"), default=False)
    error = models.TextField(_("error"), blank=True)

    class Meta:
        verbose_name = _("backup")
        verbose_name_plural = _("backups")
        ordering = ["-started_at", "-pk"]

    def __str__(self) -> str:
        return self.file_name
