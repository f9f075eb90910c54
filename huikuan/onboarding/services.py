"""Setting up a company: the company row, its first administrator and everything it starts with.

``setup_company`` is one durable transaction: the company, the administrator (new or existing), the
payment terms (the starter set, edited by the caller or not), the credit policy with its default
grades and scorecard, the default dunning policy with its templates, and an audit event. Any refusal
(a code already used, an invalid term, a weak password…) leaves nothing behind.

This module sits above ``accounts``, ``customers``, ``credit`` and ``dunning`` because the defaults
belong to those apps; ``accounts`` (the lowest business layer) cannot import them.
"""

from __future__ import annotations

import re
import unicodedata
import zoneinfo
from dataclasses import dataclass, field

from django.db import IntegrityError, transaction
from django.utils.translation import gettext_lazy as _

from huikuan.accounts import services as accounts
from huikuan.accounts.models import Company, Role, User
from huikuan.common import audit
from huikuan.common.errors import DomainError, NotAllowed
from huikuan.common.money import MINOR_UNITS
from huikuan.customers.errors import InvalidTerms
from huikuan.customers.models import PaymentTerm
from huikuan.customers.services import validate_terms

from .defaults import starter_terms

_CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,19}$")


class SetupError(DomainError):
    code = "setup_error"


class CompanyExists(SetupError):
    code = "company_exists"
    status = 409


@dataclass(frozen=True)
class NewAdmin:
    """The first administrator to create with the company."""

    username: str
    password: str
    display_name: str = ""
    email: str = ""
    one_time: bool = False  # the person running setup chose this password themself


@dataclass
class SetupResult:
    company: Company
    admin: User
    terms: list[PaymentTerm] = field(default_factory=list)
    dunning_policy: object = None
    grades: list[str] = field(default_factory=list)


def time_zones() -> list[str]:
    """IANA time zones, Asia/Shanghai first (the usual answer)."""
    zones = sorted(z for z in zoneinfo.available_timezones() if "/" in z and not z.startswith(("Etc/", "SystemV/")))
    return ["Asia/Shanghai", *[z for z in zones if z != "Asia/Shanghai"]]


def clean_company(*, code, name, currency, time_zone, name_en="") -> dict:
    """Normalise and check the company's own fields (raises SetupError with the field at fault)."""
    code = unicodedata.normalize("NFKC", str(code or "")).strip().upper()
    if not code:
        raise SetupError(_("Enter a company code."), field="code")
    if not _CODE.match(code):
        raise SetupError(_("A company code is 1 to 20 letters, digits, - or _ (for example HK01)."), field="code")
    name = unicodedata.normalize("NFC", str(name or "")).strip()
    if not name:
        raise SetupError(_("Enter the company's full legal name."), field="name")
    if len(name) > 200:
        raise SetupError(_("Ensure this value has at most %(max)d characters.") % {"max": 200}, field="name")
    currency = str(currency or "").strip().upper()
    if currency not in MINOR_UNITS:
        raise SetupError(_("Unknown currency %(currency)s. Choose one of: %(choices)s.")
                         % {"currency": currency, "choices": ", ".join(MINOR_UNITS)}, field="currency")
    time_zone = str(time_zone or "").strip()
    try:
        zoneinfo.ZoneInfo(time_zone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise SetupError(_("Unknown time zone %(zone)s (for example Asia/Shanghai).") % {"zone": time_zone},
                         field="time_zone") from None
    return {"code": code, "name": name, "name_en": str(name_en or "").strip()[:200], "base_currency": currency,
            "timezone": time_zone}


def clean_terms(terms: list[dict]) -> list[dict]:
    """Check every term (``customers.services.validate_terms``) and that codes are not repeated.

    Raises SetupError naming the line (1-based) and the problem.
    """
    out, seen = [], set()
    for n, raw in enumerate(terms, start=1):
        try:
            values = validate_terms(raw)
        except InvalidTerms as exc:
            raise SetupError(_("Payment terms line %(line)d: %(problem)s") % {"line": n, "problem": exc.message},
                             field="terms") from exc
        if values["code"].upper() in seen:
            raise SetupError(_("Payment terms line %(line)d: the code %(code)s is used twice.")
                             % {"line": n, "code": values["code"]}, field="terms")
        seen.add(values["code"].upper())
        out.append(values)
    return out


def apply_company_defaults(company: Company, *, terms: list[dict] | None = None, actor=None) -> dict:
    """Create what a company starts with, inside the caller's transaction; idempotent.

    Terms already present (by code) are left as they are. Returns what was created.
    """
    from huikuan.credit.services import policy_of
    from huikuan.dunning.services import ensure_defaults

    values = clean_terms(starter_terms() if terms is None else terms)
    existing = set(PaymentTerm.objects.filter(company=company).values_list("code", flat=True))
    created = [PaymentTerm(company=company, **v) for v in values if v["code"] not in existing]
    PaymentTerm.objects.bulk_create(created)
    policy = policy_of(company)
    dunning = ensure_defaults(company)
    return {"terms": [t.code for t in created], "grades": list(policy.grades.values_list("code", flat=True)),
            "dunning_policy": dunning}


@transaction.atomic(durable=True)
def setup_company(
    *,
    code: str,
    name: str,
    currency: str = "CNY",
    time_zone: str = "Asia/Shanghai",
    name_en: str = "",
    roll_due_dates: bool = True,
    admin: NewAdmin | User,
    terms: list[dict] | None = None,
    actor: User | None = None,
) -> SetupResult:
    """Create a company with its administrator, terms, credit grades and dunning policy.

    ``admin``: a ``NewAdmin`` to create (the first run of an install) or an existing user, who gets
    access to the company. ``actor``: the administrator adding a further company (None for the
    operator at the command line, or the first setup). ``terms``: the payment terms to create
    (default: the starter set). Raises CompanyExists when the code is taken (case-insensitive) and
    SetupError for anything invalid; nothing is written then.
    """
    if actor is not None and not actor.can("admin.users"):
        raise NotAllowed(_("Only an administrator can add a company."))
    values = clean_company(code=code, name=name, currency=currency, time_zone=time_zone, name_en=name_en)
    if Company.objects.filter(code__iexact=values["code"]).exists():
        raise CompanyExists(_("A company with the code %(code)s already exists; nothing was changed.")
                            % {"code": values["code"]}, field="code")
    term_values = clean_terms(starter_terms() if terms is None else terms)
    try:
        with transaction.atomic():
            company = Company.objects.create(roll_due_to_working_day=bool(roll_due_dates), **values)
    except IntegrityError as exc:
        raise CompanyExists(_("A company with the code %(code)s already exists; nothing was changed.")
                            % {"code": values["code"]}, field="code") from exc
    if isinstance(admin, NewAdmin):
        admin_user = accounts.new_user(
            actor=actor, username=admin.username, password=admin.password, role=Role.ADMIN,
            display_name=admin.display_name, email=admin.email, companies=[company], one_time=admin.one_time,
            superuser=True)
    else:
        admin_user = User.objects.select_for_update().get(pk=admin.pk)
        if admin_user.role != Role.ADMIN and not admin_user.is_superuser:
            raise NotAllowed(_("Only an administrator can set up a company."))
        if admin_user.role != Role.ADMIN:  # a superuser made with `createsuperuser` administers what they set up
            admin_user.role = Role.ADMIN
            admin_user.save(update_fields=["role"])
        admin_user.companies.add(company)
    made = apply_company_defaults(company, terms=term_values)
    audit.record(actor=actor or admin_user, verb="accounts.company.created", target=company, company_id=company.pk,
                 summary=f"{company.code} {company.name}",
                 data={**values, "admin": admin_user.username, "terms": made["terms"], "grades": made["grades"],
                       "roll_due_to_working_day": bool(roll_due_dates)})
    return SetupResult(company=company, admin=admin_user,
                       terms=list(PaymentTerm.objects.filter(company=company).order_by("code")),
                       dunning_policy=made["dunning_policy"], grades=made["grades"])
