"""Import jobs: store an upload, preview it, commit it (all or nothing), remember mappings.

The row-level work is ``pipeline``; this module keeps the ImportJob history straight. The commit's
own transaction lives in ``pipeline.Importer.commit``; job bookkeeping is written outside it, so a
failed import still leaves its job marked failed with the reason.

Progress: while the commit's transaction is open, its writes are invisible to other connections
(and on SQLite another writer would wait for the lock), so progress during the write phase goes
to a small JSON file beside the upload (``progress_path``); ``live_progress`` merges it with the
job row for the progress bar.
"""

from __future__ import annotations

import json
import os
import uuid
from pathlib import Path

from django.apps import apps
from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from huikuan.common import audit, datetext, texts
from huikuan.common.dbstats import analyze
from huikuan.common.errors import DomainError, NotAllowed
from huikuan.common.headers import header_key
from huikuan.common.uploads import FileRejected, check_size, open_table

from .importers import importer_for
from .kinds import KINDS, PRESETS, auto_mapping, field_labels, known_headers
from .models import ImportJob, JobStatus, MappingProfile
from .parsing import cell_text, choice_key
from .pipeline import CommitFailed, Preview, bad_row_cells
from .problems import problem_text

UPLOAD_DIR = "imports"

# the tables an import of each kind changes in bulk, analyzed after a large commit (common.dbstats.analyze)
_LEDGER_TABLES = ("ledger.ReceivableDocument", "ledger.DocumentLine", "ledger.Instalment", "ledger.Credit",
                  "ledger.Allocation", "ledger.LedgerEntry")
BULK_TABLES = {
    "customers": ("customers.Customer", "customers.Contact", "customers.CustomerBankAccount"),
    "contacts": ("customers.Contact",),
    "documents": _LEDGER_TABLES,
    "opening": _LEDGER_TABLES,
    "payments": ("ledger.Credit", "ledger.Allocation", "ledger.LedgerEntry", "ledger.Instalment"),
    "fapiao": ("ledger.Fapiao",),
    "history": _LEDGER_TABLES,
}
ANALYZE_AFTER_ROWS = 1000

texts.register({
    "imports.job.failed_line": gettext_lazy("Line %(line)d: %(reason)s — nothing was imported."),
    "imports.job.failed": gettext_lazy("%(reason)s Nothing was imported."),
})


def upload_dir() -> Path:
    path = Path(settings.MEDIA_ROOT) / UPLOAD_DIR
    path.mkdir(parents=True, exist_ok=True)
    return path


def progress_path(job: ImportJob) -> Path:
    return Path(job.stored_path + ".progress.json")


def write_progress(job: ImportJob, phase: str, done: int, total: int) -> None:
    target = progress_path(job)
    tmp = target.with_suffix(".tmp")
    tmp.write_text(json.dumps({"phase": phase, "done": done, "total": total}))
    os.replace(tmp, target)


def live_progress(job: ImportJob) -> dict:
    """{"phase", "done", "total", "percent"} for a queued or running job (else from the row)."""
    data = {"phase": job.status, "done": job.processed_rows, "total": job.total_rows}
    if job.is_active and job.stored_path:
        try:
            data.update(json.loads(progress_path(job).read_text()))
        except (OSError, ValueError):
            pass
    if job.status == JobStatus.DONE:
        data["done"] = data["total"] = max(job.total_rows, 1)
    # checking is the first half of the bar, writing the second
    if data["phase"] == "checking":
        percent = 5
    elif data["phase"] == "writing" and data["total"]:
        percent = 50 + data["done"] * 50 // data["total"]
    elif data["phase"] == "written":
        percent = 50
    else:
        percent = 100 if job.status == JobStatus.DONE else (2 if job.is_active else 0)
    data["percent"] = min(100, percent)
    return data


def _require(actor, kind: str) -> None:
    if kind not in KINDS:
        raise FileRejected(_("Unknown kind of import."))
    if not actor.can(KINDS[kind].perm):
        raise NotAllowed(_("You are not allowed to import this kind of data."))


def resolve_field(kind: str, name: str) -> str:
    """A field named by its code ("total") or its label in either language ("金额", "Amount")."""
    wanted = header_key(name)
    for f in KINDS[kind].fields:
        if wanted in {header_key(f.name), *(header_key(label) for label in field_labels(f))}:
            return f.name
    raise FileRejected(_("There is no field “%(field)s” in this kind of import; the fields are: %(fields)s.")
                       % {"field": name, "fields": ", ".join(f.name for f in KINDS[kind].fields)})


def build_mapping(*, kind: str, headers: list[str], base: dict[str, str], overrides: list[tuple[str, str]] = (),
                  ignore: list[str] = ()) -> dict[str, str]:
    """{field: header}: ``base`` (a saved profile or the automatic guess) with the columns in
    ``ignore`` left out and ``overrides`` ((header, field) pairs) applied.

    A header that is not in the file, or two columns given to one field, is refused (FileRejected).
    """
    for header in [*ignore, *(h for h, _f in overrides)]:
        if header not in headers:
            raise FileRejected(_("The file has no column “%(column)s”; its columns are: %(columns)s.")
                               % {"column": header, "columns": "、".join(h for h in headers if h)})
    by_field: dict[str, str] = {}
    for header, name in overrides:
        name = resolve_field(kind, name)
        if name in by_field and by_field[name] != header:
            raise FileRejected(_("Two columns, “%(first)s” and “%(second)s”, are mapped to the field %(field)s; "
                                 "map one column to each field.")
                               % {"first": by_field[name], "second": header, "field": KINDS[kind].field(name).label})
        by_field[name] = header
    dropped = set(ignore) | set(by_field.values())
    mapping = {k: v for k, v in base.items() if v in headers and v not in dropped and k not in by_field}
    mapping.update(by_field)
    return mapping


def column_samples(table, limit: int = 3) -> dict[str, list[str]]:
    """The first ``limit`` non-empty values of each column (for the mapping step)."""
    out: dict[str, list[str]] = {h: [] for h in table.headers if h}
    for n, (_line, cells) in enumerate(table.rows()):
        for h, cell in zip(table.headers, cells, strict=False):
            text = cell_text(cell)
            if h and text and len(out[h]) < limit:
                out[h].append(text[:60])
        if n >= 50 or all(len(v) >= limit for v in out.values()):
            break
    return out


def create_job(*, company, actor, kind: str, file_name: str, chunks, size: int | None = None,
               mapping: dict | None = None, profile_name: str = "", preset: str = "",
               overrides: list[tuple[str, str]] = (), ignore: list[str] = (), save_profile_as: str = "") -> ImportJob:
    """Store an upload and read its header row. Oversize files are refused before any byte is
    parsed; spreadsheets are zip-checked before calamine opens them (``common.uploads``).

    ``chunks`` is an iterable of bytes (an UploadedFile's ``.chunks()``). Raises FileRejected or
    NotAllowed; a rejected file is deleted again.
    """
    _require(actor, kind)
    if size is not None:
        check_size(size)
    suffix = Path(file_name).suffix.lower()[:6]
    target = upload_dir() / f"{company.pk}-{uuid.uuid4().hex}{suffix}"
    written = 0
    try:
        with open(target, "wb") as out:
            for chunk in chunks:
                written += len(chunk)
                check_size(written)
                out.write(chunk)
        table = open_table(target, file_name, known_headers(KINDS[kind]))
    except BaseException:
        target.unlink(missing_ok=True)
        raise
    try:
        if not mapping and profile_name and not save_profile_as:
            profile = MappingProfile.objects.filter(company=company, kind=kind, name=profile_name).first()
            if profile is None:
                raise FileRejected(_("There is no saved mapping called “%(name)s”.") % {"name": profile_name})
            mapping = profile.mapping
        if not mapping:
            mapping = auto_mapping(KINDS[kind], table.headers, preset)
        mapping = build_mapping(kind=kind, headers=table.headers, base=mapping, overrides=list(overrides),
                                ignore=list(ignore))
        samples = column_samples(table)
        if save_profile_as:
            save_profile(company=company, actor=actor, kind=kind, name=save_profile_as, mapping=mapping)
            profile_name = save_profile_as
    except BaseException:
        target.unlink(missing_ok=True)
        raise
    return ImportJob.objects.create(
        company=company, kind=kind, file_name=Path(file_name).name[:255], stored_path=str(target), size=written,
        headers=table.headers, mapping=mapping, profile_name=profile_name, created_by=actor, samples=samples,
        language=translation.get_language() or settings.LANGUAGE_CODE,
    )


def save_profile(*, company, actor, kind: str, name: str, mapping: dict) -> MappingProfile:
    """Create or replace a named mapping for this company and kind."""
    _require(actor, kind)
    name = (name or "").strip()[:60]
    if not name:
        raise FileRejected(_("Give the mapping a name."), field="profile_name")
    try:
        with transaction.atomic():
            profile, _created = MappingProfile.objects.update_or_create(
                company=company, kind=kind, name=name, defaults={"mapping": mapping, "created_by": actor}
            )
    except IntegrityError as exc:  # pragma: no cover - concurrent save of the same name
        raise FileRejected(_("A mapping with this name was just saved by someone else.")) from exc
    return profile


def _importer(job: ImportJob, actor, progress=None):
    table = open_table(Path(job.stored_path), job.file_name, known_headers(KINDS[job.kind]))
    return table, importer_for(job.kind, company=job.company, actor=actor, table=table, mapping=job.mapping,
                               progress=progress, options=job.options)


def _store(job: ImportJob, preview: Preview, table, *, status: str) -> None:
    problems = preview.all_problems()
    job.total_rows = preview.total_rows
    job.error_rows = preview.error_lines
    job.created_count, job.updated_count, job.unchanged_count = preview.created, preview.updated, preview.unchanged
    job.errors = [p.as_dict() for p in problems]
    job.warnings = [p.as_dict() for p in sorted(preview.warnings, key=lambda p: (p.line, p.column))]
    job.warning_rows = preview.warning_lines
    job.unknown_terms = preview.unknown_terms
    job.due_date_conflicts = preview.due_date_conflicts
    job.findings = {"dates": preview.date_reading, "new_customers": preview.new_customers}
    # the original cells of every line the report lists: problems and warnings
    lines = {p.line for p in preview.problems} | {p.line for p in preview.warnings}
    job.bad_rows = bad_row_cells(table, lines) if lines else {}
    job.status = status
    job.message = None
    job.save()


def _file_error(job: ImportJob, exc: DomainError) -> None:
    job.status = JobStatus.INVALID
    job.errors = [{"line": 0, "column": "", "value": "", "reason": texts.dump(problem_text(exc))}]
    job.error_rows = 1
    job.message = problem_text(exc)
    job.save()


def _refresh_planner_statistics(job: ImportJob) -> None:
    """After a large commit, ANALYZE the tables it loaded: PostgreSQL's autovacuum would only get there after
    its next nap, and until then the planner plans the aging and list queries for the old table sizes."""
    if job.created_count + job.updated_count < ANALYZE_AFTER_ROWS:
        return
    tables = [apps.get_model(label)._meta.db_table for label in BULK_TABLES.get(job.kind, ())]
    analyze(*tables)


def preview_job(*, job: ImportJob, actor) -> ImportJob:
    """Validate every row and store the result (errors, counts) on the job. Writes no ledger data."""
    _require(actor, job.kind)
    with translation.override(job.language):
        try:
            table, imp = _importer(job, actor)
            preview = imp.validate()
        except DomainError as exc:
            _file_error(job, exc)
            return job
        _store(job, preview, table, status=JobStatus.READY if preview.ok else JobStatus.INVALID)
    return job


def commit_job(*, job_id: int, actor=None, dry_run: bool = False, on_progress=None) -> ImportJob:
    """Validate again and write every row in one transaction, or nothing.

    Called by the background task (web) and the CLI. The job ends DONE, INVALID (validation found
    problems, e.g. data changed since the preview) or FAILED (a service refused a row mid-commit:
    everything was rolled back).
    """
    job = ImportJob.objects.select_related("company", "created_by").get(pk=job_id)
    actor = actor or job.created_by
    _require(actor, job.kind)
    job.status = JobStatus.RUNNING
    job.save(update_fields=["status", "updated_at"])

    def progress(phase, done, total):
        write_progress(job, phase, done, total)
        if on_progress is not None:
            on_progress(phase, done, total)

    with translation.override(job.language):
        try:
            table, imp = _importer(job, actor, progress)
            preview = imp.commit(dry_run=dry_run)
        except CommitFailed as exc:
            job.status = JobStatus.FAILED
            job.errors = [exc.problem.as_dict()]
            job.error_rows = 1
            reason = problem_text(exc.problem.reason)
            if exc.problem.line:
                job.message = texts.Text("imports.job.failed_line", line=exc.problem.line, reason=reason)
            else:
                job.message = texts.Text("imports.job.failed", reason=reason)
            job.finished_at = timezone.now()
            job.save()
            return job
        except DomainError as exc:
            _file_error(job, exc)
            return job
        if not preview.ok:
            _store(job, preview, table, status=JobStatus.INVALID)
            return job
        status = JobStatus.READY if dry_run else JobStatus.DONE
        _store(job, preview, table, status=status)
        job.processed_rows = preview.total_rows
        job.finished_at = None if dry_run else timezone.now()
        job.save(update_fields=["processed_rows", "finished_at", "updated_at"])
    if not dry_run:
        _refresh_planner_statistics(job)
        audit.record(actor=actor, verb="imports.job.committed", target=job, company_id=job.company_id,
                     summary=f"{job.kind} {job.file_name}"[:300],
                     data={"created": job.created_count, "updated": job.updated_count,
                           "unchanged": job.unchanged_count, "rows": job.total_rows})
    progress_path(job).unlink(missing_ok=True)
    return job


def set_options(*, job: ImportJob, actor, terms: dict[str, str] | None = None, due_dates: str | None = None,
                date_order: str | None = None, create_customers: bool | None = None) -> ImportJob:
    """Record the user's decisions for this file and check it again.

    ``terms``: {spelling as in the file: "create" or the code of existing terms} — "" leaves it undecided;
    ``due_dates``: "file" (keep the file's due dates) or "terms" (derive the schedule from the terms);
    ``date_order``: how year-last dates such as 1/2/2013 read — "mdy", "dmy", or "" (as the file shows);
    ``create_customers``: create the customers the file names and the company does not have (history and
    documents).
    """
    _require(actor, job.kind)
    if job.is_active or job.status == JobStatus.DONE:
        raise FileRejected(_("This import has already run."))
    options = dict(job.options or {})
    if terms is not None:
        decided = dict(options.get("terms") or {})
        for text, choice in terms.items():
            key = choice_key(text)
            if choice:
                decided[key] = choice
            else:
                decided.pop(key, None)
        options["terms"] = decided
    if due_dates is not None:
        if due_dates not in ("file", "terms"):
            raise FileRejected(_("Choose the file's due dates or the terms' schedule."))
        options["due_dates"] = due_dates
    if date_order is not None:
        if date_order not in ("", *datetext.ORDERS):
            raise FileRejected(_("Choose month first, day first, or as the file shows."))
        if date_order:
            options["date_order"] = date_order
        else:
            options.pop("date_order", None)
    if create_customers is not None:
        if create_customers:
            options["create_customers"] = True
        else:
            options.pop("create_customers", None)
    job.options = options
    job.save(update_fields=["options", "updated_at"])
    return preview_job(job=job, actor=actor)


def enqueue_commit(*, job: ImportJob, actor) -> ImportJob:
    """Queue the commit as a background task (django-tasks-db worker started by `huikuan serve`)."""
    from .tasks import commit_import

    _require(actor, job.kind)
    if job.status != JobStatus.READY:
        raise FileRejected(_("Only a file whose preview found no problems can be imported."))
    updated = ImportJob.objects.filter(pk=job.pk, status=JobStatus.READY).update(status=JobStatus.QUEUED)
    if not updated:  # a second click: the first already queued it
        raise FileRejected(_("This import is already running."))
    job.status = JobStatus.QUEUED
    write_progress(job, "queued", 0, job.total_rows)
    transaction.on_commit(lambda: commit_import.enqueue(job.pk))
    return job


__all__ = ["PRESETS", "build_mapping", "commit_job", "create_job", "enqueue_commit", "live_progress", "preview_job",
           "save_profile", "set_options"]
