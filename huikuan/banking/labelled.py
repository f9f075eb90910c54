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
import itertools
import random
import re
import unicodedata
from dataclasses import dataclass, field
from decimal import Decimal

from huikuan.common.money import ZERO
from huikuan.customers.models import Customer
from huikuan.demo.names import generate_customers, person_name
from huikuan.ledger.bulk import DocumentInput, post_documents
from huikuan.ledger.models import Instalment
from huikuan.ledger.services import ScheduleInput

from .models import BankAccount, BankApplication, BankLine, BankStatement, LineStatus

# scenario → weight. The issue-14 kinds: k1 bank fee deducted, k2 part payment naming its document,
# k3 several items that are not the oldest, k4 memo naming some of the items, k5 paid from a person's
# account with the customer in the memo, k6 mistyped reference in the company's own series, k7
# discount with the other rounding, k8 a second line from an account this run learns, k9 not a customer.
SCENARIOS = {
    "ref_exact": 12, "name_exact": 14, "name_variant": 7, "boss_account": 5, "combined": 6, "partial": 4,
    "discount": 4, "same_amount": 6, "combined_ref": 2,
    "k1_fee": 7, "k2_partial_ref": 5, "k3_combo": 6, "k4_memo_some": 4, "k5_personal": 7, "k6_typo": 6,
    "k7_rounding": 3, "k8_learned": 3, "k9_not_customer": 6,
}
KIND_OF = {"k1_fee": 1, "k2_partial_ref": 2, "k3_combo": 3, "k4_memo_some": 4, "k5_personal": 5, "k6_typo": 6,
           "k7_rounding": 7, "k8_learned": 8, "k9_not_customer": 9}
SERIES = ("auto", "auto", "XS-{y}-{n:04d}", "FP{y}{n:05d}", "{n:06d}")  # the company's document numbering
MEMOS = ("货款", "付款", "", "转账", "往来款", "网银转账", "支付货款", "{m}月货款", "结算款", "采购款")


@dataclass
class Truth:
    customer_id: int | None
    allocations: dict = field(default_factory=dict)  # instalment id → cash amount
    scenario: str = ""
    determined: bool = True  # the line alone determines the answer (customer and items)
    charges: dict = field(default_factory=dict)  # instalment id → bank charge
    category: str = ""  # not a customer's money: interest, tax_refund, refund, internal


def build_world(*, company, actor, rng: random.Random, customers: int, day: dt.date, prefix: str = "L") -> None:
    """Customers and open invoices (3–8 each), dated in the 120 days before ``day``. Customers are
    numbered in one of several series (INV-2026-00012, XS-2026-0607, FP202600607, 000607), as
    companies that imported their history from 金蝶 or 用友 are."""
    specs = generate_customers(rng, customers, code_prefix=prefix, with_contacts=False)
    Customer.objects.bulk_create([Customer(company=company, code=s.code, name=s.name, short_name=s.short_name,
                                           credit_code=s.credit_code) for s in specs], batch_size=1000)
    ids = list(Customer.objects.filter(company=company, code__startswith=prefix).order_by("pk").values_list("pk", flat=True))
    docs = []
    shared = None
    counters: dict[str, int] = {}
    for n, cid in enumerate(ids):
        if n % 10 == 1:  # every tenth pair of customers owes one identical round amount
            shared = Decimal(rng.choice([5000, 8000, 10000, 12000, 20000, 30000]))
        series = SERIES[n % len(SERIES)]
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
            number = ""
            if series != "auto":
                counters[series] = counters.get(series, 100) + rng.randint(1, 3)
                number = series.format(y=doc_day.year, n=counters[series])
            docs.append(DocumentInput(customer_id=cid, document_date=doc_day, total=total, schedule=schedule,
                                      number=number))
    post_documents(company=company, documents=docs, actor=actor)


def _typo(number: str, rng: random.Random) -> str:
    """How a customer's clerk writes one of our document numbers: shortened, without zeros or
    separators, full-width, or with two digits swapped."""
    runs = re.findall(r"\d+", number)
    tail = runs[-1] if runs else number
    short = tail.lstrip("0") or tail
    choice = rng.randint(0, 5)
    if choice == 0:
        return f"发票{short}"
    if choice == 1:
        return short.zfill(4)
    if choice == 2:
        return number.replace("-", "")
    if choice == 3:
        return f"NO.{short}"
    if choice == 4:
        return unicodedata.normalize("NFKC", number).translate(_FULL_WIDTH)
    if len(tail) >= 3:  # two digits swapped
        t = list(tail)
        i = rng.randrange(len(t) - 1)
        t[i], t[i + 1] = t[i + 1], t[i]
        return number[: len(number) - len(tail)] + "".join(t)
    return f"发票{short}"


_FULL_WIDTH = str.maketrans("0123456789-ABCDEFGHIJKLMNOPQRSTUVWXYZ", "０１２３４５６７８９－ＡＢＣＤＥＦＧＨＩＪＫＬＭＮＯＰＱＲＳＴＵＶＷＸＹＺ")


def _name_variant(name: str, short: str, rng: random.Random) -> str:
    choice = rng.randint(0, 2)
    if choice == 0 and short:
        return short
    if choice == 1:
        return name.replace("有限公司", "").replace("股份", "").replace("有限责任公司", "")
    return name.replace("有限公司", "有限公司 ").strip() + ("" if rng.random() < 0.5 else "（采购部）")


def _subsets_equal(amount: Decimal, opens: list, *, min_size: int = 1, max_size: int = 6) -> list:
    """Every subset (of ≤ 6 of a customer's items) summing to ``amount`` — brute force, independent of
    the matcher, to label whether a line determines its answer."""
    out = []
    for k in range(min_size, min(max_size, len(opens)) + 1):
        for combo in itertools.combinations(range(len(opens)), k):
            if sum((opens[i] for i in combo), ZERO) == amount:
                out.append(combo)
    return out


def _memo(rng: random.Random, day: dt.date) -> str:
    return rng.choice(MEMOS).format(m=(day.month - 1) or 12)


def make_lines(*, company, rng: random.Random, count: int, day: dt.date, account: BankAccount | None = None,
               file_name: str = "labelled.csv", scenarios: dict | None = None) -> dict[int, Truth]:
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
    names = {c.pk: (c.name, c.short_name, c.credit_code) for c in Customer.objects.filter(pk__in=by_customer)}
    short_owners: dict[str, int] = {}
    core_owners: dict[str, int] = {}
    for _cid, (nm, sh, _cc) in names.items():
        short_owners[sh] = short_owners.get(sh, 0) + 1
        core_owners[_core(nm)] = core_owners.get(_core(nm), 0) + 1
    amount_owners: dict[Decimal, set] = {}
    for r in rows:
        amount_owners.setdefault(r[4], set()).add(r[1])
    shared_amounts = [a for a, owners in amount_owners.items() if len(owners) > 1]
    used: set[int] = set()
    boss: dict[int, tuple[str, str]] = {}
    customers = list(by_customer)
    mix = scenarios or SCENARIOS
    scen, weights = zip(*mix.items(), strict=True)
    lines, truths = [], []
    pending: list = []  # k8: the second line of a learned account, written after the first

    def free(cid):
        return [r for r in by_customer.get(cid, []) if r[0] not in used]

    def only_answer(items, amount, chosen_ids, *, named=()) -> bool:
        """No other set of the customer's free items (with the named ones) pays exactly ``amount``."""
        named_ids = {r[0] for r in named}
        others = [r for r in items if r[0] not in named_ids]
        rest = amount - sum((r[4] for r in named), ZERO)
        sets = _subsets_equal(rest, [r[4] for r in others], min_size=1 if named else 1)
        return len(sets) == 1 and {others[i][0] for i in sets[0]} | named_ids == set(chosen_ids)

    attempts = 0
    while len(lines) + len(pending) < count and attempts < count * 30:
        attempts += 1
        kind = rng.choices(scen, weights)[0]
        cid = rng.choice(customers)
        items = free(cid)
        name, short, code = names.get(cid, ("", "", ""))
        line_day = day - dt.timedelta(days=rng.randint(0, 5))
        payer, acct, memo = name, f"62{rng.randint(10**14, 10**15 - 1)}", _memo(rng, line_day)
        amount = ZERO
        alloc: dict[int, Decimal] = {}
        charges: dict[int, Decimal] = {}
        category = ""
        truth_cid: int | None = cid
        determined = True
        if kind in ("not_customer", "k9_not_customer"):
            category, payer, memo = rng.choice([
                ("interest", "中国工商银行", rng.choice(["结息", "利息", "存款利息", "活期结息"])),
                ("tax_refund", rng.choice(["国家金库上海分库", "国家税务总局退税"]), rng.choice(["出口退税", "增值税留抵退税", "退税"])),
                ("refund", f"{rng.choice(['某某物流', '顺达快运', '华通电子'])}有限公司", rng.choice(["退款", "多付款退回", "退货退款"])),
                ("internal", company.name, rng.choice(["内部转账", "资金归集", "调拨", "账户划转"])),
            ])
            amount, truth_cid, determined = Decimal(rng.randint(100, 99999)) / 100, None, False
            acct = rng.choice(["", f"31{rng.randint(10**10, 10**11 - 1)}"])
        elif kind == "same_amount":
            if not shared_amounts:
                continue
            a = rng.choice(shared_amounts)
            cid = rng.choice(sorted(amount_owners[a]))
            cand = [r for r in free(cid) if r[4] == a]
            if not cand:
                continue
            r = cand[0]
            name = names[cid][0]
            truth_cid, payer, amount, alloc = cid, name, a, {r[0]: a}
            determined = sum(1 for x in free(cid) if x[4] == a) == 1
        elif not items:
            continue
        elif kind in ("ref_exact", "name_exact", "name_variant", "boss_account", "ref_typo", "k6_typo"):
            r = rng.choice(items)
            amount, alloc = r[4], {r[0]: r[4]}
            same_in_customer = sum(1 for x in items if x[4] == r[4]) > 1
            if kind == "ref_exact":
                memo = rng.choice([f"{r[2]} {memo}", f"付{r[2]}款", f"{memo}{r[2]}"]).strip()
            elif kind == "name_exact":
                determined = not same_in_customer
            elif kind == "name_variant":
                payer = _name_variant(name, short, rng)
                determined = not same_in_customer and short_owners.get(short, 0) == 1 and core_owners.get(_core(name), 0) == 1
            elif kind == "boss_account":
                payer, acct = boss.setdefault(cid, (person_name(rng), f"6217{rng.randint(10**11, 10**12 - 1)}"))
                memo = rng.choice(["代付货款", "货款", ""])
                determined = False  # a person the ledger has never seen, no memo: the amount alone
            else:
                person = rng.random() < 0.5
                payer = person_name(rng) if person else payer
                if person:
                    acct = f"6217{rng.randint(10**11, 10**12 - 1)}"
                memo = f"{_typo(r[2], rng)} {rng.choice(['货款', '', '付款'])}".strip()
                determined = not same_in_customer
        elif kind in ("combined", "combined_ref"):
            k = min(len(items), rng.randint(2, 4))
            chosen = items[:k]
            amount = sum((r[4] for r in chosen), ZERO)
            alloc = {r[0]: r[4] for r in chosen}
            if kind == "combined_ref":
                memo = " ".join(r[2] for r in chosen)
        elif kind == "k3_combo":
            if len(items) < 3:
                continue
            k = rng.randint(2, min(4, len(items) - 1))
            chosen = sorted(rng.sample(items[1:], k), key=lambda r: (r[3], r[0]))  # not starting with the oldest
            amount = sum((r[4] for r in chosen), ZERO)
            alloc = {r[0]: r[4] for r in chosen}
            determined = only_answer(items, amount, alloc)
        elif kind == "k4_memo_some":
            if len(items) < 3:
                continue
            chosen = sorted(rng.sample(items, rng.randint(2, min(4, len(items)))), key=lambda r: (r[3], r[0]))
            named = chosen[: rng.randint(1, len(chosen) - 1)]
            amount = sum((r[4] for r in chosen), ZERO)
            alloc = {r[0]: r[4] for r in chosen}
            memo = rng.choice(["付{}等货款", "{} 货款", "支付{}及其他"]).format("、".join(r[2] for r in named))
            determined = only_answer(items, amount, alloc, named=named)
        elif kind == "partial":
            r = items[0]
            amount = (r[4] * Decimal(rng.choice(["0.3", "0.5", "0.6"]))).quantize(Decimal("0.01"))
            if amount <= 0:
                continue
            alloc = {r[0]: amount}
            determined = False  # nothing says which item, nor that it is a part
            if rng.random() < 0.5:
                memo = f"{r[2]} 部分付款"
                determined = True
        elif kind == "k2_partial_ref":
            r = rng.choice(items)
            amount = (r[4] * Decimal(rng.choice(["0.3", "0.4", "0.5", "0.6", "0.7"]))).quantize(Decimal("0.01"))
            if amount <= 0:
                continue
            alloc = {r[0]: amount}
            memo = rng.choice(["部分货款 {}", "{}部分付款", "预付{}款项的一部分", "支付{}首期款"]).format(r[2])
            payer = rng.choice([name, name, person_name(rng)])
            determined = not any(x[4] == amount for x in items)  # else the amount wins (a suggestion)
        elif kind == "discount":
            cand = [r for r in items if r[5] and r[6] and r[6] >= day]
            if not cand:
                continue
            r = cand[0]
            amount, alloc = r[4] - r[5], {r[0]: r[4] - r[5]}
        elif kind == "k7_rounding":
            cand = [r for r in items if r[5] and r[6] and r[6] >= day]
            if not cand:
                continue
            r = cand[0]
            amount = r[4] - r[5] + rng.choice([Decimal("0.01"), Decimal("-0.01")])
            alloc = {r[0]: amount}
            memo = rng.choice(["货款（扣2%现金折扣）", "货款 2/10", "提前付款折扣后金额", memo])
            determined = not any(x[4] == amount for x in items)
        elif kind == "k1_fee":
            r = rng.choice(items)
            fee = Decimal(rng.choice([10, 15, 20, 25, 30, 35, 40, 50])) + rng.choice([ZERO, Decimal("0.50")])
            if r[4] < fee * 10 or (r[5] and r[6] and r[6] >= day):
                continue
            amount, alloc, charges = r[4] - fee, {r[0]: r[4] - fee}, {r[0]: fee}
            memo = rng.choice(["货款", "货款(已扣手续费)", "汇款 扣手续费", memo])
            near = [x for x in items if ZERO < x[4] - amount <= 50 and x[4] - amount <= x[4] / 10]
            determined = len(near) == 1 and not _subsets_equal(amount, [x[4] for x in items])
        elif kind in ("k5_personal", "k8_learned"):
            r = rng.choice(items)
            amount, alloc = r[4], {r[0]: r[4]}
            form = rng.randint(0, 3)
            if form == 0:
                memo, unique = f"代{short}付货款", short_owners.get(short, 0) == 1
            elif form == 1:
                memo, unique = f"{_core(name)}货款", core_owners.get(_core(name), 0) == 1
            elif form == 2:
                memo, unique = f"代付{name}货款", True
            else:
                memo, unique = f"{code} 货款", bool(code)
            payer, acct = person_name(rng), f"6217{rng.randint(10**11, 10**12 - 1)}"
            determined = unique and sum(1 for x in items if x[4] == r[4]) == 1
            if kind == "k8_learned":
                rest = [x for x in items if x[0] != r[0] and all(y[4] != x[4] for y in items if y[0] != x[0])]
                if not rest or not determined:
                    continue
                r2 = rng.choice(rest)
                pending.append((payer, acct, r2, cid))
        if amount <= 0:
            continue
        used |= set(alloc)
        lines.append((line_day, amount, payer, acct, memo))
        truths.append(Truth(customer_id=truth_cid, allocations=alloc, scenario=kind, determined=determined,
                            charges=charges, category=category))
    for payer, acct, r2, cid in pending:  # the same person pays again, saying nothing: the account says who
        if r2[0] in used:
            continue
        used.add(r2[0])
        lines.append((day, r2[4], payer, acct, rng.choice(["货款", "", "转账"])))
        truths.append(Truth(customer_id=cid, allocations={r2[0]: r2[4]}, scenario="k8_learned"))
    objs = []
    for n, (line_day, amount, payer, acct, memo) in enumerate(lines, start=1):
        objs.append(BankLine(company=company, account=account, statement=st, source_line=n, date=line_day,
                             amount=amount, currency="CNY", counterparty_name=payer, counterparty_account=acct,
                             memo=memo, serial=f"LB{st.pk}-{n}", dedupe_key=f"s:LB{st.pk}-{n}"))
    BankLine.objects.bulk_create(objs, batch_size=1000)
    ids = BankLine.objects.filter(statement=st).order_by("source_line").values_list("pk", flat=True)
    return dict(zip(ids, truths, strict=True))


def _core(name: str) -> str:
    from .matching import core_name

    return core_name(name)


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
    determined: int = 0
    auto_determined: int = 0
    by_kind: dict = field(default_factory=dict)  # scenario → Counter(lines, determined, auto_right, …)

    @property
    def auto_share(self) -> float:
        return self.auto / self.lines if self.lines else 0.0

    @property
    def first_share(self) -> float:
        return self.first_right / self.lines if self.lines else 0.0

    @property
    def determined_auto_share(self) -> float:
        return self.auto_determined / self.determined if self.determined else 0.0

    @property
    def rest_first_share(self) -> float:
        """First suggestion right among the determined lines left for a person."""
        rest = sum(k["determined"] - k["auto_right_determined"] for k in self.by_kind.values())
        good = sum(k["first_right_rest_determined"] for k in self.by_kind.values())
        return good / rest if rest else 1.0


def _same(truth: Truth, customer_id, allocations: dict, charges: dict | None = None) -> bool:
    return (truth.customer_id == customer_id and {k: Decimal(v) for k, v in allocations.items()} == truth.allocations
            and {k: Decimal(v) for k, v in (charges or {}).items()} == truth.charges)


def evaluate(truths: dict[int, Truth]) -> Score:
    """Compare the stored outcome of each line with its truth, per scenario: lines, determined, applied
    automatically and right, applied automatically and wrong, first suggestion right (of the rest)."""
    from collections import Counter

    from huikuan.ledger.models import Allocation, Credit, CreditKind

    lines = {ln.pk: ln for ln in BankLine.objects.filter(pk__in=truths)}
    apps = {}
    for app in BankApplication.objects.filter(line_id__in=truths, reversed_at__isnull=True):
        allocs = {}
        for a in Allocation.objects.filter(credit_id=app.credit_id, reverses__isnull=True):
            allocs[a.instalment_id] = allocs.get(a.instalment_id, ZERO) + a.amount
        charges = {}
        for c in Credit.objects.filter(parent_id=app.credit_id, kind=CreditKind.BANK_CHARGE):
            for a in c.allocations.filter(reverses__isnull=True):
                charges[a.instalment_id] = a.amount
        apps[app.line_id] = (app.customer_id, allocs, charges)
    auto = wrong_auto = first = determined = auto_determined = 0
    wrong = []
    by_kind: dict = {}
    for pk, truth in truths.items():
        k = by_kind.setdefault(truth.scenario, Counter())
        ln = lines[pk]
        k["lines"] += 1
        k["determined"] += truth.determined
        determined += truth.determined
        if ln.status == LineStatus.AUTO_APPLIED:
            auto += 1
            cid, allocs, charges = apps[pk]
            if not _same(truth, cid, allocs, charges):
                wrong_auto += 1
                k["auto_wrong"] += 1
                wrong.append((pk, truth, cid, allocs))
            else:
                first += 1
                k["auto_right"] += 1
                if truth.determined:
                    k["auto_right_determined"] += 1
                    auto_determined += 1
            continue
        right = False
        if ln.proposals:
            p = ln.proposals[0]
            got = {int(i): Decimal(a) for i, a, _d, _n in p["allocations"]}
            right = _same(truth, p["customer_id"], got, {int(i): f for i, f in p.get("charges", [])})
        elif truth.customer_id is None:
            # nothing proposed for money that is not a customer's: right (and the category, once suggested)
            right = not truth.category or getattr(ln, "category", truth.category) == truth.category
        if right:
            first += 1
            k["first_right_rest"] += 1
            if truth.determined:
                k["first_right_rest_determined"] += 1
    return Score(lines=len(truths), auto=auto, wrong_auto=wrong_auto, first_right=first, wrong=wrong,
                 determined=determined, auto_determined=auto_determined, by_kind=by_kind)
