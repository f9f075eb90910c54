"""A labelled synthetic set for the precision guarantee (tests and bench/bank_labelled.py).

``build_world`` posts demo-like customers and invoices (names from ``huikuan.demo.names``; some
invoices with an early-payment discount; pairs of customers owing identical amounts). ``make_lines``
then writes bank lines with realistic noise and the true answer of each line:

    exact reference · no reference · short or mistyped payer name · the boss's personal account ·
    several invoices in one transfer · part payments · payment net of the discount · bank charges
    deducted · identical amounts on different customers · mistyped references · money that is not
    a customer receipt at all.

``evaluate`` compares what matching did with the truth: wrong automatic applications (must be 0),
the share applied automatically, and the share whose first suggestion is right.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass, field
from decimal import Decimal

from huikuan.common.money import ZERO
from huikuan.customers.models import Customer
from huikuan.demo.names import generate_customers, person_name
from huikuan.ledger.bulk import DocumentInput, post_documents
from huikuan.ledger.models import Instalment
from huikuan.ledger.services import ScheduleInput

from .models import BankAccount, BankApplication, BankLine, BankStatement, LineStatus

SCENARIOS = {
    "ref_exact": 16, "name_exact": 18, "name_variant": 9, "boss_account": 8, "combined": 9, "partial": 7,
    "discount": 6, "fee": 7, "same_amount": 8, "ref_typo": 6, "not_customer": 4, "combined_ref": 2,
}


@dataclass
class Truth:
    customer_id: int | None
    allocations: dict = field(default_factory=dict)  # instalment id → cash amount
    scenario: str = ""


def build_world(*, company, actor, rng: random.Random, customers: int, day: dt.date, prefix: str = "L") -> None:
    """Customers and open invoices (3–8 each), dated in the 120 days before ``day``."""
    specs = generate_customers(rng, customers, code_prefix=prefix, with_contacts=False)
    Customer.objects.bulk_create([Customer(company=company, code=s.code, name=s.name, short_name=s.short_name)
                                  for s in specs], batch_size=1000)
    ids = list(Customer.objects.filter(company=company, code__startswith=prefix).order_by("pk").values_list("pk", flat=True))
    docs = []
    shared = None
    for n, cid in enumerate(ids):
        if n % 10 == 1:  # every tenth pair of customers owes one identical round amount
            shared = Decimal(rng.choice([5000, 8000, 10000, 12000, 20000, 30000]))
        for k in range(rng.randint(3, 8)):
            doc_day = day - dt.timedelta(days=rng.randint(5, 120))
            if k == 0 and n % 10 in (1, 2) and shared is not None:
                total = shared
            else:
                total = Decimal(rng.randint(20000, 5000000)) / 100
            schedule = None
            if rng.random() < 0.08:
                disc = (total * Decimal("0.02")).quantize(Decimal("0.01"))
                schedule = [ScheduleInput(due_date=doc_day + dt.timedelta(days=30), amount=total, discount_amount=disc,
                                          discount_date=day + dt.timedelta(days=10))]
            docs.append(DocumentInput(customer_id=cid, document_date=doc_day, total=total, schedule=schedule))
    post_documents(company=company, documents=docs, actor=actor)


def _typo(number: str, rng: random.Random) -> str:
    head, _sep, tail = number.rpartition("-")
    digits = str(int(tail)) if tail.isdigit() else tail
    choice = rng.randint(0, 3)
    if choice == 0:
        return f"发票{digits}"
    if choice == 1:
        return f"{head}-{digits}"  # zeros missing
    if choice == 2:
        return number.replace("-", "")
    if len(tail) >= 2:  # two digits swapped
        t = list(tail)
        i = rng.randrange(len(t) - 1)
        t[i], t[i + 1] = t[i + 1], t[i]
        return f"{head}-{''.join(t)}"
    return number


def _name_variant(name: str, short: str, rng: random.Random) -> str:
    choice = rng.randint(0, 2)
    if choice == 0 and short:
        return short
    if choice == 1:
        return name.replace("有限公司", "").replace("股份", "").replace("有限责任公司", "")
    return name.replace("有限公司", "有限公司 ").strip() + ("" if rng.random() < 0.5 else "（采购部）")


def make_lines(*, company, rng: random.Random, count: int, day: dt.date, account: BankAccount | None = None,
               file_name: str = "labelled.csv") -> dict[int, Truth]:
    """Write ``count`` incoming bank lines on a new statement; returns line id → truth."""
    account = account or BankAccount.objects.get_or_create(company=company, account_number="LABELLED-1",
                                                           defaults={"bank": "招商银行", "currency": "CNY"})[0]
    st = BankStatement.objects.create(company=company, account=account, source_format="cn_debit_credit",
                                      file_name=file_name, file_hash="labelled", total_lines=count, new_lines=count)
    rows = list(Instalment.objects.filter(company=company, open_amount__gt=0, open_amount=models_F("amount"))
                .values_list("pk", "customer_id", "document__number", "due_date", "open_amount", "discount_amount",
                             "discount_date").order_by("pk"))
    by_customer: dict[int, list] = {}
    for r in rows:
        by_customer.setdefault(r[1], []).append(r)
    for items in by_customer.values():
        items.sort(key=lambda r: (r[3], r[0]))
    names = {c.pk: (c.name, c.short_name) for c in Customer.objects.filter(pk__in=by_customer)}
    amount_owners: dict[Decimal, set] = {}
    for r in rows:
        amount_owners.setdefault(r[4], set()).add(r[1])
    shared_amounts = [a for a, owners in amount_owners.items() if len(owners) > 1]
    used: set[int] = set()
    boss: dict[int, tuple[str, str]] = {}
    customers = list(by_customer)
    scen, weights = zip(*SCENARIOS.items(), strict=True)
    lines, truths = [], []

    def free(cid):
        return [r for r in by_customer.get(cid, []) if r[0] not in used]

    attempts = 0
    while len(lines) < count and attempts < count * 20:
        attempts += 1
        kind = rng.choices(scen, weights)[0]
        cid = rng.choice(customers)
        items = free(cid)
        name, short = names.get(cid, ("", ""))
        payer, acct, memo = name, f"62{rng.randint(10**14, 10**15 - 1)}", rng.choice(["货款", "付款", "", "转账"])
        amount = ZERO
        alloc: dict[int, Decimal] = {}
        truth_cid: int | None = cid
        if kind == "not_customer":
            payer = rng.choice(["中国工商银行", "某某物流有限公司", "国家税务总局退税", person_name(rng)])
            amount, memo, truth_cid = Decimal(rng.randint(100, 99999)) / 100, rng.choice(["利息", "退款", "退税"]), None
        elif kind == "same_amount":
            if not shared_amounts:
                continue
            a = rng.choice(shared_amounts)
            owners = sorted(amount_owners[a])
            cid = rng.choice(owners)
            cand = [r for r in free(cid) if r[4] == a]
            if not cand:
                continue
            r = cand[0]
            name, _s = names[cid]
            truth_cid, payer, amount, alloc = cid, name, a, {r[0]: a}
        elif not items:
            continue
        elif kind in ("ref_exact", "name_exact", "name_variant", "boss_account", "ref_typo"):
            r = rng.choice(items)
            amount, alloc = r[4], {r[0]: r[4]}
            if kind == "ref_exact":
                memo = f"{r[2]} {memo}".strip()
            elif kind == "name_variant":
                payer = _name_variant(name, short, rng)
            elif kind == "boss_account":
                payer, acct = boss.setdefault(cid, (person_name(rng), f"6217{rng.randint(10**11, 10**12 - 1)}"))
                memo = rng.choice(["代付货款", "货款", ""])
            elif kind == "ref_typo":
                payer = person_name(rng) if rng.random() < 0.5 else payer
                memo = f"{_typo(r[2], rng)} 货款"
        elif kind in ("combined", "combined_ref"):
            k = min(len(items), rng.randint(2, 4))
            chosen = items[:k]
            amount = sum((r[4] for r in chosen), ZERO)
            alloc = {r[0]: r[4] for r in chosen}
            if kind == "combined_ref":
                memo = " ".join(r[2] for r in chosen)
        elif kind == "partial":
            r = items[0]
            amount = (r[4] * Decimal(rng.choice(["0.3", "0.5", "0.6"]))).quantize(Decimal("0.01"))
            if amount <= 0:
                continue
            alloc = {r[0]: amount}
            if rng.random() < 0.5:
                memo = f"{r[2]} 部分付款"
        elif kind == "discount":
            cand = [r for r in items if r[5] and r[6] and r[6] >= day]
            if not cand:
                continue
            r = cand[0]
            amount, alloc = r[4] - r[5], {r[0]: r[4] - r[5]}
        elif kind == "fee":
            r = rng.choice(items)
            fee = Decimal(rng.choice([5, 10, 15, 20, 25]))
            if r[4] <= fee * 2:
                continue
            amount, alloc = r[4] - fee, {r[0]: r[4] - fee}
        if amount <= 0:
            continue
        used |= set(alloc)
        n = len(lines) + 1
        lines.append(BankLine(company=company, account=account, statement=st, source_line=n,
                              date=day - dt.timedelta(days=rng.randint(0, 5)), amount=amount, currency="CNY",
                              counterparty_name=payer, counterparty_account=acct, memo=memo, serial=f"LB{st.pk}-{n}",
                              dedupe_key=f"s:LB{st.pk}-{n}"))
        truths.append(Truth(customer_id=truth_cid, allocations=alloc, scenario=kind))
    BankLine.objects.bulk_create(lines, batch_size=1000)
    ids = BankLine.objects.filter(statement=st).order_by("source_line").values_list("pk", flat=True)
    return dict(zip(ids, truths, strict=True))


def models_F(name):  # noqa: N802 - local alias keeps the query above readable
    from django.db.models import F

    return F(name)


@dataclass
class Score:
    lines: int
    auto: int
    wrong_auto: int
    first_right: int
    wrong: list

    @property
    def auto_share(self) -> float:
        return self.auto / self.lines if self.lines else 0.0

    @property
    def first_share(self) -> float:
        return self.first_right / self.lines if self.lines else 0.0


def _same(truth: Truth, customer_id, allocations: dict) -> bool:
    return truth.customer_id == customer_id and {k: Decimal(v) for k, v in allocations.items()} == truth.allocations


def evaluate(truths: dict[int, Truth]) -> Score:
    """Compare the stored outcome of each line with its truth."""
    from huikuan.ledger.models import Allocation

    lines = {ln.pk: ln for ln in BankLine.objects.filter(pk__in=truths)}
    apps = {}
    for app in BankApplication.objects.filter(line_id__in=truths, reversed_at__isnull=True):
        allocs = {}
        for a in Allocation.objects.filter(credit_id=app.credit_id, reverses__isnull=True):
            allocs[a.instalment_id] = allocs.get(a.instalment_id, ZERO) + a.amount
        apps[app.line_id] = (app.customer_id, allocs)
    auto = wrong_auto = first = 0
    wrong = []
    for pk, truth in truths.items():
        ln = lines[pk]
        if ln.status == LineStatus.AUTO_APPLIED:
            auto += 1
            cid, allocs = apps[pk]
            if not _same(truth, cid, allocs):
                wrong_auto += 1
                wrong.append((pk, truth, cid, allocs))
            else:
                first += 1
            continue
        if ln.proposals:
            p = ln.proposals[0]
            got = {int(i): Decimal(a) for i, a, _d, _n in p["allocations"]}
            if _same(truth, p["customer_id"], got):
                first += 1
        elif truth.customer_id is None:
            first += 1  # nothing proposed for money that is not a customer's: right
    return Score(lines=len(truths), auto=auto, wrong_auto=wrong_auto, first_right=first, wrong=wrong)
