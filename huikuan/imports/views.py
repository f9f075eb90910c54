"""Import screens: upload → column mapping → preview (every bad row) → commit in the background."""

from __future__ import annotations

from django import forms
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from huikuan.common import datetext, texts
from huikuan.common.errors import DomainError
from huikuan.common.export import xlsx_response
from huikuan.common.listing import Sorting, date_range
from huikuan.customers.models import PaymentTerm

from . import services
from .kinds import KINDS, PRESETS
from .models import ImportJob, ImportKind, JobStatus, MappingProfile
from .parsing import normalise
from .spreadsheets import error_report_response, template_response

PREVIEW_LIMIT = 500


def _kinds_for(user):
    return [(code, label) for code, label in ImportKind.choices if user.can(KINDS[code].perm)]


class UploadForm(forms.Form):
    kind = forms.ChoiceField(label=gettext_lazy("What to import"))
    file = forms.FileField(label=gettext_lazy("File (CSV, XLSX or XLS)"))
    preset = forms.ChoiceField(label=gettext_lazy("Exported from"), required=False)
    profile = forms.CharField(label=gettext_lazy("Saved mapping"), required=False, max_length=60)

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["kind"].choices = _kinds_for(user)
        self.fields["preset"].choices = [("", _("Other / our template"))] + [(k, v["label"]) for k, v in PRESETS.items()]


def _jobs(request):
    """Import history the user may see: everything of the company for ledger clerks, else their own."""
    if request.company is None:
        raise Http404
    qs = ImportJob.objects.filter(company=request.company).select_related("created_by")
    if not request.user.can("ledger.post"):
        qs = qs.filter(created_by=request.user)
    return qs


def _job(request, pk) -> ImportJob:
    job = get_object_or_404(_jobs(request), pk=pk)
    if not request.user.can(KINDS[job.kind].perm):
        raise Http404
    return job


JOB_SORTS = Sorting({"date": "created_at", "kind": "kind", "file": "file_name", "status": "status", "rows": "total_rows",
                     "bad": "error_rows", "created": "created_count", "updated": "updated_count",
                     "by": "created_by__username"}, default="-date")


def _listed_jobs(request):
    """The history as filtered (uploaded between ``date_from`` and ``date_to``) and sorted on the page."""
    jobs = _jobs(request).defer("errors", "bad_rows", "headers", "mapping")
    return JOB_SORTS.apply(date_range(jobs, "created_at__date", request.GET), request.GET)


def _index_context(request, form):
    jobs = _listed_jobs(request)
    page = Paginator(jobs, 50).get_page(request.GET.get("page"))
    profiles = MappingProfile.objects.filter(company=request.company).order_by("kind", "name")
    return {"nav": "imports", "form": form, "page": page, "kinds": _kinds_for(request.user), "profiles": profiles,
            **JOB_SORTS.context(request.GET)}


@login_required
def index(request):
    if not _kinds_for(request.user):
        raise Http404
    form = UploadForm(user=request.user)
    return render(request, "imports/index.html", _index_context(request, form))


@login_required
def export_jobs(request):
    jobs = _listed_jobs(request)
    columns = [(_("Date"), "date"), (_("Kind"), "text"), (_("File"), "text"), (_("Status"), "text"),
               (_("Rows"), "int"), (_("Bad rows"), "int"), (_("Created"), "int"), (_("Updated"), "int"),
               (_("Unchanged"), "int"), (_("By"), "text")]
    rows = ([j.created_at, j.get_kind_display(), j.file_name, j.get_status_display(), j.total_rows, j.error_rows,
             j.created_count, j.updated_count, j.unchanged_count, str(j.created_by or "")] for j in jobs.iterator())
    return xlsx_response(filename="imports", sheet_title=_("Imports"), columns=columns, rows=rows)


@login_required
@require_POST
def upload(request):
    if request.company is None or not _kinds_for(request.user):
        raise Http404
    form = UploadForm(request.POST, request.FILES, user=request.user)
    if form.is_valid():
        f = form.cleaned_data["file"]
        try:
            job = services.create_job(
                company=request.company, actor=request.user, kind=form.cleaned_data["kind"], file_name=f.name,
                chunks=f.chunks(), size=f.size, profile_name=form.cleaned_data["profile"],
                preset=form.cleaned_data["preset"],
            )
        except DomainError as exc:
            form.add_error("file" if exc.field is None else None, str(exc))
        else:
            return redirect("imports:job", pk=job.pk)
    return render(request, "imports/index.html", _index_context(request, form), status=422)


def _shown(problems: list[dict]) -> list[dict]:
    """Stored problems with the reason rendered in the reader's language (stored as msgid + params)."""
    return [{**p, "reason": texts.render(p.get("reason"))} for p in problems]


def _detail_context(request, job, **extra):
    kind = KINDS[job.kind]
    fields = [{"field": f, "header": job.mapping.get(f.name, "")} for f in kind.fields]
    profiles = MappingProfile.objects.filter(company=job.company, kind=job.kind).order_by("name")
    field_of = {header: kind.field(name) for name, header in job.mapping.items()}
    samples = [{"header": h, "values": job.samples.get(h, []), "field": field_of.get(h)} for h in job.headers if h]
    terms = PaymentTerm.objects.filter(company=job.company, active=True).order_by("code") if job.unknown_terms else []
    dates = (job.findings or {}).get("dates") or {}
    return {
        "nav": "imports", "job": job, "kind": kind, "fields": fields, "profiles": profiles, "samples": samples,
        "dates": dates, "dates_matter": bool(dates) or _year_last_samples(job, kind),
        "can_create_customers": kind.creates_customers and request.user.can("customer.edit"),
        "new_customers": (job.findings or {}).get("new_customers") or 0,
        "terms": terms, "warnings": _shown(job.warnings[:PREVIEW_LIMIT]), "more_warnings": max(0, len(job.warnings) - PREVIEW_LIMIT),
        "errors": _shown(job.errors[:PREVIEW_LIMIT]), "more_errors": max(0, len(job.errors) - PREVIEW_LIMIT),
        "progress": services.live_progress(job), **extra,
    }


def _year_last_samples(job, kind) -> bool:
    """Whether a mapped date column's sample values are written year last (1/26/2013): then the mapping
    step offers the date order."""
    for name, header in job.mapping.items():
        try:
            is_date = kind.field(name).type == "date"
        except KeyError:
            continue
        if is_date and any(datetext.year_last_parts(normalise(v)) for v in job.samples.get(header, [])):
            return True
    return False


@login_required
def job_detail(request, pk):
    job = _job(request, pk)
    if request.method == "POST":
        if job.is_active or job.status == JobStatus.DONE:
            return redirect("imports:job", pk=job.pk)
        if request.POST.get("decide_terms") or request.POST.get("due_dates"):
            terms = dict(zip(request.POST.getlist("term_text"), request.POST.getlist("term_choice"), strict=False))
            try:
                services.set_options(job=job, actor=request.user, terms=terms or None,
                                     due_dates=request.POST.get("due_dates") or None)
            except DomainError as exc:
                return render(request, "imports/job.html", _detail_context(request, job, form_error=str(exc)),
                              status=422)
            status = 200 if job.status == JobStatus.READY else 422
            return render(request, "imports/job.html", _detail_context(request, job), status=status)
        if request.POST.get("load_profile"):
            profile = MappingProfile.objects.filter(company=job.company, kind=job.kind,
                                                    name=request.POST["load_profile"]).first()
            if profile is None:
                raise Http404
            job.mapping = {k: v for k, v in profile.mapping.items() if v in job.headers}
            job.profile_name = profile.name
            job.save(update_fields=["mapping", "profile_name", "updated_at"])
            return redirect("imports:job", pk=job.pk)
        mapping = {}
        for f in KINDS[job.kind].fields:
            header = request.POST.get(f"map_{f.name}", "")
            if header and header in job.headers:
                mapping[f.name] = header
        job.mapping = mapping
        job.save(update_fields=["mapping", "updated_at"])
        name = request.POST.get("profile_name", "").strip()
        if name:
            try:
                services.save_profile(company=job.company, actor=request.user, kind=job.kind, name=name,
                                      mapping=mapping)
                job.profile_name = name
                job.save(update_fields=["profile_name"])
            except DomainError as exc:
                return render(request, "imports/job.html", _detail_context(request, job, form_error=str(exc)),
                              status=422)
        create = bool(request.POST.get("create_customers")) if KINDS[job.kind].creates_customers else None
        try:
            services.set_options(job=job, actor=request.user, date_order=request.POST.get("date_order"),
                                 create_customers=create)
        except DomainError as exc:
            return render(request, "imports/job.html", _detail_context(request, job, form_error=str(exc)), status=422)
        status = 200 if job.status == JobStatus.READY else 422
        return render(request, "imports/job.html", _detail_context(request, job), status=status)
    return render(request, "imports/job.html", _detail_context(request, job))


@login_required
@require_POST
def commit(request, pk):
    job = _job(request, pk)
    try:
        services.enqueue_commit(job=job, actor=request.user)
    except DomainError as exc:
        return render(request, "imports/job.html", _detail_context(request, job, form_error=str(exc)), status=422)
    return redirect("imports:job", pk=job.pk)


@login_required
def progress(request, pk):
    job = _job(request, pk)
    response = render(request, "imports/job.html#progress", _detail_context(request, job))
    if not job.is_active and request.htmx:
        # finished: reload the page so the result and the history show
        response["HX-Redirect"] = reverse("imports:job", args=[job.pk])
    return response


@login_required
def errors_xlsx(request, pk):
    job = _job(request, pk)
    return error_report_response(job)


@login_required
def template_xlsx(request, kind):
    if kind not in KINDS or not request.user.can(KINDS[kind].perm):
        raise Http404
    return template_response(kind)



