"""First-run setup, further companies, the Users page and one's own password.

- ``/setup/``: on an install with no company, the first (anonymous, while no user exists) or signed-in
  administrator sets up the company, its work calendar and its starter payment terms (editable before
  saving); later, administrators add further companies here.
- ``/settings/users/``: administrators add people, change roles, deactivate leavers, reset passwords
  (one-time) and export the list; every change goes through ``accounts.services`` (audited).
- ``/password/``: anyone changes their own password; a one-time password leads here at sign-in.
"""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth import login, update_session_auth_hash
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Q
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from huikuan.accounts import services as accounts
from huikuan.accounts.models import Company, Role, Team, User
from huikuan.common import audit
from huikuan.common.errors import DomainError
from huikuan.common.export import xlsx_response
from huikuan.common.listing import Sorting
from huikuan.common.models import AuditEvent
from huikuan.common.money import MINOR_UNITS
from huikuan.customers.models import TermKind
from huikuan.customers.services import reassign_customers
from huikuan.customers.termtext import (
    TermTextError,
    format_discount,
    format_split,
    parse_discount,
    parse_split,
)
from huikuan.onboarding import services as onboarding
from huikuan.onboarding.defaults import starter_terms

EXTRA_TERM_ROWS = 3


def _apply_error(form: forms.Form, error: DomainError, mapping: dict | None = None) -> None:
    field = (mapping or {}).get(error.field, error.field)
    form.add_error(field if field in form.fields else None, str(error.message))


# ---------------------------------------------------------------- setup


class CompanyForm(forms.Form):
    code = forms.CharField(label=gettext_lazy("Company code"), max_length=20,
                           help_text=gettext_lazy("Short code used in files and at the command line, e.g. HK01."))
    name = forms.CharField(label=gettext_lazy("Full legal name"), max_length=200)
    name_en = forms.CharField(label=gettext_lazy("English name"), max_length=200, required=False)
    currency = forms.ChoiceField(label=gettext_lazy("Base currency"), choices=[(c, c) for c in MINOR_UNITS],
                                 initial="CNY")
    time_zone = forms.ChoiceField(label=gettext_lazy("Time zone"), initial="Asia/Shanghai")
    roll_due_dates = forms.BooleanField(
        label=gettext_lazy("Due dates that fall on a holiday or weekend roll to the next working day (调休 counted)"),
        required=False, initial=True)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["time_zone"].choices = [(z, z) for z in onboarding.time_zones()]


class AdminForm(forms.Form):
    username = forms.CharField(label=gettext_lazy("Administrator login"), max_length=150)
    display_name = forms.CharField(label=gettext_lazy("Display name"), max_length=100, required=False)
    email = forms.EmailField(label=gettext_lazy("E-mail"), required=False)
    password = forms.CharField(label=gettext_lazy("Password"), widget=forms.PasswordInput)
    password2 = forms.CharField(label=gettext_lazy("Password again"), widget=forms.PasswordInput)

    def clean(self):
        data = super().clean()
        if data.get("password") and data.get("password2") and data["password"] != data["password2"]:
            self.add_error("password2", _("The two passwords differ."))
        return data


class TermRowForm(forms.Form):
    use = forms.BooleanField(label=gettext_lazy("Create"), required=False)
    code = forms.CharField(label=gettext_lazy("Code"), max_length=30, required=False)
    name = forms.CharField(label=gettext_lazy("Name"), max_length=100, required=False)
    kind = forms.ChoiceField(label=gettext_lazy("Kind"), choices=TermKind.choices)
    days = forms.IntegerField(label=gettext_lazy("Days"), min_value=0, max_value=3650, required=False)
    split = forms.CharField(label=gettext_lazy("Instalments"), max_length=200, required=False)
    discount = forms.CharField(label=gettext_lazy("Discount"), max_length=40, required=False)

    def term(self) -> dict | None:
        d = self.cleaned_data
        if not d.get("use"):
            return None
        try:
            percent, discount_days, _net = parse_discount(d.get("discount") or "")
        except TermTextError:
            self.add_error("discount", _("Write the discount as 2/10 (2 percent within 10 days)."))
            return None
        try:
            split = parse_split(d.get("split") or "")
        except TermTextError:
            self.add_error("split", _("Write instalments as 30@0, 70@60 (percent@days)."))
            return None
        return {"code": d.get("code") or "", "name": d.get("name") or "", "kind": d["kind"],
                "days": d.get("days") or 0, "split_lines": split, "discount_percent": percent,
                "discount_days": discount_days}


TermFormSet = forms.formset_factory(TermRowForm, extra=0)


def _term_initial() -> list[dict]:
    rows = [{"use": True, "code": t["code"], "name": t["name"], "kind": t["kind"], "days": t["days"],
             "split": format_split(t["split_lines"]),
             "discount": format_discount(t["discount_percent"], t["discount_days"]) if t["discount_days"] else ""}
            for t in starter_terms()]
    return rows + [{"use": False, "kind": TermKind.NET, "days": 30}] * EXTRA_TERM_ROWS


def _setup_access(request) -> str:
    """'first' (no company, no user yet: anyone reaching the server sets it up), 'admin' (a signed-in
    administrator), or raise/redirect reasons."""
    if request.user.is_authenticated:
        if request.user.can("admin.users") or request.user.is_superuser:
            return "admin"
        raise PermissionDenied
    if not Company.objects.exists() and not User.objects.exists():
        return "first"
    return "login"


def setup(request):
    mode = _setup_access(request)
    if mode == "login":
        return redirect(f"/login/?next={request.path}")
    first_company = not Company.objects.exists()
    post = request.POST if request.method == "POST" else None
    company_form = CompanyForm(post, prefix="company")
    admin_form = AdminForm(post, prefix="admin") if mode == "first" else None
    terms = TermFormSet(post, prefix="terms", initial=_term_initial())
    context = {"nav": "", "company_form": company_form, "admin_form": admin_form, "terms": terms,
               "first_company": first_company, "mode": mode}
    if request.method != "POST":
        return render(request, "setup/setup.html", context)
    valid = company_form.is_valid() & terms.is_valid() & (admin_form is None or admin_form.is_valid())
    term_values = [t for t in (f.term() for f in terms.forms) if t is not None] if terms.is_valid() else []
    context["terms_error"] = ""
    if valid and any(f.errors for f in terms.forms):
        valid = False
    if valid and not term_values:
        context["terms_error"] = _("Keep at least one payment term.")
        valid = False
    if valid:
        c = company_form.cleaned_data
        if admin_form is not None:
            a = admin_form.cleaned_data
            admin = onboarding.NewAdmin(username=a["username"], password=a["password"],
                                        display_name=a["display_name"], email=a["email"])
            actor = None
        else:
            admin = request.user
            actor = request.user if not first_company else None
        try:
            result = onboarding.setup_company(
                code=c["code"], name=c["name"], name_en=c["name_en"], currency=c["currency"], time_zone=c["time_zone"],
                roll_due_dates=c["roll_due_dates"], admin=admin, terms=term_values, actor=actor)
        except DomainError as error:
            if error.field == "terms":
                context["terms_error"] = str(error.message)
            elif admin_form is not None and error.field in ("username", "password", "email", "display_name"):
                _apply_error(admin_form, error)
            else:
                _apply_error(company_form, error)
        else:
            if admin_form is not None:
                login(request, result.admin, backend="django.contrib.auth.backends.ModelBackend")
            request.session["company_id"] = result.company.pk
            messages.success(request, _("%(name)s is set up with %(terms)d payment terms, the default credit grades "
                                        "and dunning policy. Next, add the people who work with you.")
                             % {"name": result.company.name, "terms": len(result.terms)})
            return redirect("web:user-list")
    return render(request, "setup/setup.html", context, status=422)


# ---------------------------------------------------------------- users


def _admin_only(request) -> None:
    if not request.user.can("admin.users"):
        raise PermissionDenied


def _company(request) -> Company:
    if request.company is None:
        raise Http404
    return request.company


def _visible_users(request):
    """Users of the active company (an administrator manages the people of their companies)."""
    return User.objects.filter(companies=_company(request)).distinct()


def _get_user(request, pk) -> User:
    try:
        return _visible_users(request).select_related("team", "manager").get(pk=pk)
    except (User.DoesNotExist, ValueError) as exc:
        raise Http404 from exc


class UserForm(forms.Form):
    username = forms.CharField(label=gettext_lazy("Login"), max_length=150)
    display_name = forms.CharField(label=gettext_lazy("Display name"), max_length=100, required=False)
    employee_number = forms.CharField(label=gettext_lazy("Employee number"), max_length=30, required=False)
    email = forms.CharField(label=gettext_lazy("E-mail"), max_length=254, required=False)
    phone = forms.CharField(label=gettext_lazy("Phone"), max_length=40, required=False)
    role = forms.ChoiceField(label=gettext_lazy("Role"), choices=Role.choices)
    team = forms.CharField(label=gettext_lazy("Team"), max_length=100, required=False,
                           help_text=gettext_lazy("Choose a team or type a new one."))
    manager = forms.ChoiceField(label=gettext_lazy("Manager"), required=False)
    language = forms.ChoiceField(label=gettext_lazy("Language"), choices=[("zh-hans", "简体中文"), ("en", "English")])
    password = forms.CharField(label=gettext_lazy("One-time password"), widget=forms.PasswordInput(render_value=True),
                               help_text=gettext_lazy("The user must choose their own password at the first sign-in."))

    def __init__(self, *args, company, editing: User | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        people = User.objects.filter(companies=company, is_active=True).order_by("display_name", "username")
        if editing is not None:
            people = people.exclude(pk=editing.pk)
            for name in ("username", "password", "role"):
                del self.fields[name]
        self.fields["manager"].choices = [("", "—")] + [(str(u.pk), f"{u} ({u.username})") for u in people]

    def values(self) -> dict:
        d = dict(self.cleaned_data)
        d["manager"] = int(d["manager"]) if d.get("manager") else None
        return d


class RoleForm(forms.Form):
    role = forms.ChoiceField(label=gettext_lazy("Role"), choices=Role.choices)


class ReassignForm(forms.Form):
    to_user = forms.ChoiceField(label=gettext_lazy("Move all their customers to"))

    def __init__(self, *args, company, subject: User, **kwargs):
        super().__init__(*args, **kwargs)
        people = (User.objects.filter(companies=company, is_active=True, role__in=(Role.SALESPERSON, Role.SALES_MANAGER))
                  .exclude(pk=subject.pk).order_by("display_name", "username"))
        self.fields["to_user"].choices = [("", "—")] + [(str(u.pk), f"{u} ({u.username})") for u in people]


class PasswordResetForm(forms.Form):
    password = forms.CharField(label=gettext_lazy("New one-time password"), widget=forms.PasswordInput)


USER_SORTS = Sorting({"login": "username", "name": "display_name", "number": "employee_number", "role": "role",
                     "team": "team__name", "manager": "manager__username", "customers": "customers",
                     "status": ("-is_active", "username")}, default="status")


@login_required
def user_list(request):
    _admin_only(request)
    company = _company(request)
    show = request.GET.get("show", "active")
    q = (request.GET.get("q") or "").strip()
    qs = _visible_users(request).select_related("team", "manager").order_by("-is_active", "username")
    if show != "all":
        qs = qs.filter(is_active=True)
    if q:
        qs = qs.filter(Q(username__icontains=q) | Q(display_name__icontains=q) | Q(employee_number__icontains=q)
                       | Q(email__icontains=q) | Q(phone__icontains=q))
    qs = qs.annotate(customers=Count("owned_customers", filter=Q(owned_customers__company=company), distinct=True))
    qs = USER_SORTS.apply(qs, request.GET)
    if request.GET.get("format") == "xlsx":
        roles = dict(Role.choices)
        columns = [(_("Login"), "text"), (_("Display name"), "text"), (_("Employee number"), "text"),
                   (_("Role"), "text"), (_("Team"), "text"), (_("Manager"), "text"), (_("E-mail"), "text"),
                   (_("Phone"), "text"), (_("Customers"), "int"), (_("Status"), "text"), (_("Last sign-in"), "text")]
        rows = ([u.username, u.display_name, u.employee_number, str(roles.get(u.role, u.role)),
                 u.team.name if u.team else "", u.manager.username if u.manager else "", u.email, u.phone,
                 u.customers, _("Active") if u.is_active else _("Deactivated"),
                 u.last_login.strftime("%Y-%m-%d %H:%M") if u.last_login else ""] for u in qs)
        return xlsx_response(filename=f"users-{company.code}.xlsx", sheet_title=_("Users"), columns=columns, rows=rows)
    return render(request, "setup/users.html", {"nav": "users", "users": qs, "show": show, "q": q,
                                                **USER_SORTS.context(request.GET)})


@login_required
def user_create(request):
    _admin_only(request)
    company = _company(request)
    form = UserForm(request.POST or None, company=company, initial={"role": Role.SALESPERSON, "language": "zh-hans"})
    if request.method == "POST" and form.is_valid():
        try:
            user = accounts.create_user(actor=request.user, companies=[company], one_time=True, **form.values())
        except DomainError as error:
            _apply_error(form, error)
        else:
            messages.success(request, _("%(user)s was added. Give them their login and one-time password; they choose "
                                        "their own at the first sign-in.") % {"user": f"{user} ({user.username})"})
            return redirect("web:user-detail", pk=user.pk)
    status = 422 if request.method == "POST" else 200
    return render(request, "setup/user_form.html", {"nav": "users", "form": form, "teams": Team.objects.all()},
                  status=status)


@login_required
def user_detail(request, pk):
    _admin_only(request)
    company = _company(request)
    user = _get_user(request, pk)
    post = request.POST if request.method == "POST" else None
    action = request.POST.get("action") if post else ""
    initial = {"display_name": user.display_name, "employee_number": user.employee_number, "email": user.email,
               "phone": user.phone, "team": user.team.name if user.team else "",
               "manager": str(user.manager_id or ""), "language": user.language}
    form = UserForm(post if action == "profile" else None, company=company, editing=user, initial=initial)
    role_form = RoleForm(post if action == "role" else None, initial={"role": user.role})
    password_form = PasswordResetForm(post if action == "password" else None)
    reassign_form = ReassignForm(post if action == "reassign" else None, company=company, subject=user)
    if post:
        try:
            if action == "profile" and form.is_valid():
                accounts.update_user(actor=request.user, user_id=user.pk, **form.values())
                messages.success(request, _("Saved."))
                return redirect("web:user-detail", pk=user.pk)
            if action == "role" and role_form.is_valid():
                accounts.set_role(actor=request.user, user_id=user.pk, role=role_form.cleaned_data["role"])
                messages.success(request, _("Role changed."))
                return redirect("web:user-detail", pk=user.pk)
            if action == "password" and password_form.is_valid():
                accounts.reset_password(actor=request.user, user_id=user.pk,
                                        password=password_form.cleaned_data["password"])
                messages.success(request, _("One-time password set; %(user)s chooses their own at the next sign-in.")
                                 % {"user": user})
                return redirect("web:user-detail", pk=user.pk)
            if action == "reassign" and reassign_form.is_valid():
                moved = reassign_customers(company=company, actor=request.user, from_user_id=user.pk,
                                           to_user_id=int(reassign_form.cleaned_data["to_user"]))
                messages.success(request, _("%(count)d customers moved to their new owner; each customer's timeline "
                                            "shows the change.") % {"count": moved})
                return redirect("web:user-detail", pk=user.pk)
        except DomainError as error:
            target = {"profile": form, "role": role_form, "password": password_form,
                      "reassign": reassign_form}.get(action, form)
            _apply_error(target, error)
    events = list(AuditEvent.objects.filter(target_type="accounts.user", target_id=user.pk)
                  .select_related("actor").order_by("-at", "-pk")[:50])
    history = list(zip(events, audit.describe(events), strict=True))
    context = {"nav": "users", "subject": user, "form": form, "role_form": role_form, "password_form": password_form,
               "reassign_form": reassign_form,
               "teams": Team.objects.all(), "history": history,
               "customers": user.owned_customers.filter(company=company).count()}
    return render(request, "setup/user_detail.html", context, status=422 if post else 200)


@login_required
@require_POST
def user_active(request, pk):
    _admin_only(request)
    user = _get_user(request, pk)
    try:
        if request.POST.get("active") == "1":
            accounts.reactivate_user(actor=request.user, user_id=user.pk)
            messages.success(request, _("%(user)s can sign in again.") % {"user": user})
        else:
            accounts.deactivate_user(actor=request.user, user_id=user.pk)
            messages.success(request, _("%(user)s is deactivated: they can no longer sign in; their history keeps "
                                        "their name.") % {"user": user})
    except DomainError as error:
        messages.error(request, str(error.message))
    return redirect("web:user-detail", pk=user.pk)


# ---------------------------------------------------------------- own password


class OwnPasswordForm(forms.Form):
    old_password = forms.CharField(label=gettext_lazy("Current password"), widget=forms.PasswordInput)
    new_password = forms.CharField(label=gettext_lazy("New password"), widget=forms.PasswordInput)
    new_password2 = forms.CharField(label=gettext_lazy("New password again"), widget=forms.PasswordInput)

    def clean(self):
        data = super().clean()
        if data.get("new_password") and data.get("new_password2") and data["new_password"] != data["new_password2"]:
            self.add_error("new_password2", _("The two passwords differ."))
        return data


@login_required
def password_change(request):
    form = OwnPasswordForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            user = accounts.change_own_password(user_id=request.user.pk, old_password=form.cleaned_data["old_password"],
                                                new_password=form.cleaned_data["new_password"])
        except DomainError as error:
            _apply_error(form, error)
        else:
            update_session_auth_hash(request, user)
            messages.success(request, _("Your password is changed."))
            return redirect("web:dashboard")
    return render(request, "setup/password.html", {"nav": "", "form": form,
                                                   "forced": request.user.must_change_password},
                  status=422 if request.method == "POST" else 200)
