"""Deterministic trading history per customer behaviour: documents, payments, credit notes,
write-offs and fapiao, as plain plans (no ORM, no clock).

``huikuan.demo.seed`` replays these plans through the real ledger services; ``bench/generate.py``
materialises the same plans straight into the tables. Every date is on or before ``as_of``.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass, field
from decimal import Decimal

from huikuan.common.money import round_money
from huikuan.ledger.calculations import ScheduleLine, TermSpec, build_schedule
from huikuan.onboarding.defaults import STARTER_TERMS

from .names import CustomerSpec

HISTORY_DAYS = 547  # ~18 months

# the starter payment terms every new company gets (code, name, kind, days, split, discount %, days)
TERMS = STARTER_TERMS
TERM_SPECS = {
    code: TermSpec(kind=kind, days=days, split=tuple((Decimal(x["percent"]), int(x["days"])) for x in split),
                   discount_percent=Decimal(dp), discount_days=dd)
    for code, _name, kind, days, split, dp, dd in TERMS
}

PRODUCTS = {
    "机械制造": ["数控机床配件", "液压泵站", "减速机", "传动轴"], "电子元器件": ["贴片电容", "连接器", "PCB 板", "电源模块"],
    "化工": ["环氧树脂", "工业溶剂", "涂料助剂"], "批发贸易": ["日用百货", "办公用品", "劳保用品"],
    "建材": ["水泥", "瓷砖", "防水卷材"], "物流运输": ["运输服务费", "仓储服务费"], "食品饮料": ["食用油", "饮料", "调味品"],
    "纺织服装": ["棉纱", "工装", "面料"], "医疗器械": ["输液器", "检测试剂", "监护仪"], "汽车零部件": ["刹车片", "滤清器", "线束"],
    "新能源": ["光伏组件", "锂电池模组", "逆变器"], "包装印刷": ["纸箱", "包装膜", "标签"], "五金工具": ["紧固件", "电动工具", "阀门"],
    "橡胶塑料": ["塑料粒子", "橡胶密封件"], "信息技术": ["软件服务费", "服务器", "运维服务"], "环保": ["污水处理设备", "滤芯"],
    "家具家居": ["办公家具", "橱柜"], "金属材料": ["冷轧钢板", "铝型材", "铜杆"], "仪器仪表": ["流量计", "压力变送器"],
}
ACCEPTOR_BANKS = ["中国工商银行股份有限公司{city}分行", "中国建设银行股份有限公司{city}分行", "中国农业银行股份有限公司{city}分行",
                  "中国银行股份有限公司{city}分行", "交通银行股份有限公司{city}分行", "招商银行股份有限公司{city}分行",
                  "兴业银行股份有限公司{city}分行", "上海浦东发展银行股份有限公司{city}分行"]
BANK_CODES = ["102", "105", "103", "104", "301", "308", "309", "310"]
CREDIT_NOTE_REASONS = ["退货", "价格折让", "质量问题折让", "以货抵款", "数量差异"]
WRITE_OFF_REASONS = ["客户破产清算，无法收回", "诉讼终结，确认无法收回", "客户注销，经审批核销"]


@dataclass
class DocPlan:
    key: int
    customer: int
    date: dt.date
    total: Decimal
    term_code: str
    description: str
    reference: str
    schedule: list[ScheduleLine]


@dataclass
class PayTarget:
    doc: int  # DocPlan.key
    seq: int
    fraction: Decimal = Decimal(1)  # of what is open when paid
    take_discount: bool = False


@dataclass
class PaymentPlan:
    customer: int
    date: dt.date
    targets: list[PayTarget]
    method: str
    extra: Decimal = Decimal("0.00")  # over-payment left unapplied
    bill_number: str = ""
    bill_acceptor: str = ""
    bill_maturity_date: dt.date | None = None
    reference: str = ""


@dataclass
class CreditNotePlan:
    customer: int
    date: dt.date
    doc: int
    percent: Decimal
    reason: str


@dataclass
class WriteOffPlan:
    customer: int
    date: dt.date
    doc: int
    seq: int
    reason: str
    decision: str  # "approve" | "reject" | "pending"


@dataclass
class FapiaoPlan:
    customer: int
    date: dt.date
    doc: int
    fapiao_type: str
    number: str
    red_number: str = ""
    red_date: dt.date | None = None


@dataclass
class Scenario:
    as_of: dt.date
    documents: list[DocPlan] = field(default_factory=list)
    payments: list[PaymentPlan] = field(default_factory=list)
    credit_notes: list[CreditNotePlan] = field(default_factory=list)
    write_offs: list[WriteOffPlan] = field(default_factory=list)
    fapiaos: list[FapiaoPlan] = field(default_factory=list)
    statuses: dict[int, str] = field(default_factory=dict)  # customer index → status other than active

    def events(self):
        """All plans in replay order: by date, then documents, credit notes, payments, write-offs, fapiao."""
        rows = []
        rows += [(d.date, 0, i, "document", d) for i, d in enumerate(self.documents)]
        rows += [(c.date, 1, i, "credit_note", c) for i, c in enumerate(self.credit_notes)]
        rows += [(p.date, 2, i, "payment", p) for i, p in enumerate(self.payments)]
        rows += [(w.date, 3, i, "write_off", w) for i, w in enumerate(self.write_offs)]
        rows += [(f.date, 4, i, "fapiao", f) for i, f in enumerate(self.fapiaos)]
        rows.sort(key=lambda r: (r[0], r[1], r[2]))
        return [(kind, plan) for _d, _o, _i, kind, plan in rows]


def add_months(day: dt.date, months: int) -> dt.date:
    import calendar

    y, m = divmod(day.month - 1 + months, 12)
    y += day.year
    m += 1
    return day.replace(year=y, month=m, day=min(day.day, calendar.monthrange(y, m)[1]))


def _amount(rng: random.Random, size: float) -> Decimal:
    x = rng.lognormvariate(9.6, 1.0) * min(size, 8.0)
    x = min(max(x, 300.0), 3_000_000.0)
    fen = int(x * 100)
    if rng.random() < 0.25:  # round figures are common on sales slips
        fen = fen // 10000 * 10000 or 30000
    return Decimal(fen).scaleb(-2)


def _method(rng: random.Random, amount: Decimal) -> str:
    if amount >= 100_000:
        opts, w = ["transfer", "bank_acceptance", "commercial_acceptance", "cheque"], [60, 30, 4, 6]
    elif amount >= 10_000:
        opts, w = ["transfer", "bank_acceptance", "cheque", "wechat", "alipay"], [74, 10, 8, 4, 4]
    else:
        opts, w = ["transfer", "wechat", "alipay", "cash", "cheque"], [50, 24, 15, 8, 3]
    return rng.choices(opts, weights=w)[0]


def _digits(rng: random.Random, n: int) -> str:
    return "".join(rng.choice("0123456789") for _ in range(n))


def _delay(rng: random.Random, behaviour: str, progress: float) -> int:
    """Days between an instalment's due date and its payment."""
    if behaviour in ("prompt", "discount"):
        return int(max(-10, min(5, rng.gauss(-2, 3))))
    if behaviour == "late":
        return rng.randint(10, 20)
    if behaviour == "deteriorating":
        return int(progress ** 1.6 * 95 + rng.gauss(0, 4))
    if behaviour == "disputed":
        return rng.randint(3, 15)
    if behaviour == "overpayer":
        return rng.randint(-3, 8)
    if behaviour == "defaulted":
        return rng.randint(15, 45)
    raise ValueError(behaviour)


def _next_25th(day: dt.date) -> dt.date:
    if day.day <= 25:
        return day.replace(day=25)
    return add_months(day.replace(day=25), 1)


def _previous_25th(day: dt.date) -> dt.date:
    if day.day >= 25:
        return day.replace(day=25)
    return add_months(day.replace(day=25), -1)


def build_scenario(rng: random.Random, customers: list[CustomerSpec], *, documents: int, as_of: dt.date) -> Scenario:
    """About ``documents`` documents spread over ``customers`` by size, with payments per behaviour."""
    sc = Scenario(as_of=as_of)
    window_start = as_of - dt.timedelta(days=HISTORY_DAYS)
    total_size = sum(min(c.size, 8.0) for c in customers) or 1.0
    doc_key = 0
    fapiao_numbers: set[str] = set()
    red_done = False
    first_defaulted = True
    written_off_customers = 0
    for c in customers:
        n_docs = max(3, round(documents * min(c.size, 8.0) / total_size))
        start = window_start if rng.random() < 0.8 else as_of - dt.timedelta(days=rng.randint(60, HISTORY_DAYS - 30))
        end = as_of
        cutoff = None
        if c.behaviour == "defaulted":
            cutoff = as_of - dt.timedelta(days=rng.randint(150, 300))
            start = min(start, cutoff - dt.timedelta(days=200))
            end = cutoff + dt.timedelta(days=30)
        span = max(1, (end - start).days)
        dates = sorted(start + dt.timedelta(days=rng.randrange(span + 1)) for _ in range(n_docs))
        # many customers pay on a fixed day of the month (a 付款日), everything that fell due before it
        batcher = c.behaviour != "discount" and rng.random() < 0.9
        delays: dict[dt.date, int] = {}  # items falling due together are paid together
        products = PRODUCTS.get(c.industry, ["货物"])
        pay_groups: dict[dt.date, list[PayTarget]] = {}
        disputed_docs = set()
        if c.behaviour == "disputed":
            disputed_docs = set(rng.sample(range(n_docs), max(1, n_docs // 7)))
        unpaid_defaulted: list[tuple[int, int, dt.date]] = []
        for j, d in enumerate(dates):
            total = _amount(rng, c.size)
            term = TERM_SPECS[c.term_code]
            schedule = build_schedule(total=total, document_date=d, terms=term)
            key = doc_key
            doc_key += 1
            product = rng.choice(products)
            sc.documents.append(DocPlan(
                key=key, customer=c.index, date=d, total=total, term_code=c.term_code,
                description=f"{product} {rng.randint(2, 500)} 件" if rng.random() < 0.7 else f"{d.month}月{product}货款",
                reference=f"HT{d:%Y%m}-{rng.randint(1, 9999):04d}", schedule=schedule,
            ))
            progress = (d - window_start).days / HISTORY_DAYS
            for line in schedule:
                fraction = Decimal(1)
                take_discount = False
                if c.behaviour == "discount" and line.discount_amount > 0 and rng.random() < 0.8:
                    pay = d + dt.timedelta(days=rng.randint(3, 10))
                    take_discount = True
                else:
                    if line.due_date not in delays:
                        delays[line.due_date] = _delay(rng, c.behaviour, progress)
                    pay = line.due_date + dt.timedelta(days=delays[line.due_date])
                if j in disputed_docs:
                    fraction = Decimal(rng.choice(["0.6", "0.7", "0.75", "0.8", "0.9"]))
                if batcher and not take_discount:
                    # good payers pay on the last payment day before the due date, the others on the next
                    pay = _previous_25th(pay) if c.behaviour in ("prompt", "overpayer") else _next_25th(pay)
                pay = max(pay, d)
                if cutoff is not None and pay > cutoff:
                    if pay <= as_of:
                        unpaid_defaulted.append((key, line.seq, line.due_date))
                    continue
                if pay > as_of:
                    continue
                pay_groups.setdefault(pay, []).append(PayTarget(key, line.seq, fraction, take_discount))
            if rng.random() < 0.012 + (0.03 if c.behaviour == "disputed" else 0):
                cn_date = d + dt.timedelta(days=rng.randint(2, 12))
                if cn_date <= as_of:
                    sc.credit_notes.append(CreditNotePlan(c.index, cn_date, key, Decimal(rng.randint(3, 15)),
                                                          rng.choice(CREDIT_NOTE_REASONS)))
            if rng.random() < 0.03 and d + dt.timedelta(days=5) <= as_of:
                kind = rng.choices(["special", "ordinary", "digital"], weights=[55, 15, 30])[0]
                number = _fapiao_number(rng, kind, d, fapiao_numbers)
                plan = FapiaoPlan(c.index, d + dt.timedelta(days=rng.randint(0, 5)), key, kind, number)
                if not red_done and c.behaviour == "disputed" and plan.date + dt.timedelta(days=10) <= as_of:
                    plan.red_number = _fapiao_number(rng, kind, d, fapiao_numbers)
                    plan.red_date = plan.date + dt.timedelta(days=rng.randint(3, 10))
                    red_done = True
                sc.fapiaos.append(plan)
        for pay_date in sorted(pay_groups):
            targets = pay_groups[pay_date]
            gross = sum((sc.documents[t.doc].schedule[t.seq - 1].amount for t in targets), Decimal(0))
            extra = Decimal("0.00")
            if c.behaviour == "overpayer" and rng.random() < 0.3:
                extra = Decimal(rng.choice([500, 1000, 2000, 5000])) if rng.random() < 0.5 else \
                    (Decimal(1000) - gross % Decimal(1000)) % Decimal(1000) or Decimal(1000)
            method = _method(rng, gross)
            p = PaymentPlan(c.index, pay_date, targets, method, extra=round_money(extra))
            if method in ("bank_acceptance", "commercial_acceptance"):
                bank = rng.randrange(len(BANK_CODES))
                p.bill_number = ("1" if method == "bank_acceptance" else "2") + BANK_CODES[bank] + _digits(rng, 9) + \
                    f"{pay_date:%Y%m%d}" + _digits(rng, 9)
                p.bill_acceptor = ACCEPTOR_BANKS[bank].format(city=c.city) if method == "bank_acceptance" else c.name
                p.bill_maturity_date = add_months(pay_date, rng.choice([3, 6]))
            elif method == "cheque":
                p.reference = _digits(rng, 8)
            elif method == "transfer":
                p.reference = _digits(rng, 20)
            elif method in ("wechat", "alipay"):
                p.reference = ("4200" if method == "wechat" else "2025") + _digits(rng, 24)
            sc.payments.append(p)
        if c.behaviour == "defaulted":
            sc.statuses[c.index] = "bankrupt" if first_defaulted else "suspended"
            # for the first few defaulted customers, the oldest unpaid items are written off
            written = 3 if first_defaulted else (rng.randint(1, 2) if written_off_customers < 4 else 0)
            written_off_customers += 1
            for n, (key, seq, due) in enumerate(unpaid_defaulted[:written]):
                wo_date = max(due, cutoff) + dt.timedelta(days=rng.randint(90, 140))
                if wo_date > as_of:
                    wo_date = as_of - dt.timedelta(days=rng.randint(1, 20))
                decision = "approve"
                if first_defaulted and n == 2:
                    decision = "pending"
                elif first_defaulted and n == 1:
                    decision = "reject_then_approve"
                sc.write_offs.append(WriteOffPlan(c.index, wo_date, key, seq, rng.choice(WRITE_OFF_REASONS), decision))
            first_defaulted = False
    return sc


def _fapiao_number(rng: random.Random, kind: str, day: dt.date, used: set[str]) -> str:
    while True:
        number = f"{day:%y}" + _digits(rng, 18) if kind == "digital" else _digits(rng, 8)
        if number not in used:
            used.add(number)
            return number
