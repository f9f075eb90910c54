"""Properties of the pure scoring half of matching (no database): whatever the items, amounts, memo,
bank-charge tolerance and discount rounding, a proposal never applies more than the line nor more
than an item's open amount, and a line with equal evidence for two customers is never certain."""

import datetime as dt
from collections import defaultdict
from decimal import Decimal as D

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from huikuan.banking import matching
from huikuan.banking.matching import Item, LineFacts, NameIndex, Pool

DAY = dt.date(2026, 3, 6)
cents = st.integers(min_value=1, max_value=2_000_000)


def _pool(customers: dict, items_of: dict) -> Pool:
    pool = Pool()
    index = NameIndex(customers)
    pool.customers, pool.by_norm, pool.by_core = index.customers, index.by_norm, index.by_core
    pool.fuzzy_names = True
    pool.items = defaultdict(list)
    for cid, items in items_of.items():
        pool.items[cid] = sorted(items, key=lambda i: (i.due_date, i.id))
        for it in items:
            pool.amount_hits[it.open].append(it)
            if it.discount:
                pool.amount_hits[it.open - it.discount].append(it)
    return pool


@st.composite
def items_strategy(draw, cid: int, first_id: int):
    n = draw(st.integers(min_value=0, max_value=9))
    out = []
    for k in range(n):
        amount = D(draw(cents)) / 100
        paid = D(draw(st.integers(min_value=0, max_value=int(amount * 100) - 1))) / 100 if draw(st.booleans()) else D(0)
        open_ = amount - paid
        disc = (amount * D("0.02")).quantize(D("0.01")) if paid == 0 and draw(st.booleans()) else D(0)
        out.append(Item(first_id + k, cid, first_id + k, f"XS-2026-{first_id + k:04d}",
                        DAY - dt.timedelta(days=draw(st.integers(0, 90))), open_, amount, disc,
                        DAY + dt.timedelta(days=5) if disc else None))
    return out


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), tolerance=st.sampled_from([D("0"), D("20"), D("50")]),
       rounding=st.sampled_from([D("0"), D("0.01")]))
def test_no_proposal_applies_more_than_the_line_or_an_item(data, tolerance, rounding):
    customers = {1: ("上海华东机械有限公司", "华东机械"), 2: ("广州南方贸易有限公司", "南方贸易")}
    items_of = {1: data.draw(items_strategy(1, 100)), 2: data.draw(items_strategy(2, 200))}
    everything = items_of[1] + items_of[2]
    if everything and data.draw(st.booleans()):  # an amount some items explain
        picked = data.draw(st.lists(st.sampled_from(everything), min_size=1, max_size=4, unique_by=lambda i: i.id))
        amount = sum((i.open for i in picked), D(0)) - data.draw(st.sampled_from([D(0), D("0.01"), D("15")]))
    else:
        amount = D(data.draw(cents)) / 100
    if amount <= 0:
        return
    memo = data.draw(st.sampled_from(["", "货款", "XS-2026-0101", "发票102 部分货款", "XS-2026-0201 XS-2026-0203",
                                      "代华东机械付货款"]))
    name = data.draw(st.sampled_from(["上海华东机械有限公司", "广州南方贸易有限公司", "张伟", ""]))
    line = LineFacts(key=1, date=DAY, amount=amount, name=name, account="", memo=memo)
    pool = _pool(customers, items_of)
    by_id = {i.id: i for i in everything}
    for p in matching.score_line(line, pool, tolerance=tolerance, rounding=rounding):
        cash = sum((D(a) for _i, a, _d, _n in p.allocations), D(0))
        assert cash + p.rest <= amount
        charges = {i: D(f) for i, f in p.charges}
        assert sum(charges.values(), D(0)) <= tolerance
        for i, a, d, _n in p.allocations:
            item = by_id[i]
            assert item.customer_id == p.customer_id
            assert D(a) > 0 and D(d) >= 0
            assert D(a) + D(d) + charges.get(i, D(0)) <= item.open
            if D(d):
                assert abs(D(d) - item.discount) <= rounding


@settings(max_examples=200, deadline=None)
@given(amounts=st.lists(cents, min_size=1, max_size=6), pick=st.integers(min_value=0, max_value=5),
       payer=st.sampled_from(["", "张伟", "某某贸易有限公司"]), memo=st.sampled_from(["", "货款", "转账"]))
def test_equal_evidence_for_two_customers_is_never_certain(amounts, pick, payer, memo):
    """Two customers owing the same items, and a line whose payer, account and memo name neither."""
    customers = {1: ("上海华东机械有限公司", "华东机械"), 2: ("广州南方贸易有限公司", "南方贸易")}
    items_of = {}
    for cid in (1, 2):
        items_of[cid] = [Item(cid * 100 + k, cid, cid * 100 + k, f"D{cid}-{k}", DAY - dt.timedelta(days=k),
                              D(a) / 100, D(a) / 100, D(0), None) for k, a in enumerate(amounts)]
    amount = items_of[1][pick % len(amounts)].open
    line = LineFacts(key=1, date=DAY, amount=amount, name=payer, account="", memo=memo)
    props = matching.score_line(line, _pool(customers, items_of), tolerance=D("50"), rounding=D("0.01"))
    assert not matching.is_certain(props, threshold=D("0.95"), margin=D("0.10"))
