"""Dunning screens: runs, policies, templates with live preview, notices/outbox, customer pauses, settings."""

from __future__ import annotations

import datetime as dt

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Count, F, Q
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from huikuan.accounts.scoping import owner_q, sees_all
from huikuan.common import clock
from huikuan.common.errors import DomainError
from huikuan.common.export import xlsx_response
from huikuan.common.http import company_of, parse_date, parse_int
from huikuan.common.listing import Sorting, date_range
from huikuan.customers.models import Customer
from huikuan.ledger.selectors import get_customer

from . import context as ctxmod
from . import services
from .models import (
    Action,
    Channel,
    CustomerDunning,
    Delivery,
    DeliveryStatus,
    DunningPolicy,
    DunningRun,
    DunningTemplate,
    GradePolicy,
    Notice,
    SentCopy,
    Tone,
)
from .render import PLACEHOLDERS, TemplateInvalid

PAGE = 50


def _need(request, perm: str) -> None:
    if not request.user.can(perm):
        raise PermissionDenied


def _back(request, default: str):
    nxt = request.POST.get("next") or request.GET.get("next")
    if nxt and url_has_allowed_host_and_scheme(nxt, allowed_hosts={request.get_host()}):
        return redirect(nxt)
    return redirect(default)


def _page(request, qs):
    return Paginator(qs, PAGE).get_page(request.GET.get("page"))


RUN_SORTS = Sorting({"run": "pk", "as_of": "as_of", "trigger": "trigger", "status": "status", "notices": "shown_notices",
                     "items": "shown_items", "started": "started_at"}, default="-started")
NOTICE_SORTS = Sorting({"number": "number", "date": "cycle", "customer": "customer__name", "step": "offset_days",
                        "tone": "tone", "amount": "total"}, default="-date")
PROPOSAL_SORTS = Sorting({"customer": "notice__customer__name", "notice": "notice__number", "step": "notice__offset_days",
                          "amount": "notice__total", "action": "channel", "date": "notice__cycle"}, default="customer")
DELIVERY_SORTS = Sorting({"notice": "notice__number", "channel": "channel", "address": "address", "status": "status",
                          "attempts": "attempts", "next": "next_attempt_at", "reason": "last_error"}, default="-notice")
TEMPLATE_SORTS = Sorting({"key": ("key", "channel", "language"), "channel": "channel", "language": "language",
                          "subject": "subject", "updated": "updated_at"}, default="key")
CUSTOMER_SORTS = Sorting({"customer": "customer__code", "paused": "paused_until", "reason": "pause_reason",
                          "policy": "policy__name"}, default="customer")


# ---------------------------------------------------------------- runs


@login_required
def index(request):
    """Run history (counts by step/channel, dry runs) and the on-demand buttons."""
    company = company_of(request)
    everything = sees_all(request.user)
    qs = DunningRun.objects.filter(company=company)
    if everything:
        qs = qs.annotate(shown_notices=F("notices"), shown_items=F("items"))
    else:  # a salesperson's figures are their own customers' notices, counted in SQL, never the run's totals
        mine = owner_q(request.user, "notice_set__customer__owner")
        qs = qs.annotate(shown_notices=Count("notice_set", filter=mine, distinct=True),
                         shown_items=Count("notice_set__items", filter=mine))
    qs = RUN_SORTS.apply(date_range(qs, "as_of", request.GET), request.GET)
    if request.GET.get("export") == "xlsx":
        return xlsx_response(
            filename="dunning-runs", sheet_title=_("Dunning runs"),
            columns=[(_("Run"), "int"), (_("As of"), "date"), (_("Dry run"), "text"), (_("Trigger"), "text"),
                     (_("Status"), "text"), (_("Notices"), "int"), (_("Items"), "int"), (_("Counts"), "text")],
            rows=([r.pk, r.as_of, _("yes") if r.dry_run else "", r.trigger, r.get_status_display(), r.shown_notices,
                   r.shown_items, ", ".join(f"{k}={v}" for k, v in sorted(r.counts.items())) if everything else ""]
                  for r in qs[:100000]))
    page = _page(request, qs)
    outbox = {s: n for s, n in _status_counts(company, None if everything else request.user)}
    return render(request, "dunning/index.html", {"nav": "dunning", "page": page, "today": clock.today(company),
                                                  **RUN_SORTS.context(request.GET),
                                                  "outbox": outbox, "statuses": DeliveryStatus.choices})


def _status_counts(company, user=None):
    qs = Delivery.objects.filter(company=company)
    if user is not None:
        qs = qs.filter(owner_q(user, "notice__customer__owner"))
    return qs.values_list("status").annotate(n=Count("pk"))


@login_required
@require_POST
def run_now(request):
    _need(request, "dunning.run")
    company = company_of(request)
    as_of = parse_date(request.POST.get("as_of"), clock.today(company))
    dry = request.POST.get("dry_run") == "1"
    try:
        services.check_as_of(as_of=as_of, today=clock.today(company), dry_run=dry)
        run = services.run_dunning(company=company, as_of=as_of, dry_run=dry, actor=request.user, trigger="button")
    except DomainError as exc:
        messages.error(request, str(exc))
        return redirect("dunning:index")
    messages.success(request, _("Run %(n)s: %(notices)s notices, %(items)s items.") % {"n": run.pk, "notices": run.notices,
                                                                                       "items": run.items})
    return redirect("dunning:run", run.pk)


@login_required
def run_detail(request, pk: int):
    company = company_of(request)
    run = DunningRun.objects.filter(company=company, pk=pk).first()
    if run is None:
        raise Http404
    labels = {**dict(Channel.choices), **dict(Action.choices)}
    notices = (Notice.objects.filter(run=run).filter(owner_q(request.user, "customer__owner")).select_related("customer")
               .order_by("customer__code", "offset_days"))
    if sees_all(request.user):
        figures = {"notices": run.notices, "items": run.items, "skipped": run.counts.get("skipped", 0), "preview": run.preview}
        steps = sorted(((k[5:], v) for k, v in run.counts.items() if k.startswith("step:")), key=lambda kv: int(kv[0]))
        chans = sorted((k[8:], v) for k, v in run.counts.items() if k.startswith("channel:"))
    else:
        figures, steps, chans = _scoped_run_figures(request.user, run)
    return render(request, "dunning/run.html", {"nav": "dunning", "run": run, "steps": steps, "figures": figures,
                                                "channels": [(labels.get(c, c), n) for c, n in chans],
                                                "notices": notices[:200], "scoped": not sees_all(request.user)})


def _scoped_run_figures(user, run: DunningRun):
    """The run's figures over the user's own customers only, counted in SQL from the notices (a salesperson
    never sees the company-wide totals stored on the run; "skipped" is not kept per customer, so not shown)."""
    mine = Notice.objects.filter(run=run).filter(owner_q(user, "customer__owner"))
    totals = mine.aggregate(notices=Count("pk", distinct=True), items=Count("items"))
    steps = [(str(r["offset_days"]), r["n"]) for r in mine.values("offset_days").annotate(n=Count("pk")).order_by("offset_days")]
    chans = list(Delivery.objects.filter(notice__in=mine).values("channel").annotate(n=Count("pk"))
                 .order_by("channel").values_list("channel", "n"))
    preview = []
    if run.preview:
        allowed = set(Customer.objects.filter(pk__in=[p.get("customer") for p in run.preview])
                      .filter(owner_q(user, "owner")).values_list("pk", flat=True))
        preview = [p for p in run.preview if p.get("customer") in allowed]
    if run.dry_run:  # a dry run stores no notices: its figures are the visible preview rows
        totals = {"notices": len(preview), "items": sum(p.get("items", 0) for p in preview)}
        by_step: dict[int, int] = {}
        by_channel: dict[str, int] = {}
        for p in preview:
            by_step[p.get("step", 0)] = by_step.get(p.get("step", 0), 0) + 1
            for ch in p.get("channels", []):
                by_channel[ch] = by_channel.get(ch, 0) + 1
        steps = [(str(k), v) for k, v in sorted(by_step.items())]
        chans = sorted(by_channel.items())
    return {**totals, "skipped": None, "preview": preview}, steps, chans


@login_required
def run_letters(request, pk: int):
    """All the run's letters for post in one printable PDF."""
    company = company_of(request)
    run = DunningRun.objects.filter(company=company, pk=pk).first()
    if run is None:
        raise Http404
    notices = (Notice.objects.filter(run=run, deliveries__channel=Channel.LETTER).filter(owner_q(request.user, "customer__owner"))
               .select_related("company", "customer__owner", "step").order_by("customer__code")[:500])
    pdfs = [_letter_bytes(n) for n in notices]  # each letter as it was sent (or will be, if not yet sent)
    if not pdfs:
        messages.info(request, _("This run has no letters."))
        return redirect("dunning:run", run.pk)
    resp = HttpResponse(ctxmod.join_pdfs(pdfs), content_type="application/pdf")
    resp["Content-Disposition"] = f'inline; filename="dunning-letters-{run.pk}.pdf"'
    return resp


# ---------------------------------------------------------------- notices / outbox


def _notices(request, company):
    qs = (Notice.objects.filter(company=company).filter(owner_q(request.user, "customer__owner"))
          .select_related("customer").order_by("-cycle", "-pk"))
    g = request.GET
    if g.get("q"):
        q = g["q"].strip()[:60]
        qs = qs.filter(Q(customer__name__icontains=q) | Q(customer__code__icontains=q) | Q(number__icontains=q))
    if parse_int(g.get("customer")):
        qs = qs.filter(customer_id=parse_int(g.get("customer")))
    if g.get("tone") in Tone.values:
        qs = qs.filter(tone=g["tone"])
    return NOTICE_SORTS.apply(date_range(qs, "cycle", g), g)


@login_required
def notices(request):
    company = company_of(request)
    qs = _notices(request, company)
    if request.GET.get("export") == "xlsx":
        return xlsx_response(
            filename="dunning-notices", sheet_title=_("Dunning notices"),
            columns=[(_("Number"), "text"), (_("Date"), "date"), (_("Customer code"), "text"), (_("Customer"), "text"),
                     (_("Step"), "int"), (_("Tone"), "text"), (_("Amount"), "money")],
            rows=([n.number, n.cycle, n.customer.code, n.customer.name, n.offset_days, n.get_tone_display(), n.total]
                  for n in qs[:100000]))
    return render(request, "dunning/notices.html", {"nav": "dunning", "page": _page(request, qs), "tones": Tone.choices,
                                                    "g": request.GET, **NOTICE_SORTS.context(request.GET)})


def _notice(request, pk: int) -> Notice:
    company = company_of(request)
    n = (Notice.objects.filter(company=company, pk=pk).filter(owner_q(request.user, "customer__owner"))
         .select_related("company", "customer__owner", "step").first())
    if n is None:
        raise Http404
    return n


@login_required
def notice_detail(request, pk: int):
    n = _notice(request, pk)
    return render(request, "dunning/notice.html", {"nav": "dunning", "n": n, "items": ctxmod.notice_items(n),
                                                   "deliveries": n.deliveries.all().order_by("pk")})


def _letter_bytes(n: Notice) -> bytes:
    """The notice's letter exactly as it went out (the stored copy of the letter or e-mail delivery);
    a notice not sent yet is rendered from today's template and ledger (what would go out now)."""
    copy = (SentCopy.objects.filter(notice=n, channel__in=(Channel.LETTER, Channel.EMAIL)).exclude(pdf=b"")
            .order_by("-channel").first())  # letter before email
    if copy is not None:
        return bytes(copy.pdf)
    ctx = ctxmod.notice_context(n)
    tpl = ctxmod.template_for(n.company, n.step.template_key, Channel.LETTER, n.language)
    return ctxmod.letter_pdf(ctx, ctxmod.render(tpl, ctx, subject=n.number), language=n.language)


@login_required
def notice_letter(request, pk: int):
    n = _notice(request, pk)
    resp = HttpResponse(_letter_bytes(n), content_type="application/pdf")
    resp["Content-Disposition"] = f'inline; filename="{n.number}.pdf"'
    return resp


@login_required
def proposals(request):
    """Holds and cases that customers' first runs proposed (go-live): approve or reject them."""
    company = company_of(request)
    if request.method == "POST":
        _need(request, "dunning.run")
        ids = [i for i in (parse_int(x) for x in request.POST.getlist("delivery")) if i]
        approve = request.POST.get("decision") == "approve"
        n = services.decide_proposals(company=company, actor=request.user, delivery_ids=ids, approve=approve)
        messages.success(request, (_("%(n)s proposed actions approved; they are applied now.") if approve
                                   else _("%(n)s proposed actions rejected.")) % {"n": n})
        return redirect("dunning:proposals")
    qs = services.proposals(company).filter(owner_q(request.user, "notice__customer__owner"))
    qs = PROPOSAL_SORTS.apply(date_range(qs, "notice__cycle", request.GET), request.GET)
    labels = dict(Action.choices)
    if request.GET.get("export") == "xlsx":
        return xlsx_response(
            filename="dunning-proposals", sheet_title=_("Awaiting approval"),
            columns=[(_("Customer code"), "text"), (_("Customer"), "text"), (_("Notice"), "text"), (_("Date"), "date"),
                     (_("Days after due date"), "int"), (_("Amount"), "money"), (_("Proposed action"), "text")],
            rows=([d.notice.customer.code, d.notice.customer.name, d.notice.number, d.notice.cycle, d.notice.offset_days,
                   d.notice.total, str(labels.get(d.channel, d.channel))] for d in qs[:100000]))
    rows = [(d, labels.get(d.channel, d.channel)) for d in qs[:500]]
    return render(request, "dunning/proposals.html", {"nav": "dunning", "rows": rows, **PROPOSAL_SORTS.context(request.GET),
                                                      "can_decide": request.user.can("dunning.run")})


@login_required
def outbox(request):
    company = company_of(request)
    qs = (Delivery.objects.filter(company=company).filter(owner_q(request.user, "notice__customer__owner"))
          .select_related("notice__customer").order_by("-pk"))
    status = request.GET.get("status", "")
    if status in DeliveryStatus.values:
        qs = qs.filter(status=status)
    qs = DELIVERY_SORTS.apply(date_range(qs, "notice__cycle", request.GET), request.GET)
    if request.GET.get("export") == "xlsx":
        return xlsx_response(
            filename="dunning-outbox", sheet_title=_("Outbox"),
            columns=[(_("Notice"), "text"), (_("Customer"), "text"), (_("Channel"), "text"), (_("Address"), "text"),
                     (_("Status"), "text"), (_("Attempts"), "int"), (_("Reason"), "text"), (_("Sent at"), "text")],
            rows=([d.notice.number, d.notice.customer.name, d.channel_label(), d.address, d.get_status_display(), d.attempts,
                   d.reason(), d.sent_at.isoformat(timespec="seconds") if d.sent_at else ""] for d in qs[:100000]))
    return render(request, "dunning/outbox.html", {"nav": "dunning", "page": _page(request, qs), "status": status,
                                                   **DELIVERY_SORTS.context(request.GET),
                                                   "statuses": DeliveryStatus.choices})


@login_required
@require_POST
def delivery_retry(request, pk: int):
    _need(request, "dunning.run")
    company = company_of(request)
    d = Delivery.objects.filter(company=company, pk=pk).filter(owner_q(request.user, "notice__customer__owner")).first()
    if d is None:
        raise Http404
    try:
        services.retry_delivery(company=company, delivery_id=d.pk, actor=request.user)
        messages.success(request, _("Queued for another attempt."))
    except DomainError as exc:
        messages.error(request, str(exc))
    return _back(request, "dunning:outbox")


@login_required
@require_POST
def send_now(request, pk: int):
    """"Send reminder now" (collections worklist and customer page)."""
    _need(request, "dunning.send")
    company = company_of(request)
    customer = get_customer(user=request.user, company=company, pk=pk)
    try:
        run = services.send_now(company=company, customer_id=customer.pk, actor=request.user, as_of=clock.today(company))
    except DomainError as exc:
        messages.error(request, str(exc))
        return _back(request, "dunning:customers")
    if run.notices:
        messages.success(request, _("Reminder queued for %(name)s.") % {"name": customer.name})
    else:
        last = Notice.objects.filter(customer=customer).order_by("-cycle", "-pk").first()
        messages.info(request, _("Nothing new is due for %(name)s (each step is sent once; last notice: %(last)s).")
                      % {"name": customer.name, "last": f"{last.number} {last.cycle}" if last else "-"})
    return _back(request, "dunning:customers")


# ---------------------------------------------------------------- policies


@login_required
def policies(request):
    company = company_of(request)
    services.ensure_defaults(company)
    qs = DunningPolicy.objects.filter(company=company).prefetch_related("steps", "grades")
    if request.GET.get("export") == "xlsx":
        return xlsx_response(
            filename="dunning-policies", sheet_title=_("Dunning policies"),
            columns=[(_("Policy"), "text"), (_("Default"), "text"), (_("Grades"), "text"), (_("Step"), "int"),
                     (_("Channels"), "text"), (_("Template"), "text"), (_("Tone"), "text"), (_("Action"), "text"),
                     (_("Minimum amount"), "money")],
            rows=([p.name, _("yes") if p.is_default else "", " ".join(g.grade for g in p.grades.all()), s.offset_days,
                   s.channel_labels(), s.template_key, s.get_tone_display(), s.get_action_display(), s.min_amount]
                  for p in qs for s in p.steps.all()))
    return render(request, "dunning/policies.html", {"nav": "dunning", "policies": qs})


def _template_keys(company) -> list[str]:
    return sorted(set(DunningTemplate.objects.filter(company=company).values_list("key", flat=True)))


@login_required
def policy_edit(request, pk: int | None = None):
    company = company_of(request)
    services.ensure_defaults(company)
    policy = None
    if pk is not None:
        policy = DunningPolicy.objects.filter(company=company, pk=pk).first()
        if policy is None:
            raise Http404
    error = None
    if request.method == "POST":
        _need(request, "dunning.policy")
        p = request.POST
        steps = []
        for i in range(12):
            if (p.get(f"s{i}_offset") or "").strip() == "":
                continue
            steps.append({"offset_days": p.get(f"s{i}_offset"), "channels": p.getlist(f"s{i}_channels"),
                          "template_key": p.get(f"s{i}_template"), "tone": p.get(f"s{i}_tone"),
                          "action": p.get(f"s{i}_action"), "min_amount": p.get(f"s{i}_min") or "0"})
        try:
            saved = services.save_policy(company=company, actor=request.user, name=p.get("name", ""), steps=steps,
                                         policy_id=policy.pk if policy else None, is_default=p.get("is_default") == "1",
                                         grades=(p.get("grades") or "").replace(",", " ").split(),
                                         start_date=parse_date(p.get("start_date")))
            messages.success(request, _("Policy saved."))
            return redirect("dunning:policy", saved.pk)
        except DomainError as exc:
            error = str(exc)
    rows = list(policy.steps.all()) if policy else []
    rows += [None] * (max(0, 8 - len(rows)))
    grades = " ".join(GradePolicy.objects.filter(policy=policy).values_list("grade", flat=True)) if policy else ""
    return render(request, "dunning/policy_edit.html", {
        "nav": "dunning", "policy": policy, "rows": list(enumerate(rows)), "grades": grades, "error": error,
        "channels": Channel.choices, "tones": Tone.choices, "actions": Action.choices, "keys": _template_keys(company),
        "can_edit": request.user.can("dunning.policy")}, status=422 if error else 200)


# ---------------------------------------------------------------- templates


@login_required
def templates(request):
    company = company_of(request)
    services.ensure_defaults(company)
    qs = TEMPLATE_SORTS.apply(DunningTemplate.objects.filter(company=company), request.GET)
    if request.GET.get("export") == "xlsx":
        return xlsx_response(
            filename="dunning-templates", sheet_title=_("Dunning templates"),
            columns=[(_("Template"), "text"), (_("Channel"), "text"), (_("Language"), "text"), (_("Subject"), "text"),
                     (_("Body"), "text"), (_("SMS provider template id"), "text")],
            rows=([t.key, t.get_channel_display(), t.get_language_display(), t.subject, t.body, t.provider_template_id]
                  for t in qs))
    return render(request, "dunning/templates.html", {"nav": "dunning", "templates": qs,
                                                      **TEMPLATE_SORTS.context(request.GET)})


def _sample_context(request, company, language: str) -> dict:
    """Preview data: a real customer (in scope) with its open items, or a sample."""
    today = clock.today(company)
    cid = parse_int(request.POST.get("customer") or request.GET.get("customer"))
    customer = None
    if cid:
        customer = Customer.objects.filter(company=company, pk=cid).filter(owner_q(request.user, "owner")).first()
    items = []
    if customer is not None:
        from huikuan.ledger.models import Instalment

        for inst in (Instalment.objects.filter(customer=customer, open_amount__gt=0).select_related("document")
                     .order_by("due_date")[:20]):
            items.append(ctxmod.Item(number=inst.document.number, reference=inst.document.reference,
                                     document_date=inst.document_date, due_date=inst.due_date, amount=inst.open_amount,
                                     days=(today - inst.due_date).days))
    if customer is None:
        from decimal import Decimal

        customer = Customer(company=company, code="C-DEMO", name=_("Sample Trading Co., Ltd."), address="上海市浦东新区示例路 1 号")
        items = [ctxmod.Item(number="INV-2026-000101", reference="HT-01", document_date=today - dt.timedelta(days=45),
                             due_date=today - dt.timedelta(days=15), amount=Decimal("12800.00"), days=15),
                 ctxmod.Item(number="INV-2026-000117", reference="HT-01", document_date=today - dt.timedelta(days=38),
                             due_date=today - dt.timedelta(days=8), amount=Decimal("3650.50"), days=8)]
    ctx = ctxmod.build_context(company=company, customer=customer, items=items, as_of=today,
                               number=f"DN{today:%Y%m%d}-PREVIEW", offset_days=15, language=language)
    return ctx


@login_required
def template_edit(request, pk: int | None = None):
    company = company_of(request)
    tpl = None
    if pk is not None:
        tpl = DunningTemplate.objects.filter(company=company, pk=pk).first()
        if tpl is None:
            raise Http404
    error = None
    data = {"key": tpl.key if tpl else "", "channel": tpl.channel if tpl else Channel.EMAIL,
            "language": tpl.language if tpl else "zh-hans", "subject": tpl.subject if tpl else "",
            "body": tpl.body if tpl else "", "provider_template_id": tpl.provider_template_id if tpl else ""}
    if request.method == "POST":
        _need(request, "dunning.policy")
        data = {k: request.POST.get(k, "") for k in data}
        try:
            saved = services.save_template(company=company, actor=request.user, template_id=tpl.pk if tpl else None,
                                           **data)
            messages.success(request, _("Template saved."))
            return redirect("dunning:template", saved.pk)
        except TemplateInvalid as exc:
            error = "; ".join(exc.problems)
        except DomainError as exc:
            error = str(exc)
    preview = _preview(request, company, data)
    return render(request, "dunning/template_edit.html", {
        "nav": "dunning", "tpl": tpl, "d": data, "error": error, "preview": preview, "placeholders": PLACEHOLDERS.items(),
        "channels": [(v, label) for v, label in Channel.choices if v in (Channel.EMAIL, Channel.SMS, Channel.LETTER, Channel.WECOM)],
        "languages": [("zh-hans", "简体中文"), ("en", "English")], "can_edit": request.user.can("dunning.policy"),
        "customers": Customer.objects.filter(company=company).filter(owner_q(request.user, "owner")).order_by("code")[:50],
    }, status=422 if error else 200)


def _preview(request, company, data) -> dict:
    language = data.get("language") if data.get("language") in ("zh-hans", "en") else "zh-hans"
    ctx = _sample_context(request, company, language)
    try:
        rendered = ctxmod.render(None, ctx, subject=data.get("subject", ""), body=data.get("body", ""))
    except TemplateInvalid as exc:
        return {"errors": exc.problems}
    letter = ctxmod.letter_html(ctx, rendered, language=language) if data.get("channel") == Channel.LETTER else ""
    return {"r": rendered, "channel": data.get("channel"), "letter": letter, "sms_len": len(rendered.text)}


@login_required
@require_POST
def template_preview(request):
    """htmx: the live preview of the template being edited (errors shown, nothing saved). Rendering a text
    typed by the user is template editing: it needs the same permission as saving one."""
    company = company_of(request)
    _need(request, "dunning.policy")
    data = {k: request.POST.get(k, "") for k in ("channel", "language", "subject", "body")}
    return render(request, "dunning/_preview.html", {"preview": _preview(request, company, data)})


@login_required
def template_pdf(request, pk: int):
    """The letter preview as the real PDF (sample or chosen customer)."""
    company = company_of(request)
    tpl = DunningTemplate.objects.filter(company=company, pk=pk).first()
    if tpl is None:
        raise Http404
    ctx = _sample_context(request, company, tpl.language)
    pdf = ctxmod.letter_pdf(ctx, ctxmod.render(tpl, ctx), language=tpl.language)
    resp = HttpResponse(pdf, content_type="application/pdf")
    resp["Content-Disposition"] = f'inline; filename="preview-{tpl.key}.pdf"'
    return resp


# ---------------------------------------------------------------- customers and settings


@login_required
def customers(request):
    """Customers with a pause or their own policy; pause form."""
    company = company_of(request)
    qs = (CustomerDunning.objects.filter(company=company).filter(owner_q(request.user, "customer__owner"))
          .select_related("customer", "policy").order_by("customer__code"))
    qs = CUSTOMER_SORTS.apply(date_range(qs, "paused_until", request.GET), request.GET)
    if request.GET.get("export") == "xlsx":
        return xlsx_response(
            filename="dunning-customers", sheet_title=_("Dunning settings"),
            columns=[(_("Customer code"), "text"), (_("Customer"), "text"), (_("Paused until"), "date"), (_("Reason"), "text"),
                     (_("Policy"), "text")],
            rows=([c.customer.code, c.customer.name, c.paused_until, c.pause_reason, c.policy.name if c.policy else ""]
                  for c in qs[:100000]))
    return render(request, "dunning/customers.html", {"nav": "dunning", "page": _page(request, qs),
                                                      **CUSTOMER_SORTS.context(request.GET),
                                                      "today": clock.today(company)})


@login_required
def customer_settings(request, pk: int):
    company = company_of(request)
    customer = get_customer(user=request.user, company=company, pk=pk)
    cd = CustomerDunning.objects.filter(customer=customer).first()
    error = None
    if request.method == "POST":
        _need(request, "dunning.pause")
        until = parse_date(request.POST.get("paused_until"))
        if request.POST.get("paused_until") and until is None:
            error = _("Enter a valid date.")
        else:
            try:
                services.set_customer_dunning(company=company, customer_id=customer.pk, actor=request.user, paused_until=until,
                                              reason=request.POST.get("reason", ""),
                                              policy_id=parse_int(request.POST.get("policy")))
                messages.success(request, _("Dunning settings saved."))
                return _back(request, "dunning:customers")
            except DomainError as exc:
                error = str(exc)
    return render(request, "dunning/customer.html", {
        "nav": "dunning", "customer": customer, "cd": cd, "error": error,
        "policies": DunningPolicy.objects.filter(company=company), "can_edit": request.user.can("dunning.pause"),
        "notices": Notice.objects.filter(customer=customer).order_by("-cycle", "-pk")[:50],
    }, status=422 if error else 200)


@login_required
def settings_view(request):
    company = company_of(request)
    conf = ctxmod.settings_of(company)
    error = None
    if request.method == "POST":
        _need(request, "dunning.policy")
        p = request.POST
        try:
            qs_, qe_ = dt.time.fromisoformat(p.get("quiet_start", "")), dt.time.fromisoformat(p.get("quiet_end", ""))
            days = int(p.get("final_payment_days", "7"))
            if not 0 <= days <= 90:
                raise ValueError
        except ValueError:
            error = _("Enter valid times (HH:MM) and 0–90 days.")
        else:
            for f in ("contact_person", "portal_url", "wecom_webhook", "dingtalk_webhook", "dingtalk_secret"):
                value = (p.get(f) or "").strip()
                if f.endswith("webhook") or f == "portal_url":
                    if value and not value.startswith(("https://", "http://")):
                        error = _("Links must start with https:// or http://.")
                setattr(conf, f, value[:400])
            if error is None:
                conf.quiet_start, conf.quiet_end, conf.final_payment_days = qs_, qe_, days
                conf.working_days_only = p.get("working_days_only") == "1"
                conf.save()
                messages.success(request, _("Settings saved."))
                return redirect("dunning:settings")
            conf = ctxmod.settings_of(company)
    return render(request, "dunning/settings.html", {"nav": "dunning", "conf": conf, "error": error,
                                                     "can_edit": request.user.can("dunning.policy")},
                  status=422 if error else 200)
