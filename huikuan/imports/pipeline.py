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

import functools
from collections.abc import Callable, Iterable
from contextlib import contextmanager
from dataclasses import dataclass, field

from django.db import IntegrityError, connection, transaction

from huikuan.accounts.scoping import owner_q
from huikuan.common import clock, datetext, texts
from huikuan.common.errors import DomainError, NotAllowed
from huikuan.common.uploads import Table
from huikuan.customers import services as customer_services
from huikuan.customers.models import Customer

from .kinds import KINDS, Field, Kind
from .parsing import (
    CellError,
    cell_text,
    long_date,
    normalise,
    parse_choice,
    parse_date,
    parse_int,
    parse_money,
    parse_text,
)
from .problems import msg as _  # problems are stored as msgid + params (problems.py)
from .problems import problem_text
from .resolve import People, Terms
from .values import parse_currency

SOURCE = "import"
BATCH = 500
BAD = object()


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
    reason: object  # a Text (catalog msgid + params, shown in the reader's language) or a plain string

    def __post_init__(self):
        self.reason = problem_text(self.reason)

    def as_dict(self) -> dict:
        return {"line": self.line, "column": self.column, "value": self.value, "reason": texts.dump(self.reason)}


@dataclass
class Op:
    action: str  # create | update | unchanged
    line: int
    data: dict = field(default_factory=dict)
    notes: list = field(default_factory=list)  # "check this" reasons for the row's customer (customers.review)
    bank: dict | None = None  # a bank account to record for the row's customer (customers import)


@dataclass
class Preview:
    total_rows: int = 0
    problems: list[Problem] = field(default_factory=list)
    file_problems: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)  # the row imports; the user is told what to check
    unknown_terms: list[dict] = field(default_factory=list)  # spellings of terms the install does not have
    due_date_conflicts: int = 0  # documents whose file due date differs from their terms' schedule
    # how year-last dates (1/26/2013) were read: {"order", "chosen", "mdy", "dmy", "ambiguous", "line", "value"}
    date_reading: dict = field(default_factory=dict)
    new_customers: int = 0  # customers the commit creates (``create_customers``)
    created: int = 0
    updated: int = 0
    unchanged: int = 0

    @property
    def warning_lines(self) -> int:
        return len({p.line for p in self.warnings})

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
        super().__init__(str(problem.reason))
        self.problem = problem


@dataclass(eq=False)
class NewCustomer:
    """A customer code the file uses and the company does not have, created by the commit (the user
    chose ``create_customers``); ``pk`` is set once it exists."""

    code: str
    name: str
    currency: str
    line: int
    named: bool  # False: the file has no name for it, the code is used
    pk: int | None = None


def customer_pk(customer) -> int:
    """The id of a row's customer: an existing customer's id, or a NewCustomer's once created."""
    return customer.pk if isinstance(customer, NewCustomer) else customer


def vote_dates(table: Table, cols: list[tuple[int, str]]) -> datetext.OrderVote:
    """Count what the year-last dates of the columns ``cols`` ((index, name)) show, in one pass."""
    vote = datetext.OrderVote()
    texts_seen: dict[str, str] = {}  # raw cell → normalised text (a file repeats a few hundred dates)
    for line, cells in table.rows():
        for i, column in cols:
            value = cells[i] if i < len(cells) else None
            if isinstance(value, str) and value:
                text = texts_seen.get(value)
                if text is None:
                    text = texts_seen[value] = normalise(value)
                vote.add(line, column, text)
    return vote


def chunks(items: list, size: int = BATCH) -> Iterable[list]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


@contextmanager
def _large_page_cache(kib: int = 65536):
    """SQLite only: a 64 MB page cache while one transaction writes a whole file.

    With SQLite's default ~8 MB cache a 100,000-document transaction spills index pages and each
    insert starts reading them back from the WAL; the import's memory budget has room for more.
    """
    if connection.vendor != "sqlite":
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA cache_size")
        previous = cursor.fetchone()[0]
        cursor.execute(f"PRAGMA cache_size = -{int(kib)}")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f"PRAGMA cache_size = {int(previous)}")


class Importer:
    """Validate and commit one file of one kind for one company and actor."""

    kind_code: str = ""

    def __init__(self, *, company, actor, table: Table, mapping: dict[str, str],
                 progress: Callable[[str, int, int], None] | None = None, options: dict | None = None):
        self.options = options or {}
        self.people = People(company)
        self.terms_index = Terms(company, decisions=dict(self.options.get("terms") or {}))
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
        self._synonyms: dict[str, dict[str, str]] = {}
        self._currencies: dict[str, str] = {}
        order = self.options.get("date_order")
        self.date_choice: str | None = order if order in datetext.ORDERS else None
        self._vote: datetext.OrderVote | None = None
        self._year_last: dict[str, str] = {}
        self.create_customers = self.kind.creates_customers and bool(self.options.get("create_customers"))
        self.new_customers: dict[str, NewCustomer] = {}

    # ------------------------------------------------------------ helpers

    @functools.cached_property
    def today(self):
        """The company's business date when the file is checked (no ledger date may lie after it)."""
        return clock.today(self.company)

    def column(self, name: str) -> str:
        if name in self.mapping:
            return self.mapping[name]
        try:
            return str(self.kind.field(name).label)
        except KeyError:
            return name

    def problem(self, line: int, name: str, value, reason) -> None:
        self.preview.problems.append(Problem(line, self.column(name), cell_text(value)[:200], reason))

    def warn(self, line: int, name: str, value, reason) -> None:
        self.preview.warnings.append(Problem(line, self.column(name), cell_text(value)[:200], reason))

    def term(self, line: int, text: str | None):
        """The payment terms a cell names (code, name or usual spelling), a PendingTerm the user chose
        to create, or None (blank, or unknown: collected for the preview); BAD after a row problem."""
        if not text:
            return None
        try:
            return self.terms_index.find(text, line)
        except CellError as exc:
            self.problem(line, "payment_term", text, exc.reason)
            return BAD

    def unknown_terms_problems(self) -> list[Problem]:
        out = []
        for u in self.terms_index.unknown.values():
            self.preview.unknown_terms.append(u.as_dict())
            out.append(Problem(u.first_line, self.column("payment_term"), u.text, _(
                "Payment terms “%(terms)s” (%(rows)d rows) are not set up in this company: create them or choose "
                "existing terms for them below.") % {"terms": u.text, "rows": u.rows}))
        if any(d == "create" for d in self.terms_index.decisions.values()) and not self.actor.can("terms.edit"):
            out.append(Problem(0, self.column("payment_term"), "",
                               _("You are not allowed to create payment terms; choose existing terms instead.")))
        return out

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
                return BAD
            return None
        try:
            if f.type == "text":
                return parse_text(value, max_length=f.max_length) or None
            if f.type == "phone":
                return parse_text(value, max_length=f.max_length, allow_formula_prefix=r"\+[\d\s\-()]+") or None
            if f.type == "money":
                return parse_money(value, currency=currency)
            if f.type == "date":
                return self.read_date(value)
            if f.type == "int":
                return parse_int(value)
            if f.type == "choice":  # the synonym table once per field, not once per cell (~1 ms each)
                table = self._synonyms.get(f.name)
                if table is None:
                    table = self._synonyms[f.name] = f.synonyms()
                return parse_choice(value, table)
        except CellError as exc:
            self.problem(line, f.name, value, exc.reason)
            return BAD
        raise ValueError(f.type)  # pragma: no cover

    # ------------------------------------------------------------ dates written year last (1/26/2013)

    def date_vote(self) -> datetext.OrderVote:
        """What the year-last dates of every mapped date column show, counted on first need (one more
        pass over the file, only for files that have such dates)."""
        if self._vote is None:
            cols = [(self.col[f.name], self.column(f.name)) for f in self.kind.fields
                    if f.type == "date" and f.name in self.col]
            self._vote = vote_dates(self.table, cols)
        return self._vote

    @property
    def date_order(self) -> str | None:
        """The user's choice, else the order the file's dates prove (None: undecided)."""
        return self.date_choice or self.date_vote().order

    def read_date(self, value):
        """A date cell; year-last values in the file's order, and one that proves the order the rest of
        the file outvotes is refused (a file must use one order)."""
        if not isinstance(value, str):
            return parse_date(value)
        kind = self._year_last.get(value)
        if kind is None:
            text = normalise(value)
            kind = self._year_last[value] = self.date_vote().kind(text) if datetext.year_last_parts(text) else ""
        if not kind:
            return parse_date(value)
        if self.date_choice is None and kind in datetext.ORDERS and self.date_vote().outvoted(kind):
            other = datetext.DMY if kind == datetext.MDY else datetext.MDY
            line, _column, example = self.date_vote().first[other]
            if kind == datetext.MDY:
                reason = _("%(value)s can only be month first (%(date)s), but other dates in this file are day first "
                           "(line %(line)d: %(other)s): correct the dates so that the file uses one order.")
            else:
                reason = _("%(value)s can only be day first (%(date)s), but other dates in this file are month first "
                           "(line %(line)d: %(other)s): correct the dates so that the file uses one order.")
            raise CellError(reason % {"value": value.strip(), "date": long_date(parse_date(value, order=kind)),
                                      "line": line, "other": example})
        return parse_date(value, order=self.date_order)

    def date_findings(self) -> None:
        """Record how the file's year-last dates were read; all of them ambiguous and no order chosen is a
        file problem besides each row's."""
        vote = self._vote
        if vote is None:
            if self.date_choice:
                self.preview.date_reading = {"order": self.date_choice, "chosen": True}
            return
        order = self.date_order
        example = vote.first.get(order) if order else None
        self.preview.date_reading = {
            "order": order or "", "chosen": bool(self.date_choice), "mdy": vote.proofs[datetext.MDY],
            "dmy": vote.proofs[datetext.DMY], "ambiguous": vote.ambiguous,
            **({"line": example[0], "column": example[1], "value": example[2]} if example else {}),
        }
        if order is None and vote.ambiguous and vote.first_ambiguous:
            line, column, text = vote.first_ambiguous
            self.preview.file_problems.append(Problem(
                self.table.header_line, column, text,
                _("Dates such as %(value)s (line %(line)d) could be month first or day first, and no date in this "
                  "file shows which: choose the date order of the file.") % {"value": text, "line": line}))

    def parse_row(self, line: int, cells: list, *, skip: tuple[str, ...] = ()) -> dict | None:
        rec, bad = {}, False
        for f in self.kind.fields:
            if f.name in skip or (f.name not in self.col and not f.required):
                continue
            v = self.parse_cell(line, cells, f)
            if v is BAD:
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

    def customer_amount_row(self, line: int, cells: list):
        """The common start of a row that belongs to a customer and carries an amount.

        Returns ``(customer, record, amount)`` or ``None`` when the row has a problem (already reported).
        The amount is checked even when the customer is unknown, so the row shows all its problems.
        """
        customer = self.resolve_customer(line, cells)
        rec = self.parse_row(line, cells, skip=("customer_code", "customer_name", "amount"))
        amount = self.money_cell(line, cells, "amount", customer[1] if customer else self.company.base_currency,
                                 required=True)
        if customer is None or rec is None or amount is BAD:
            return None
        return customer, rec, amount

    def resolve_customer(self, line: int, cells: list) -> tuple[int | NewCustomer, str] | None:
        """(customer id, currency) of the row's customer, or (NewCustomer, currency) when the user chose to
        create the customers the file names; None after a problem (reported)."""
        code_raw = self.raw(cells, "customer_code")
        code = cell_text(code_raw)
        if code:
            found = self.customers().get(code)
            if found is None:
                if self.create_customers:
                    return self.new_customer(line, cells, code_raw)
                if self.kind.creates_customers:
                    self.problem(line, "customer_code", code_raw, _(
                        "Unknown customer code (or a customer you cannot see). To create the customers of the file "
                        "as they are imported, choose “Create customers that do not exist yet” (command line: "
                        "--create-customers)."))
                else:
                    self.problem(line, "customer_code", code_raw,
                                 _("Unknown customer code (or a customer you cannot see)."))
            return found
        name = cell_text(self.raw(cells, "customer_name"))
        if not name:
            self.problem(line, "customer_code", "", _("This field is required."))
            return None
        matches = self.customer_by_name().get(name, [])
        if len(matches) == 1:
            return matches[0]
        if not matches:
            if self.create_customers:
                self.problem(line, "customer_name", name, _("Unknown customer name: new customers need a customer "
                                                            "code column."))
            else:
                self.problem(line, "customer_name", name, _("Unknown customer name (or a customer you cannot see)."))
        else:
            self.problem(line, "customer_name", name, _("Several customers have this name: add a customer code column."))
        return None

    def new_customer(self, line: int, cells: list, code_raw) -> tuple[NewCustomer, str] | None:
        """The customer a row names by an unknown code, planned for creation (first row: code, name,
        currency); a later row naming it otherwise is a problem."""
        try:
            code = parse_text(code_raw, max_length=Customer._meta.get_field("code").max_length)
            name = parse_text(self.raw(cells, "customer_name"), max_length=Customer._meta.get_field("name").max_length)
        except CellError as exc:
            self.problem(line, "customer_code", code_raw, exc.reason)
            return None
        pending = self.new_customers.get(code)
        if pending is None:
            currency_text = cell_text(self.raw(cells, "currency"))
            try:
                currency = parse_currency(currency_text) if currency_text else self.company.base_currency
            except CellError as exc:
                self.problem(line, "currency", currency_text, exc.reason)
                return None
            pending = self.new_customers[code] = NewCustomer(code=code, name=name or code, currency=currency,
                                                             line=line, named=bool(name))
            if not name:
                self.warn(line, "customer_code", code, _(
                    "Customer %(code)s is new and the file gives no name for it: it is created with its code as its "
                    "name; rename it afterwards.") % {"code": code})
        elif name and name != pending.name:
            self.problem(line, "customer_name", name, _(
                "Line %(line)d names the new customer %(code)s “%(name)s”: one customer code needs one name.")
                % {"line": pending.line, "code": code, "name": pending.name})
            return None
        return pending, pending.currency

    def check_new_customers(self) -> None:
        """Codes planned for creation that a customer the actor cannot see already has, and the right to
        create customers at all."""
        if not self.new_customers:
            return
        if not self.actor.can("customer.edit"):
            self.preview.file_problems.append(Problem(
                self.table.header_line, self.column("customer_code"), "",
                _("You are not allowed to create customers: import the customers first, or ask someone who may.")))
        for chunk in chunks(sorted(self.new_customers)):
            for code in Customer.objects.filter(company=self.company, code__in=chunk).values_list("code", flat=True):
                pending = self.new_customers.pop(code)
                self.problem(pending.line, "customer_code", code,
                             _("This code belongs to a customer you cannot see."))
        self.preview.new_customers = len(self.new_customers)

    def create_new_customers(self) -> None:
        """Inside the commit's transaction, before any row: create the planned customers (audited by the
        customers' service), in code order."""
        for pending in sorted(self.new_customers.values(), key=lambda c: c.code):
            try:
                customer = inner(customer_services.create_customer)(
                    company=self.company, actor=self.actor, code=pending.code, name=pending.name,
                    currency=pending.currency, channel="import")
            except DomainError as exc:
                raise CommitFailed(Problem(pending.line, self.column("customer_code"), pending.code, exc)) from exc
            pending.pk = customer.pk

    def row_currency(self, line: int, cells: list, customer_currency: str) -> str | None:
        text = cell_text(self.raw(cells, "currency"))
        if not text:
            return customer_currency
        raw = self._currencies.get(text)
        if raw is None:
            try:
                raw = self._currencies[text] = parse_currency(text)
            except CellError as exc:
                self.problem(line, "currency", text, exc.reason)
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
                return BAD
            return None
        try:
            return parse_money(value, currency=currency)
        except CellError as exc:
            self.problem(line, name, value, exc.reason)
            return BAD

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
        self.date_findings()
        self.check_new_customers()
        self.finish()
        self.preview.file_problems.extend(self.unknown_terms_problems())
        for op in self.ops:
            if op.action == "create":
                self.preview.created += 1
            elif op.action == "update":
                self.preview.updated += 1
            else:
                self.preview.unchanged += 1
        if not self.preview.ok:
            self.ops = []
        return self.preview

    def commit(self, *, dry_run: bool = False) -> Preview:
        """Validate, then (unless ``dry_run`` or there are problems) write everything in one transaction."""
        preview = self.validate()
        if not preview.ok or dry_run:
            return preview
        todo = [op for op in self.ops if op.action != "unchanged"]
        size = self.batch_size
        try:
            with transaction.atomic(durable=True), _large_page_cache():
                try:  # terms the user chose to create, before the rows that use them
                    self.terms_index.create_pending(actor=self.actor, create=inner(customer_services.create_payment_term))
                except DomainError as exc:
                    raise CommitFailed(Problem(0, self.column("payment_term"), "", str(exc))) from exc
                self.create_new_customers()
                self.lock(todo)
                for start in range(0, len(todo), size):
                    batch = todo[start : start + size]
                    try:
                        self.apply_batch(batch)
                    except DomainError as exc:
                        index = exc.params.get("index")
                        op = batch[index] if isinstance(index, int) and index < len(batch) else batch[0]
                        name = exc.field if exc.field and exc.field in self.mapping else ""
                        raise CommitFailed(Problem(op.line, self.column(name) if name else "", "", str(exc))) from exc
                    self.progress("writing", min(start + size, len(todo)), len(todo))
        except IntegrityError as exc:  # a concurrent writer took a number or key between check and write
            raise CommitFailed(Problem(0, "", "", _("Someone else saved a conflicting record during the import. "
                                                     "Run the import again."))) from exc
        self.progress("writing", len(todo), len(todo))
        return preview

    batch_size = 1

    def write_progress(self, done: int, total: int) -> None:
        self.progress("writing", done, total)

    def lock(self, ops: list[Op]) -> None:
        """Take row locks up front (in the project-wide order) when the batches span many rows."""

    def apply_batch(self, ops: list[Op]) -> None:
        """Write one batch; one service call per row unless a kind has a bulk service."""
        for index, op in enumerate(ops):
            try:
                self.apply(op)
            except DomainError as exc:
                exc.params.setdefault("index", index)
                raise

    # ------------------------------------------------------------ per kind

    def row(self, line: int, cells: list) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def finish(self) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def apply(self, op: Op) -> None:  # pragma: no cover - abstract
        raise NotImplementedError


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


__all__ = ["SOURCE", "CommitFailed", "Importer", "NewCustomer", "Op", "Preview", "Problem", "bad_row_cells",
           "customer_pk", "inner"]
