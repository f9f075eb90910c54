"""One importer per kind: how a row is parsed, checked against the file and the database, and written.

See ``pipeline`` for the shared machinery (mapping, cell parsing, problems, the one-transaction commit).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.core.validators import validate_email

from huikuan.accounts.scoping import owner_q
from huikuan.common.calendar import next_working_day
from huikuan.common.errors import DomainError
from huikuan.common.identifiers import is_valid_uscc, normalise_phone
from huikuan.common.money import ZERO
from huikuan.common.uploads import FileRejected
from huikuan.customers import bank_accounts, review
from huikuan.customers import services as customer_services
from huikuan.customers.models import Contact, Customer, CustomerBankAccount
from huikuan.ledger import bulk as ledger_bulk
from huikuan.ledger import calculations as calc
from huikuan.ledger import fapiao as ledger_fapiao
from huikuan.ledger import services as ledger_services
from huikuan.ledger.errors import LedgerError
from huikuan.ledger.models import (
    Credit,
    CreditKind,
    DocumentKind,
    Fapiao,
    Instalment,
    ReceivableDocument,
    Status,
)
from huikuan.prediction import services as prediction_services

from . import pipeline
from .models import ImportKind
from .parsing import CellError
from .pipeline import BAD, SOURCE, Importer, NewCustomer, Op, Problem, chunks, customer_pk
from .problems import msg as _  # problems are stored as msgid + params (problems.py)
from .resolve import PendingTerm, term_pk
from .values import parse_currency


def lock_customers(ids) -> None:
    """Lock the customers a bulk commit will touch, all of them and in pk order, before any write."""
    ordered = sorted(ids)
    for start in range(0, len(ordered), 1000):
        list(Customer.objects.select_for_update().filter(pk__in=ordered[start : start + 1000])
             .order_by("pk").values_list("pk", flat=True))


def inner(service):
    # looked up on the pipeline module at call time so tests can intercept it
    return pipeline.inner(service)


# ================================================================ customers


class CustomerImporter(Importer):
    kind_code = ImportKind.CUSTOMERS
    RELATED = ("owner", "payment_term")

    def __init__(self, **kw):
        super().__init__(**kw)
        self.rows: list[tuple[int, dict]] = []
        self.seen: dict = {}
        self.banks: dict[int, dict] = {}  # line → bank account to record for the row's customer
        self.bank_numbers: dict[str, tuple[str, int]] = {}  # account number → (customer code, first line)

    def row(self, line, cells):
        rec = self.parse_row(line, cells)
        if rec is None:
            return
        ok = True
        notes = []
        bank = self._bank_account(line, rec)
        if bank is BAD:
            ok = False
        if rec.get("credit_code"):
            rec["credit_code"] = rec["credit_code"].upper()
            if not is_valid_uscc(rec["credit_code"]):  # a warning: the row imports, the customer is flagged
                self.warn(line, "credit_code", rec["credit_code"],
                          _("Not a valid unified social credit code (check character): the customer is imported "
                            "without it and marked “check this”."))
                notes.append(review.note("uscc", code=rec.pop("credit_code")))
        if rec.get("currency"):
            try:
                rec["currency"] = parse_currency(rec["currency"])
            except CellError as exc:
                self.problem(line, "currency", rec["currency"], exc.reason)
                ok = False
        if "owner" in self.col and rec.get("owner"):
            try:
                rec["owner"] = self.people.find(rec["owner"])
            except CellError as exc:
                self.problem(line, "owner", rec["owner"], exc.reason)
                ok = False
        if "payment_term" in self.col and rec.get("payment_term"):
            term = self.term(line, rec["payment_term"])
            if term is BAD:
                ok = False
            rec["payment_term"] = term
        if self.duplicate_in_file(self.seen, rec["code"], line, "code", rec["code"]):
            ok = False
        if bank and ok:
            holder = self.bank_numbers.setdefault(bank["account_number"], (rec["code"], line))
            if holder[0] != rec["code"]:
                self.problem(line, "bank_account", bank["account_number"],
                             _("The same account number is on line %(line)d for customer %(code)s.")
                             % {"line": holder[1], "code": holder[0]})
                ok = False
        if ok:
            self.rows.append((line, rec, notes))
            if bank:
                self.banks[line] = bank

    def _bank_account(self, line, rec):
        """The row's bank account (开户行, 账号, 户名) checked as the customers app checks it; None if none."""
        values = {"bank_name": rec.pop("bank_name", None) or "", "account_name": rec.pop("bank_account_name", None) or ""}
        number = rec.pop("bank_account", None)
        if not number:
            return None
        try:
            out = bank_accounts.validate_bank_account({"account_number": number, **values})
        except DomainError as exc:
            self.problem(line, "bank_account" if exc.field == "account_number" else "bank_name", number, str(exc))
            return BAD
        if not out["account_name"]:
            out["account_name"] = rec.get("name") or ""
        return out

    def _same_names(self) -> None:
        """A name another customer already has (in the company or earlier in the file, under another
        code) is a warning: the row imports and both are worth a look."""
        names = {}
        for chunk in chunks(sorted({rec["name"] for _l, rec, _n in self.rows})):
            for code, name in Customer.objects.filter(company=self.company, name__in=chunk).values_list("code", "name"):
                names.setdefault(name, []).append(code)
        in_file: dict[str, str] = {}
        for line, rec, notes in self.rows:
            others = [c for c in names.get(rec["name"], []) if c != rec["code"]]
            earlier = in_file.setdefault(rec["name"], rec["code"])
            if earlier != rec["code"] and earlier not in others:
                others.append(earlier)
            if others:
                self.warn(line, "name", rec["name"], _("Another customer (%(codes)s) has the same name: the row is "
                                                       "imported and marked “check this”.") % {"codes": "、".join(others)})
                notes.append(review.note("same_name", other="、".join(others)))

    def _known_accounts(self) -> dict[str, tuple[int, str]]:
        """Account numbers of the file already recorded in the company: number → (customer pk, code)."""
        known = {}
        for chunk in chunks(sorted(self.bank_numbers)):
            for number, cid, code in CustomerBankAccount.objects.filter(
                    company=self.company, account_number__in=chunk).values_list("account_number", "customer_id",
                                                                               "customer__code"):
                known[number] = (cid, code)
        return known

    def finish(self):
        self._same_names()
        known = self._known_accounts()
        for line, rec, _notes in list(self.rows):
            bank = self.banks.get(line)
            if bank is None:
                continue
            holder = known.get(bank["account_number"])
            if holder is None:
                continue
            if holder[1] != rec["code"]:
                self.problem(line, "bank_account", bank["account_number"],
                             _("Account %(number)s is already recorded for customer %(code)s.")
                             % {"number": bank["account_number"], "code": holder[1]})
                self.rows = [r for r in self.rows if r[0] != line]
            del self.banks[line]  # recorded for this customer already: nothing to do
        codes = [rec["code"] for _line, rec, _notes in self.rows]
        existing: dict[str, Customer] = {}
        for chunk in chunks(codes):
            for c in Customer.objects.filter(company=self.company, code__in=chunk):
                existing[c.code] = c
        visible = set(
            Customer.objects.filter(owner_q(self.actor, "owner"), pk__in=[c.pk for c in existing.values()])
            .values_list("pk", flat=True)
        ) if existing else set()
        for line, rec, notes in self.rows:
            rec.pop("external_key", None)
            current = existing.get(rec["code"])
            if current is None:
                values = {k: ("" if v is None and k not in self.RELATED else v) for k, v in rec.items()}
                for key in ("status", "currency"):
                    if not values.get(key):
                        values.pop(key, None)
                self.ops.append(Op("create", line, values, notes=notes, bank=self.banks.get(line)))
                continue
            # an empty cell leaves the stored value as it is
            values = {k: v for k, v in rec.items() if v not in (None, "")}
            if current.pk not in visible:
                self.problem(line, "code", rec["code"], _("This code belongs to a customer you cannot see."))
                continue
            changes = {}
            for k, v in values.items():
                old = getattr(current, k)
                old_key = getattr(old, "pk", old)
                new_key = getattr(v, "pk", v)
                if isinstance(v, PendingTerm) or (old_key or "") != (new_key or ""):
                    changes[k] = v
            if "currency" in changes and current.documents.exists():
                self.problem(line, "currency", changes["currency"],
                             _("The currency cannot change: this customer already has receivable documents."))
                continue
            new_notes = [n for n in notes if n not in current.review_notes]
            if changes or new_notes or line in self.banks:
                self.ops.append(Op("update", line, {"customer_id": current.pk, "version": current.version,
                                                    "changes": changes}, notes=new_notes, bank=self.banks.get(line)))
            else:
                self.ops.append(Op("unchanged", line))

    def apply(self, op):
        values = op.data if op.action == "create" else op.data["changes"]
        if isinstance(values.get("payment_term"), PendingTerm):  # created at the start of the commit
            values = {**values, "payment_term": values["payment_term"].term}
        if op.action == "create":
            customer = inner(customer_services.create_customer)(company=self.company, actor=self.actor,
                                                                channel="import", **values)
        else:
            customer = inner(customer_services.update_customer)(
                customer_id=op.data["customer_id"], actor=self.actor, expected_version=op.data["version"],
                channel="import", **values,
            )
        if op.notes:
            inner(review.flag_for_review)(customer_id=customer.pk, actor=self.actor, notes=op.notes)
        if op.bank:
            inner(bank_accounts.add_bank_account)(customer_id=customer.pk, actor=self.actor, **op.bank)


# ================================================================ contacts


class ContactImporter(Importer):
    kind_code = ImportKind.CONTACTS
    FIELDS = ("name", "title", "phone", "email", "wechat_id", "preferred_channel", "language", "is_primary")

    def __init__(self, **kw):
        super().__init__(**kw)
        self.rows: list[tuple[int, int, dict]] = []
        self.seen: dict = {}

    def row(self, line, cells):
        customer = self.resolve_customer(line, cells)
        rec = self.parse_row(line, cells, skip=("customer_code", "customer_name"))
        if rec is None or customer is None:
            return
        ok = True
        notes = []
        if rec.get("phone"):
            try:
                rec["phone"] = normalise_phone(rec["phone"])
            except ValueError:  # a warning: the contact imports without it, the customer is flagged
                self.warn(line, "phone", rec["phone"], _("Not a usual phone number (mobile or landline with area "
                                                         "code): the contact is imported without it and the customer "
                                                         "marked “check this”."))
                notes.append(review.note("phone", phone=rec["phone"], contact=rec["name"]))
                rec["phone"] = None
        if rec.get("email"):
            try:
                validate_email(rec["email"])
            except ValidationError:
                self.problem(line, "email", rec["email"], _("Enter a valid email address."))
                ok = False
        if rec.get("is_primary") is not None:
            rec["is_primary"] = rec["is_primary"] == "yes"
        else:
            rec.pop("is_primary", None)
        if self.duplicate_in_file(self.seen, (customer[0], rec["name"]), line, "name", rec["name"]):
            ok = False
        if ok:
            self.rows.append((line, customer[0], {k: ("" if v is None else v) for k, v in rec.items()}, notes))

    def finish(self):
        ids = sorted({cid for _l, cid, _r, _n in self.rows})
        existing: dict[tuple[int, str], Contact] = {}
        for chunk in chunks(ids):
            for c in Contact.objects.filter(customer_id__in=chunk, is_active=True).order_by("pk"):
                existing.setdefault((c.customer_id, c.name), c)
        for line, cid, rec, notes in self.rows:
            for key in ("preferred_channel", "language"):
                if key in rec and not rec[key]:
                    rec.pop(key)
            current = existing.get((cid, rec["name"]))
            if current is None:
                self.ops.append(Op("create", line, {"customer_id": cid, **rec}, notes=notes))
                continue
            # an empty cell leaves the stored value as it is
            changes = {k: v for k, v in rec.items() if v != "" and getattr(current, k) != v}
            if changes or notes:
                self.ops.append(Op("update", line, {"contact_id": current.pk, "customer_id": cid, "changes": changes},
                                   notes=notes))
            else:
                self.ops.append(Op("unchanged", line))

    def apply(self, op):
        if op.action == "create":
            inner(customer_services.add_contact)(actor=self.actor, **op.data)
        elif op.data["changes"]:
            inner(customer_services.update_contact)(contact_id=op.data["contact_id"], actor=self.actor, **op.data["changes"])
        if op.notes:
            inner(review.flag_for_review)(customer_id=op.data["customer_id"], actor=self.actor, notes=op.notes)


# ================================================================ documents


@dataclass
class _Doc:
    line: int
    customer_id: int | NewCustomer  # a NewCustomer is created by the commit (``create_customers``)
    currency: str
    number: str
    document_date: dt.date
    total: Decimal | None
    term: object  # PaymentTerm, PendingTerm (created by the commit) or None
    reference: str
    description: str
    external_key: str
    schedule: list = field(default_factory=list)  # [(line, due_date, amount)]
    bad: bool = False
    discount: tuple | None = None  # (amount, date) of the terms' early-payment discount, on a file's due date


class DocumentImporter(Importer):
    kind_code = ImportKind.DOCUMENTS
    doc_kind = DocumentKind.INVOICE

    def __init__(self, **kw):
        super().__init__(**kw)
        self.docs: dict[str, _Doc] = {}
        self.keys: dict[str, int] = {}

    @property
    def per_instalment(self) -> bool:
        return self.mapped("instalment_amount")

    def extra_file_problems(self):
        if not self.mapped("total") and not self.mapped("instalment_amount"):
            f = self.kind.field("total")
            return [Problem(self.table.header_line, str(f.label), "",
                            _("Required column “%(column)s” is missing or not mapped.") % {"column": f.label})]
        if self.per_instalment and not self.mapped("due_date"):
            f = self.kind.field("due_date")
            return [Problem(self.table.header_line, str(f.label), "",
                            _("Rows per instalment need a due date column."))]
        return []


    def row(self, line, cells):
        customer = self.resolve_customer(line, cells)
        rec = self.parse_row(line, cells, skip=("customer_code", "customer_name", "total", "instalment_amount", "currency"))
        currency = self.row_currency(line, cells, customer[1]) if customer else None
        # amounts are checked even when the customer is unknown, so the row shows all its problems
        parse_currency = currency or (customer[1] if customer else self.company.base_currency)
        total = self.money_cell(line, cells, "total", parse_currency, required=not self.per_instalment)
        inst_amount = None
        if self.per_instalment:
            inst_amount = self.money_cell(line, cells, "instalment_amount", parse_currency, required=True)
        if rec is None or customer is None or currency is None or BAD in (total, inst_amount):
            if rec is not None and rec.get("number") in self.docs:
                self.docs[rec["number"]].bad = True
            return
        term = self.term(line, rec.get("payment_term"))
        if term is BAD:
            return
        number = rec["number"]
        doc = self.docs.get(number)
        if doc is not None and not self.per_instalment:
            self.problem(line, "number", number, _("Duplicate of line %(line)d in this file.") % {"line": doc.line})
            return
        if doc is None:
            ext = rec.get("external_key") or number
            if self.duplicate_in_file(self.keys, ext, line, "external_key" if rec.get("external_key") else "number", ext):
                return
            doc = self.docs[number] = _Doc(
                line=line, customer_id=customer[0], currency=currency, number=number,
                document_date=rec["document_date"], total=total, term=term,
                reference=rec.get("reference") or "", description=rec.get("description") or "", external_key=ext,
            )
        else:
            if doc.customer_id != customer[0] or doc.document_date != rec["document_date"]:
                self.problem(line, "number", number,
                             _("Rows of document %(number)s disagree on the customer or the date (see line %(line)d).")
                             % {"number": number, "line": doc.line})
                doc.bad = True
                return
            if total is not None:
                if doc.total is not None and doc.total != total:
                    self.problem(line, "total", total,
                                 _("Rows of document %(number)s disagree on the total (see line %(line)d).")
                                 % {"number": number, "line": doc.line})
                    doc.bad = True
                    return
                doc.total = total
        if self.per_instalment:
            doc.schedule.append((line, rec.get("due_date"), inst_amount))
        elif rec.get("due_date"):
            doc.schedule.append((line, rec["due_date"], total))

    def _check_schedule(self, doc: _Doc) -> bool:
        if not self.per_instalment:
            if doc.schedule and doc.schedule[0][1] < doc.document_date:
                self.problem(doc.line, "due_date", doc.schedule[0][1], _("The due date is before the document date."))
                return False
            return True
        ok = True
        for line, due, _amount in doc.schedule:
            if due is None:
                self.problem(line, "due_date", "", _("This field is required."))
                ok = False
            elif due < doc.document_date:
                self.problem(line, "due_date", due, _("The due date is before the document date."))
                ok = False
        if not ok:
            return False
        parts = sum((a for _l, _d, a in doc.schedule), ZERO)
        if doc.total is not None and parts != doc.total:
            self.problem(doc.line, "instalment_amount", parts,
                         _("The instalments add up to %(sum)s, not the document total %(total)s.")
                         % {"sum": parts, "total": doc.total})
            return False
        doc.total = parts
        doc.schedule.sort(key=lambda s: (s[1], s[0]))
        return True

    def _terms_schedule(self, doc: _Doc) -> list:
        """What the document's terms would give it (roll to working days included)."""
        term = doc.term
        if isinstance(term, PendingTerm):
            g = term.guess
            spec = calc.TermSpec(kind=g.kind, days=g.days, discount_percent=g.discount_percent,
                                 discount_days=g.discount_days)
            roll = next_working_day if self.company.roll_due_to_working_day else None
            return calc.build_schedule(total=doc.total, document_date=doc.document_date, terms=spec,
                                       currency=doc.currency, roll=roll)
        return ledger_services.proposed_schedule(company=self.company, total=doc.total,
                                                 document_date=doc.document_date, term=term, currency=doc.currency)

    def _reconcile_due_date(self, doc: _Doc) -> bool:
        """A row with both terms and a due date: keep the terms' early-payment discount on the file's
        date, or — when they disagree — follow the user's choice (file's dates / terms' schedule).

        Returns False when the disagreement still needs the user's choice (counted, warned)."""
        if self.per_instalment or doc.term is None or len(doc.schedule) != 1 or doc.total is None:
            return True
        lines = self._terms_schedule(doc)
        file_due = doc.schedule[0][1]
        first = lines[0] if len(lines) == 1 else None
        if first is not None and first.due_date == file_due:
            if first.discount_amount:
                doc.discount = (first.discount_amount, first.discount_date)
            return True
        choice = self.options.get("due_dates")
        terms_due = "、".join(str(x.due_date) for x in lines)
        self.due_date_conflicts += 1
        if choice == "terms":
            reason = _("The file's due date %(file)s differs from the terms' schedule (%(terms)s): the terms' schedule "
                       "is used.")
            doc.schedule = []
        elif choice == "file":
            reason = _("The file's due date %(file)s differs from the terms' schedule (%(terms)s): the file's date is "
                       "used.")
            if first is not None and first.discount_amount:
                doc.discount = (first.discount_amount, first.discount_date)
        else:
            reason = _("The file's due date %(file)s differs from the terms' schedule (%(terms)s).")
        self.warn(doc.schedule[0][0] if doc.schedule else doc.line, "due_date", file_due,
                  reason % {"file": file_due, "terms": terms_due})
        return choice in ("file", "terms")

    def finish(self):
        self.due_date_conflicts = 0
        docs = [d for d in self.docs.values() if not d.bad and self._check_schedule(d)]
        undecided = [d for d in docs if not self._reconcile_due_date(d)]
        if undecided:
            self.preview.file_problems.append(Problem(
                self.table.header_line, self.column("due_date"), "",
                _("On %(n)d rows the file's due date differs from the payment terms: choose whether to use the "
                  "file's due dates or the terms' schedule.") % {"n": len(undecided)}))
        self.preview.due_date_conflicts = self.due_date_conflicts
        self.docs = {}
        by_key: dict[str, ReceivableDocument] = {}
        by_number: dict[str, ReceivableDocument] = {}
        for chunk in chunks(docs):
            for d in ReceivableDocument.objects.filter(company=self.company, external_source=SOURCE,
                                                       external_key__in=[x.external_key for x in chunk]):
                by_key[d.external_key] = d
            for d in ReceivableDocument.objects.filter(company=self.company, number__in=[x.number for x in chunk]):
                by_number[d.number] = d
        schedules: dict[int, list] = {}
        if self.per_instalment and by_key:
            for chunk in chunks([d.pk for d in by_key.values()]):
                for i in Instalment.objects.filter(document_id__in=chunk).order_by("document_id", "seq"):
                    schedules.setdefault(i.document_id, []).append((i.due_date, i.amount))
        for doc in docs:
            current = by_key.get(doc.external_key)
            if current is None:
                clash = by_number.get(doc.number)
                if clash is not None:
                    self.problem(doc.line, "number", doc.number,
                                 _("Document number %(number)s already exists.") % {"number": doc.number})
                    continue
                self.ops.append(Op("create", doc.line, {"doc": doc}))
                continue
            diff = self._difference(doc, current, schedules.get(current.pk))
            if diff:
                self.problem(doc.line, diff[0], diff[1], diff[2])
            else:
                self.ops.append(Op("unchanged", doc.line))

    def _difference(self, doc: _Doc, current: ReceivableDocument, schedule) -> tuple | None:
        if current.status == Status.REVERSED:
            return ("number", doc.number, _("%(number)s was imported before and has since been reversed; "
                                            "give the corrected document a new number.") % {"number": doc.number})
        if current.customer_id != doc.customer_id:
            return ("customer_code", "", _("%(number)s is already posted for another customer; a reversal is needed "
                                           "before it can be imported again.") % {"number": doc.number})
        if current.total_amount != doc.total:
            return ("total" if self.mapped("total") else "instalment_amount", doc.total,
                    _("%(number)s is already posted with amount %(old)s; posted documents cannot be changed — "
                      "post a reversal first, then import the corrected row.") % {"number": doc.number, "old": current.total_amount})
        if current.document_date != doc.document_date:
            return ("document_date", doc.document_date,
                    _("%(number)s is already posted dated %(old)s; posted documents cannot be changed — post a "
                      "reversal first.") % {"number": doc.number, "old": current.document_date})
        if self.per_instalment and schedule is not None:
            wanted = [(d, a) for _l, d, a in doc.schedule]
            if wanted != schedule:
                return ("due_date", "", _("%(number)s is already posted with a different schedule; a reversal is "
                                          "needed.") % {"number": doc.number})
        return None

    batch_size = 10**9  # one bulk call: each customer's balance is then updated once

    def lock(self, ops):
        lock_customers({customer_pk(op.data["doc"].customer_id) for op in ops})

    def apply_batch(self, ops):
        inner(ledger_bulk.post_documents)(company=self.company, actor=self.actor, progress=self.write_progress, documents=[
            ledger_bulk.DocumentInput(
                customer_id=customer_pk(doc.customer_id), document_date=doc.document_date, total=doc.total,
                number=doc.number,
                kind=self.doc_kind, currency=doc.currency, payment_term_id=term_pk(doc.term),
                schedule=[ledger_services.ScheduleInput(due_date=d, amount=a, discount_amount=doc.discount[0],
                                                        discount_date=doc.discount[1]) if doc.discount else
                          ledger_services.ScheduleInput(due_date=d, amount=a) for _l, d, a in doc.schedule] or None,
                reference=doc.reference, description=doc.description, external_source=SOURCE,
                external_key=doc.external_key,
            )
            for doc in (op.data["doc"] for op in ops)
        ])


# ================================================================ opening balances


class OpeningImporter(Importer):
    kind_code = ImportKind.OPENING

    def __init__(self, **kw):
        super().__init__(**kw)
        self.rows: list[tuple[int, int, str, dict]] = []
        self.seen: dict = {}

    def row(self, line, cells):
        parsed = self.customer_amount_row(line, cells)
        if parsed is None:
            return
        customer, rec, amount = parsed
        if self.duplicate_in_file(self.seen, customer[0], line, "customer_code", self.raw(cells, "customer_code")):
            return
        if rec.get("due_date") and rec["due_date"] < rec["date"]:
            self.problem(line, "due_date", rec["due_date"], _("The due date is before the document date."))
            return
        rec["amount"] = amount
        self.rows.append((line, customer[0], customer[1], rec))

    def finish(self):
        ids = [cid for _l, cid, _c, _r in self.rows]
        existing: dict[int, ReceivableDocument] = {}
        numbers = {}
        for chunk in chunks(ids):
            for d in ReceivableDocument.objects.filter(company=self.company, kind=DocumentKind.OPENING,
                                                       status=Status.POSTED, customer_id__in=chunk):
                existing.setdefault(d.customer_id, d)
        wanted_numbers = [r["number"] for _l, _c, _cur, r in self.rows if r.get("number")]
        for chunk in chunks(wanted_numbers):
            numbers.update(ReceivableDocument.objects.filter(company=self.company, number__in=chunk)
                           .values_list("number", "customer_id"))
        for line, cid, currency, rec in self.rows:
            current = existing.get(cid)
            if current is None:
                if rec.get("number") and rec["number"] in numbers:
                    self.problem(line, "number", rec["number"],
                                 _("Document number %(number)s already exists.") % {"number": rec["number"]})
                    continue
                self.ops.append(Op("create", line, {"customer_id": cid, "currency": currency, **rec}))
            elif current.total_amount != rec["amount"] or current.document_date != rec["date"]:
                self.problem(line, "amount", rec["amount"],
                             _("This customer already has an opening balance of %(old)s dated %(date)s; posted "
                               "documents cannot be changed — post a reversal first.")
                             % {"old": current.total_amount, "date": current.document_date})
            else:
                self.ops.append(Op("unchanged", line))

    batch_size = 10**9  # one bulk call: each customer's balance is then updated once

    def lock(self, ops):
        lock_customers({op.data["customer_id"] for op in ops})

    def apply_batch(self, ops):
        inner(ledger_bulk.post_documents)(company=self.company, actor=self.actor, progress=self.write_progress, documents=[
            ledger_bulk.DocumentInput(
                customer_id=d["customer_id"], document_date=d["date"], total=d["amount"], number=d.get("number") or "",
                kind=DocumentKind.OPENING, currency=d["currency"],
                schedule=[ledger_services.ScheduleInput(due_date=d.get("due_date") or d["date"], amount=d["amount"])],
                description=d.get("description") or "", external_source=SOURCE,
                external_key=f"opening:{d['customer_id']}",
            )
            for d in (op.data for op in ops)
        ])


# ================================================================ payments


class PaymentImporter(Importer):
    kind_code = ImportKind.PAYMENTS

    def __init__(self, **kw):
        super().__init__(**kw)
        self.rows: list[tuple[int, int, str, dict]] = []
        self.seen: dict = {}

    def extra_file_problems(self):
        if not self.mapped("number") and not self.mapped("external_key"):
            return [Problem(self.table.header_line, str(self.kind.field("number").label), "",
                            _("Map a receipt number or an external key column, so that importing the file again "
                              "cannot record the payments twice."))]
        return []

    def row(self, line, cells):
        parsed = self.customer_amount_row(line, cells)
        if parsed is None:
            return
        customer, rec, amount = parsed
        rec["amount"] = amount
        key = rec.get("external_key") or rec.get("number")
        if not key:
            self.problem(line, "number", "", _("Each payment needs a receipt number or an external key."))
            return
        if self.duplicate_in_file(self.seen, key, line, "external_key" if rec.get("external_key") else "number", key):
            return
        method = rec.get("method") or "transfer"
        try:  # the ledger's own checks (date not after today; bill number, maturity after the date within 6 months)
            ledger_bulk.check_bill(method=method, bill_number=rec.get("bill_number") or "",
                                   bill_maturity_date=rec.get("bill_maturity_date"), date=rec["date"], today=self.today)
        except LedgerError as exc:
            self.problem(line, exc.field, rec.get(exc.field) or "", str(exc))
            return
        rec["method"] = method
        rec["key"] = key
        self.rows.append((line, customer[0], customer[1], rec))

    def finish(self):
        by_key: dict[str, Credit] = {}
        by_number: set[str] = set()
        keys = [r["key"] for _l, _c, _cur, r in self.rows]
        numbers = [r["number"] for _l, _c, _cur, r in self.rows if r.get("number")]
        for chunk in chunks(keys):
            # the exclude() repeats the partial unique index's condition: without it SQLite cannot use that
            # index and scans the company's credits once per chunk (108 s to re-import 100,000 payments); no ORDER BY
            # either, or the planner walks the (company, date) index to avoid a sort
            for c in (Credit.objects.filter(company=self.company, external_source=SOURCE, external_key__in=chunk)
                      .exclude(external_key="").order_by().only("external_key", "customer_id", "amount", "date", "status")):
                by_key[c.external_key] = c
        for chunk in chunks(numbers):
            by_number.update(Credit.objects.filter(company=self.company, kind=CreditKind.PAYMENT, number__in=chunk)
                             .order_by().values_list("number", flat=True))
        bills = {line: ledger_services.normalise_bill_number(rec.get("bill_number") or "")
                 for line, _c, _cur, rec in self.rows if rec["method"] in ledger_services.BILL_METHODS}
        taken_bills = ledger_bulk.taken_bills(company_id=self.company.pk, numbers=list(bills.values()))
        bill_lines: dict[str, int] = {}
        for line, cid, currency, rec in self.rows:
            current = by_key.get(rec["key"])
            if current is None:
                if rec.get("number") and rec["number"] in by_number:
                    self.problem(line, "number", rec["number"],
                                 _("Receipt number %(number)s already exists.") % {"number": rec["number"]})
                    continue
                bill = bills.get(line)
                if bill and bill in taken_bills:
                    self.problem(line, "bill_number", rec["bill_number"],
                                 _("Acceptance bill %(bill)s is already recorded (receipt %(receipt)s).")
                                 % {"bill": bill, "receipt": taken_bills[bill]})
                    continue
                if bill and bill in bill_lines:
                    self.problem(line, "bill_number", rec["bill_number"],
                                 _("Acceptance bill %(bill)s is already on line %(line)d.")
                                 % {"bill": bill, "line": bill_lines[bill]})
                    continue
                if bill:
                    bill_lines[bill] = line
                self.ops.append(Op("create", line, {"customer_id": cid, "currency": currency, **rec}))
            elif current.customer_id != cid or current.amount != rec["amount"] or current.date != rec["date"]:
                self.problem(line, "amount", rec["amount"],
                             _("Payment %(key)s is already recorded (%(amount)s on %(date)s); recorded payments cannot be "
                               "changed — reverse it first.") % {"key": rec["key"], "amount": current.amount, "date": current.date})
            elif current.status == Status.REVERSED:
                self.problem(line, "number", rec["key"], _("Payment %(key)s was imported before and has since been reversed.")
                             % {"key": rec["key"]})
            else:
                self.ops.append(Op("unchanged", line))

    batch_size = 10**9  # one bulk call: each customer's balance and each instalment is then updated once

    def lock(self, ops):
        lock_customers({op.data["customer_id"] for op in ops})

    def apply_batch(self, ops):
        inner(ledger_bulk.record_payments)(company=self.company, actor=self.actor, progress=self.write_progress,
                                           today=self.today, payments=[
            ledger_bulk.PaymentInput(
                customer_id=d["customer_id"], amount=d["amount"], date=d["date"], method=d["method"],
                currency=d["currency"], number=d.get("number") or "", reference=d.get("reference") or "",
                memo=d.get("memo") or "", bill_number=d.get("bill_number") or "",
                bill_maturity_date=d.get("bill_maturity_date"), external_source=SOURCE, external_key=d["key"],
            )
            for d in (op.data for op in ops)
        ])


# ================================================================ fapiao


class FapiaoImporter(Importer):
    kind_code = ImportKind.FAPIAO

    def __init__(self, **kw):
        super().__init__(**kw)
        self.rows: list[tuple[int, int, dict]] = []
        self.seen: dict = {}

    def row(self, line, cells):
        parsed = self.customer_amount_row(line, cells)
        if parsed is None:
            return
        customer, rec, amount = parsed
        rec["amount"] = amount
        rec["fapiao_type"] = rec.get("fapiao_type") or "special"
        if self.duplicate_in_file(self.seen, rec["number"], line, "number", rec["number"]):
            return
        try:
            ledger_services.check_not_future(rec.get("issue_date"), today=self.today, field="issue_date")
        except LedgerError as exc:
            self.problem(line, exc.field, rec.get("issue_date"), str(exc))
            return
        self.rows.append((line, customer[0], rec))

    def finish(self):
        numbers = [r["number"] for _l, _c, r in self.rows]
        docs = [r["document_number"] for _l, _c, r in self.rows if r.get("document_number")]
        existing: dict[str, Fapiao] = {}
        documents: dict[str, tuple[int, int]] = {}
        for chunk in chunks(numbers):
            for f in Fapiao.objects.filter(company=self.company, number__in=chunk):
                existing[f.number] = f
        for chunk in chunks(docs):
            for number, pk, cid in ReceivableDocument.objects.filter(company=self.company, number__in=chunk).values_list(
                "number", "pk", "customer_id"
            ):
                documents[number] = (pk, cid)
        # what each document may still take (its amount less the net fapiao already on it), used up row by row
        room = ledger_fapiao.fapiao_room([pk for pk, _cid in documents.values()])
        for line, cid, rec in self.rows:
            doc_id = None
            if rec.get("document_number"):
                found = documents.get(rec["document_number"])
                if found is None:
                    self.problem(line, "document_number", rec["document_number"], _("Unknown document number."))
                    continue
                if found[1] != cid:
                    self.problem(line, "document_number", rec["document_number"],
                                 _("The document belongs to another customer."))
                    continue
                doc_id = found[0]
            current = existing.get(rec["number"])
            if current is None:
                if doc_id is not None:
                    left, why = room[doc_id]
                    if why or rec["amount"] > left:
                        self.problem(line, "amount", rec["amount"], why or _(
                            "%(number)s can take fapiao for at most %(left)s more (its amount less the fapiao "
                            "already recorded, net of red reversals).") % {"number": rec["document_number"], "left": left})
                        continue
                    room[doc_id] = (left - rec["amount"], why)
                self.ops.append(Op("create", line, {"customer_id": cid, "document_id": doc_id, **rec}))
            elif (current.customer_id, current.amount, current.issue_date) != (cid, rec["amount"], rec["issue_date"]):
                self.problem(line, "number", rec["number"],
                             _("Fapiao %(number)s is already recorded with other data.") % {"number": rec["number"]})
            else:
                self.ops.append(Op("unchanged", line))

    def apply(self, op):
        d = op.data
        inner(ledger_fapiao.record_fapiao)(
            company=self.company, customer_id=d["customer_id"], number=d["number"], fapiao_type=d["fapiao_type"],
            issue_date=d["issue_date"], amount=d["amount"], actor=self.actor, document_id=d["document_id"],
            today=self.today,
        )


# ================================================================ payment history (settled invoices)


@dataclass(slots=True)
class _Settled:
    line: int
    customer_id: int | NewCustomer  # a NewCustomer is created by the commit (``create_customers``)
    currency: str
    number: str
    document_date: dt.date
    due_date: dt.date
    amount: Decimal
    payments: list = field(default_factory=list)  # [(line, settled_date, settled_amount or None)]
    disputed: bool = False
    delivery: str = ""
    region: str = ""
    bad: bool = False


class HistoryImporter(Importer):
    """Settled invoices of the old system (issue 16): each posted as an invoice with one instalment due on
    its due date, and each payment row recorded on its settled date and applied to that invoice only, in
    one transaction through the ledger's bulk path; disputed / delivery / region go to ``prediction``."""

    kind_code = ImportKind.HISTORY

    def __init__(self, **kw):
        super().__init__(**kw)
        self.docs: dict[str, _Settled] = {}

    def row(self, line, cells):
        customer = self.resolve_customer(line, cells)
        rec = self.parse_row(line, cells, skip=("customer_code", "customer_name", "amount", "settled_amount", "currency"))
        currency = self.row_currency(line, cells, customer[1]) if customer else None
        money_currency = currency or (customer[1] if customer else self.company.base_currency)
        amount = self.money_cell(line, cells, "amount", money_currency, required=True)
        settled = self.money_cell(line, cells, "settled_amount", money_currency, required=False)
        ok = not (rec is None or customer is None or currency is None or BAD in (amount, settled))
        if rec is not None:
            if rec["due_date"] < rec["document_date"]:
                self.problem(line, "due_date", rec["due_date"], _("The due date is before the document date."))
                ok = False
            if rec["settled_date"] < rec["document_date"]:
                self.problem(line, "settled_date", rec["settled_date"], _("The settled date is before the document date."))
                ok = False
            elif rec["settled_date"] > self.today:
                self.problem(line, "settled_date", rec["settled_date"], _("The settled date is after today."))
                ok = False
        number = rec.get("number") if rec is not None else None
        doc = self.docs.get(number) if number else None
        if not ok:
            if doc is not None:
                doc.bad = True
            return
        if doc is None:
            doc = self.docs[number] = _Settled(
                line=line, customer_id=customer[0], currency=currency, number=number,
                document_date=rec["document_date"], due_date=rec["due_date"], amount=amount)
        elif (doc.customer_id, doc.document_date, doc.due_date, doc.amount) != (
                customer[0], rec["document_date"], rec["due_date"], amount):
            self.problem(line, "number", number,
                         _("Rows of document %(number)s disagree on the customer, dates or amount (see line %(line)d).")
                         % {"number": number, "line": doc.line})
            doc.bad = True
            return
        doc.payments.append((line, rec["settled_date"], settled))
        doc.disputed = doc.disputed or rec.get("disputed") == "yes"
        doc.delivery = rec.get("delivery") or doc.delivery
        doc.region = rec.get("region") or doc.region

    def _amounts(self, doc: _Settled) -> list | None:
        """Each payment's amount; a row without a settled amount pays what is left (None: a problem)."""
        left = doc.amount
        out = []
        for line, day, paid in sorted(doc.payments, key=lambda p: (p[1], p[0])):
            if paid is None:
                paid = left
            if paid > left or paid <= 0:
                self.problem(line, "settled_amount", paid,
                             _("The payments of %(number)s add up to more than its amount %(amount)s.")
                             % {"number": doc.number, "amount": doc.amount})
                return None
            left -= paid
            out.append((line, day, paid))
        return out

    def finish(self):
        docs = [d for d in self.docs.values() if not d.bad]
        self.docs = {}
        existing: dict[str, ReceivableDocument] = {}
        for chunk in chunks(docs):
            for d in ReceivableDocument.objects.filter(company=self.company, number__in=[x.number for x in chunk]):
                existing[d.number] = d
        for doc in docs:
            payments = self._amounts(doc)
            if payments is None:
                continue
            current = existing.get(doc.number)
            if current is None:
                self.ops.append(Op("create", doc.line, {"doc": doc, "payments": payments}))
            elif (current.external_source, current.external_key, current.customer_id, current.total_amount,
                  current.document_date) == (SOURCE, f"history:{doc.number}", doc.customer_id, doc.amount,
                                             doc.document_date):
                self.ops.append(Op("unchanged", doc.line))
            else:
                self.problem(doc.line, "number", doc.number,
                             _("Document number %(number)s already exists.") % {"number": doc.number})

    batch_size = 10**9  # one bulk call per table: each customer's balance and each instalment updated once

    def lock(self, ops):
        lock_customers({customer_pk(op.data["doc"].customer_id) for op in ops})

    def apply_batch(self, ops):
        docs = [op.data["doc"] for op in ops]
        posted = inner(ledger_bulk.post_documents)(
            company=self.company, actor=self.actor, progress=self.write_progress, documents=[
                ledger_bulk.DocumentInput(
                    customer_id=customer_pk(d.customer_id), document_date=d.document_date, total=d.amount,
                    number=d.number,
                    kind=DocumentKind.INVOICE, currency=d.currency,
                    schedule=[ledger_services.ScheduleInput(due_date=d.due_date, amount=d.amount)],
                    external_source=SOURCE, external_key=f"history:{d.number}")
                for d in docs])
        payments = [
            (day, line, ledger_bulk.PaymentInput(
                customer_id=customer_pk(d.customer_id), amount=paid, date=day, currency=d.currency, memo=d.number,
                external_source=SOURCE, external_key=f"history:{d.number}:{n}", document_id=p.pk))
            for d, p, op in zip(docs, posted, ops, strict=True)
            for n, (line, day, paid) in enumerate(op.data["payments"], start=1)
        ]
        payments.sort(key=lambda x: (x[0], x[1]))  # receipt numbers follow the dates
        try:
            inner(ledger_bulk.record_payments)(company=self.company, actor=self.actor, today=self.today,
                                               payments=[p for _d, _l, p in payments])
        except DomainError as exc:  # name the payment's own line, not the n-th document's
            index = exc.params.pop("index", None)
            if isinstance(index, int):
                line = payments[index][1]
                exc.params["index"] = next(i for i, op in enumerate(ops) if any(
                    pl == line for pl, _d, _a in op.data["payments"]))
            raise
        inner(prediction_services.record_document_facts)(company=self.company, actor=self.actor, facts=[
            prediction_services.FactsInput(document_id=p.pk, disputed=d.disputed, delivery=d.delivery, region=d.region)
            for d, p in zip(docs, posted, strict=True)])


IMPORTERS: dict[str, type[Importer]] = {
    cls.kind_code: cls
    for cls in (CustomerImporter, ContactImporter, DocumentImporter, OpeningImporter, PaymentImporter, FapiaoImporter,
                HistoryImporter)
}


def importer_for(kind: str, **kw) -> Importer:
    try:
        cls = IMPORTERS[kind]
    except KeyError as exc:
        raise FileRejected(_("Unknown kind of import.")) from exc
    return cls(**kw)
