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
