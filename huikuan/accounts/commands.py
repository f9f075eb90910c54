"""Which company a command works on: ``--company CODE``, optional when the install has one company.

Every command that needs a company asks here, so an install without one always answers the same
way: run ``huikuan setup``.
"""

from __future__ import annotations

from django.core.management.base import CommandError
from django.utils.translation import gettext as _

from .models import Company

COMPANY_HELP = "company code (may be left out when there is only one company)"
EVERY_COMPANY_HELP = "company code (default: every company)"


def no_company_message() -> str:
    return _("There is no company yet. Run `huikuan setup` first (see `huikuan setup --help`).")


def _unknown(code: str) -> CommandError:
    known = ", ".join(Company.objects.order_by("code").values_list("code", flat=True))
    return CommandError(_("Unknown company %(code)s (the companies are: %(known)s).") % {"code": code, "known": known})


def one_company(code: str | None) -> Company:
    """The named company, or the only one; CommandError when none exists, it is unknown or ambiguous."""
    if not Company.objects.exists():
        raise CommandError(no_company_message())
    if code:
        company = Company.objects.filter(code__iexact=code.strip()).first()
        if company is None:
            raise _unknown(code)
        return company
    companies = list(Company.objects.order_by("code")[:2])
    if len(companies) > 1:
        known = ", ".join(Company.objects.order_by("code").values_list("code", flat=True))
        raise CommandError(_("There are several companies (%(known)s): name one with --company CODE.")
                           % {"known": known})
    return companies[0]


def some_companies(code: str | None) -> list[Company]:
    """The named company, or every company; CommandError when none exists or the code is unknown."""
    if not Company.objects.exists():
        raise CommandError(no_company_message())
    if code:
        return [one_company(code)]
    return list(Company.objects.order_by("code"))
