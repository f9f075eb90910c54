"""Large exports written by the worker, followed on a page with a progress bar and downloaded when ready.

An XLSX of a few thousand rows is written in the request. One of a huge list (the forecast's first week holds
~850,000 items; its export is capped at 200,000 rows) takes seconds of CPU, far too long for a request, so a list
offers the same "Export XLSX" button and ``export_or_queue`` — the one entry point for a list — decides: at most
``EXPORT_NOW_ROWS`` rows answer the file at once; more queue an ``ExportJob`` and send the user to its page.

A list makes its export once, as an *exporter* registered under a name (``register_exporter`` in its
``AppConfig.ready()``, so this module never imports a higher layer): ``exporter(company_id=…, user=…,
params=…) -> Export``, reading the rows as ``user`` sees them from the list's query (filters and sort, the GET
parameters). The request and the worker call the same exporter, so the file is the list either way.

The worker's task (``run_export_task``) claims the job with one conditional UPDATE (queued → running), writes
the workbook in the requester's language to ``DATA_DIR/exports`` (a ``.part`` file renamed when complete),
counting rows as they stream to the writer (``done`` of ``total``, stored every ``PROGRESS_EVERY`` rows: the
page's progress bar and the job's heartbeat), and records done (file, size) or failed (the reason as a text
code). Only the requester sees the job or its file (anyone else: 404). Files are deleted ``EXPORT_KEEP_DAYS``
after they were written (``expire_exports``, a daily job); an expired job's download is a 404. Queued, written
and downloaded are audit events.

The streamed workbook has the exporter's totals as a last plain row (``Export.totals``, computed after the rows:
the writer's constant-memory mode cannot bold a row, see ``export.build_xlsx``); written in the request (few
rows) it is the usual bold totals row.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.shortcuts import redirect
from django.tasks import task
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy

from . import audit, texts
from .errors import DomainError
from .export import xlsx_response
from .http import company_of
from .models import ACTIVE_EXPORT, ExportJob, ExportJobStatus

EXPORT_NOW_ROWS = 10_000  # a list of at most this many rows is exported in the request
PROGRESS_EVERY = 5_000  # rows between two progress writes (each also the job's heartbeat)
# the most rows a list's file holds (the first ones in the list's order): a sheet takes 1,048,576 rows, and the
# documents list at full scale holds ~1.9 M; the file says so when it stops there (the job's page)
EXPORT_MAX_ROWS = 200_000

texts.register(
    {
        "common.export.stale": gettext_lazy(
            "The worker stopped answering while this file was written (it was stopped or its machine restarted). "
            "Export the list again."
        ),
        "common.export.crashed": gettext_lazy("The export stopped with an unexpected error. Export the list again."),
        "common.export.unknown": gettext_lazy("This kind of export no longer exists."),
    }
)
audit.register_verb_labels(
    {
        "export.queued": gettext_lazy("Export requested"),
        "export.written": gettext_lazy("Export written"),
        "export.downloaded": gettext_lazy("Export downloaded"),
    }
)


# an exporter's refusal when the requester may not see the list any more (scope, permission or membership lost);
# lazy, so the failed job shows it in the reader's language (stored as its msgid, ``texts.from_error``)
SCOPE_LOST = gettext_lazy("You may no longer see this list.")


class ExportUnavailable(DomainError):
    """The list an export was asked of is not there (any more) for its requester."""

    code = "export_unavailable"
    status = 404


@dataclass(frozen=True)
class Export:
    """What an exporter gives: the file's name, sheet title and columns (``(header, kind)`` as
    ``export.build_xlsx`` takes them), the rows (an iterable read once, lazily), optionally ``totals`` — a
    callable returning the totals row, called after every row was read (e.g. a running sum kept by the rows'
    generator) — and ``count`` — a callable returning how many rows there will be (the worker's progress bar;
    not called for an export written in the request)."""

    filename: str
    sheet_title: str
    columns: Sequence[tuple[str, str]]
    rows: Iterable[Sequence]
    totals: Callable[[], Sequence] | None = None
    count: Callable[[], int] | None = None


Exporter = Callable[..., Export]
EXPORTERS: dict[str, Exporter] = {}


def register_exporter(kind: str, exporter: Exporter | str) -> None:
    """Register a list's exporter under ``kind`` (``<app>.<list>``); ``exporter(company_id=…, user=…,
    params=…)`` raises ``ExportUnavailable`` (or another ``DomainError``) when the list is not there for the
    user. ``exporter`` may be a dotted path ``"package.module:function"``, imported when first called (a view
    module is not read while the apps load)."""
    if isinstance(exporter, str):
        exporter = _lazy(exporter)
    EXPORTERS[kind] = exporter


def _lazy(path: str) -> Exporter:
    import importlib

    module, _sep, name = path.partition(":")

    def exporter(**kwargs) -> Export:
        return getattr(importlib.import_module(module), name)(**kwargs)

    exporter.__qualname__ = path
    return exporter


def capped_count(qs) -> int:
    """How many rows the queryset ``qs`` holds, counted up to ``EXPORT_NOW_ROWS + 1`` (all ``export_or_queue``
    needs to decide): one ``SELECT COUNT(*)`` over the unordered, limited rows."""
    return qs.order_by()[: EXPORT_NOW_ROWS + 1].count()


def _params(params) -> dict[str, str]:
    # a list's query as plain strings (a QueryDict keeps the last value of each key, as the list reads it); the
    # format (``export`` on the collections lists) and page say how the request was asked, not which rows
    return {str(k): str(params.get(k)) for k in params if k not in ("format", "export", "page")}


def export_or_queue(request, *, kind: str, params, rows: int, title: str, spec: Export | None = None):
    """The list's "Export XLSX": the file at once when ``rows`` (the caller's count of the list, which may stop
    counting past ``EXPORT_NOW_ROWS``) is at most ``EXPORT_NOW_ROWS``; else a job queued for the worker (or the
    same one still queued or running for this user) and a redirect to its page. ``title`` names the list on the
    job's page (in the requester's language). ``spec``: the small file's export when the caller already read its
    rows to count them (else the exporter is called)."""
    company_id = company_of(request).pk
    if rows <= EXPORT_NOW_ROWS:
        if spec is None:
            spec = EXPORTERS[kind](company_id=company_id, user=request.user, params=_params(params))
        data = list(spec.rows)
        return xlsx_response(filename=spec.filename, sheet_title=spec.sheet_title, columns=spec.columns, rows=data,
                             totals=spec.totals() if spec.totals is not None else None)
    job, _created = queue_export(kind=kind, params=params, user=request.user, company_id=company_id, title=title,
                                 language=translation.get_language() or settings.LANGUAGE_CODE,
                                 url=request.get_full_path())
    return redirect(reverse("web:export-job", args=[job.pk]))


@transaction.atomic(durable=True)
def queue_export(*, kind: str, params, user, company_id: int, title: str, language: str,
                 url: str = "") -> tuple[ExportJob, bool]:
    """Ask the worker to write the export ``kind`` of the list ``params`` for ``user`` (``url``: the request that
    asked, offered as "Export again" when the file expired or the worker failed it). Returns ``(job, True)``
    for a new job (its task is enqueued when this transaction commits), or ``(job, False)`` for the same export
    of this user still queued or running (a second click waits for the first; a stale one is marked failed and
    replaced). Locks the user's row (one user's requests one at a time); one audit event for a new job."""
    if kind not in EXPORTERS:
        raise ExportUnavailable(gettext_lazy("This kind of export no longer exists."))
    get_user_model().objects.select_for_update().filter(pk=user.pk).first()
    params = _params(params)
    now = timezone.now()
    for current in ExportJob.objects.filter(created_by=user, company_id=company_id, kind=kind,
                                            status__in=ACTIVE_EXPORT):
        if current.params != params:
            continue
        if not current.is_stale(now):
            return current, False
        ExportJob.objects.filter(pk=current.pk, status=current.status).update(
            status=ExportJobStatus.FAILED, finished_at=now, error=texts.Text("common.export.stale"))
    job = ExportJob.objects.create(company_id=company_id, created_by=user, kind=kind, params=params,
                                   language=language[:10], title=str(title)[:200],
                                   url=url if len(url) <= 2000 else "")
    audit.record(actor=user, verb="export.queued", target=job, company_id=company_id, summary=kind,
                 data={"kind": kind, "params": params, "job": job.pk})
    transaction.on_commit(lambda: run_export_task.enqueue(job.pk))
    return job, True


def export_dir() -> Path:
    return Path(settings.DATA_DIR) / "exports"


def export_file(job: ExportJob) -> Path | None:
    """The job's file, when it is written, not expired and still on disk."""
    if job.status != ExportJobStatus.DONE or not job.path or is_expired(job, timezone.now()):
        return None
    path = export_dir() / job.path
    return path if path.is_file() else None


def keep_for():
    import datetime as dt

    return dt.timedelta(days=settings.EXPORT_KEEP_DAYS)


def is_expired(job: ExportJob, now) -> bool:
    return job.status == ExportJobStatus.EXPIRED or (
        job.finished_at is not None and job.status == ExportJobStatus.DONE and now - job.finished_at >= keep_for())


def _progress(job_id: int, done: int) -> None:
    ExportJob.objects.filter(pk=job_id, status=ExportJobStatus.RUNNING).update(done=done, heartbeat_at=timezone.now())


def _write(job: ExportJob) -> None:
    from .export import build_xlsx

    exporter = EXPORTERS.get(job.kind)
    if exporter is None:
        raise ExportUnavailable(gettext_lazy("This kind of export no longer exists."))
    user = job.created_by
    member = user.companies.filter(pk=job.company_id).exists() or (user.is_superuser and not user.companies.exists())
    if not user.is_active or not member:  # (a superuser of no company works in every one, as the middleware has it)
        # the requester left the company (or was deactivated) since: nothing of it is theirs to read any more
        raise ExportUnavailable(SCOPE_LOST)
    spec = exporter(company_id=job.company_id, user=job.created_by, params=job.params)
    if spec.count is not None:
        ExportJob.objects.filter(pk=job.pk).update(total=spec.count(), heartbeat_at=timezone.now())
    written = 0

    def rows():
        nonlocal written
        for row in spec.rows:
            yield row
            written += 1
            if written % PROGRESS_EVERY == 0:
                _progress(job.pk, written)
        _progress(job.pk, written)
        if spec.totals is not None:
            yield spec.totals()

    directory = export_dir()
    directory.mkdir(parents=True, exist_ok=True)
    name = f"{uuid.uuid4().hex}.xlsx"
    part = directory / f"{name}.part"
    try:
        with open(part, "wb") as fileobj:
            build_xlsx(sheet_title=spec.sheet_title, columns=spec.columns, rows=rows(), fileobj=fileobj)
        os.replace(part, directory / name)
    except BaseException:
        part.unlink(missing_ok=True)
        raise
    size = (directory / name).stat().st_size
    now = timezone.now()
    finished = ExportJob.objects.filter(pk=job.pk, status=ExportJobStatus.RUNNING).update(
        status=ExportJobStatus.DONE, done=written, total=written, path=name, size=size,
        filename=spec.filename if spec.filename.lower().endswith(".xlsx") else f"{spec.filename}.xlsx",
        finished_at=now, heartbeat_at=now)
    if not finished:  # replaced as stale meanwhile: its file is not anyone's
        (directory / name).unlink(missing_ok=True)
        return
    audit.record(actor=job.created_by, verb="export.written", target=job, company_id=job.company_id,
                 summary=f"{job.kind} {written}", data={"kind": job.kind, "rows": written, "size": size})


def run_export_job(job_id: int) -> ExportJob:
    """Claim a queued job (one conditional UPDATE: two workers never both take it) and write its file, in the
    requester's language. A job already taken, done or failed is left alone; a refusal (``DomainError``) or a
    crash marks the job failed with the reason (a crash is raised again, for the worker's log)."""
    now = timezone.now()
    claimed = ExportJob.objects.filter(pk=job_id, status=ExportJobStatus.QUEUED).update(
        status=ExportJobStatus.RUNNING, started_at=now, heartbeat_at=now)
    job = ExportJob.objects.select_related("created_by").get(pk=job_id)
    if not claimed:
        return job

    def fail(error) -> None:
        ExportJob.objects.filter(pk=job.pk, status=ExportJobStatus.RUNNING).update(
            status=ExportJobStatus.FAILED, error=error, finished_at=timezone.now())

    try:
        with translation.override(job.language):
            _write(job)
    except DomainError as exc:
        fail(texts.from_error(exc))
    except Exception:
        fail(texts.Text("common.export.crashed"))
        raise
    job.refresh_from_db()
    return job


@task()
def run_export_task(job_id: int) -> dict:
    """The worker's side of ``queue_export``."""
    job = run_export_job(job_id)
    return {"status": job.status, "rows": job.done, "size": job.size}


def record_download(job: ExportJob, *, user) -> None:
    audit.record(actor=user, verb="export.downloaded", target=job, company_id=job.company_id, summary=job.kind,
                 data={"kind": job.kind, "rows": job.done})


def expire_exports(*, now=None) -> int:
    """Delete the files written more than ``EXPORT_KEEP_DAYS`` ago (their jobs become expired), and the files of
    the exports directory no job points to any more (a ``.part`` left by a killed worker, after a day). Returns
    how many files were deleted."""
    import datetime as dt

    now = now or timezone.now()
    deleted = 0
    directory = export_dir()
    old = ExportJob.objects.filter(status=ExportJobStatus.DONE, finished_at__lte=now - keep_for())
    for pk, path in old.values_list("pk", "path"):
        if path and (directory / path).is_file():
            (directory / path).unlink()
            deleted += 1
        ExportJob.objects.filter(pk=pk, status=ExportJobStatus.DONE).update(status=ExportJobStatus.EXPIRED, path="")
    if directory.is_dir():
        kept = set(ExportJob.objects.filter(status=ExportJobStatus.DONE).exclude(path="").values_list("path", flat=True))
        for entry in directory.iterdir():
            if entry.name in kept or not entry.is_file():
                continue
            written_at = dt.datetime.fromtimestamp(entry.stat().st_mtime, tz=dt.UTC)
            if now - written_at >= dt.timedelta(days=1):
                entry.unlink()
                deleted += 1
    return deleted


__all__ = ["EXPORT_MAX_ROWS", "EXPORT_NOW_ROWS", "Export", "ExportUnavailable", "capped_count", "export_file", "export_or_queue", "expire_exports",
           "is_expired", "queue_export", "record_download", "register_exporter", "run_export_job",
           "run_export_task"]
