"""Voucher export services (凭证导出): the account mapping and the export of a period.

``export_vouchers`` reads the period's posted credits (payments with their bank charges and discounts,
credit notes, write-offs), composes balanced vouchers (``voucher_calc``) and records which credits went
out. A credit is exported once: a normal export takes only credits never exported; a re-export of the
period (``again=True``) takes them all and is marked as a re-export. One durable transaction, the company's
mapping row locked so two exports of one company run one after the other; an audit event.
"""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.utils.translation import gettext_lazy as _

from huikuan.common import audit
from huikuan.common.errors import DomainError, NotAllowed

from .models import BankAccountCode, ExportedCredit, VoucherExport, VoucherMapping
from .voucher_calc import CreditRow, Line, Mapping, Unmapped, compose
from .voucher_layouts import LAYOUTS

PERM = "ledger.post"
KINDS = ("payment", "credit_note", "write_off", "bank_charge", "discount")
MAPPING_FIELDS = ("ar_account", "default_bank_account", "credit_note_account", "write_off_account",
                  "bank_charge_account", "discount_account", "receipt_word", "transfer_word")


UNMAPPED_NAMES = {
    "ar": _("accounts receivable (应收账款)"),
    "default_bank": _("the bank of payments recorded without a bank line"),
    "credit_note": _("credit notes"),
    "write_off": _("write-offs (bad-debt allowance)"),
    "bank_charge": _("bank charges"),
    "discount": _("early-payment discounts"),
}


class VoucherError(DomainError):
    pass


def _check(actor) -> None:
    if not actor.can(PERM) or actor.is_read_only:
        raise NotAllowed(_("Only finance can export vouchers."))


def mapping_of(company) -> VoucherMapping:
    return VoucherMapping.objects.get_or_create(company=company)[0]


@transaction.atomic(durable=True)
def save_mapping(*, actor, company, values: dict, bank_codes: dict[int, str]) -> VoucherMapping:
    """Set the 科目 (codes are trimmed; blank = not mapped) and the bank accounts' codes."""
    from huikuan.banking.models import BankAccount

    _check(actor)
    mapping_of(company)
    m = VoucherMapping.objects.select_for_update().get(company=company)
    before = {f: getattr(m, f) for f in MAPPING_FIELDS}
    for f in MAPPING_FIELDS:
        if f in values:
            setattr(m, f, str(values[f] or "").strip()[:40 if f.endswith("account") else 4])
    if not m.receipt_word or not m.transfer_word:
        raise VoucherError(_("Enter the voucher words (e.g. 收 and 转)."), field="receipt_word")
    m.save()
    accounts = {a.pk: a for a in BankAccount.objects.filter(company=company, pk__in=list(bank_codes))}
    for pk, code in bank_codes.items():
        if pk not in accounts:
            raise VoucherError(_("Unknown bank account."), field="bank_account")
        code = str(code or "").strip()[:40]
        if code:
            BankAccountCode.objects.update_or_create(bank_account_id=pk, defaults={"company": company, "account": code})
        else:
            BankAccountCode.objects.filter(bank_account_id=pk).delete()
    audit.record(actor=actor, verb="integrations.vouchers.mapping_saved", target=m, company_id=company.pk,
                 data={"before": before, "after": {f: getattr(m, f) for f in MAPPING_FIELDS},
                       "bank_accounts": {str(k): v for k, v in bank_codes.items()}})
    return m


def _mapping(company, m: VoucherMapping) -> Mapping:
    codes = dict(BankAccountCode.objects.filter(company=company).values_list("bank_account_id", "account"))
    return Mapping(ar_account=m.ar_account, credit_note_account=m.credit_note_account,
                   write_off_account=m.write_off_account, bank_charge_account=m.bank_charge_account,
                   discount_account=m.discount_account, default_bank_account=m.default_bank_account,
                   bank_accounts=codes, receipt_word=m.receipt_word, transfer_word=m.transfer_word)


def period_rows(*, company, period_from: dt.date, period_to: dt.date, again: bool) -> list[CreditRow]:
    """The period's posted credits in date and number order (not yet exported unless ``again``)."""
    from django.db.models import OuterRef, Subquery

    from huikuan.banking.models import BankApplication
    from huikuan.ledger.models import Credit

    line = BankApplication.objects.filter(credit_id=OuterRef("pk"), reversed_at__isnull=True).order_by("pk")
    qs = (Credit.objects.filter(company=company, date__range=(period_from, period_to), kind__in=KINDS,
                                status="posted")
          .annotate(bank_account_id=Subquery(line.values("line__account_id")[:1]),
                    bank_label=Subquery(line.values("line__account__account_number")[:1]))
          .order_by("date", "kind", "number", "pk"))
    if not again:
        qs = qs.exclude(pk__in=ExportedCredit.objects.values("credit_id"))
    return [CreditRow(id=c.pk, kind=c.kind, number=c.number, date=c.date, amount=c.amount,
                      customer_code=c.customer.code, customer_name=c.customer.name, parent_id=c.parent_id,
                      bank_account_id=c.bank_account_id, bank_account_label=c.bank_label or "")
            for c in qs.select_related("customer")]


def line_data(line: Line) -> dict:
    return {"word": line.word, "number": line.number, "line_no": line.line_no, "date": line.date.isoformat(),
            "summary": line.summary, "account": line.account, "debit": str(line.debit), "credit": str(line.credit),
            "customer_code": line.customer_code, "customer_name": line.customer_name}


def stored_lines(export: VoucherExport) -> list[Line]:
    from decimal import Decimal

    return [Line(word=d["word"], number=d["number"], line_no=d["line_no"], date=dt.date.fromisoformat(d["date"]),
                 summary=d["summary"], account=d["account"], debit=Decimal(d["debit"]), credit=Decimal(d["credit"]),
                 customer_code=d["customer_code"], customer_name=d["customer_name"], credit_ids=())
            for d in export.lines]


@transaction.atomic(durable=True)
def export_vouchers(*, actor, company, layout: str, period_from: dt.date, period_to: dt.date, again: bool = False,
                    first_number: int = 1) -> VoucherExport:
    """Export the period's vouchers in ``layout``; raises VoucherError naming an unmapped account, or when
    there is nothing (new) to export."""
    _check(actor)
    if layout not in LAYOUTS:
        raise VoucherError(_("Choose a layout."), field="layout")
    if period_from is None or period_to is None or period_from > period_to:
        raise VoucherError(_("Enter a period whose start is not after its end."), field="period_from")
    if not 1 <= int(first_number) <= 99999:
        raise VoucherError(_("Enter a first voucher number from 1 to 99999."), field="first_number")
    mapping_of(company)
    m = VoucherMapping.objects.select_for_update().get(company=company)
    rows = period_rows(company=company, period_from=period_from, period_to=period_to, again=again)
    if not rows:
        raise VoucherError(_("Nothing to export in this period (everything was exported already: use re-export)."),
                           field="period_from")
    try:
        lines = compose(rows, _mapping(company, m),
                        first_numbers={m.receipt_word: int(first_number), m.transfer_word: int(first_number)})
    except Unmapped as exc:
        what = (_("bank account %(account)s") % {"account": exc.label} if exc.what == "bank"
                else UNMAPPED_NAMES[exc.what])
        raise VoucherError(_("No account code is set for %(what)s. Set it in the account mapping first.")
                           % {"what": what}, field="mapping") from exc
    export = VoucherExport.objects.create(
        company=company, layout=layout, period_from=period_from, period_to=period_to, again=again,
        lines=[line_data(x) for x in lines], voucher_count=len({(x.word, x.number) for x in lines}),
        credit_count=len(rows), created_by=actor)
    exported = set(ExportedCredit.objects.filter(credit_id__in=[r.id for r in rows]).values_list("credit_id", flat=True))
    ExportedCredit.objects.bulk_create([ExportedCredit(credit_id=r.id, export=export) for r in rows
                                        if r.id not in exported])
    audit.record(actor=actor, verb="integrations.vouchers.exported", target=export, company_id=company.pk,
                 summary=f"{layout} {period_from}..{period_to}",
                 data={"again": again, "vouchers": export.voucher_count, "credits": len(rows)})
    return export
