"""Large exports written by the worker (``common.export_jobs``): the job's page (a progress bar polled by htmx,
then the download link), the user's own exports, and the download. Only the requester sees a job or its file:
anyone else, an unknown id, or a file expired or not written is a 404."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404, render
from django.utils import timezone

from huikuan.common import export_jobs
from huikuan.common.export import XLSX_CONTENT_TYPE
from huikuan.common.http import company_of
from huikuan.common.models import ExportJob, ExportJobStatus


def _mine(request):
    return ExportJob.objects.filter(created_by=request.user, company_id=company_of(request).pk)


def _view(job: ExportJob, now) -> dict:
    stale = job.is_stale(now)
    expired = export_jobs.is_expired(job, now)
    # what the clerk reads: a job whose worker went silent has stopped, whatever its row still says
    state = "expired" if expired else "stale" if stale else job.status
    return {"job": job, "stale": stale, "expired": expired, "state": state,
            "ready": job.status == ExportJobStatus.DONE and not expired,
            # a file that stopped at the most rows a list's file holds (the list may hold more)
            "capped": job.status == ExportJobStatus.DONE and job.done >= export_jobs.EXPORT_MAX_ROWS,
            "polling": job.is_active and not stale,
            "again": job.url if job.url and (expired or stale or job.may_retry) else "",
            "expires_at": (job.finished_at + export_jobs.keep_for() if job.finished_at else None)}


@login_required
def export_job(request, pk: int):
    """Where the export stands: polled every second while queued or running (the partial), then the link."""
    job = get_object_or_404(_mine(request), pk=pk)
    ctx = {"nav": "exports", **_view(job, timezone.now())}
    if request.htmx:
        return render(request, "web/export_job.html#progress", ctx)
    return render(request, "web/export_job.html", ctx)


@login_required
def export_list(request):
    """The user's exports of the last ``EXPORT_KEEP_DAYS`` days (newest first), to find one again; polled every
    two seconds (the table) while one is queued or running."""
    now = timezone.now()
    jobs = _mine(request).filter(created_at__gte=now - export_jobs.keep_for())[:100]
    rows = [_view(j, now) for j in jobs]
    ctx = {"nav": "exports", "rows": rows, "now_rows": export_jobs.EXPORT_NOW_ROWS,
           "polling": any(r["polling"] for r in rows), "keep_days": export_jobs.keep_for().days}
    if request.htmx:
        return render(request, "web/exports.html#table", ctx)
    return render(request, "web/exports.html", ctx)


@login_required
def export_download(request, pk: int):
    job = get_object_or_404(_mine(request), pk=pk)
    path = export_jobs.export_file(job)
    if path is None:
        raise Http404
    export_jobs.record_download(job, user=request.user)
    return FileResponse(open(path, "rb"), as_attachment=True, filename=job.filename,  # noqa: SIM115 (closed by the response)
                        content_type=XLSX_CONTENT_TYPE)
