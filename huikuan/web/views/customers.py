"""Customer master screens: list (htmx live search, filters, XLSX), forms, contacts, files, groups,
payment-term templates.

Each view loads objects through the scoped selectors (out of scope → 404), validates input with a
plain form, calls one service and maps a DomainError onto the form (422 for htmx requests).
"""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import FileResponse, Http404, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views.decorators.http import require_POST
from django_htmx.http import HttpResponseClientRedirect

from huikuan.accounts.models import Company
from huikuan.common import export_jobs
from huikuan.common.errors import DomainError
from huikuan.common.export import xlsx_response
from huikuan.common.http import company_of as _company
from huikuan.common.http import parse_int as _int_or_none
from huikuan.common.listing import Sorting, date_range
from huikuan.common.money import CURRENCY_CHOICES, ZERO
from huikuan.common.paging import PlannedPaginator
from huikuan.customers import review, selectors, services
from huikuan.customers.models import Channel, CustomerStatus, DocumentKind, TermKind
from huikuan.customers.termtext import (
    TermTextError,
    format_discount,
    format_split,
    parse_discount,
    parse_split,
)

PAGE_SIZE = 50


# ---------------------------------------------------------------- helpers



def _require(request, perm: str) -> None:
    if not request.user.can(perm):
        raise PermissionDenied


def _apply_error(form: forms.Form, error: DomainError) -> None:
    field = error.field if error.field in form.fields else None
    form.add_error(field, str(error.message))


def _render_form(request, template: str, context: dict, *, invalid: bool = False):
    """Full page normally; the form fragment for htmx requests (422 when invalid)."""
    if request.htmx:
        return render(request, f"{template}#form", context, status=422 if invalid else 200)
    return render(request, template, context)


def _done(request, to, *args, **kwargs):
    """After a successful POST: a normal redirect, or HX-Redirect so htmx loads the whole page."""
    url = to if to.startswith("/") else reverse(to, args=args, kwargs=kwargs)
    if request.htmx:
        return HttpResponseClientRedirect(url)
    return redirect(url)





# ---------------------------------------------------------------- list and export


class CustomerFilters:
    """The list's GET parameters, parsed once for the page, the htmx fragment and the export."""

    def __init__(self, data):
        self.q = (data.get("q") or "").strip()[:100]
        self.owner = _int_or_none(data.get("owner"))
        self.group = _int_or_none(data.get("group"))
        self.region = (data.get("region") or "").strip()[:50]
        self.status = data.get("status") if data.get("status") in CustomerStatus.values else ""
        self.balance = data.get("balance") == "1"
        sort = data.get("sort") or "code"
        self.sort = sort if sort in selectors.CUSTOMER_SORTS else "code"

    def queryset(self, request, *, prefilter: bool = True):
        return self.queryset_for(user=request.user, company=_company(request), prefilter=prefilter)

    def queryset_for(self, *, user, company, prefilter: bool = True):
        return selectors.customer_list(
            user=user,
            company=company,
            q=self.q,
            owner_id=self.owner,
            group_id=self.group,
            region=self.region,
            status=self.status,
            with_balance=self.balance,
            sort=self.sort,
            prefilter=prefilter,
        )

    def params(self, **override) -> str:
        from django.utils.http import urlencode

        values = {
            "q": self.q,
            "owner": self.owner or "",
            "group": self.group or "",
            "region": self.region,
            "status": self.status,
            "balance": "1" if self.balance else "",
            "sort": self.sort if self.sort != "code" else "",
        }
        values.update(override)
        return urlencode({k: v for k, v in values.items() if v not in ("", None)})


SORTABLE = [
    ("code", gettext_lazy("Code"), ""),
    ("name", gettext_lazy("Name"), ""),
    ("owner", gettext_lazy("Owner"), ""),
    ("region", gettext_lazy("Region"), ""),
    ("open_amount", gettext_lazy("Open receivables"), "num"),
    ("unapplied_amount", gettext_lazy("Unapplied"), "num"),
    ("status", gettext_lazy("Status"), ""),
]


def _headers(filters: CustomerFilters):
    out = []
    for key, label, css in SORTABLE:
        current = filters.sort.lstrip("-") == key
        descending = filters.sort.startswith("-")
        # Amounts sort largest first on the first click.
        first = f"-{key}" if css == "num" else key
        target = (key if descending else f"-{key}") if current else first
        out.append(
            {
                "label": label,
                "css": css,
                "query": filters.params(sort=target, page=""),
                "current": current,
                "arrow": ("▼" if descending else "▲") if current else "",
            }
        )
    return out


@login_required
def customer_list(request):
    company = _company(request)
    filters = CustomerFilters(request.GET)
    # counted through the search's index; a page of a frequent term read in order (customers.search)
    plan = selectors.search_page_plan(q=filters.q, sort=filters.sort,
                                      plain=lambda: filters.queryset(request, prefilter=False))
    page = PlannedPaginator(filters.queryset(request), PAGE_SIZE, plan=plan).get_page(request.GET.get("page"))
    context = {
        "nav": "customers",
        "page": page,
        "filters": filters,
        "headers": _headers(filters),
        "query": filters.params(),
        "statuses": CustomerStatus.choices,
        "can_edit": request.user.can("customer.edit"),
        "can_work": request.user.can("collections.work"),
    }
    if request.htmx and request.htmx.target == "customer-table":
        return render(request, "customers/list.html#table", context)
    context["owners"] = services.assignable_owners(company=company, actor=request.user).only(
        "pk", "username", "display_name"
    )
    context["groups"] = selectors.customer_groups(company=company)
    return render(request, "customers/list.html", context)


CUSTOMERS_EXPORT = "customers.list"  # the list's exporter (common.export_jobs), registered in WebConfig.ready()


def customers_export(*, company_id: int, user, params) -> export_jobs.Export:
    """The customer list's XLSX as ``user`` sees it (scope, filters and sort of ``params``), the totals last."""
    company = Company.objects.get(pk=company_id)
    qs = CustomerFilters(params).queryset_for(user=user, company=company)
    status_label = dict(CustomerStatus.choices)
    columns = [
        (_("Code"), "text"),
        (_("Name"), "text"),
        (_("Short name"), "text"),
        (_("Unified social credit code"), "text"),
        (_("Owner"), "text"),
        (_("Group"), "text"),
        (_("Region"), "text"),
        (_("Industry"), "text"),
        (_("Currency"), "text"),
        (_("Open receivables"), "money"),
        (_("Unapplied"), "money"),
        (_("Status"), "text"),
    ]
    values = qs.values_list(
        "code",
        "name",
        "short_name",
        "credit_code",
        "owner__display_name",
        "owner__username",
        "group__name",
        "region",
        "industry",
        "currency",
        "open_amount",
        "unapplied_amount",
        "status",
    )[: export_jobs.EXPORT_MAX_ROWS]
    sums = [ZERO, ZERO]  # the written rows' sums (the same as the list's below the cap)

    def rows():
        for (
            code,
            name,
            short,
            uscc,
            owner_name,
            owner_login,
            group,
            region,
            ind,
            cur,
            open_,
            unap,
            st,
        ) in values.iterator(chunk_size=2000):
            sums[0] += open_ or 0
            sums[1] += unap or 0
            yield [
                code,
                name,
                short,
                uscc,
                owner_name or owner_login,
                group,
                region,
                ind,
                cur,
                open_,
                unap,
                str(status_label.get(st, st)),
            ]

    return export_jobs.Export(filename=f"customers-{company.code}.xlsx", sheet_title=_("Customers"),
                              columns=columns, rows=rows(), count=values.count,
                              totals=lambda: [_("Total"), None, None, None, None, None, None, None, None, sums[0],
                                              sums[1], None])


@login_required
def customer_export(request):
    """The list's "Export XLSX": the file at once up to ``export_jobs.EXPORT_NOW_ROWS`` customers, else a job."""
    qs = CustomerFilters(request.GET).queryset(request)
    return export_jobs.export_or_queue(request, kind=CUSTOMERS_EXPORT, params=request.GET,
                                       rows=export_jobs.capped_count(qs), title=_("Customers"))


# ---------------------------------------------------------------- customer form


class CustomerForm(forms.Form):
    code = forms.CharField(label=gettext_lazy("Code"), max_length=30)
    name = forms.CharField(label=gettext_lazy("Name"), max_length=200)
    short_name = forms.CharField(label=gettext_lazy("Short name"), max_length=60, required=False)
    credit_code = forms.CharField(
        label=gettext_lazy("Unified social credit code"), max_length=18, required=False
    )
    group = forms.ModelChoiceField(label=gettext_lazy("Group"), queryset=None, required=False)
    new_group = forms.CharField(
        label=gettext_lazy("…or a new group"),
        max_length=100,
        required=False,
        help_text=gettext_lazy("Type a name to create the group and put the customer in it."),
    )
    parent_code = forms.CharField(
        label=gettext_lazy("Parent company (customer code)"), max_length=30, required=False
    )
    region = forms.CharField(label=gettext_lazy("Region"), max_length=50, required=False)
    industry = forms.CharField(label=gettext_lazy("Industry"), max_length=50, required=False)
    address = forms.CharField(label=gettext_lazy("Address"), max_length=300, required=False)
    owner = forms.ModelChoiceField(label=gettext_lazy("Owner salesperson"), queryset=None, required=False)
    payment_term = forms.ModelChoiceField(
        label=gettext_lazy("Default payment terms"), queryset=None, required=False
    )
    currency = forms.ChoiceField(label=gettext_lazy("Currency"), choices=CURRENCY_CHOICES, initial="CNY")
    status = forms.ChoiceField(
        label=gettext_lazy("Status"), choices=CustomerStatus.choices, initial=CustomerStatus.ACTIVE
    )
    version = forms.IntegerField(widget=forms.HiddenInput, required=False)

    def __init__(self, *args, company, actor, customer=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.company, self.actor, self.customer = company, actor, customer
        self.fields["group"].queryset = selectors.customer_groups(company=company)
        self.fields["payment_term"].queryset = selectors.payment_terms(company=company, active_only=True)
        owners = services.assignable_owners(company=company, actor=actor)
        if customer is not None and customer.owner_id:
            from django.db.models import Q

            from huikuan.accounts.models import User

            owners = User.objects.filter(Q(pk__in=owners.values("pk")) | Q(pk=customer.owner_id))
        self.fields["owner"].queryset = owners.order_by("display_name", "username")
        if actor.role == "salesperson" and customer is None:
            self.fields["owner"].initial = actor.pk
            self.fields["owner"].disabled = True

    def clean_parent_code(self):
        code = self.cleaned_data.get("parent_code", "").strip()
        if not code:
            return None
        parent = selectors.scoped_customers(user=self.actor, company=self.company).filter(code=code).first()
        if parent is None:
            raise forms.ValidationError(_("No customer with this code."))
        return parent

    def service_values(self) -> dict:
        data = dict(self.cleaned_data)
        data["parent"] = data.pop("parent_code")
        data.pop("new_group", None)
        data.pop("version", None)
        return data


def _customer_initial(customer) -> dict:
    return {
        "code": customer.code,
        "name": customer.name,
        "short_name": customer.short_name,
        "credit_code": customer.credit_code,
        "group": customer.group_id,
        "parent_code": customer.parent.code if customer.parent_id else "",
        "region": customer.region,
        "industry": customer.industry,
        "address": customer.address,
        "owner": customer.owner_id,
        "payment_term": customer.payment_term_id,
        "currency": customer.currency,
        "status": customer.status,
        "version": customer.version,
    }


def _save_customer(request, form, customer):
    """Create the group if asked, then create or update the customer. DomainError propagates."""
    values = form.service_values()
    new_group = form.cleaned_data.get("new_group", "").strip()
    if new_group and values.get("group") is None:
        values["group"] = services.create_group(company=form.company, actor=request.user, name=new_group)
    if customer is None:
        return services.create_customer(company=form.company, actor=request.user, **values)
    return services.update_customer(
        customer_id=customer.pk,
        actor=request.user,
        expected_version=form.cleaned_data.get("version") or 0,
        **values,
    )


def _customer_form_view(request, customer=None):
    company = _company(request)
    _require(request, "customer.edit")
    initial = _customer_initial(customer) if customer is not None else {}
    form = CustomerForm(
        request.POST or None, company=company, actor=request.user, customer=customer, initial=initial
    )
    context = {"nav": "customers", "form": form, "customer": customer,
               "same_code": selectors.same_credit_code(user=request.user, customer=customer) if customer else None}
    if request.method == "POST":
        if form.is_valid():
            try:
                saved = _save_customer(request, form, customer)
            except DomainError as error:
                _apply_error(form, error)
            else:
                messages.success(request, _("Customer %(name)s saved.") % {"name": saved})
                deferred = getattr(saved, "terms_request", None)
                if deferred is not None:
                    messages.warning(request, _(
                        "Payment terms %(terms)s give %(days)s days, beyond the maximum of the customer's credit "
                        "grade: they were not set. A terms request was sent for approval; the customer keeps "
                        "its current terms until it is approved.") % {
                        "terms": deferred.payment_term, "days": deferred.terms_days})
                twins = selectors.same_credit_code(user=request.user, customer=saved)
                if twins:
                    names = ", ".join(f"{c.code} {c.name}" for c in twins.visible)
                    if twins.hidden_count:
                        names = "; ".join(x for x in (names, ngettext(
                            "%(n)s customer you cannot see", "%(n)s customers you cannot see", twins.hidden_count)
                            % {"n": twins.hidden_count}) if x)
                    messages.warning(request, _("Another customer has the same unified social credit code "
                                                "%(code)s: %(names)s.") % {"code": saved.credit_code, "names": names})
                return _done(request, _customer_url(saved))
        return _render_form(request, "customers/customer_form.html", context, invalid=True)
    return render(request, "customers/customer_form.html", context)


def _customer_url(customer) -> str:
    from django.urls import NoReverseMatch

    try:
        return reverse("web:customer-detail", args=[customer.pk])
    except NoReverseMatch:  # the customer page is served by another module; fall back to the form
        return reverse("web:customer-edit", args=[customer.pk])


@login_required
def customer_create(request):
    return _customer_form_view(request)


@login_required
def customer_edit(request, pk):
    customer = selectors.get_customer(user=request.user, company=_company(request), pk=pk)
    return _customer_form_view(request, customer)


# ---------------------------------------------------------------- groups


class GroupForm(forms.Form):
    name = forms.CharField(label=gettext_lazy("Name"), max_length=100)


GROUP_SORTS = Sorting({"name": "name", "customers": "n"}, default="name")
CONTACT_SORTS = Sorting({"name": "name", "role": "title", "phone": "phone", "email": "email", "wechat": "wechat_id",
                         "channel": "preferred_channel", "status": ("-is_active", "-is_primary", "name")},
                        default="status")
FILE_SORTS = Sorting({"title": "title", "kind": "kind", "size": "size", "valid": "valid_until",
                      "by": "uploaded_by__username", "at": "uploaded_at"}, default="-at")
TERM_SORTS = Sorting({"code": "code", "name": "name", "kind": "kind", "days": "days",
                      "discount": ("discount_percent", "discount_days"), "status": ("-active", "code")}, default="code")


@login_required
def group_list(request):
    company = _company(request)
    form = GroupForm(request.POST or None)
    if request.method == "POST":
        _require(request, "customer.edit")
        if form.is_valid():
            try:
                services.create_group(company=company, actor=request.user, name=form.cleaned_data["name"])
            except DomainError as error:
                _apply_error(form, error)
            else:
                messages.success(request, _("Group created."))
                return _done(request, "web:group-list")
    from django.db.models import Count

    groups = GROUP_SORTS.apply(selectors.customer_groups(company=company).annotate(n=Count("customers")), request.GET)
    if request.GET.get("format") == "xlsx":
        return xlsx_response(filename=f"customer-groups-{company.code}.xlsx", sheet_title=_("Customer groups"),
                             columns=[(_("Name"), "text"), (_("Customers"), "int")],
                             rows=([g.name, g.n] for g in groups))
    context = {
        "nav": "customers",
        "form": form,
        "groups": groups,
        "can_edit": request.user.can("customer.edit"),
        **GROUP_SORTS.context(request.GET),
    }
    return _render_form(request, "customers/groups.html", context, invalid=bool(form.errors))


# ---------------------------------------------------------------- contacts


class ContactForm(forms.Form):
    name = forms.CharField(label=gettext_lazy("Name"), max_length=100)
    title = forms.CharField(label=gettext_lazy("Role"), max_length=60, required=False)
    phone = forms.CharField(label=gettext_lazy("Phone"), max_length=40, required=False)
    email = forms.EmailField(label=gettext_lazy("Email"), required=False)
    wechat_id = forms.CharField(label=gettext_lazy("WeChat ID"), max_length=60, required=False)
    preferred_channel = forms.ChoiceField(
        label=gettext_lazy("Preferred channel"), choices=Channel.choices, initial=Channel.PHONE
    )
    language = forms.ChoiceField(label=gettext_lazy("Language"), choices=(), initial="zh-hans")
    is_primary = forms.BooleanField(label=gettext_lazy("Primary contact"), required=False)

    def __init__(self, *args, **kwargs):
        from django.conf import settings

        super().__init__(*args, **kwargs)
        self.fields["language"].choices = settings.LANGUAGES


@login_required
def customer_contacts(request, pk):
    customer = selectors.get_customer(user=request.user, company=_company(request), pk=pk)
    contacts = CONTACT_SORTS.apply(selectors.customer_contacts(customer=customer), request.GET)
    if request.GET.get("format") == "xlsx":
        channels = dict(Channel.choices)
        return xlsx_response(
            filename=f"contacts-{customer.code}.xlsx", sheet_title=_("Contacts"),
            columns=[(_("Customer code"), "text"), (_("Name"), "text"), (_("Role"), "text"), (_("Phone"), "text"),
                     (_("Email"), "text"), (_("WeChat ID"), "text"), (_("Preferred channel"), "text"),
                     (_("Primary contact"), "text"), (_("Status"), "text")],
            rows=([customer.code, c.name, c.title, c.phone, c.email, c.wechat_id,
                   str(channels.get(c.preferred_channel, c.preferred_channel)), _("Yes") if c.is_primary else "",
                   _("Active") if c.is_active else _("Inactive")] for c in contacts))
    context = {
        "nav": "customers",
        "customer": customer,
        "contacts": contacts,
        "can_edit": request.user.can("customer.edit"),
        **CONTACT_SORTS.context(request.GET),
    }
    return render(request, "customers/contacts.html", context)


def _contact_form_view(request, customer, contact=None):
    _require(request, "customer.edit")
    initial = {f: getattr(contact, f) for f in services.CONTACT_FIELDS} if contact else {}
    form = ContactForm(request.POST or None, initial=initial)
    context = {"nav": "customers", "customer": customer, "contact": contact, "form": form}
    if request.method == "POST":
        if form.is_valid():
            try:
                if contact is None:
                    services.add_contact(customer_id=customer.pk, actor=request.user, **form.cleaned_data)
                else:
                    services.update_contact(contact_id=contact.pk, actor=request.user, **form.cleaned_data)
            except DomainError as error:
                _apply_error(form, error)
            else:
                messages.success(request, _("Contact saved."))
                return _done(request, "web:customer-contacts", pk=customer.pk)
        return _render_form(request, "customers/contact_form.html", context, invalid=True)
    return render(request, "customers/contact_form.html", context)


@login_required
def contact_add(request, pk):
    customer = selectors.get_customer(user=request.user, company=_company(request), pk=pk)
    return _contact_form_view(request, customer)


@login_required
def contact_edit(request, contact_pk):
    contact = selectors.get_contact(user=request.user, company=_company(request), pk=contact_pk)
    return _contact_form_view(request, contact.customer, contact)


@require_POST
@login_required
def contact_deactivate(request, contact_pk):
    contact = selectors.get_contact(user=request.user, company=_company(request), pk=contact_pk)
    _require(request, "customer.edit")
    try:
        services.deactivate_contact(contact_id=contact.pk, actor=request.user)
    except DomainError as error:
        messages.error(request, str(error.message))
    else:
        messages.success(request, _("Contact %(name)s deactivated.") % {"name": contact.name})
    return redirect("web:customer-contacts", pk=contact.customer_id)


@login_required
def customer_pick(request):
    """Autocomplete for the customer pickers: up to 20 matches in the user's scope, as JSON."""
    found = selectors.customer_pick(user=request.user, company=_company(request), q=request.GET.get("q", "")[:100])
    return JsonResponse({"results": [
        {"id": c.pk, "code": c.code, "name": c.name, "short_name": c.short_name,
         "status": "" if c.status == CustomerStatus.ACTIVE else str(c.get_status_display())} for c in found]})


@require_POST
@login_required
def customer_checked(request, pk):
    """Clear the customer's "check this" flag: someone looked at the reasons an import left."""
    customer = selectors.get_customer(user=request.user, company=_company(request), pk=pk)
    _require(request, "customer.edit")
    review.mark_reviewed(customer_id=customer.pk, actor=request.user)
    messages.success(request, _("%(name)s is marked as checked.") % {"name": customer.name})
    return redirect("web:customer-detail", pk=customer.pk)


# ---------------------------------------------------------------- files


class FileForm(forms.Form):
    file = forms.FileField(label=gettext_lazy("File"))
    kind = forms.ChoiceField(label=gettext_lazy("Kind"), choices=DocumentKind.choices)
    title = forms.CharField(label=gettext_lazy("Title"), max_length=200, required=False)
    valid_until = forms.DateField(
        label=gettext_lazy("Valid until"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )


@login_required
def customer_files(request, pk):
    customer = selectors.get_customer(user=request.user, company=_company(request), pk=pk)
    form = FileForm(request.POST or None, request.FILES or None)
    if request.method == "POST":
        _require(request, "customer.document")
        if form.is_valid():
            data = form.cleaned_data
            try:
                services.upload_customer_file(
                    customer_id=customer.pk,
                    actor=request.user,
                    upload=data["file"],
                    title=data["title"],
                    kind=data["kind"],
                    valid_until=data["valid_until"],
                )
            except DomainError as error:
                _apply_error(form, error)
            else:
                messages.success(request, _("File uploaded."))
                return _done(request, "web:customer-files", pk=customer.pk)
    files = FILE_SORTS.apply(date_range(selectors.customer_files(customer=customer), "uploaded_at__date", request.GET),
                             request.GET)
    if request.GET.get("format") == "xlsx" and request.method == "GET":
        return xlsx_response(
            filename=f"files-{customer.code}.xlsx", sheet_title=_("Files"),
            columns=[(_("Customer code"), "text"), (_("Title"), "text"), (_("Kind"), "text"), (_("Size (KB)"), "int"),
                     (_("Valid until"), "date"), (_("Uploaded by"), "text"), (_("Uploaded at"), "text")],
            rows=([customer.code, f.title, f.get_kind_display(), (f.size + 512) // 1024, f.valid_until,
                   str(f.uploaded_by or ""), f.uploaded_at.strftime("%Y-%m-%d %H:%M")] for f in files))
    context = {
        "nav": "customers",
        "customer": customer,
        "files": files,
        **FILE_SORTS.context(request.GET),
        "form": form,
        "can_upload": request.user.can("customer.document"),
    }
    return _render_form(request, "customers/files.html", context, invalid=bool(form.errors))


@login_required
def file_download(request, file_pk):
    record = selectors.get_customer_file(user=request.user, company=_company(request), pk=file_pk)
    try:
        handle = record.file.open("rb")
    except FileNotFoundError as exc:
        raise Http404 from exc
    ext = record.file.name.rsplit(".", 1)[-1]
    inline = record.content_type in ("application/pdf", "image/jpeg", "image/png")
    response = FileResponse(
        handle,
        as_attachment=not inline,
        filename=f"{record.title}.{ext}",
        content_type=record.content_type or "application/octet-stream",
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; img-src 'self'; sandbox"
    response["Cache-Control"] = "private, no-store"
    return response


# ---------------------------------------------------------------- payment terms


class TermForm(forms.Form):
    code = forms.CharField(label=gettext_lazy("Code"), max_length=30)
    name = forms.CharField(label=gettext_lazy("Name"), max_length=100)
    kind = forms.ChoiceField(label=gettext_lazy("Kind"), choices=TermKind.choices, initial=TermKind.NET)
    days = forms.IntegerField(label=gettext_lazy("Days"), min_value=0, initial=30, required=False)
    split = forms.CharField(
        label=gettext_lazy("Instalments (split terms)"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3, "placeholder": "30@0, 70@60"}),
        help_text=gettext_lazy('Percent@days, separated by commas or one per line, e.g. "30@0, 70@60".'),
    )
    discount = forms.CharField(
        label=gettext_lazy("Early-payment discount"),
        required=False,
        widget=forms.TextInput(attrs={"placeholder": "2/10 net 30"}),
        help_text=gettext_lazy('Percent/days, e.g. "2/10" or "2/10 net 30" (which also sets 30 days).'),
    )
    roll_to_working_day = forms.BooleanField(label=gettext_lazy("Roll to next working day"), required=False)
    active = forms.BooleanField(label=gettext_lazy("Active"), required=False, initial=True)

    def clean_split(self):
        try:
            return parse_split(self.cleaned_data.get("split", ""))
        except TermTextError as exc:
            raise forms.ValidationError(
                _('Cannot read "%(text)s"; write percent@days such as 30@0.') % {"text": exc}
            ) from exc

    def clean_discount(self):
        try:
            return parse_discount(self.cleaned_data.get("discount", ""))
        except TermTextError as exc:
            raise forms.ValidationError(
                _('Cannot read "%(text)s"; write it as 2/10 net 30.') % {"text": exc}
            ) from exc

    def service_values(self) -> dict:
        d = self.cleaned_data
        percent, discount_days, net = d["discount"]
        days = net if net is not None else d.get("days")
        return {
            "code": d["code"],
            "name": d["name"],
            "kind": d["kind"],
            "days": days if days is not None else 0,
            "split_lines": d["split"],
            "discount_percent": percent,
            "discount_days": discount_days,
            "roll_to_working_day": d["roll_to_working_day"],
            "active": d["active"],
        }


def _term_initial(term) -> dict:
    return {
        "code": term.code,
        "name": term.name,
        "kind": term.kind,
        "days": term.days,
        "split": format_split(term.split_lines),
        "discount": format_discount(term.discount_percent, term.discount_days),
        "roll_to_working_day": term.roll_to_working_day,
        "active": term.active,
    }


@login_required
def term_list(request):
    company = _company(request)
    terms = TERM_SORTS.apply(selectors.payment_terms(company=company), request.GET)
    if request.GET.get("format") == "xlsx":
        columns = [
            (_("Code"), "text"),
            (_("Name"), "text"),
            (_("Kind"), "text"),
            (_("Days"), "int"),
            (_("Instalments"), "text"),
            (_("Discount %"), "percent"),
            (_("Discount days"), "int"),
            (_("Active"), "text"),
        ]
        kinds = dict(TermKind.choices)
        rows = (
            [
                t.code,
                t.name,
                str(kinds.get(t.kind, t.kind)),
                t.days,
                format_split(t.split_lines),
                t.discount_percent,
                t.discount_days,
                _("Yes") if t.active else _("No"),
            ]
            for t in terms.iterator()
        )
        return xlsx_response(
            filename=f"payment-terms-{company.code}.xlsx",
            sheet_title=_("Payment terms"),
            columns=columns,
            rows=rows,
        )
    context = {
        "nav": "terms",
        "terms": [
            (t, format_split(t.split_lines), format_discount(t.discount_percent, t.discount_days))
            for t in terms
        ],
        "can_edit": request.user.can("terms.edit"),
        **TERM_SORTS.context(request.GET),
    }
    return render(request, "customers/terms.html", context)


def _term_form_view(request, term=None):
    company = _company(request)
    _require(request, "terms.edit")
    form = TermForm(request.POST or None, initial=_term_initial(term) if term else {})
    context = {"nav": "terms", "form": form, "term": term}
    if request.method == "POST":
        if form.is_valid():
            try:
                if term is None:
                    services.create_payment_term(company=company, actor=request.user, **form.service_values())
                else:
                    services.update_payment_term(
                        term_id=term.pk, company=company, actor=request.user, **form.service_values()
                    )
            except DomainError as error:
                field = {
                    "split_lines": "split",
                    "discount_percent": "discount",
                    "discount_days": "discount",
                }.get(error.field, error.field)
                form.add_error(field if field in form.fields else None, str(error.message))
            else:
                messages.success(request, _("Payment terms saved."))
                return _done(request, "web:term-list")
        return _render_form(request, "customers/term_form.html", context, invalid=True)
    return render(request, "customers/term_form.html", context)


@login_required
def term_create(request):
    return _term_form_view(request)


@login_required
def term_edit(request, pk):
    term = selectors.get_payment_term(company=_company(request), pk=pk)
    return _term_form_view(request, term)
