"""Every write of the cash-application app.

Money reaches the ledger only through ``ledger.services`` (``record_payment``, ``allocate``,
``reverse_credit``): the bank-line services call their undecorated bodies (``inner``, as the import
pipeline does) so that the payment, its allocations, the line's new status and the audit event
commit in ONE durable transaction. Lock order: the bank line first, then customers by pk, then
instalments by pk (then the new payment) — a second clerk confirming the same line waits on the line
row and then finds it already applied.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

from django.db import IntegrityError, connection, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from huikuan.common import audit
from huikuan.common.errors import ConcurrentChange, DomainError, NotAllowed
from huikuan.common.money import ZERO, has_valid_scale
from huikuan.customers.models import Customer
from huikuan.ledger import locks, settlements
from huikuan.ledger import services as ledger
from huikuan.ledger.models import Method, Status

from . import hints, matching
from .models import (
    OPEN_STATUSES,
    BankAccount,
    BankAlias,
    BankApplication,
    BankingSettings,
    BankLine,
    BankPayerAccount,
    BankStatement,
    LineCategory,
    LineStatus,
    StatementLayout,
    StatementUpload,
)
from .parsers import (
    LayoutUnknown,
    MappingError,
    ParsedStatement,
    SavedLayout,
    StatementError,
    dedupe_keys,
    parse_file,
)
from .parsers.tables import header_key

SOURCE = "bank"
MATCH_BATCH = 10000


class BankingError(DomainError):
    code = "banking_error"


class AlreadyDecided(ConcurrentChange):
    code = "already_decided"


def inner(service: Callable) -> Callable:
    """The body of a durable ledger service, to run inside this app's own durable transaction."""
    return service.__wrapped__


def _require(actor, perm: str) -> None:
    if actor is not None and not actor.can(perm):
        raise NotAllowed(_("You are not allowed to do this."))


def settings_for(company) -> BankingSettings:
    obj, _created = BankingSettings.objects.get_or_create(company=company)
    return obj


# ---------------------------------------------------------------- accounts & settings


@transaction.atomic(durable=True)
def create_account(*, company, bank: str, account_number: str, currency: str, actor, name: str = "") -> BankAccount:
    """Register one of the company's bank accounts (the number is unique within the company)."""
    _require(actor, "banking.settings")
    bank, number, currency = (bank or "").strip(), (account_number or "").strip(), (currency or "").strip().upper()
    if not bank or not number:
        raise BankingError(_("Enter the bank and the account number."), field="account_number")
    if len(currency) != 3 or not currency.isalpha():
        raise BankingError(_("Enter a three-letter currency code."), field="currency")
    if BankAccount.objects.filter(company=company, account_number=number).exists():
        raise BankingError(_("Account %(number)s already exists.") % {"number": number}, field="account_number")
    acct = BankAccount.objects.create(company=company, bank=bank[:100], account_number=number[:50], currency=currency,
                                      name=(name or "").strip()[:100])
    audit.record(actor=actor, verb="banking.account.created", target=acct, summary=str(acct))
    return acct


FEE_TOLERANCE_MAX = Decimal("500.00")  # a bank charge above this is a short payment to chase, not a fee


@transaction.atomic(durable=True)
def update_settings(*, company, actor, auto_apply: bool, threshold, margin, fee_tolerance,
                    discount_rounding=None) -> BankingSettings:
    """Change when matches apply themselves. Refuses settings that would over-apply: a bank-charge
    tolerance above ``FEE_TOLERANCE_MAX`` or a discount rounding other than 0 or one minor unit."""
    _require(actor, "banking.settings")
    current = settings_for(company)
    try:
        threshold, margin, fee = Decimal(str(threshold)), Decimal(str(margin)), Decimal(str(fee_tolerance))
        rounding = (current.discount_rounding if discount_rounding in (None, "")
                    else Decimal(str(discount_rounding)))
    except ArithmeticError as exc:
        raise BankingError(_("Enter numbers.")) from exc
    if not (threshold.is_finite() and margin.is_finite() and fee.is_finite() and rounding.is_finite()):
        raise BankingError(_("Enter numbers."))
    if not (Decimal("0.5") <= threshold <= 1):
        raise BankingError(_("The threshold must be between 0.5 and 1."), field="threshold")
    if not (0 <= margin <= Decimal("0.5")):
        raise BankingError(_("The margin must be between 0 and 0.5."), field="margin")
    if fee < 0 or not has_valid_scale(fee, company.base_currency):
        raise BankingError(_("Enter a valid amount."), field="fee_tolerance")
    if fee > FEE_TOLERANCE_MAX:
        raise BankingError(_("Bank charges above %(max)s are not fees but short payments; enter at most %(max)s.")
                           % {"max": FEE_TOLERANCE_MAX}, field="fee_tolerance")
    if rounding not in (ZERO, settlements.MAX_DISCOUNT_ROUNDING):
        raise BankingError(_("The discount rounding may be at most one minor unit (0 or 0.01)."),
                           field="discount_rounding")
    obj = BankingSettings.objects.select_for_update().get(pk=current.pk)
    obj.auto_apply, obj.threshold, obj.margin, obj.fee_tolerance = auto_apply, threshold, margin, fee
    obj.discount_rounding = rounding
    obj.save()
    audit.record(actor=actor, verb="banking.settings.changed", target=None, company_id=company.pk,
                 data={"auto_apply": auto_apply, "threshold": threshold, "margin": margin, "fee_tolerance": fee,
                       "discount_rounding": rounding})
    return obj


def settings_for_pk(company) -> int:
    return settings_for(company).pk


# ---------------------------------------------------------------- import


@dataclass
class ImportResult:
    statement: BankStatement
    total: int
    new: int
    duplicates: int
    outgoing: int
    matched: dict = field(default_factory=dict)


def _digits(text: str) -> str:
    return "".join(ch for ch in text or "" if ch.isdigit())


def _pick_account(company, parsed: ParsedStatement, account_id: int | None) -> BankAccount:
    """The chosen account (checked against the number the file prints), else the one whose number the
    file prints, else the company's only account. A file printing a number that is none of the
    company's accounts is refused rather than read into another account."""
    accounts = BankAccount.objects.filter(company=company, is_active=True)
    if account_id:
        acct = accounts.filter(pk=account_id).first()
        if acct is None:
            raise BankingError(_("Unknown bank account."), field="account")
        if parsed.account_number and _digits(parsed.account_number) and _digits(acct.account_number) \
                and _digits(parsed.account_number) != _digits(acct.account_number):
            raise BankingError(_("This statement is for account %(file)s, not %(chosen)s.")
                               % {"file": parsed.account_number, "chosen": acct.account_number}, field="account")
        return acct
    if parsed.account_number:
        for acct in accounts:
            if _digits(acct.account_number) and _digits(acct.account_number) == _digits(parsed.account_number):
                return acct
        if _digits(parsed.account_number):
            raise BankingError(_("This statement is for account %(number)s, which is not one of the company's bank "
                                 "accounts. Add it first (or choose the account if the file is right).")
                               % {"number": parsed.account_number}, field="account")
    only = list(accounts[:2])
    if len(only) == 1:
        return only[0]
    if not only:
        raise BankingError(_("Add the company's bank account first."), field="account")
    raise BankingError(_("Choose the bank account this statement belongs to."), field="account")


def _check_currency(parsed: ParsedStatement, account: BankAccount) -> None:
    if parsed.currency and parsed.currency != account.currency:
        raise BankingError(_("The statement is in %(file)s but the account is kept in %(account)s.")
                           % {"file": parsed.currency, "account": account.currency}, field="file")
    wrong = [ln for ln in parsed.lines if ln.currency and ln.currency != account.currency]
    if wrong:
        raise BankingError(
            _("Lines %(lines)s are in another currency (%(currency)s) than the account (%(account)s); nothing was imported.")
            % {"lines": ", ".join(str(ln.line) for ln in wrong[:10]), "currency": wrong[0].currency,
               "account": account.currency}, field="file")
    bad = [ln for ln in parsed.lines if not has_valid_scale(ln.amount, account.currency)]
    if bad:
        raise BankingError(_("Line %(line)s has more decimals than %(currency)s allows.")
                           % {"line": bad[0].line, "currency": account.currency}, field="file")


def import_statement(*, company, path, file_name: str, actor, account_id: int | None = None, profile: str = "",
                     on: dt.date, match: bool = True, progress: Callable[[int, int], None] | None = None,
                     mapping: Sequence[tuple[str, str]] | None = None) -> ImportResult:
    """Parse a statement file and store its new lines (all or nothing), then match them.

    The layout is recognised (built-in profiles), read through a mapping saved for the account, or
    read through ``mapping`` ((column, field) pairs), which is then saved for the account the
    statement goes to, in the same transaction as the lines. Re-importing a file or an overlapping
    period stores only the lines not seen before on this account (bank serial, or content hash +
    occurrence). Outgoing lines are kept as ignored.

    Matching then covers the new lines and the file's lines an earlier import stored that still wait in
    the queue: an import whose process was killed after storing the lines (matching and automatic
    application run in many short transactions after that) is completed by importing the file again —
    nothing stored twice, nothing left unmatched (issue 19).
    Raises StatementError / MappingError / LayoutUnknown (with a preview) / BankingError (nothing stored).
    """
    _require(actor, "banking.import")
    path = Path(path)
    chosen = BankAccount.objects.filter(company=company, pk=account_id).first() if account_id else None
    parsed = parse_file(path, file_name, profile=profile, mapping=mapping, layouts=saved_layouts(company, chosen),
                        account_number=chosen.account_number if chosen else "")
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    statement = _store(company=company, parsed=parsed, digest=digest, file_name=file_name, actor=actor,
                       account_id=account_id)
    result = ImportResult(statement=statement, total=statement.total_lines, new=statement.new_lines,
                          duplicates=statement.total_lines - statement.new_lines,
                          outgoing=statement.lines.filter(amount__lt=0).count())
    if match:
        ids = list(statement.lines.filter(status__in=OPEN_STATUSES).values_list("pk", flat=True))
        ids += _earlier_open_lines(statement, getattr(statement, "earlier_keys", ()))
        if ids:
            result.matched = match_lines(company=company, line_ids=sorted(ids), actor=actor, on=on, progress=progress)
    return result


def _earlier_open_lines(statement: BankStatement, keys) -> list[int]:
    """Ids of the lines of this file that an earlier import stored and that still wait in the queue."""
    out: list[int] = []
    wanted = set(keys)
    names = sorted({k for k, _n in wanted})
    for start in range(0, len(names), 1000):
        rows = (BankLine.objects.filter(account_id=statement.account_id, dedupe_key__in=names[start:start + 1000],
                                        status__in=OPEN_STATUSES, amount__gt=0)
                .values_list("pk", "dedupe_key", "occurrence"))
        out += [pk for pk, key, occ in rows if (key, occ) in wanted]
    return out


@transaction.atomic(durable=True)
def _store(*, company, parsed, digest, file_name, actor, account_id) -> BankStatement:
    account = _pick_account(company, parsed, account_id)
    BankAccount.objects.select_for_update().get(pk=account.pk)  # one import per account at a time
    _check_currency(parsed, account)
    if parsed.mapping:
        _save_layout(company=company, account=account, fields=parsed.mapping, actor=actor)
    elif parsed.layout_id:
        StatementLayout.objects.filter(pk=parsed.layout_id, account=account).update(
            uses=F("uses") + 1, last_used_at=timezone.now())
    keys = dedupe_keys(parsed.lines)
    existing = set()
    key_list = sorted({k for k, _n in keys})
    for start in range(0, len(key_list), 1000):
        existing |= set(BankLine.objects.filter(account=account, dedupe_key__in=key_list[start:start + 1000])
                        .values_list("dedupe_key", "occurrence"))
    start_day, end_day = parsed.period
    statement = BankStatement.objects.create(
        company=company, account=account, source_format=parsed.format, file_name=file_name[:200], file_hash=digest,
        period_start=start_day, period_end=end_day, opening_balance=parsed.opening_balance,
        closing_balance=parsed.closing_balance, total_lines=len(parsed.lines), imported_by=actor,
        file_movement=sum((ln.amount for ln in parsed.lines), ZERO),
    )
    new = [
        BankLine(company=company, account=account, statement=statement, source_line=ln.line, date=ln.date,
                 amount=ln.amount, currency=account.currency, counterparty_name=ln.counterparty_name,
                 counterparty_account=ln.counterparty_account, counterparty_bank=ln.counterparty_bank, memo=ln.memo,
                 serial=ln.serial, balance=ln.balance, dedupe_key=key, occurrence=occ,
                 status=LineStatus.UNMATCHED if ln.amount > 0 else LineStatus.IGNORED)
        for ln, (key, occ) in zip(parsed.lines, keys, strict=True) if (key, occ) not in existing
    ]
    try:
        with transaction.atomic():
            BankLine.objects.bulk_create(new, batch_size=1000)
    except IntegrityError as exc:  # another import of the same lines committed in between
        raise ConcurrentChange(_("These lines were imported at the same moment by someone else; try again.")) from exc
    statement.new_lines = len(new)
    statement.save(update_fields=["new_lines"])
    statement.earlier_keys = existing  # the file's lines stored before: matched again if still open
    audit.record(actor=actor, verb="banking.statement.imported", target=statement,
                 summary=f"{file_name} {len(new)}/{len(parsed.lines)}"[:300],
                 data={"format": parsed.format, "lines": len(parsed.lines), "new": len(new)})
    return statement


# ---------------------------------------------------------------- layouts mapped by hand


def saved_layouts(company, account: BankAccount | None = None) -> list[SavedLayout]:
    """The mappings saved for ``account`` (or for every account of the company), most recently used first."""
    qs = StatementLayout.objects.filter(company=company, account__is_active=True).select_related("account")
    if account is not None:
        qs = qs.filter(account=account)
    return [SavedLayout(id=lay.pk, account_id=lay.account_id, account_number=_digits(lay.account.account_number),
                        fields=dict(lay.fields)) for lay in qs.order_by("-last_used_at", "-id")]


def _save_layout(*, company, account: BankAccount, fields: dict, actor) -> StatementLayout:
    signature = "|".join(sorted(header_key(h) for h in fields.values()))[:500]
    layout, created = StatementLayout.objects.update_or_create(
        account=account, signature=signature,
        defaults={"company": company, "fields": fields, "last_used_at": timezone.now(), "created_by": actor})
    StatementLayout.objects.filter(pk=layout.pk).update(uses=F("uses") + 1)
    audit.record(actor=actor, verb="banking.layout.saved", target=layout, company_id=company.pk,
                 summary=f"{account.account_number}: " + ", ".join(f"{h}={f}" for f, h in fields.items())[:250],
                 data={"account": account.account_number, "fields": fields, "new": created})
    return layout


@transaction.atomic(durable=True)
def forget_layout(*, company, layout_id: int, actor) -> None:
    """Delete a saved mapping (the next file of that layout goes through the mapping step again)."""
    _require(actor, "banking.settings")
    layout = StatementLayout.objects.filter(pk=layout_id, company=company).select_related("account").first()
    if layout is None:
        raise BankingError(_("Unknown layout."))
    audit.record(actor=actor, verb="banking.layout.forgotten", target=None, company_id=company.pk,
                 summary=layout.account.account_number, data={"fields": layout.fields})
    layout.delete()


UPLOAD_KEPT = dt.timedelta(days=1)


@transaction.atomic(durable=True)
def keep_upload(*, company, path, file_name: str, actor, account_id: int | None = None) -> StatementUpload:
    """Keep a file whose layout must be mapped (the web mapping step reads it back)."""
    _require(actor, "banking.import")
    account = BankAccount.objects.filter(company=company, pk=account_id).first() if account_id else None
    return StatementUpload.objects.create(company=company, account=account, file_name=file_name[:200],
                                          content=Path(path).read_bytes(), created_by=actor)


def import_upload(*, company, upload_id: int, actor, mapping: Sequence[tuple[str, str]], on: dt.date,
                  account_id: int | None = None) -> ImportResult:
    """Import a kept upload through the user's mapping (saved for the account), then drop the upload."""
    import tempfile

    _require(actor, "banking.import")
    upload = StatementUpload.objects.filter(pk=upload_id, company=company, created_by=actor).first()
    if upload is None:
        raise BankingError(_("This upload is no longer available; upload the file again."))
    suffix = Path(upload.file_name).suffix.lower()[:10]
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"upload{suffix}"
        path.write_bytes(bytes(upload.content))
        result = import_statement(company=company, path=path, file_name=upload.file_name, actor=actor,
                                  account_id=account_id, on=on, mapping=mapping)
    StatementUpload.objects.filter(pk=upload.pk).delete()
    return result


def discard_upload(*, company, upload_id: int, actor) -> None:
    StatementUpload.objects.filter(pk=upload_id, company=company, created_by=actor).delete()


def purge_abandoned_uploads(*, company=None, now: dt.datetime, older_than: dt.timedelta = UPLOAD_KEPT) -> int:
    """Delete the uploads never mapped within ``older_than`` (default a day). Returns how many."""
    qs = StatementUpload.objects.filter(created_at__lt=now - older_than)
    if company is not None:
        qs = qs.filter(company=company)
    deleted, _by_model = qs.delete()
    return deleted


# ---------------------------------------------------------------- matching


def _facts(line: BankLine) -> matching.LineFacts:
    return matching.LineFacts(key=line.pk, date=line.date, amount=line.amount, name=line.counterparty_name,
                              account=line.counterparty_account, memo=line.memo)


MAX_PASSES = 3


def match_lines(*, company, line_ids: Sequence[int], actor, on: dt.date, auto_apply: bool | None = None,
                progress: Callable[[int, int], None] | None = None) -> dict:
    """Propose matches for open incoming lines and apply the certain ones.

    Proposals are stored on the lines (status suggested / unmatched); each certain line is then
    applied in its own transaction (``apply_line``). Matching runs in passes (at most ``MAX_PASSES``):
    after the certain lines of a batch are applied, the rest are matched again, so what this run
    learned (payer accounts, items now settled) counts. Lines that are not a customer's payment get
    a suggested category. Returns counts by outcome.
    """
    conf = settings_for(company)
    do_apply = conf.auto_apply if auto_apply is None else auto_apply
    counts = {"auto_applied": 0, "suggested": 0, "unmatched": 0}
    ids = list(line_ids)
    done = 0
    for start in range(0, len(ids), MATCH_BATCH):
        todo = ids[start:start + MATCH_BATCH]
        names = None
        for _pass in range(MAX_PASSES if do_apply else 1):
            batch = list(BankLine.objects.filter(pk__in=todo, company=company, status__in=OPEN_STATUSES, amount__gt=0)
                         .only("pk", "date", "amount", "counterparty_name", "counterparty_account", "memo", "status",
                               "proposals", "confidence", "customer_id", "category"))
            if not batch:
                break
            if names is None:
                names = matching.NameIndex(matching.load_customer_names(company, {ln.counterparty_name for ln in batch}))
            applied = _match_batch(company=company, batch=batch, names=names, conf=conf, do_apply=do_apply,
                                   actor=actor, on=on)
            counts["auto_applied"] += applied
            todo = [ln.pk for ln in batch]
            if not applied:
                break
        final = BankLine.objects.filter(pk__in=ids[start:start + MATCH_BATCH], company=company, amount__gt=0)
        counts["suggested"] += final.filter(status=LineStatus.SUGGESTED).count()
        counts["unmatched"] += final.filter(status=LineStatus.UNMATCHED).count()
        done += len(ids[start:start + MATCH_BATCH])
        if progress:
            progress(done, len(ids))
    return counts


def _match_batch(*, company, batch: list[BankLine], names, conf, do_apply: bool, actor, on: dt.date) -> int:
    """One pass over ``batch``: store proposals (and categories), apply the certain lines. Returns how
    many were applied."""
    own = _own_names_and_accounts(company)
    proposals = matching.propose(company, [_facts(ln) for ln in batch], tolerance=conf.fee_tolerance,
                                 customer_names=names, rounding=conf.discount_rounding)
    certain = []
    for ln in batch:
        props = proposals.get(ln.pk, [])
        ln.category = matching.category_of(_facts(ln), props, own=own)
        if ln.category:
            props = []  # interest, a tax refund, an own transfer: nothing to propose
        ln.proposals = [p.as_json() for p in props]
        ln.confidence = props[0].confidence if props else ZERO
        ln.customer_id = props[0].customer_id if props else None
        ln.status = LineStatus.SUGGESTED if props else LineStatus.UNMATCHED
        if do_apply and matching.is_certain(props, threshold=conf.threshold, margin=conf.margin):
            certain.append((ln, props[0]))
    with transaction.atomic(durable=True):
        _store_proposals(batch)
    applied = 0
    for ln, best in certain:
        try:
            apply_line(company=company, line_id=ln.pk, actor=actor, on=on, automatic=True,
                       parts=[Part(customer_id=best.customer_id,
                                   allocations=[(i, a, d) for i, a, d, _n in best.allocations],
                                   charges=[(i, f) for i, f in best.charges])])
            applied += 1
        except DomainError:
            pass  # stays in the queue (e.g. the items changed meanwhile): re-checked under the locks
    return applied


def _own_names_and_accounts(company) -> tuple[set[str], set[str]]:
    names = {matching.norm_name(company.name)}
    accounts = {matching.norm_account(a) for a in BankAccount.objects.filter(company=company)
                .values_list("account_number", flat=True)}
    if getattr(company, "bank_account_number", ""):
        accounts.add(matching.norm_account(company.bank_account_number))
    return names, accounts


def _store_proposals(lines: list[BankLine]) -> None:
    """Write proposals, confidence, suggested customer and status of many lines.

    PostgreSQL: one ``UPDATE … FROM (VALUES …)`` per 1,000 lines (Django's ``bulk_update`` builds a
    CASE per column and row: 20 s for 10,000 lines). Elsewhere ``bulk_update``.
    """
    if connection.vendor != "postgresql":
        now = timezone.now()
        for ln in lines:
            ln.updated_at = now
        BankLine.objects.bulk_update(lines, ["proposals", "confidence", "customer", "status", "category", "updated_at"],
                                     batch_size=500)
        return
    table = BankLine._meta.db_table
    with connection.cursor() as cur:
        for start in range(0, len(lines), 1000):
            chunk = lines[start:start + 1000]
            values = ", ".join(["(%s::bigint, %s::jsonb, %s::numeric, %s::bigint, %s::varchar, %s::varchar)"] * len(chunk))
            params: list = []
            for ln in chunk:
                params += [ln.pk, json.dumps(ln.proposals, ensure_ascii=False), ln.confidence, ln.customer_id,
                           ln.status, ln.category or ""]
            cur.execute(f"UPDATE {table} AS b SET proposals = v.p, confidence = v.c, customer_id = v.cid, "
                        f"status = v.s, category = v.k, updated_at = now() FROM (VALUES {values}) AS v(id, p, c, cid, s, k) "
                        f"WHERE b.id = v.id", params)


# ---------------------------------------------------------------- applying


@dataclass(frozen=True)
class Part:
    """What one customer gets from a line: allocations (instalment, cash amount, discount) and the
    rest of its share kept as unapplied cash on account. ``extra=None`` = whatever is left of the line."""

    customer_id: int
    allocations: Sequence[tuple[int, Decimal, Decimal]] = ()
    extra: Decimal | None = None
    charges: Sequence[tuple[int, Decimal]] = ()  # (instalment, bank charge deducted from its payment)


class OverApplication(BankingError):
    code = "over_application"


def _lock_line(company, line_id: int) -> BankLine:
    try:
        return BankLine.objects.select_for_update().get(pk=line_id, company=company)
    except BankLine.DoesNotExist as exc:
        raise BankingError(_("Unknown bank line.")) from exc


def _amount(value) -> Decimal:
    try:
        d = Decimal(str(value)).quantize(Decimal("0.01"))
    except ArithmeticError as exc:
        raise BankingError(_("Enter a valid amount.")) from exc
    return d


@transaction.atomic(durable=True)
def apply_line(*, company, line_id: int, parts: Sequence[Part], actor, on: dt.date, automatic: bool = False) -> BankLine:
    """Turn an incoming line into payments: one per customer part, allocated as given, the rest of each
    part unapplied on the customer's account. The parts must account for exactly the line's amount.

    Locks the line, then customers by pk, then instalments by pk. Raises AlreadyDecided (someone
    else applied or ignored it), OverApplication (more than received, or more than open), and the
    ledger's errors. Teaches aliases and payer accounts.
    """
    _require(actor, "banking.confirm")
    line = _lock_line(company, line_id)
    if line.status not in OPEN_STATUSES:
        raise AlreadyDecided(_("This line has already been dealt with (%(status)s).") % {"status": line.get_status_display()})
    if line.amount <= 0:
        raise BankingError(_("Only money received can be applied to customers."))
    if not parts:
        raise BankingError(_("Choose a customer."))
    customer_ids = sorted({p.customer_id for p in parts})
    customers = {}
    for cid in customer_ids:
        try:
            customers[cid] = locks.customer(cid, company_id=company.pk)
        except Customer.DoesNotExist as exc:
            raise BankingError(_("Unknown customer."), field="customer") from exc
        if customers[cid].currency != line.currency:
            raise BankingError(_("%(customer)s is kept in %(currency)s; this line is in %(line)s.")
                               % {"customer": customers[cid].name, "currency": customers[cid].currency,
                                  "line": line.currency})
    inst_ids = [i for p in parts for i, _a, _d in p.allocations]
    if len(inst_ids) != len(set(inst_ids)):
        raise BankingError(_("An instalment appears twice."))
    instalments = {i.pk: i for i in locks.instalments(inst_ids)}
    shares = []
    allocated_total = ZERO
    conf = settings_for(company)
    for p in parts:
        allocs = [(i, _amount(a), _amount(d)) for i, a, d in p.allocations]
        charges = {i: _amount(f) for i, f in p.charges}
        if any(f <= 0 for f in charges.values()) or len(charges) != len(p.charges):
            raise BankingError(_("Amounts must be greater than zero."))
        if sum(charges.values(), ZERO) > conf.fee_tolerance:
            raise OverApplication(_("Bank charges of %(fee)s are more than the tolerance %(tolerance)s.")
                                  % {"fee": sum(charges.values(), ZERO), "tolerance": conf.fee_tolerance})
        for i, a, d in allocs:
            inst = instalments.get(i)
            if inst is None or inst.customer_id != p.customer_id or inst.company_id != company.pk:
                raise BankingError(_("An instalment does not belong to the chosen customer."))
            if a <= 0 or d < 0:
                raise BankingError(_("Amounts must be greater than zero."))
            fee = charges.get(i, ZERO)
            if a + d + fee > inst.open_amount:
                raise OverApplication(_("%(number)s has only %(open)s open.")
                                      % {"number": inst.document.number, "open": inst.open_amount})
        if set(charges) - {i for i, _a, _d in allocs}:
            raise BankingError(_("A bank charge can only settle an item the payment is applied to."))
        cash = sum((a for _i, a, _d in allocs), ZERO)
        allocated_total += cash
        shares.append([p, allocs, cash, charges])
    if allocated_total > line.amount:
        raise OverApplication(_("This would apply %(applied)s but only %(received)s was received.")
                              % {"applied": allocated_total, "received": line.amount})
    left = line.amount - allocated_total
    for share in shares:
        p, _allocs, cash, _charges = share
        extra = ZERO if p.extra is None else _amount(p.extra)
        if extra < 0:
            raise BankingError(_("Amounts must be greater than zero."))
        share.append(extra)
        left -= extra
    if left < 0:
        raise OverApplication(_("This would apply %(applied)s but only %(received)s was received.")
                              % {"applied": line.amount - left, "received": line.amount})
    open_share = next((s for s in shares if s[0].extra is None), shares[0])
    open_share[4] += left  # the rest stays unapplied on the first open-ended customer's account
    method = Method.WECHAT if line.statement.source_format == "wechat" else (
        Method.ALIPAY if line.statement.source_format == "alipay" else Method.TRANSFER)
    first_credit = None
    for p, allocs, cash, charges, extra in shares:
        total = cash + extra
        if total <= 0:
            continue
        seq = line.applications_made + 1
        credit = inner(ledger.record_payment)(
            company=company, customer_id=p.customer_id, amount=total, date=line.date, actor=actor, method=method,
            currency=line.currency, reference=(line.serial or "")[:100],
            memo=f"{line.counterparty_name} {line.memo}".strip()[:300], auto_allocate=False,
            external_source=SOURCE, external_key=f"{line.pk}:{seq}:{p.customer_id}",
        )
        plain = [ledger.AllocationInput(instalment_id=i, amount=a) for i, a, d in allocs if not d]
        if plain:
            inner(ledger.allocate)(company=company, credit_id=credit.pk, actor=actor, on=line.date, plan=plain)
        for i, a, d in allocs:
            if d:
                inner(settlements.allocate_with_discount)(
                    company=company, payment_id=credit.pk, instalment_id=i, cash=a, discount=d, actor=actor,
                    on=line.date, rounding=conf.discount_rounding)
        for i, fee in sorted(charges.items()):
            inner(settlements.record_bank_charge)(company=company, payment_id=credit.pk, instalment_id=i, amount=fee,
                                                  actor=actor, on=line.date, tolerance=conf.fee_tolerance)
        BankApplication.objects.create(company=company, line=line, customer_id=p.customer_id, credit=credit,
                                       amount=total, automatic=automatic, created_by=actor)
        first_credit = first_credit or credit
    line.status = (LineStatus.AUTO_APPLIED if automatic else
                   LineStatus.CONFIRMED if allocated_total > 0 else LineStatus.UNAPPLIED)
    line.credit = first_credit
    line.customer_id = shares[0][0].customer_id
    line.applications_made = F("applications_made") + len(shares)
    line.decided_by = actor
    line.decided_at = timezone.now()
    line.save(update_fields=["status", "credit", "customer", "applications_made", "decided_by", "decided_at", "updated_at"])
    line.refresh_from_db()
    if len(customer_ids) == 1:
        _learn(company=company, line=line, customer_id=customer_ids[0], actor=actor, alias=not automatic)
    hints.use_for_line(line=line, customer_ids=customer_ids, actor=actor)
    audit.record(actor=actor, verb="banking.line.applied", target=line, customer_id=customer_ids[0],
                 summary=f"{line.date} {line.amount} {line.counterparty_name}"[:300],
                 data={"automatic": automatic, "status": line.status,
                       "parts": [[p.customer_id, [[i, a, d] for i, a, d in allocs], cash, extra,
                                  [[i, f] for i, f in sorted(charges.items())]]
                                 for p, allocs, cash, charges, extra in shares]})
    return line


def _learn(*, company, line: BankLine, customer_id: int, actor, alias: bool) -> None:
    acct = matching.norm_account(line.counterparty_account) if line.counterparty_account else ""
    if acct:
        # an account that paid for another customer before is marked shared: never certain on its own
        BankPayerAccount.objects.filter(company=company, account_number=acct).exclude(customer_id=customer_id).update(
            shared=True)
        updated = BankPayerAccount.objects.filter(company=company, account_number=acct).update(
            customer_id=customer_id, uses=F("uses") + 1)
        if not updated:
            BankPayerAccount.objects.create(company=company, account_number=acct[:60], customer_id=customer_id)
    name = matching.norm_name(line.counterparty_name)
    if alias and name:
        cust = Customer.objects.only("name", "short_name").get(pk=customer_id)
        if name not in (matching.norm_name(cust.name), matching.norm_name(cust.short_name)):
            updated = BankAlias.objects.filter(company=company, name=name).update(customer_id=customer_id,
                                                                                  uses=F("uses") + 1)
            if not updated:
                BankAlias.objects.create(company=company, name=name[:200], customer_id=customer_id, created_by=actor)
            audit.record(actor=actor, verb="banking.alias.learned", target=None, company_id=company.pk,
                         customer_id=customer_id, summary=line.counterparty_name[:300])


def confirm_proposal(*, company, line_id: int, index: int, actor, on: dt.date) -> BankLine:
    """Apply the line as its ``index``-th stored proposal suggests (one click in the queue)."""
    line = BankLine.objects.filter(pk=line_id, company=company).first()
    if line is None:
        raise BankingError(_("Unknown bank line."))
    if line.status not in OPEN_STATUSES:
        raise AlreadyDecided(_("This line has already been dealt with (%(status)s).") % {"status": line.get_status_display()})
    if not (0 <= index < len(line.proposals or [])):
        raise BankingError(_("This suggestion is no longer available."))
    prop = line.proposals[index]
    part = Part(customer_id=prop["customer_id"],
                allocations=[(int(i), Decimal(a), Decimal(d)) for i, a, d, _n in prop["allocations"]],
                charges=[(int(i), Decimal(f)) for i, f in prop.get("charges", [])])
    return apply_line(company=company, line_id=line_id, parts=[part], actor=actor, on=on)


MAX_BULK = 500


@dataclass(frozen=True)
class BulkOutcome:
    """One line of a bulk confirm: applied, or why not (the line is then untouched and stays in the queue)."""

    line_id: int
    applied: bool
    message: str = ""
    line: BankLine | None = None


def confirm_many(*, company, line_ids: Sequence[int], actor, on: dt.date) -> list[BulkOutcome]:
    """Confirm the first suggestion of each line, one line at a time.

    Each line is its own ``apply_line``: its own durable transaction, the line locked, then its customer,
    then its instalments, its own audit event and its own undo. A line whose suggestion no longer holds
    (decided meanwhile, an item paid or changed since the suggestion, no suggestion) raises inside that
    transaction, which rolls back whole: nothing of it is applied, it stays in the queue and is reported.
    The others go on. Never more than ``MAX_BULK`` lines per call (the page sends at most one page).
    """
    _require(actor, "banking.confirm")
    ids = list(dict.fromkeys(int(i) for i in line_ids))
    if not ids:
        raise BankingError(_("Select the lines to confirm."))
    if len(ids) > MAX_BULK:
        raise BankingError(_("Confirm at most %(n)s lines at once.") % {"n": MAX_BULK})
    outcomes = []
    for line_id in ids:
        try:
            line = confirm_proposal(company=company, line_id=line_id, index=0, actor=actor, on=on)
        except DomainError as exc:
            outcomes.append(BulkOutcome(line_id=line_id, applied=False, message=str(exc.message)))
        else:
            outcomes.append(BulkOutcome(line_id=line_id, applied=True, line=line))
    return outcomes


def post_on_account(*, company, line_id: int, customer_id: int, actor, on: dt.date) -> BankLine:
    """The whole line as unapplied cash on one customer's account."""
    return apply_line(company=company, line_id=line_id, parts=[Part(customer_id=customer_id)], actor=actor, on=on)


@transaction.atomic(durable=True)
def undo_line(*, company, line_id: int, actor, on: dt.date, reason: str) -> BankLine:
    """Reverse the payments made from a line (through the ledger) and send it back to the queue."""
    _require(actor, "banking.confirm")
    if not (reason or "").strip():
        raise BankingError(_("A reversal needs a reason."), field="reason")
    line = _lock_line(company, line_id)
    if line.status not in (LineStatus.AUTO_APPLIED, LineStatus.CONFIRMED, LineStatus.UNAPPLIED):
        raise AlreadyDecided(_("Only applied lines can be undone."))
    apps = list(line.applications.filter(reversed_at__isnull=True).select_related("credit"))
    for app in sorted(apps, key=lambda a: a.customer_id):
        if app.credit.status == Status.POSTED:
            inner(ledger.reverse_credit)(company=company, credit_id=app.credit_id, actor=actor, on=on, reason=reason)
        app.reversed_at = timezone.now()
        app.save(update_fields=["reversed_at"])
    hints.reopen_for_line(line=line, actor=actor)
    line.status = LineStatus.SUGGESTED if line.proposals else LineStatus.UNMATCHED
    line.credit = None
    line.decided_by = actor
    line.decided_at = timezone.now()
    line.save(update_fields=["status", "credit", "decided_by", "decided_at", "updated_at"])
    audit.record(actor=actor, verb="banking.line.undone", target=line, customer_id=line.customer_id,
                 summary=reason[:300], data={"credits": [a.credit_id for a in apps], "reason": reason})
    return line


@transaction.atomic(durable=True)
def ignore_line(*, company, line_id: int, actor, note: str = "", ignore: bool = True, category: str = "") -> BankLine:
    """Mark an incoming line as not a customer receipt (interest, refund, own transfer) or bring it back.

    ``category`` (a ``LineCategory`` code, e.g. the one matching suggested: one click) is the reason
    kept with the line; ``note`` any words the clerk adds."""
    _require(actor, "banking.confirm")
    if category and category not in LineCategory.values:
        raise BankingError(_("Choose a category."), field="category")
    line = _lock_line(company, line_id)
    if ignore and line.status not in OPEN_STATUSES:
        raise AlreadyDecided(_("This line has already been dealt with (%(status)s).") % {"status": line.get_status_display()})
    if not ignore and (line.status != LineStatus.IGNORED or line.amount < 0):
        raise AlreadyDecided(_("Only ignored incoming lines can be brought back."))
    line.status = LineStatus.IGNORED if ignore else (LineStatus.SUGGESTED if line.proposals else LineStatus.UNMATCHED)
    line.note = (note or "")[:300]
    if ignore and category:
        line.category = category
    line.decided_by = actor
    line.decided_at = timezone.now()
    line.save(update_fields=["status", "note", "category", "decided_by", "decided_at", "updated_at"])
    audit.record(actor=actor, verb="banking.line.ignored" if ignore else "banking.line.restored", target=line,
                 summary=note[:300], data={"category": line.category} if ignore else None)
    return line


@transaction.atomic(durable=True)
def forget_alias(*, company, alias_id: int, actor) -> None:
    _require(actor, "banking.settings")
    alias = BankAlias.objects.filter(pk=alias_id, company=company).first()
    if alias is None:
        raise BankingError(_("Unknown alias."))
    audit.record(actor=actor, verb="banking.alias.forgotten", target=None, company_id=company.pk,
                 customer_id=alias.customer_id, summary=alias.name)
    alias.delete()


__all__ = ["StatementError", "MappingError", "LayoutUnknown", "BankingError", "OverApplication", "AlreadyDecided", "Part", "apply_line",
           "confirm_proposal", "import_statement", "match_lines", "post_on_account", "undo_line", "ignore_line"]
