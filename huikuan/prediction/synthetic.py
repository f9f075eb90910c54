"""A synthetic company with a known payment-behaviour generator (tests, bench, demo).

Each customer has hidden traits: a habitual lateness (some pay early, most a little late, a few very
late), how erratic it is, whether it drifts worse over the years, how much disputes, paper invoices,
large amounts and December slow it down. Rows are shaped like the ``history`` import's file (one row
per payment; an invoice paid in two parts has two rows). ``open_rows`` gives invoices still unpaid
on the last day. Deterministic for a seed. The model is not tuned to it: a real data set judges it.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass

HEADER = ["客户编码", "客户名称", "单据编号", "单据日期", "到期日", "金额", "币种", "收款日期", "收款金额", "是否争议",
          "发票形式", "地区"]
REGIONS = ["华东", "华南", "华北", "西南", "东北"]


@dataclass
class Trait:
    code: str
    mean_late: float
    spread: float
    drift: float  # extra days late per year
    dispute_rate: float
    paper: bool
    terms: int
    size: float
    region: str


def customers(n: int, rng: random.Random) -> list[Trait]:
    out = []
    for i in range(n):
        kind = rng.random()
        if kind < 0.45:
            mean = rng.uniform(-20, -3)
        elif kind < 0.85:
            mean = rng.uniform(-3, 20)
        else:
            mean = rng.uniform(20, 90)
        out.append(Trait(code=f"S{i:05d}", mean_late=mean, spread=rng.uniform(2, 20),
                         drift=rng.choice([0, 0, 0, rng.uniform(3, 15)]), dispute_rate=rng.uniform(0, 0.12),
                         paper=rng.random() < 0.4, terms=rng.choice([30, 30, 45, 60, 90]),
                         size=rng.lognormvariate(9, 1), region=rng.choice(REGIONS)))
    return out


def rows(*, n_invoices: int, n_customers: int, start: dt.date, end: dt.date, seed: int = 1,
         prefix: str = "H") -> tuple[list[list], list[list]]:
    """(settled rows, open rows) for invoices dated between ``start`` and ``end``; an invoice whose
    payment would fall after ``end`` is returned among the open ones (no payment columns)."""
    rng = random.Random(seed)
    people = customers(n_customers, rng)
    span = (end - start).days
    settled, still_open = [], []
    backlog: dict[str, int] = {}
    dates = sorted(start + dt.timedelta(days=rng.randrange(span)) for _ in range(n_invoices))
    for k, day in enumerate(dates):
        c = people[int(rng.paretovariate(1.2) * 3) % n_customers]
        amount = round(max(100.0, rng.lognormvariate(0, 0.8) * c.size), 2)
        disputed = rng.random() < c.dispute_rate
        due = day + dt.timedelta(days=c.terms)
        years = (day - start).days / 365
        late = rng.gauss(c.mean_late + c.drift * years, c.spread)
        if disputed:
            late += rng.uniform(20, 60)
        if c.paper:
            late += 4
        if amount > 4 * c.size:
            late += 15
        if day.month == 12:
            late += 7
        late += 3 * min(backlog.get(c.code, 0), 5)
        paid = due + dt.timedelta(days=round(late))
        paid = max(paid, day)
        number = f"{prefix}{k:07d}"
        base = [c.code, f"合成客户{c.code}", number, day.isoformat(), due.isoformat(), f"{amount:.2f}", "CNY"]
        extra = ["是" if disputed else "否", "纸质" if c.paper else "电子", c.region]
        backlog[c.code] = backlog.get(c.code, 0) + 1 if late > 30 else max(0, backlog.get(c.code, 0) - 1)
        if paid > end:
            still_open.append([*base[:7], "", "", *extra])
            continue
        if rng.random() < 0.1 and (paid - day).days > 2:
            part = round(amount * 0.4, 2)
            first = day + dt.timedelta(days=rng.randrange(1, (paid - day).days))
            settled.append([*base, first.isoformat(), f"{part:.2f}", *extra])
            settled.append([*base, paid.isoformat(), "", *extra])
        else:
            settled.append([*base, paid.isoformat(), "", *extra])
    return settled, still_open


def ar_rows(*, n_invoices: int = 2500, n_customers: int = 100, start: dt.date, end: dt.date, seed: int = 1,
            prefix: str = "A") -> tuple[list[list], list[list]]:
    """A second generator, shaped like the public accounts-receivable sample data sets rather than like ours:
    about 100 customers, 2,500 invoices, 30-day terms, about a fifth of the invoices disputed, customers moving
    from paper to electronic bills on a date of their own, payments mostly between a little early and 30 days
    late (a late share of roughly a third). Each customer has a usual number of days to settle and a spread;
    a dispute adds 5–20 days, a paper bill a few. Same rows as ``rows`` (a check of robustness: the model is
    neither designed nor tuned on it)."""
    rng = random.Random(seed)
    span = (end - start).days
    people = []
    for i in range(n_customers):
        switch = start + dt.timedelta(days=rng.randrange(-span // 2, span * 2))  # before, during or after
        people.append((f"A{i:04d}", rng.gauss(24, 7), rng.uniform(2, 9), rng.betavariate(2, 7), switch,
                       rng.uniform(0.5, 3.0), rng.uniform(20, 90), rng.choice(["391", "406", "770", "818", "897"])))
    weights = [rng.uniform(0.3, 1.7) for _ in people]
    settled, still_open = [], []
    dates = sorted(start + dt.timedelta(days=rng.randrange(span)) for _ in range(n_invoices))
    for k, day in enumerate(dates):
        code, usual, spread, dispute_rate, switch, paper_days, size, country = rng.choices(people, weights)[0]
        amount = round(max(5.0, rng.gauss(size, size / 3)), 2)
        disputed = rng.random() < dispute_rate
        electronic = day >= switch
        settle = rng.gauss(usual, spread) + (rng.uniform(5, 20) if disputed else 0) + (0 if electronic else paper_days)
        paid = max(day + dt.timedelta(days=max(1, round(settle))), day)
        due = day + dt.timedelta(days=30)
        number = f"{prefix}{k:07d}"
        base = [code, f"合成客户{code}", number, day.isoformat(), due.isoformat(), f"{amount:.2f}", "CNY"]
        extra = ["是" if disputed else "否", "电子" if electronic else "纸质", country]
        if paid > end:
            still_open.append([*base, "", "", *extra])
        else:
            settled.append([*base, paid.isoformat(), "", *extra])
    return settled, still_open


def items_from(settled, still_open):
    """``Items`` as the history import would post these rows, without a database (one instalment per invoice;
    an invoice paid in parts is settled on its last payment) — for tests and bench/prediction_bench.py."""
    import numpy as np

    from .features import Items

    docs: dict[str, list] = {}
    for r in settled:
        d = docs.setdefault(r[2], [r, ""])
        d[1] = max(d[1], r[7])
    for r in still_open:
        docs[r[2]] = [r, ""]
    codes: dict[str, int] = {}
    cols: dict[str, list] = {k: [] for k in Items.__slots__}
    for k, (r, paid) in enumerate(docs.values()):
        due = dt.date.fromisoformat(r[4]).toordinal()
        cols["id"].append(k)
        cols["customer"].append(codes.setdefault(r[0], len(codes)))
        cols["document"].append(k)
        cols["number"].append(r[2])
        cols["seq"].append(1)
        cols["document_date"].append(dt.date.fromisoformat(r[3]).toordinal())
        cols["due_date"].append(due)
        cols["amount"].append(float(r[5]))
        cols["open_amount"].append(0.0 if paid else float(r[5]))
        cols["settled_on"].append(dt.date.fromisoformat(paid).toordinal() if paid else 0)
        cols["disputed"].append(1.0 if r[9] == "是" else 0.0)
        cols["electronic"].append(1.0 if r[10] == "电子" else 0.0)
        cols["currency"].append("CNY")
        cols["salesperson"].append(0)
        cols["customer_code"].append(r[0])
    return Items(**{k: v if k in ("number", "currency", "customer_code") else np.array(v) for k, v in cols.items()})
