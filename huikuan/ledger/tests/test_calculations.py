import datetime as dt
from decimal import Decimal as D

import pytest
from hypothesis import given
from hypothesis import strategies as st

from huikuan.ledger import calculations as calc

money = st.decimals(min_value=D("0.01"), max_value=D("99999999.99"), places=2)


def test_net_and_eom_due_dates():
    d = dt.date(2026, 1, 15)
    assert calc.build_schedule(total=D("100.00"), document_date=d, terms=calc.TermSpec("net", 30))[0].due_date == dt.date(2026, 2, 14)
    assert calc.build_schedule(total=D("100.00"), document_date=d, terms=calc.TermSpec("eom", 30))[0].due_date == dt.date(2026, 3, 2)
    feb = calc.build_schedule(total=D("1.00"), document_date=dt.date(2028, 2, 3), terms=calc.TermSpec("eom", 0))
    assert feb[0].due_date == dt.date(2028, 2, 29)


def test_split_remainder_goes_to_last():
    spec = calc.TermSpec("split", split=((D("33.33"), 0), (D("33.33"), 30), (D("33.34"), 60)))
    lines = calc.build_schedule(total=D("100.01"), document_date=dt.date(2026, 1, 1), terms=spec)
    assert [ln.amount for ln in lines] == [D("33.33"), D("33.33"), D("33.35")]
    assert sum(ln.amount for ln in lines) == D("100.01")


def test_discount_2_10_net_30():
    lines = calc.build_schedule(total=D("1000.00"), document_date=dt.date(2026, 1, 1),
                                terms=calc.TermSpec("net", 30, discount_percent=D("2"), discount_days=10))
    assert lines[0].discount_amount == D("20.00")
    assert lines[0].discount_date == dt.date(2026, 1, 11)


@given(total=money, cuts=st.lists(st.integers(min_value=1, max_value=100), min_size=1, max_size=6))
def test_split_parts_sum_exactly(total, cuts):
    raw = [D(c) for c in cuts]
    percents = [(r * 100 / sum(raw)).quantize(D("0.01")) for r in raw]
    percents[-1] = D(100) - sum(percents[:-1])
    if percents[-1] <= 0:
        return
    parts = calc.split_amount(total, percents)
    assert sum(parts) == total
    assert all(p == p.quantize(D("0.01")) for p in parts)


items_st = st.lists(
    st.tuples(money, st.integers(min_value=0, max_value=400)), min_size=0, max_size=12
)


@given(available=money, raw=items_st)
def test_oldest_first_never_over_applies(available, raw):
    base = dt.date(2026, 1, 1)
    items = [calc.OpenItem(i + 1, base + dt.timedelta(days=d), amt, amt) for i, (amt, d) in enumerate(raw)]
    plan = calc.plan_oldest_first(available=available, items=items, on=base)
    by_id = {i.instalment_id: i for i in items}
    assert sum(p.amount for p in plan) <= available
    for p in plan:
        assert 0 < p.amount <= by_id[p.instalment_id].open_amount
    # applied = min(available, total open)
    assert sum(p.amount for p in plan) == min(available, sum(i.open_amount for i in items))
    calc.check_plan(available=available, items=items, plan=plan)
    # oldest first: every fully-unpaid item is due no earlier than any partially/unpaid skipped one
    paid_ids = [p.instalment_id for p in plan]
    order = [i.instalment_id for i in sorted(items, key=lambda i: (i.due_date, i.instalment_id))]
    assert paid_ids == order[: len(paid_ids)]


def test_discount_taken_only_inside_window_and_when_it_settles():
    item = calc.OpenItem(1, dt.date(2026, 1, 31), D("1000.00"), D("1000.00"), D("20.00"), dt.date(2026, 1, 11))
    plan = calc.plan_oldest_first(available=D("980.00"), items=[item], on=dt.date(2026, 1, 10))
    assert plan == [calc.PlanLine(1, D("980.00"), D("20.00"))]
    late = calc.plan_oldest_first(available=D("980.00"), items=[item], on=dt.date(2026, 1, 12))
    assert late == [calc.PlanLine(1, D("980.00"))]
    short = calc.plan_oldest_first(available=D("500.00"), items=[item], on=dt.date(2026, 1, 10))
    assert short == [calc.PlanLine(1, D("500.00"))]


@pytest.mark.parametrize(
    "plan,code",
    [
        ([calc.PlanLine(1, D("60"))], "over_instalment"),
        ([calc.PlanLine(1, D("50")), calc.PlanLine(2, D("60"))], "over_credit"),
        ([calc.PlanLine(3, D("1"))], "unknown_instalment"),
        ([calc.PlanLine(1, D("0"))], "non_positive"),
        ([calc.PlanLine(1, D("1")), calc.PlanLine(1, D("1"))], "duplicate"),
    ],
)
def test_check_plan_refusals(plan, code):
    items = [calc.OpenItem(1, dt.date(2026, 1, 1), D("50"), D("50")), calc.OpenItem(2, dt.date(2026, 1, 2), D("80"), D("80"))]
    with pytest.raises(calc.PlanError) as exc:
        calc.check_plan(available=D("100"), items=items, plan=plan)
    assert exc.value.code == code
