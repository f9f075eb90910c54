"""Matching incoming bank lines to customers and open instalments.

Two halves:

- ``gather`` (SQL, set-based, per batch of lines): learned payer accounts and aliases, customers by
  exact / core name, documents whose number appears in a memo, open instalments whose open amount
  (or amount net of an available early-payment discount) equals a line's amount, then every open
  instalment of each candidate customer. A handful of queries per batch whatever its size; nothing
  is loaded per line and the company's instalments are never read in full.
- ``score`` (pure Python, no ORM): for each line and candidate customer, the evidence of identity
  (learned account, alias, name, reference) and the best allocation (reference, exact amount,
  discount, oldest-first or other combination, bank charge within tolerance, partial), turned into a
  confidence in [0, 1] with the reasons that produced it.

``is_certain`` decides auto-application: confidence at or above the threshold, a kind of fit that
leaves no choice (exact amount, exact reference + amount, discount, oldest-first combination), strong
identity, and no other customer's candidate within ``margin`` of it. Everything else is a suggestion.
"""

from __future__ import annotations

import datetime as dt
import re
import time
import unicodedata
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from django.db import connection
from django.db.models import BigIntegerField, Count, ExpressionWrapper, F, Q, Window
from django.db.models.functions import Cast
from django.utils.translation import gettext_lazy as _
from rapidfuzz import fuzz

from huikuan.common.money import ZERO, MoneyField
from huikuan.customers.models import Customer
from huikuan.ledger.models import Instalment, ReceivableDocument, Status

from . import combos

# ---------------------------------------------------------------- vocabulary

REASONS = {
    "account": _("Payer account %(account)s is known for this customer"),
    "alias": _("Payer name “%(name)s” was confirmed for this customer before"),
    "name_exact": _("Payer name matches the customer name"),
    "name_similar": _("Payer name is %(score)s%% similar to the customer name"),
    "ref_exact": _("Memo mentions %(numbers)s"),
    "ref_fuzzy": _("Memo reference “%(token)s” resembles %(numbers)s"),
    "amount_exact": _("Amount equals the open amount of %(numbers)s"),
    "amount_ref": _("Amount equals what is open on the referenced documents"),
    "discount": _("Amount equals %(numbers)s net of its early-payment discount %(discount)s"),
    "oldest_combo": _("Amount equals the %(count)s oldest open items together"),
    "combo": _("Amount equals %(count)s open items together (%(numbers)s)"),
    "combo_multi": _("Several combinations of open items give this amount"),
    "exact_multi": _("%(count)s open items of this customer have this amount"),
    "fee": _("Short by %(short)s — a bank charge within the tolerance, posted as a bank charge"),
    "partial": _("Part payment: the amount is less than what is open"),
    "partial_ref": _("Part payment of %(numbers)s named in the memo; %(rest)s stays open"),
    "ref_amount": _("The amount equals what is open on %(numbers)s (the amount wins over the reference)"),
    "ref_combo": _("The memo names some items; %(rest)s more equals %(numbers)s"),
    "rest_on_account": _("%(rest)s more than the items: kept as unapplied cash on account"),
    "amount_only": _("Only the amount matches (%(count)s open items company-wide have it)"),
    "no_open_items": _("The customer has nothing open: cash on account"),
    "account_shared": _("Payer account %(account)s has paid for several customers"),
    "memo_name": _("The memo names the customer (“%(name)s”)"),
    "memo_code": _("The memo gives the customer's registration code %(code)s"),
}

# fit kinds that leave no choice once the customer is certain
CERTAIN_KINDS = {"ref_exact", "exact", "discount", "oldest_combo", "ref_discount", "fee", "ref_fee", "combo",
                 "ref_partial", "ref_subset", "ref_combo", "ref_fuzzy_amount"}
MAX_CHARGE_SHARE = Decimal("0.10")  # as ledger.settlements: a bigger shortfall is a part payment
FIT = {
    "ref_exact": Decimal("1.00"), "exact": Decimal("1.00"), "ref_discount": Decimal("0.99"),
    "discount": Decimal("0.99"), "oldest_combo": Decimal("0.98"), "combo": Decimal("0.99"),
    "ref_partial": Decimal("0.99"), "ref_subset": Decimal("0.99"), "ref_combo": Decimal("0.99"),
    "ref_fuzzy_amount": Decimal("1.00"), "ref_amount": Decimal("0.80"), "ref_partial_multi": Decimal("0.70"),
    "ref_subset_multi": Decimal("0.60"), "ref_combo_multi": Decimal("0.60"),
    "ref_fee": Decimal("0.99"), "fee": Decimal("0.99"), "exact_multi": Decimal("0.80"),
    "ref_over": Decimal("0.70"), "combo_multi": Decimal("0.60"),
    "fee_multi": Decimal("0.60"), "partial": Decimal("0.40"), "on_account": Decimal("0.30"),
}
IDENTITY = {
    "account": Decimal("0.98"), "alias": Decimal("0.97"), "name_exact": Decimal("0.97"),
    "ref_exact": Decimal("0.97"), "ref_fuzzy": Decimal("0.70"), "ref_amount": Decimal("0.97"),
    "memo_name": Decimal("0.97"), "memo_code": Decimal("0.98"), "account_shared": Decimal("0.60"),
}
STRONG_IDENTITY = {"account", "alias", "name_exact", "ref_exact", "ref_amount", "memo_name", "memo_code"}
AMOUNT_FANOUT = 25  # an amount shared by more open items than this identifies nobody
FUZZY_ALL_CUSTOMERS = 5000  # above this many customers, names are compared only with candidates
TOP = 5
CORE_FANOUT = 3


@dataclass(frozen=True)
class LineFacts:
    key: int
    date: dt.date
    amount: Decimal  # > 0
    name: str = ""
    account: str = ""
    memo: str = ""


@dataclass(slots=True)
class Item:
    id: int
    customer_id: int
    document_id: int
    number: str
    due_date: dt.date
    open: Decimal
    amount: Decimal
    discount: Decimal
    discount_date: dt.date | None

    def discount_on(self, day: dt.date) -> Decimal:
        if self.discount > 0 and self.discount_date is not None and day <= self.discount_date and self.open == self.amount:
            return self.discount
        return ZERO


@dataclass
class Proposal:
    customer_id: int
    customer_name: str
    kind: str
    confidence: Decimal
    allocations: list = field(default_factory=list)  # [instalment_id, amount, discount, number]
    rest: Decimal = ZERO
    reasons: list = field(default_factory=list)  # [code, params]
    charges: list = field(default_factory=list)  # [instalment_id, bank charge]
    identity: set = field(default_factory=set)

    def as_json(self) -> dict:
        return {
            "customer_id": self.customer_id, "customer_name": self.customer_name, "kind": self.kind,
            "confidence": str(self.confidence), "rest": str(self.rest),
            "allocations": [[i, str(a), str(d), n] for i, a, d, n in self.allocations],
            "charges": [[i, str(f)] for i, f in self.charges],
            "reasons": self.reasons, "identity": sorted(self.identity),
        }


def reason_text(code: str, params: dict) -> str:
    template = REASONS.get(code)
    if template is None:
        return code
    try:
        return str(template) % params
    except (KeyError, TypeError, ValueError):
        return str(template)


# ---------------------------------------------------------------- normalisation

_PUNCT = re.compile(r"[\s\-_.,，。、·()（）\[\]【】\"'“”‘’:：;；/\\]+")
_LEGAL = re.compile(r"(股份有限公司|有限责任公司|有限公司|集团公司|集团|公司|分公司|商行|经营部|工作室|厂)$")
_REGIONS = ("北京", "上海", "天津", "重庆", "广州", "深圳", "杭州", "苏州", "南京", "宁波", "无锡", "成都", "武汉",
            "西安", "青岛", "厦门", "东莞", "佛山", "温州", "合肥", "长沙", "郑州", "济南", "福州", "大连", "沈阳",
            "广东", "浙江", "江苏", "山东", "福建", "河北", "河南", "湖北", "湖南", "四川", "安徽")


def norm_name(text: str) -> str:
    return _PUNCT.sub("", unicodedata.normalize("NFKC", text or "")).upper()


_REGION_RE = re.compile("^(?:中国)?(?:" + "|".join(_REGIONS) + ")(?:省|市)?")


def core_name(text: str) -> str:
    return _core_of_norm(norm_name(text))


def _core_of_norm(n: str) -> str:
    for _i in range(3):
        n2 = _LEGAL.sub("", n)
        if n2 == n:
            break
        n = n2
    stripped = _REGION_RE.sub("", n)
    return stripped if len(stripped) >= 2 else n


def norm_account(text: str) -> str:
    t = unicodedata.normalize("NFKC", text or "").strip()
    digits = re.sub(r"\D", "", t)
    return digits if len(digits) >= 6 else re.sub(r"\s", "", t).lower()


_TOKEN = re.compile(r"[A-Z]{0,6}\d[\dA-Z\-_/]*")


def memo_tokens(memo: str) -> list[str]:
    """Reference-like tokens of a memo, separators removed: 'INV-2026-00123' → 'INV202600123'."""
    text = unicodedata.normalize("NFKC", memo or "").upper()
    out = []
    for m in _TOKEN.finditer(text):
        tok = re.sub(r"[\-_/]", "", m.group(0))
        if len(re.sub(r"\D", "", tok)) >= 1:
            out.append(tok)
    return out


def number_key(number: str) -> str:
    return re.sub(r"[^0-9A-Z]", "", unicodedata.normalize("NFKC", number or "").upper())


def number_tail(number: str) -> str:
    runs = re.findall(r"\d+", number or "")
    return runs[-1].lstrip("0") if runs else ""


def number_variants(memo: str, year: int) -> set[str]:
    """Document numbers a memo may mean, as stored ('INV-2026-00123'), for the SQL lookup."""
    text = unicodedata.normalize("NFKC", memo or "").upper()
    out = set()
    for m in re.finditer(r"[A-Z]{1,6}[\-_ ]?\d{4}[\-_ ]?\d{1,8}|[A-Z]{0,6}\d{3,}", text):
        raw = m.group(0)
        out.add(raw.replace(" ", "").replace("_", "-"))
        prefix = re.match(r"[A-Z]*", raw).group(0) or "INV"
        digits = re.sub(r"\D", "", raw)
        if len(digits) > 4 and digits[:2] == "20":
            y, n = digits[:4], digits[4:].lstrip("0")
            if n:
                out.add(f"{prefix}-{y}-{int(n):05d}")
    for m in re.finditer(r"(?:发票|单号|合同|INV|NO\.?)\s*[#:：]?\s*(\d{1,6})(?!\d)", text):
        n = int(m.group(1))
        if n:
            for y in (year, year - 1):
                out.add(f"INV-{y}-{n:05d}")
    return out


# ---------------------------------------------------------------- gathering (SQL)


@dataclass
class Pool:
    """What the SQL half found for a batch of lines."""

    customers: dict = field(default_factory=dict)  # id → (name, short_name)
    by_account: dict = field(default_factory=dict)  # norm account → customer id
    by_alias: dict = field(default_factory=dict)  # norm name → customer id
    by_norm: dict = field(default_factory=lambda: defaultdict(set))  # norm name → ids
    by_core: dict = field(default_factory=lambda: defaultdict(set))  # core name → ids
    docs: dict = field(default_factory=dict)  # number → (document id, customer id)
    amount_hits: dict = field(default_factory=lambda: defaultdict(list))  # amount → [Item]
    items: dict = field(default_factory=lambda: defaultdict(list))  # customer id → [Item] (due, id)
    fuzzy_names: bool = False
    budget: Budget = field(default_factory=lambda: Budget())  # combination search time left for this batch
    shared_accounts: dict = field(default_factory=dict)  # norm account → last customer (paid for several)
    memo_names: dict = field(default_factory=dict)  # line key → {customer id: (signal, matched text)}
    keys_of: dict = field(default_factory=dict)  # customer id → {number key: [Item]} (built on first use)


def _items(qs) -> Iterable[Item]:
    # money columns read as BIGINT fen (no per-cell converter), made Decimal once here
    qs = qs.annotate(o_fen=Cast("open_amount", BigIntegerField()), a_fen=Cast("amount", BigIntegerField()),
                     d_fen=Cast("discount_amount", BigIntegerField()))
    for i, cid, doc, number, due, o, a, d, dday in qs.values_list(
            "id", "customer_id", "document_id", "document__number", "due_date", "o_fen", "a_fen", "d_fen",
            "discount_date"):
        oo = Decimal(o).scaleb(-2)
        yield Item(i, cid, doc, number, due, oo, oo if a == o else Decimal(a).scaleb(-2),
                   Decimal(d).scaleb(-2) if d else ZERO, dday)


def _open_instalments(company):
    # a reversed document's instalments are closed (open 0) by the ledger, so open > 0 is enough
    return Instalment.objects.filter(company=company, open_amount__gt=0)


def gather(company, lines: Sequence[LineFacts], *, customer_names: dict | None = None, rounding: Decimal = ZERO) -> Pool:
    """Run the candidate queries for ``lines``. ``customer_names`` (id → (name, short name)) may be
    passed in when the caller matches several batches, so the company's names are read once."""
    from .models import BankAlias, BankPayerAccount

    pool = Pool()
    index = customer_names if isinstance(customer_names, NameIndex) else NameIndex(customer_names or
                                                                                  load_customer_names(company))
    pool.customers, pool.by_norm, pool.by_core = index.customers, index.by_norm, index.by_core
    pool.fuzzy_names = len(index.customers) <= FUZZY_ALL_CUSTOMERS
    accounts = {norm_account(ln.account) for ln in lines if ln.account}
    names = {norm_name(ln.name) for ln in lines if ln.name}
    if accounts:
        for number, cid, shared in BankPayerAccount.objects.filter(company=company, account_number__in=accounts) \
                .values_list("account_number", "customer_id", "shared"):
            (pool.shared_accounts if shared else pool.by_account)[number] = cid
    if accounts:
        pool.by_account.update(recorded_payer_accounts(company, (ln.account for ln in lines if ln.account)))
    if names:
        pool.by_alias = dict(BankAlias.objects.filter(company=company, name__in=names).values_list("name", "customer_id"))
    _gather_memo_names(company, lines, pool, index)
    variants: set[str] = set()
    for ln in lines:
        variants |= number_variants(ln.memo, ln.date.year)
    if variants:
        for number, doc_id, cid in (ReceivableDocument.objects.filter(company=company, number__in=variants,
                                                                      status=Status.POSTED)
                                    .values_list("number", "id", "customer_id")):
            pool.docs[number_key(number)] = (doc_id, cid)
    amounts = sorted({ln.amount for ln in lines})
    if amounts:
        base = _open_instalments(company)
        # amounts owed by more than AMOUNT_FANOUT items identify nobody: counted in SQL, never fetched
        counted = base.filter(open_amount__in=amounts).annotate(
            owners=Window(Count("id"), partition_by=[F("open_amount")])).filter(owners__lte=AMOUNT_FANOUT)
        for item in _items(counted):
            pool.amount_hits[item.open].append(item)
        net = ExpressionWrapper(F("open_amount") - F("discount_amount"), output_field=MoneyField())
        min_day = min(ln.date for ln in lines)
        nets = sorted({a + d for a in amounts for d in ((-rounding, ZERO, rounding) if rounding else (ZERO,))})
        by_amount = set(amounts)
        for item in _items(base.filter(discount_amount__gt=0, open_amount=F("amount"), discount_date__gte=min_day)
                           .annotate(net=net).filter(net__in=nets)):
            for d in ((-rounding, ZERO, rounding) if rounding else (ZERO,)):
                if item.open - item.discount + d in by_amount:
                    pool.amount_hits[item.open - item.discount + d].append(item)
    wanted: set[int] = set(pool.by_account.values()) | set(pool.by_alias.values()) | set(pool.shared_accounts.values())
    for found in pool.memo_names.values():
        wanted |= set(found)
    wanted |= {cid for _d, cid in pool.docs.values()}
    for ln in lines:
        wanted |= _name_candidates(pool, ln.name, {i.customer_id for i in pool.amount_hits.get(ln.amount, ())})
    # customers known only by a matching amount are scored on the matching items alone: loading all
    # their items would cost the most and can only add weaker (combination) evidence
    wanted = sorted(wanted)
    if connection.vendor == "postgresql" and wanted:  # one query, one array parameter, no ORM per-row work
        inst, doc = Instalment._meta.db_table, ReceivableDocument._meta.db_table
        with connection.cursor() as cur:
            cur.execute(
                f"SELECT i.id, i.customer_id, i.document_id, d.number, i.due_date, i.open_amount, i.amount, "
                f"i.discount_amount, i.discount_date FROM {inst} i JOIN {doc} d ON d.id = i.document_id "
                f"WHERE i.company_id = %s AND i.open_amount > 0 AND i.customer_id = ANY(%s) "
                f"ORDER BY i.customer_id, i.due_date, i.id", [company.pk, wanted])
            items = pool.items
            for i, cid, doc_id, number, due, o, a, d, dday in cur.fetchall():
                oo = Decimal(o).scaleb(-2)
                items[cid].append(Item(i, cid, doc_id, number, due, oo, oo if a == o else Decimal(a).scaleb(-2),
                                       Decimal(d).scaleb(-2) if d else ZERO, dday))
        wanted = []
    for start in range(0, len(wanted), 2000):
        chunk = wanted[start:start + 2000]
        for item in _items(_open_instalments(company).filter(customer_id__in=chunk).order_by("customer_id", "due_date", "id")):
            pool.items[item.customer_id].append(item)
    return pool


_CREDIT_CODE = re.compile(r"(?<![0-9A-Z])[0-9A-HJ-NP-RTUWXY]{2}\d{6}[0-9A-HJ-NP-RTUWXY]{10}(?![0-9A-Z])")
# words of a memo that are never a customer's name (代付 = paid on behalf of, 货款 = payment for goods …)
_MEMO_WORDS = re.compile(r"代付|付款|支付|货款|往来款|结算款|采购款|转账|网银|汇款|款项|\d+月|月份")
MEMO_NAME_MIN = 3  # a name of fewer characters in a memo (华为, 美的) is too easily part of other words


def _memo_chunks(memo: str) -> list[str]:
    text = norm_name(memo)
    return [c for c in _MEMO_WORDS.split(re.sub(r"[0-9A-Z]{6,}", " ", text)) if len(c) >= 2]


def _memo_substrings(memo: str, longest: int = 20) -> set[str]:
    out = set()
    for chunk in _memo_chunks(memo):
        for i in range(len(chunk)):
            for j in range(i + MEMO_NAME_MIN, min(len(chunk), i + longest) + 1):
                out.add(chunk[i:j])
    return out


def _gather_memo_names(company, lines: Sequence[LineFacts], pool: Pool, index: NameIndex) -> None:
    """Customers a memo names — by name, short name, core name, learned alias, or 统一社会信用代码 — for
    lines whose payer is not already known by account or name (a boss or an employee paying)."""
    from .models import BankAlias

    subs_of: dict[int, set[str]] = {}
    codes_of: dict[int, set[str]] = {}
    for ln in lines:
        if not ln.memo:
            continue
        codes = set(_CREDIT_CODE.findall(unicodedata.normalize("NFKC", ln.memo).upper()))
        if codes:
            codes_of[ln.key] = codes
        known = (ln.account and norm_account(ln.account) in pool.by_account) or \
            (ln.name and (norm_name(ln.name) in index.by_norm or core_name(ln.name) in index.by_core))
        if not known:
            subs = _memo_substrings(ln.memo)
            if subs:
                subs_of[ln.key] = subs
    if not subs_of and not codes_of:
        return
    all_codes = sorted(set().union(*codes_of.values())) if codes_of else []
    by_code: dict[str, set] = defaultdict(set)
    for start in range(0, len(all_codes), 1000):
        for cid, code in Customer.objects.filter(company=company, credit_code__in=all_codes[start:start + 1000]) \
                .values_list("id", "credit_code"):
            by_code[code].add(cid)
    all_subs = sorted(set().union(*subs_of.values())) if subs_of else []
    alias: dict[str, int] = {}
    extra: dict[str, set] = defaultdict(set)  # names looked up in SQL when the index holds only some customers
    for start in range(0, len(all_subs), 5000):
        chunk = all_subs[start:start + 5000]
        alias.update(BankAlias.objects.filter(company=company, name__in=chunk).values_list("name", "customer_id"))
        if not pool.fuzzy_names or len(index.customers) > FULL_NAME_INDEX:
            for cid, name, short in Customer.objects.filter(company=company).filter(
                    Q(name__in=chunk) | Q(short_name__in=chunk)).values_list("id", "name", "short_name"):
                extra[norm_name(name)].add(cid)
                if short:
                    extra[norm_name(short)].add(cid)
                pool.customers.setdefault(cid, (name, short))
    for key in set(subs_of) | set(codes_of):
        found: dict[int, tuple[str, str]] = {}
        for code in codes_of.get(key, ()):
            if len(by_code.get(code, ())) == 1:
                (cid,) = by_code[code]
                found[cid] = ("memo_code", code)
        # the longest name the memo contains wins; a name two customers share names neither
        best_len, named = 0, {}
        for sub in subs_of.get(key, ()):
            owners = set(index.by_norm.get(sub, ())) | set(index.by_core.get(sub, ())) | extra.get(sub, set())
            if sub in alias:
                owners.add(alias[sub])
            if not owners:
                continue
            if len(sub) > best_len:
                best_len, named = len(sub), {sub: owners}
            elif len(sub) == best_len:
                named[sub] = owners
        owners = set().union(*named.values()) if named else set()
        if len(owners) == 1:
            (cid,) = owners
            found.setdefault(cid, ("memo_name", next(iter(named))))
        if found:
            pool.memo_names[key] = found


def recorded_payer_accounts(company, raw_accounts: Iterable[str]) -> dict:
    """``norm_account`` of a line's payer account → customer id, for the accounts recorded on the
    customers' files (``customers.CustomerBankAccount``: entered by a user, through the API or an
    import), so a payer is known from the first statement on, before anything was learned.

    One query. A recorded account outranks a learned one (``BankPayerAccount``): it was stated by a
    person, a learned one only follows the last confirmation.
    """
    from huikuan.customers.bank_accounts import normalise_account_number
    from huikuan.customers.models import CustomerBankAccount

    keys: dict[str, str] = {}
    for raw in raw_accounts:
        number = normalise_account_number(raw)
        if number:
            keys[number] = norm_account(raw)
    if not keys:
        return {}
    found = CustomerBankAccount.objects.filter(company=company, account_number__in=list(keys)).values_list(
        "account_number", "customer_id")
    return {keys[number]: cid for number, cid in found}


class NameIndex:
    """The company's customer names by normalised and core name, built once per matching run."""

    def __init__(self, customers: dict):
        self.customers = customers
        self.by_norm: dict = defaultdict(set)
        self.by_core: dict = defaultdict(set)
        for cid, (name, short) in customers.items():
            n = norm_name(name)
            self.by_norm[n].add(cid)
            self.by_core[_core_of_norm(n)].add(cid)
            if short:
                self.by_norm[norm_name(short)].add(cid)


FULL_NAME_INDEX = 20000  # up to this many customers every name is indexed (core names, fuzzy)
_SUFFIXES = ("有限公司", "有限责任公司", "股份有限公司")


def _name_variants(payer: str) -> set[str]:
    p = unicodedata.normalize("NFKC", payer or "").strip()
    if not p:
        return set()
    out = {p, p.replace("(", "（").replace(")", "）"), payer.strip()}
    if not _LEGAL.search(norm_name(p)):
        out |= {p + s for s in _SUFFIXES}
    return out


def load_customer_names(company, payers: Iterable[str] | None = None) -> dict:
    """id → (name, short name) of the company's customers; above FULL_NAME_INDEX customers only those
    whose name or short name is one of the payers' (with or without the legal suffix), looked up in SQL."""
    qs = Customer.objects.filter(company=company)
    if payers is not None and qs.count() > FULL_NAME_INDEX:
        variants: set[str] = set()
        for p in payers:
            variants |= _name_variants(p)
        found: dict = {}
        names = sorted(variants)
        if connection.vendor == "postgresql":  # one array parameter instead of 40,000 placeholders
            with connection.cursor() as cur:
                cur.execute(f"SELECT id, name, short_name FROM {Customer._meta.db_table} WHERE company_id = %s "
                            "AND (name = ANY(%s) OR short_name = ANY(%s))", [company.pk, names, names])
                return {cid: (name, short) for cid, name, short in cur.fetchall()}
        for start in range(0, len(names), 5000):
            chunk = names[start:start + 5000]
            for cid, name, short in qs.filter(name__in=chunk).values_list("id", "name", "short_name"):
                found[cid] = (name, short)
            for cid, name, short in qs.filter(short_name__in=chunk).values_list("id", "name", "short_name"):
                found[cid] = (name, short)
        return found
    return {cid: (name, short) for cid, name, short in qs.values_list("id", "name", "short_name").iterator(chunk_size=10000)}


def _name_candidates(pool: Pool, name: str, among: set[int] | None = None) -> set[int]:
    """Customers a payer name may stand for. A name shared by many customers (a short name used in
    ten cities) only counts among ``among`` (those owing the line's amount)."""
    if not name:
        return set()
    n = norm_name(name)
    out = set(pool.by_norm.get(n, ()))
    if not out:
        out = set(pool.by_core.get(core_name(name), ()))
    if len(out) > CORE_FANOUT:
        out = out & among if among else set()
    if n in pool.by_alias:
        out.add(pool.by_alias[n])
    if pool.fuzzy_names and not out:
        for cid, (cname, short) in pool.customers.items():
            if _similarity(name, cname, short) >= 0.85:
                out.add(cid)
    return out


def _similarity(payer: str, name: str, short: str = "") -> float:
    p = norm_name(payer)
    best = 0.0
    for n in (name, short):
        if not n:
            continue
        best = max(best, fuzz.ratio(p, norm_name(n)) / 100, fuzz.ratio(core_name(payer), core_name(n)) / 100)
    return best


# ---------------------------------------------------------------- scoring (pure)


def _numbers(items: Sequence[Item]) -> str:
    return "、".join(dict.fromkeys(i.number for i in items))


def _oldest_first(amount: Decimal, items: Sequence[Item]) -> tuple[list, Decimal]:
    left, allocs = amount, []
    for it in items:
        if left <= 0:
            break
        take = min(left, it.open)
        allocs.append([it.id, take, ZERO, it.number])
        left -= take
    return allocs, left


def _full(items: Sequence[Item]) -> list:
    return [[i.id, i.open, ZERO, i.number] for i in items]


SEARCH_BUDGET = 3.0  # seconds of combination search per batch of lines; then only small searches


@dataclass
class Budget:
    left: float = SEARCH_BUDGET


def _search(amount: Decimal, items: Sequence[Item], *, min_size: int = 2,
            budget: Budget | None = None) -> tuple[list[list[Item]], bool]:
    """Exact-sum combinations of ``items`` (in age order) for ``amount``, oldest first, and whether
    the answer is known to be the only one (every item searched, every size, within the time box)."""
    pool = [i for i in items if i.open <= amount]
    complete_pool = len(pool) <= combos.COMBO_ITEMS
    pool = pool[:combos.COMBO_ITEMS]
    if len(pool) < min_size:
        return [], complete_pool
    budget = budget or Budget()
    box = max(min(combos.TIME_BOX, budget.left), 0.002)  # a handful of items always fits in 2 ms
    started = time.perf_counter()
    found = combos.exact_subsets(int(amount * 100), [int(i.open * 100) for i in pool], min_size=min_size,
                                 time_box=box)
    budget.left -= time.perf_counter() - started
    out = [[pool[k] for k in combo] for combo in found.found]
    return out, found.complete and complete_pool


def _charge_ok(short: Decimal, item_amount: Decimal, tolerance: Decimal) -> bool:
    return ZERO < short <= tolerance and short <= item_amount * MAX_CHARGE_SHARE


@dataclass
class Fit:
    kind: str
    allocations: list
    rest: Decimal
    reasons: list
    charges: list = field(default_factory=list)


def _discounted(items: Sequence[Item], amount: Decimal, day: dt.date, rounding: Decimal) -> list | None:
    """Allocations settling ``items`` net of their discounts when ``amount`` differs from the net total by
    at most ``rounding`` per item (the customer rounded 98 % the other way): cash = amount, each item's
    discount moved by at most one unit so that cash + discount is exactly what is open."""
    discs = [i.discount_on(day) for i in items]
    if not all(discs):
        return None
    diff = sum((i.open - d for i, d in zip(items, discs, strict=True)), ZERO) - amount  # > 0: paid less
    if abs(diff) > rounding * len(items):
        return None
    allocs = []
    unit = Decimal("0.01") if diff > 0 else Decimal("-0.01")
    left = diff
    for i, d in zip(items, discs, strict=True):
        step = ZERO
        if left and abs(left) >= Decimal("0.01") and rounding:
            step = unit
            left -= unit
        allocs.append([i.id, i.open - d - step, d + step, i.number])
    return allocs if not left else None


def _fit_tuple(line: LineFacts, items: Sequence[Item], refs: Refs, tolerance: Decimal, rounding: Decimal,
               budget: Budget):
    amount = line.amount
    if not items:
        return "on_account", [], amount, [["no_open_items", {}]]
    referenced = refs.exact
    if referenced:
        total = sum((i.open for i in referenced), ZERO)
        if total == amount:
            return "ref_exact", _full(referenced), ZERO, [["amount_ref", {}]]
        disc = _discounted(referenced, amount, line.date, rounding)
        if disc:
            d = sum((Decimal(x[2]) for x in disc), ZERO)
            return "ref_discount", disc, ZERO, [["discount", {"numbers": _numbers(referenced), "discount": str(d)}]]
        ids = {i.id for i in referenced}
        others = [i for i in items if i.id not in ids]
        if total > amount:
            short = total - amount
            last = referenced[-1]
            if _charge_ok(short, last.amount, tolerance) and last.open > short and not last.discount_on(line.date):
                allocs = _full(referenced)
                allocs[-1][1] = last.open - short
                return Fit("ref_fee", allocs, ZERO, [["fee", {"short": str(short)}]], [[last.id, short]])
            # the amount wins over a reference whose amount does not match (a typo'd number)
            same = [i for i in others if i.open == amount]
            fuzzy_same = [i for i in same if i.id in refs.fuzzy_ids]
            if len(fuzzy_same) == 1:
                return "ref_fuzzy_amount", _full(fuzzy_same), ZERO, [["ref_amount", {"numbers": fuzzy_same[0].number}]]
            if same:
                return "ref_amount", _full(same[:1]), ZERO, [["ref_amount", {"numbers": same[0].number}]]
            if len(referenced) > 1:
                found, complete = _search(amount, referenced, min_size=1, budget=budget)
                if found:
                    kind = "ref_subset" if complete and len(found) == 1 else "ref_subset_multi"
                    return kind, _full(found[0]), ZERO, [["combo", {"count": len(found[0]),
                                                                    "numbers": _numbers(found[0])}]]
            allocs, _left = _oldest_first(amount, referenced)
            one_doc = len({i.document_id for i in referenced}) == 1
            return ("ref_partial" if one_doc else "ref_partial_multi"), allocs, ZERO, [["partial_ref", {
                "numbers": _numbers(referenced), "rest": str(short)}]]
        # the memo names some of the items: the rest of the amount from the customer's other items
        rest = amount - total
        found, complete = _search(rest, others, min_size=1, budget=budget)
        if found:
            chosen = sorted(list(referenced) + found[0], key=lambda i: (i.due_date, i.id))
            kind = "ref_combo" if complete and len(found) == 1 else "ref_combo_multi"
            return kind, _full(chosen), ZERO, [["ref_combo", {"numbers": _numbers(found[0]), "rest": str(rest)}]]
        return "ref_over", _full(referenced), rest, [["rest_on_account", {"rest": str(rest)}]]
    if refs.fuzzy:
        same = [i for i in refs.fuzzy if i.open == amount]
        if len(same) == 1:
            return "ref_fuzzy_amount", _full(same), ZERO, [["ref_amount", {"numbers": same[0].number}]]
    exact = [i for i in items if i.open == amount]
    if len(exact) == 1:
        return "exact", _full(exact), ZERO, [["amount_exact", {"numbers": exact[0].number}]]
    if len(exact) > 1:
        return "exact_multi", _full(exact[:1]), ZERO, [["exact_multi", {"count": len(exact)}]]
    disc = [x for x in (_discounted([i], amount, line.date, rounding) for i in items if i.discount_on(line.date)) if x]
    if len(disc) == 1:
        (alloc,) = disc[0]
        return "discount", disc[0], ZERO, [["discount", {"numbers": alloc[3], "discount": str(alloc[2])}]]
    running, prefix = ZERO, []
    for it in items:
        running += it.open
        prefix.append(it)
        if running >= amount:
            break
    if running == amount and len(prefix) >= 2:
        return "oldest_combo", _full(prefix), ZERO, [["oldest_combo", {"count": len(prefix)}]]
    found, complete = _search(amount, items, budget=budget)
    if found:
        c = sorted(found[0], key=lambda i: (i.due_date, i.id))
        if complete and len(found) == 1:
            return "combo", _full(c), ZERO, [["combo", {"count": len(c), "numbers": _numbers(c)}]]
        return "combo_multi", _full(c), ZERO, [["combo_multi", {}]]
    # an item whose early-payment discount is still available is short by a discount, not a bank charge
    fee = [i for i in items if _charge_ok(i.open - amount, i.amount, tolerance) and not i.discount_on(line.date)]
    if fee:
        i = fee[0]
        return Fit("fee" if len(fee) == 1 else "fee_multi", [[i.id, amount, ZERO, i.number]], ZERO,
                   [["fee", {"short": str(i.open - amount)}]], [[i.id, i.open - amount]])
    allocs, left = _oldest_first(amount, items)
    reasons = [["partial", {}]] if left <= 0 else [["rest_on_account", {"rest": str(left)}]]
    return "partial", allocs, max(left, ZERO), reasons


def _fit(line: LineFacts, items: Sequence[Item], refs: Refs, tolerance: Decimal, rounding: Decimal = ZERO,
         budget: Budget | None = None) -> Fit:
    """The best way this customer's items explain the amount."""
    f = _fit_tuple(line, items, refs, tolerance, rounding, budget or Budget())
    return f if isinstance(f, Fit) else Fit(*f)


@dataclass
class Refs:
    """What the memo says about a customer's items: exact references, and the items a mistyped or
    shortened reference may mean (all of them: ties are broken by the amount)."""

    exact: list = field(default_factory=list)
    fuzzy: list = field(default_factory=list)
    kind: str = ""
    reasons: list = field(default_factory=list)

    @property
    def fuzzy_ids(self) -> set:
        return {i.id for i in self.fuzzy}


def _tails(token: str) -> set[str]:
    """The running numbers a reference may carry: the last digit run without leading zeros, and, when
    that run starts with a year (2026607), what follows the year — whatever the company's series."""
    runs = re.findall(r"\d+", token or "")
    if not runs:
        return set()
    last = runs[-1]
    out = {last.lstrip("0")}
    if len(last) > 5 and last[:2] in ("19", "20"):
        out.add(last[4:].lstrip("0"))
    return {t for t in out if len(t) >= 2}


def _referenced(line: LineFacts, pool: Pool, cid: int, items: Sequence[Item]) -> Refs:
    """Items of customer ``cid`` the memo refers to: exactly (number found by SQL or its key in the memo)
    or fuzzily (a typo, a missing prefix or zeros, another way of writing the series)."""
    if not line.memo or not items:
        return Refs()
    tokens = memo_tokens(line.memo)
    if not tokens:
        return Refs()
    by_key = pool.keys_of.get(cid) if cid in pool.items else None
    if by_key is None:
        by_key = defaultdict(list)
        for it in items:
            by_key[number_key(it.number)].append(it)
        if cid in pool.items:
            pool.keys_of[cid] = by_key
    exact_docs = set()
    for tok in tokens:
        if tok in by_key:
            exact_docs.add(tok)
    for variant in number_variants(line.memo, line.date.year):
        k = number_key(variant)
        if k in by_key and pool.docs.get(k, (None, None))[1] == cid:
            exact_docs.add(k)
    # fuzzy: same running number in another spelling of the series, or a near spelling of the whole number
    fuzzy: dict[int, Item] = {}
    best_tok = ""
    for tok in tokens:
        tails = _tails(tok)
        for key, its in by_key.items():
            if key in exact_docs:
                continue
            score = fuzz.ratio(tok, key) / 100 if len(tok) >= 6 else 0.0
            if tails and len(max(tails, key=len)) >= 2 and tails & _tails(key):
                score = max(score, 0.9)
            if score >= 0.8:
                for it in its:
                    fuzzy[it.id] = it
                best_tok = best_tok or tok
    fuzzy_items = sorted(fuzzy.values(), key=lambda i: (i.due_date, i.id))
    if exact_docs:
        found = [it for k in sorted(exact_docs) for it in by_key[k]]
        found.sort(key=lambda i: (i.due_date, i.id))
        return Refs(found, fuzzy_items, "ref_exact", [["ref_exact", {"numbers": _numbers(found)}]])
    if fuzzy_items:
        return Refs([], fuzzy_items, "ref_fuzzy", [["ref_fuzzy", {"token": best_tok, "numbers": _numbers(fuzzy_items[:3])}]])
    return Refs()


def _noisy_or(values: Iterable[Decimal]) -> Decimal:
    miss = Decimal(1)
    for v in values:
        miss *= Decimal(1) - v
    return Decimal(1) - miss


def score_line(line: LineFacts, pool: Pool, *, tolerance: Decimal, rounding: Decimal = ZERO) -> list[Proposal]:
    """Ranked proposals (best first, at most TOP) for one incoming line."""
    candidates: dict[int, list] = defaultdict(list)  # cid → [(signal, strength, reason)]
    acct = norm_account(line.account) if line.account else ""
    if acct and acct in pool.by_account:
        candidates[pool.by_account[acct]].append(("account", IDENTITY["account"], ["account", {"account": line.account}]))
    if acct and acct in pool.shared_accounts:
        candidates[pool.shared_accounts[acct]].append(
            ("account_shared", IDENTITY["account_shared"], ["account_shared", {"account": line.account}]))
    for cid, (signal, text) in pool.memo_names.get(line.key, {}).items():
        key = "code" if signal == "memo_code" else "name"
        candidates[cid].append((signal, IDENTITY[signal], [signal, {key: text}]))
    n = norm_name(line.name) if line.name else ""
    if n and n in pool.by_alias:
        candidates[pool.by_alias[n]].append(("alias", IDENTITY["alias"], ["alias", {"name": line.name}]))
    hits = pool.amount_hits.get(line.amount, [])
    if line.name:
        named = pool.by_norm.get(n) or pool.by_core.get(core_name(line.name)) or set()
        if len(named) == 1:
            (cid,) = named
            candidates[cid].append(("name_exact", IDENTITY["name_exact"], ["name_exact", {}]))
        else:
            if len(named) > CORE_FANOUT:
                named = named & {i.customer_id for i in hits}
            for cid in named:
                candidates[cid].append(("name_similar", Decimal("0.6"), ["name_similar", {"score": 100}]))
        if pool.fuzzy_names and not named:
            for cid in _name_candidates(pool, line.name):
                if cid == pool.by_alias.get(n):
                    continue
                s = _similarity(line.name, *pool.customers.get(cid, ("", "")))
                candidates[cid].append(("name_similar", Decimal(str(round(0.5 + (s - 0.85) * 2, 3))),
                                        ["name_similar", {"score": int(s * 100)}]))
    for it in hits[:AMOUNT_FANOUT] if len(hits) <= AMOUNT_FANOUT else ():
        candidates.setdefault(it.customer_id, [])
    for variant in number_variants(line.memo, line.date.year):
        found = pool.docs.get(number_key(variant))
        if found:
            candidates.setdefault(found[1], [])
    proposals = []
    for cid, signals in candidates.items():
        items = pool.items.get(cid)
        if items is None:
            items = sorted({i.id: i for i in hits if i.customer_id == cid}.values(), key=lambda i: (i.due_date, i.id))
        refs = _referenced(line, pool, cid, items)
        ref_kind, ref_reasons = refs.kind, refs.reasons
        fit = _fit(line, items, refs, tolerance, rounding, pool.budget)
        kind, allocs, rest, fit_reasons = fit.kind, fit.allocations, fit.rest, fit.reasons
        identity = {s for s, _v, _r in signals}
        strengths = [v for _s, v, _r in signals]
        if ref_kind:
            identity.add(ref_kind)
            strengths.append(IDENTITY[ref_kind])
        if kind == "ref_fuzzy_amount":  # a reference resembling the one item that has exactly this amount
            identity.add("ref_amount")
            strengths.append(IDENTITY["ref_amount"])
        if strengths:
            ident = min(_noisy_or(strengths), Decimal("0.999"))
        else:
            count = len(hits)
            ident = Decimal("0.5") / max(count, 1) if kind in ("exact", "discount") else Decimal("0.1")
        conf = (ident * FIT[kind]).quantize(Decimal("0.001"))
        if ref_kind == "ref_exact" and kind == "ref_exact":
            conf = max(conf, Decimal("0.990"))
        reasons = [r for _s, _v, r in signals] + ref_reasons + fit_reasons
        if not strengths and kind in ("exact", "discount"):
            reasons.append(["amount_only", {"count": len(hits)}])
        name, _short = pool.customers.get(cid, ("", ""))
        proposals.append(Proposal(customer_id=cid, customer_name=name, kind=kind, confidence=conf,
                                  allocations=allocs, rest=rest, reasons=reasons, identity=identity,
                                  charges=fit.charges))
    proposals.sort(key=lambda p: (-p.confidence, p.customer_id))
    return proposals[:TOP]


def is_certain(proposals: Sequence[Proposal], *, threshold: Decimal, margin: Decimal) -> bool:
    """Apply without a person only when nothing else is plausible."""
    if not proposals:
        return False
    best = proposals[0]
    if best.confidence < threshold or best.kind not in CERTAIN_KINDS or best.rest:
        return False
    if not (best.identity & STRONG_IDENTITY):
        return False
    if len(proposals) > 1 and proposals[1].confidence > best.confidence - margin:
        return False
    return True


def propose(company, lines: Sequence[LineFacts], *, tolerance: Decimal, customer_names: dict | None = None,
            rounding: Decimal = ZERO) -> dict:
    """line key → ranked proposals, for a batch of incoming lines (a few queries for the whole batch)."""
    pool = gather(company, lines, customer_names=customer_names, rounding=rounding)
    return {ln.key: score_line(ln, pool, tolerance=tolerance, rounding=rounding) for ln in lines}


# ---------------------------------------------------------------- not a customer's payment

CATEGORY_WORDS = (  # memo or payer words → category, first match wins
    ("tax_refund", re.compile(r"退税|税务局|国家金库|国库|留抵|出口退|个税手续费返还")),
    ("interest", re.compile(r"结息|利息|息收入|存息")),
    ("internal", re.compile(r"内部转账|资金归集|资金下拨|调拨|账户划转|同名划转|自有资金")),
    ("loan", re.compile(r"贷款发放|放款|借款|融资|贴现款")),
    ("subsidy", re.compile(r"补贴|补助|奖励资金|财政")),
    ("refund", re.compile(r"退款|退回|退货|返还|多付")),
)


def category_of(line: LineFacts, proposals: Sequence[Proposal], *, own: tuple[set, set]) -> str:
    """The category of a line that is not a customer's payment (interest, tax refund, own transfer,
    loan, subsidy, refund), or "". A line with strong evidence of a customer (its account, its name, a
    reference) is a payment whatever its memo says."""
    if proposals and proposals[0].identity & STRONG_IDENTITY:
        return ""
    own_names, own_accounts = own
    if (line.name and norm_name(line.name) in own_names) or (line.account and norm_account(line.account) in own_accounts):
        return "internal"
    text = f"{line.memo} {line.name}"
    for category, words in CATEGORY_WORDS:
        if words.search(text):
            return category
    return ""

