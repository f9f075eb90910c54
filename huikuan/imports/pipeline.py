"""The import pipeline: validate every row of a file, then write all of it or nothing.

``Importer.validate()`` streams the file once, parses every mapped cell (``parsing``), checks each
row against the others (duplicate keys, documents whose instalment rows disagree) and, in batches,
against the database (unknown customers, keys already used, posted records that would change).
It returns a ``Preview`` listing every problem with the line the user sees, the file's column, the
value and the reason in the active language. Nothing is written.

``Importer.commit()`` runs ``validate()`` and, only if it found nothing, writes every planned
operation in ONE durable transaction by calling the undecorated bodies of the domain services
(``inner(service)``, see docs/ARCHITECTURE.md "Imports"): each row still goes through the same
validation, locks, audit events and balance updates as a clerk's form, but the outer transaction
is the import's, so the first refusal rolls back every row before it.

Re-importing: rows are keyed by (external_source="import", external_key) for ledger records and
by code for customers; a row whose record exists unchanged is a no-op, a changed customer or
contact is updated, and a changed posted ledger record is a row error (posted records are only
corrected by reversals).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.utils.translation import gettext as _

from huikuan.accounts.models import User
from huikuan.accounts.scoping import owner_q
from huikuan.common.errors import DomainError, NotAllowed
from huikuan.common.identifiers import is_valid_uscc, normalise_phone
from huikuan.common.money import MINOR_UNITS, ZERO
from huikuan.customers import services as customer_services
from huikuan.customers.models import Contact, Customer, PaymentTerm
from huikuan.ledger import services as ledger_services
from huikuan.ledger.models import (
    Credit,
    CreditKind,
    DocumentKind,
    Fapiao,
    Instalment,
    ReceivableDocument,
    Status,
)

from .kinds import KINDS, Field, Kind
from .models import ImportKind
from .parsing import CellError, cell_text, parse_choice, parse_date, parse_int, parse_money, parse_text
from .reading import FileRejected, Table

SOURCE = "import"
BATCH = 500
_BAD = object()


def inner(service: Callable) -> Callable:
    """The body of a ``@transaction.atomic(durable=True)`` service without its own transaction.

    Only for the import's all-or-nothing commit, which runs inside its own durable transaction.
    """
    body = getattr(service, "__wrapped__", None)
    if body is None:  # pragma: no cover - guards against a service losing its decorator
        raise TypeError(f"{service.__qualname__} is not a transaction.atomic-decorated service")
    return body


@dataclass
class Problem:
    line: int
    column: str
    value: str
    reason: str

    def as_dict(self) -> dict:
        return {"line": self.line, "column": self.column, "value": self.value, "reason": self.reason}


@dataclass
class Op:
    action: str  # create | update | unchanged
    line: int
    data: dict = field(default_factory=dict)


@dataclass
class Preview:
    total_rows: int = 0
    problems: list[Problem] = field(default_factory=list)
    file_problems: list[Problem] = field(default_factory=list)
    created: int = 0
    updated: int = 0
    unchanged: int = 0

    @property
    def ok(self) -> bool:
        return not self.problems and not self.file_problems

    @property
    def error_lines(self) -> int:
        return len({p.line for p in self.problems}) + (1 if self.file_problems else 0)

    def all_problems(self) -> list[Problem]:
        return [*self.file_problems, *sorted(self.problems, key=lambda p: (p.line, p.column))]


class CommitFailed(DomainError):
    """A service refused a row during the commit; the whole import was rolled back."""

    code = "import_failed"

    def __init__(self, problem: Problem):
        super().__init__(problem.reason)
        self.problem = problem


def _chunks(items: list, size: int = BATCH) -> Iterable[list]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


class Importer:
    """Validate and commit one file of one kind for one company and actor."""

    kind_code: str = ""

    def __init__(self, *, company, actor, table: Table, mapping: dict[str, str],
                 progress: Callable[[str, int, int], None] | None = None):
        self.company = company
        self.actor = actor
        self.table = table
        self.kind: Kind = KINDS[self.kind_code]
        self.mapping = {k: v for k, v in (mapping or {}).items() if v}
        index = {h: i for i, h in enumerate(table.headers) if h}
        self.col: dict[str, int] = {name: index[h] for name, h in self.mapping.items() if h in index}
        self.progress = progress or (lambda phase, done, total: None)
        self.preview = Preview()
        self.ops: list[Op] = []
        self._customers: dict[str, tuple[int, str]] | None = None
        self._customer_names: dict[str, list[tuple[int, str]]] | None = None

    # ------------------------------------------------------------ helpers

    def column(self, name: str) -> str:
        if name in self.mapping:
            return self.mapping[name]
        try:
            return str(self.kind.field(name).label)
        except KeyError:
            return name

    def problem(self, line: int, name: str, value, reason) -> None:
        self.preview.problems.append(Problem(line, self.column(name), cell_text(value)[:200], str(reason)))

    def raw(self, cells: list, name: str):
        i = self.col.get(name)
        if i is None or i >= len(cells):
            return ""
        return cells[i]

    def mapped(self, name: str) -> bool:
        return name in self.col

    def parse_cell(self, line: int, cells: list, f: Field, currency: str = "CNY"):
        value = self.raw(cells, f.name)
        empty = value is None or cell_text(value) == ""
        if empty:
            if f.required:
                self.problem(line, f.name, "", _("This field is required."))
                return _BAD
            return None
        try:
            if f.type == "text":
                return parse_text(value, max_length=f.max_length) or None
            if f.type == "phone":
                return parse_text(value, max_length=f.max_length, allow_formula_prefix=r"\+[\d\s\-()]+") or None
            if f.type == "money":
                return parse_money(value, currency=currency)
            if f.type == "date":
                return parse_date(value)
            if f.type == "int":
                return parse_int(value)
            if f.type == "choice":
                return parse_choice(value, f.synonyms())
        except CellError as exc:
            self.problem(line, f.name, value, exc.reason)
            return _BAD
        raise ValueError(f.type)  # pragma: no cover

    def parse_row(self, line: int, cells: list, *, skip: tuple[str, ...] = ()) -> dict | None:
        rec, bad = {}, False
        for f in self.kind.fields:
            if f.name in skip or (f.name not in self.col and not f.required):
                continue
            v = self.parse_cell(line, cells, f)
            if v is _BAD:
                bad = True
            else:
                rec[f.name] = v
        return None if bad else rec

    # customers visible to the actor, by code (and by exact name when the file has no code column)
    def customers(self) -> dict[str, tuple[int, str]]:
        if self._customers is None:
            qs = Customer.objects.filter(owner_q(self.actor, "owner"), company=self.company)
            self._customers = {code: (pk, cur) for pk, code, cur in qs.values_list("pk", "code", "currency").iterator()}
        return self._customers

    def customer_by_name(self) -> dict[str, list[tuple[int, str]]]:
        if self._customer_names is None:
            out: dict[str, list[tuple[int, str]]] = {}
            qs = Customer.objects.filter(owner_q(self.actor, "owner"), company=self.company)
            for pk, name, cur in qs.values_list("pk", "name", "currency").iterator():
                out.setdefault(name.strip(), []).append((pk, cur))
            self._customer_names = out
        return self._customer_names

    def resolve_customer(self, line: int, cells: list) -> tuple[int, str] | None:
        code_raw = self.raw(cells, "customer_code")
        code = cell_text(code_raw)
        if code:
            found = self.customers().get(code)
            if found is None:
                self.problem(line, "customer_code", code_raw, _("Unknown customer code (or a customer you cannot see)."))
            return found
        name = cell_text(self.raw(cells, "customer_name"))
        if not name:
            self.problem(line, "customer_code", "", _("This field is required."))
            return None
        matches = self.customer_by_name().get(name, [])
        if len(matches) == 1:
            return matches[0]
        if not matches:
            self.problem(line, "customer_name", name, _("Unknown customer name (or a customer you cannot see)."))
        else:
            self.problem(line, "customer_name", name, _("Several customers have this name: add a customer code column."))
        return None

    def row_currency(self, line: int, cells: list, customer_currency: str) -> str | None:
        raw = cell_text(self.raw(cells, "currency")).upper()
        if not raw:
            return customer_currency
        if raw in ("RMB", "人民币"):
            raw = "CNY"
        if raw not in MINOR_UNITS:
            self.problem(line, "currency", raw, _("Unsupported currency."))
            return None
        if raw != customer_currency:
            self.problem(line, "currency", raw, _("This customer's account is kept in %(currency)s.") % {"currency": customer_currency})
            return None
        return raw

    def money_cell(self, line: int, cells: list, name: str, currency: str, *, required: bool):
        value = self.raw(cells, name)
        if value is None or cell_text(value) == "":
            if required:
                self.problem(line, name, "", _("This field is required."))
                return _BAD
            return None
        try:
            return parse_money(value, currency=currency)
        except CellError as exc:
            self.problem(line, name, value, exc.reason)
            return _BAD

    def duplicate_in_file(self, seen: dict, key, line: int, name: str, value) -> bool:
        first = seen.get(key)
        if first is not None:
            self.problem(line, name, value, _("Duplicate of line %(line)d in this file.") % {"line": first})
            return True
        seen[key] = line
        return False

    # ------------------------------------------------------------ the two entry points

    def file_problems(self) -> list[Problem]:
        out = []
        for f in self.kind.fields:
            if f.required and f.name not in self.col:
                if f.name == "customer_code" and "customer_name" in self.col:
                    continue
                out.append(Problem(self.table.header_line, str(f.label), "",
                                   _("Required column “%(column)s” is missing or not mapped.") % {"column": f.label}))
        for f in self.kind.fields:
            if f.name == "customer_code" and not f.required and "customer_code" not in self.col \
                    and "customer_name" not in self.col:
                out.append(Problem(self.table.header_line, str(f.label), "",
                                   _("Map a customer code or a customer name column.")))
        out.extend(self.extra_file_problems())
        return out

    def extra_file_problems(self) -> list[Problem]:
        return []

    def validate(self) -> Preview:
        if not self.actor.can(self.kind.perm):
            raise NotAllowed(_("You are not allowed to import this kind of data."))
        self.preview = Preview()
        self.ops = []
        self.preview.file_problems = self.file_problems()
        if self.preview.file_problems:
            return self.preview
        n = 0
        for line, cells in self.table.rows():
            n += 1
            self.row(line, cells)
            if n % 2000 == 0:
                self.progress("checking", n, 0)
        self.preview.total_rows = n
        self.finish()
        for op in self.ops:
            if op.action == "create":
                self.preview.created += 1
            elif op.action == "update":
                self.preview.updated += 1
            else:
                self.preview.unchanged += 1
        if self.preview.problems:
            self.ops = []
        return self.preview

    def commit(self, *, dry_run: bool = False) -> Preview:
        """Validate, then (unless ``dry_run`` or there are problems) write everything in one transaction."""
        preview = self.validate()
        if not preview.ok or dry_run:
            return preview
        todo = [op for op in self.ops if op.action != "unchanged"]
        with transaction.atomic(durable=True):
            for done, op in enumerate(todo, start=1):
                try:
                    self.apply(op)
                except DomainError as exc:
                    name = exc.field if exc.field and exc.field in self.mapping else ""
                    raise CommitFailed(Problem(op.line, self.column(name) if name else "", "", str(exc))) from exc
                if done % 500 == 0:
                    self.progress("writing", done, len(todo))
        self.progress("writing", len(todo), len(todo))
        return preview

    # ------------------------------------------------------------ per kind

    def row(self, line: int, cells: list) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def finish(self) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def apply(self, op: Op) -> None:  # pragma: no cover - abstract
        raise NotImplementedError


# ================================================================ customers


class CustomerImporter(Importer):
    kind_code = ImportKind.CUSTOMERS
    RELATED = ("owner", "payment_term")

    def __init__(self, **kw):
        super().__init__(**kw)
        self.rows: list[tuple[int, dict]] = []
        self.seen: dict = {}
        self.owners = None
        self.terms = None

    def _owners(self) -> dict[str, User]:
        if self.owners is None:
            self.owners = {}
            for u in User.objects.filter(companies=self.company, is_active=True):
                for key in (u.username, u.display_name):
                    if key:
                        self.owners.setdefault(key.strip(), u)
        return self.owners

    def _terms(self) -> dict[str, PaymentTerm]:
        if self.terms is None:
            self.terms = {t.code: t for t in PaymentTerm.objects.filter(company=self.company, active=True)}
        return self.terms

    def row(self, line, cells):
        rec = self.parse_row(line, cells)
        if rec is None:
            return
        ok = True
        if rec.get("credit_code"):
            rec["credit_code"] = rec["credit_code"].upper()
            if not is_valid_uscc(rec["credit_code"]):
                self.problem(line, "credit_code", rec["credit_code"],
                             _("This is not a valid unified social credit code (check the 18 characters)."))
                ok = False
        if rec.get("currency"):
            rec["currency"] = rec["currency"].upper()
            if rec["currency"] not in MINOR_UNITS:
                self.problem(line, "currency", rec["currency"], _("Unsupported currency."))
                ok = False
        if "owner" in self.col and rec.get("owner"):
            user = self._owners().get(rec["owner"])
            if user is None:
                self.problem(line, "owner", rec["owner"], _("No user with this name in this company."))
                ok = False
            rec["owner"] = user
        if "payment_term" in self.col and rec.get("payment_term"):
            term = self._terms().get(rec["payment_term"])
            if term is None:
                self.problem(line, "payment_term", rec["payment_term"], _("Unknown payment terms code."))
                ok = False
            rec["payment_term"] = term
        if self.duplicate_in_file(self.seen, rec["code"], line, "code", rec["code"]):
            ok = False
        if ok:
            self.rows.append((line, rec))

    def finish(self):
        codes = [rec["code"] for _line, rec in self.rows]
        existing: dict[str, Customer] = {}
        for chunk in _chunks(codes):
            for c in Customer.objects.filter(company=self.company, code__in=chunk):
                existing[c.code] = c
        visible = set(
            Customer.objects.filter(owner_q(self.actor, "owner"), pk__in=[c.pk for c in existing.values()])
            .values_list("pk", flat=True)
        ) if existing else set()
        for line, rec in self.rows:
            rec.pop("external_key", None)
            current = existing.get(rec["code"])
            if current is None:
                values = {k: ("" if v is None and k not in self.RELATED else v) for k, v in rec.items()}
                for key in ("status", "currency"):
                    if not values.get(key):
                        values.pop(key, None)
                self.ops.append(Op("create", line, values))
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
                if (old_key or "") != (new_key or ""):
                    changes[k] = v
            if "currency" in changes and current.documents.exists():
                self.problem(line, "currency", changes["currency"],
                             _("The currency cannot change: this customer already has receivable documents."))
                continue
            if changes:
                self.ops.append(Op("update", line, {"customer_id": current.pk, "version": current.version, "changes": changes}))
            else:
                self.ops.append(Op("unchanged", line))

    def apply(self, op):
        if op.action == "create":
            inner(customer_services.create_customer)(company=self.company, actor=self.actor, **op.data)
        else:
            inner(customer_services.update_customer)(
                customer_id=op.data["customer_id"], actor=self.actor, expected_version=op.data["version"],
                **op.data["changes"],
            )


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
        if rec.get("phone"):
            try:
                rec["phone"] = normalise_phone(rec["phone"])
            except ValueError:
                self.problem(line, "phone", rec["phone"], _("Enter a valid phone number (mobile or landline with area code)."))
                ok = False
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
            self.rows.append((line, customer[0], {k: ("" if v is None else v) for k, v in rec.items()}))

    def finish(self):
        ids = sorted({cid for _l, cid, _r in self.rows})
        existing: dict[tuple[int, str], Contact] = {}
        for chunk in _chunks(ids):
            for c in Contact.objects.filter(customer_id__in=chunk, is_active=True).order_by("pk"):
                existing.setdefault((c.customer_id, c.name), c)
        for line, cid, rec in self.rows:
            for key in ("preferred_channel", "language"):
                if key in rec and not rec[key]:
                    rec.pop(key)
            current = existing.get((cid, rec["name"]))
            if current is None:
                self.ops.append(Op("create", line, {"customer_id": cid, **rec}))
                continue
            # an empty cell leaves the stored value as it is
            changes = {k: v for k, v in rec.items() if v != "" and getattr(current, k) != v}
            if changes:
                self.ops.append(Op("update", line, {"contact_id": current.pk, "changes": changes}))
            else:
                self.ops.append(Op("unchanged", line))

    def apply(self, op):
        if op.action == "create":
            inner(customer_services.add_contact)(actor=self.actor, **op.data)
        else:
            inner(customer_services.update_contact)(contact_id=op.data["contact_id"], actor=self.actor, **op.data["changes"])


# ================================================================ documents


@dataclass
class _Doc:
    line: int
    customer_id: int
    currency: str
    number: str
    document_date: dt.date
    total: Decimal | None
    term_id: int | None
    reference: str
    description: str
    external_key: str
    schedule: list = field(default_factory=list)  # [(line, due_date, amount)]
    bad: bool = False


class DocumentImporter(Importer):
    kind_code = ImportKind.DOCUMENTS
    doc_kind = DocumentKind.INVOICE

    def __init__(self, **kw):
        super().__init__(**kw)
        self.docs: dict[str, _Doc] = {}
        self.keys: dict[str, int] = {}
        self.terms: dict[str, int] | None = None

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

    def _term_id(self, line, code) -> int | None | object:
        if not code:
            return None
        if self.terms is None:
            self.terms = dict(PaymentTerm.objects.filter(company=self.company).values_list("code", "pk"))
        pk = self.terms.get(code)
        if pk is None:
            self.problem(line, "payment_term", code, _("Unknown payment terms code."))
            return _BAD
        return pk

    def row(self, line, cells):
        customer = self.resolve_customer(line, cells)
        rec = self.parse_row(line, cells, skip=("customer_code", "customer_name", "total", "instalment_amount", "currency"))
        currency = self.row_currency(line, cells, customer[1]) if customer else None
        total = inst_amount = None
        if currency:
            total = self.money_cell(line, cells, "total", currency, required=not self.per_instalment)
            if self.per_instalment:
                inst_amount = self.money_cell(line, cells, "instalment_amount", currency, required=True)
        if rec is None or customer is None or currency is None or _BAD in (total, inst_amount):
            if rec is not None and rec.get("number") in self.docs:
                self.docs[rec["number"]].bad = True
            return
        term_id = self._term_id(line, rec.get("payment_term"))
        if term_id is _BAD:
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
                document_date=rec["document_date"], total=total, term_id=term_id,
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

    def finish(self):
        docs = [d for d in self.docs.values() if not d.bad and self._check_schedule(d)]
        self.docs = {}
        by_key: dict[str, ReceivableDocument] = {}
        by_number: dict[str, ReceivableDocument] = {}
        for chunk in _chunks(docs):
            for d in ReceivableDocument.objects.filter(company=self.company, external_source=SOURCE,
                                                       external_key__in=[x.external_key for x in chunk]):
                by_key[d.external_key] = d
            for d in ReceivableDocument.objects.filter(company=self.company, number__in=[x.number for x in chunk]):
                by_number[d.number] = d
        schedules: dict[int, list] = {}
        if self.per_instalment and by_key:
            for chunk in _chunks([d.pk for d in by_key.values()]):
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

    def apply(self, op):
        doc: _Doc = op.data["doc"]
        schedule = [ledger_services.ScheduleInput(due_date=d, amount=a) for _l, d, a in doc.schedule] or None
        inner(ledger_services.post_document)(
            company=self.company, customer_id=doc.customer_id, document_date=doc.document_date, actor=self.actor,
            kind=self.doc_kind, number=doc.number, total=doc.total, currency=doc.currency,
            payment_term_id=doc.term_id, schedule=schedule, reference=doc.reference, description=doc.description,
            external_source=SOURCE, external_key=doc.external_key,
        )


# ================================================================ opening balances


class OpeningImporter(Importer):
    kind_code = ImportKind.OPENING

    def __init__(self, **kw):
        super().__init__(**kw)
        self.rows: list[tuple[int, int, str, dict]] = []
        self.seen: dict = {}

    def row(self, line, cells):
        customer = self.resolve_customer(line, cells)
        rec = self.parse_row(line, cells, skip=("customer_code", "customer_name", "amount"))
        if customer is None:
            return
        amount = self.money_cell(line, cells, "amount", customer[1], required=True)
        if rec is None or amount is _BAD:
            return
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
        for chunk in _chunks(ids):
            for d in ReceivableDocument.objects.filter(company=self.company, kind=DocumentKind.OPENING,
                                                       status=Status.POSTED, customer_id__in=chunk):
                existing.setdefault(d.customer_id, d)
        wanted_numbers = [r["number"] for _l, _c, _cur, r in self.rows if r.get("number")]
        for chunk in _chunks(wanted_numbers):
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

    def apply(self, op):
        d = op.data
        inner(ledger_services.post_document)(
            company=self.company, customer_id=d["customer_id"], document_date=d["date"], actor=self.actor,
            kind=DocumentKind.OPENING, number=d.get("number") or "", total=d["amount"], currency=d["currency"],
            schedule=[ledger_services.ScheduleInput(due_date=d.get("due_date") or d["date"], amount=d["amount"])],
            description=d.get("description") or "", external_source=SOURCE, external_key=f"opening:{d['customer_id']}",
        )


# ================================================================ payments


class PaymentImporter(Importer):
    kind_code = ImportKind.PAYMENTS
    BILLS = ("bank_acceptance", "commercial_acceptance")

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
        customer = self.resolve_customer(line, cells)
        rec = self.parse_row(line, cells, skip=("customer_code", "customer_name", "amount"))
        if customer is None:
            return
        amount = self.money_cell(line, cells, "amount", customer[1], required=True)
        if rec is None or amount is _BAD:
            return
        rec["amount"] = amount
        key = rec.get("external_key") or rec.get("number")
        if not key:
            self.problem(line, "number", "", _("Each payment needs a receipt number or an external key."))
            return
        if self.duplicate_in_file(self.seen, key, line, "external_key" if rec.get("external_key") else "number", key):
            return
        method = rec.get("method") or "transfer"
        if method in self.BILLS:
            if not rec.get("bill_number"):
                self.problem(line, "bill_number", "", _("An acceptance bill needs its bill number."))
                return
            maturity = rec.get("bill_maturity_date")
            if maturity is None:
                self.problem(line, "bill_maturity_date", "", _("An acceptance bill needs its maturity date."))
                return
            if maturity <= rec["date"]:
                self.problem(line, "bill_maturity_date", maturity, _("The bill's maturity must be after the receipt date."))
                return
        rec["method"] = method
        rec["key"] = key
        self.rows.append((line, customer[0], customer[1], rec))

    def finish(self):
        by_key: dict[str, Credit] = {}
        by_number: set[str] = set()
        keys = [r["key"] for _l, _c, _cur, r in self.rows]
        numbers = [r["number"] for _l, _c, _cur, r in self.rows if r.get("number")]
        for chunk in _chunks(keys):
            for c in Credit.objects.filter(company=self.company, external_source=SOURCE, external_key__in=chunk):
                by_key[c.external_key] = c
        for chunk in _chunks(numbers):
            by_number.update(Credit.objects.filter(company=self.company, kind=CreditKind.PAYMENT, number__in=chunk)
                             .values_list("number", flat=True))
        for line, cid, currency, rec in self.rows:
            current = by_key.get(rec["key"])
            if current is None:
                if rec.get("number") and rec["number"] in by_number:
                    self.problem(line, "number", rec["number"],
                                 _("Receipt number %(number)s already exists.") % {"number": rec["number"]})
                    continue
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

    def apply(self, op):
        d = op.data
        inner(ledger_services.record_payment)(
            company=self.company, customer_id=d["customer_id"], amount=d["amount"], date=d["date"], actor=self.actor,
            method=d["method"], currency=d["currency"], number=d.get("number") or "", reference=d.get("reference") or "",
            memo=d.get("memo") or "", bill_number=d.get("bill_number") or "",
            bill_maturity_date=d.get("bill_maturity_date"), external_source=SOURCE, external_key=d["key"],
        )


# ================================================================ fapiao


class FapiaoImporter(Importer):
    kind_code = ImportKind.FAPIAO

    def __init__(self, **kw):
        super().__init__(**kw)
        self.rows: list[tuple[int, int, dict]] = []
        self.seen: dict = {}

    def row(self, line, cells):
        customer = self.resolve_customer(line, cells)
        rec = self.parse_row(line, cells, skip=("customer_code", "customer_name", "amount"))
        if customer is None:
            return
        amount = self.money_cell(line, cells, "amount", customer[1], required=True)
        if rec is None or amount is _BAD:
            return
        rec["amount"] = amount
        rec["fapiao_type"] = rec.get("fapiao_type") or "special"
        if self.duplicate_in_file(self.seen, rec["number"], line, "number", rec["number"]):
            return
        self.rows.append((line, customer[0], rec))

    def finish(self):
        numbers = [r["number"] for _l, _c, r in self.rows]
        docs = [r["document_number"] for _l, _c, r in self.rows if r.get("document_number")]
        existing: dict[str, Fapiao] = {}
        documents: dict[str, tuple[int, int]] = {}
        for chunk in _chunks(numbers):
            for f in Fapiao.objects.filter(company=self.company, number__in=chunk):
                existing[f.number] = f
        for chunk in _chunks(docs):
            for number, pk, cid in ReceivableDocument.objects.filter(company=self.company, number__in=chunk).values_list(
                "number", "pk", "customer_id"
            ):
                documents[number] = (pk, cid)
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
                self.ops.append(Op("create", line, {"customer_id": cid, "document_id": doc_id, **rec}))
            elif (current.customer_id, current.amount, current.issue_date) != (cid, rec["amount"], rec["issue_date"]):
                self.problem(line, "number", rec["number"],
                             _("Fapiao %(number)s is already recorded with other data.") % {"number": rec["number"]})
            else:
                self.ops.append(Op("unchanged", line))

    def apply(self, op):
        d = op.data
        inner(ledger_services.record_fapiao)(
            company=self.company, customer_id=d["customer_id"], number=d["number"], fapiao_type=d["fapiao_type"],
            issue_date=d["issue_date"], amount=d["amount"], actor=self.actor, document_id=d["document_id"],
        )


IMPORTERS: dict[str, type[Importer]] = {
    cls.kind_code: cls
    for cls in (CustomerImporter, ContactImporter, DocumentImporter, OpeningImporter, PaymentImporter, FapiaoImporter)
}


def importer_for(kind: str, **kw) -> Importer:
    try:
        cls = IMPORTERS[kind]
    except KeyError as exc:
        raise FileRejected(_("Unknown kind of import.")) from exc
    return cls(**kw)


def bad_row_cells(table: Table, lines: set[int], limit: int = 20000) -> dict[str, list[str]]:
    """The original cells of the given lines (for the error report), read again from the file."""
    out: dict[str, list[str]] = {}
    if not lines:
        return out
    for line, cells in table.rows():
        if line in lines:
            out[str(line)] = [cell_text(c) for c in cells]
            if len(out) >= limit:
                break
    return out


__all__ = ["SOURCE", "CommitFailed", "Importer", "Preview", "Problem", "bad_row_cells", "importer_for", "inner"]
