"""The set-wise features equal the per-item reference computation they replaced (the same numbers, the
same leakage rule), on a synthetic company and on the live as-of-a-date query."""

import bisect
import datetime as dt
import math
from collections import deque

import numpy as np
import pytest

from huikuan.prediction.features import FEATURES, Items, features, load_items

from .conftest import load_synthetic

pytestmark = pytest.mark.django_db
NAN = float("nan")


# ---- the reference: the former per-customer, per-item loop (kept here only to check the set-wise code)

def features_loop(items: Items, at: np.ndarray) -> np.ndarray:
    """The feature matrix (len(items) × len(FEATURES)) of each item as of ``at[i]`` (ordinal dates).

    Pure: reads only ``items`` (the customer's history is the other items of the same customer).
    """
    n = len(items)
    out = np.full((n, len(FEATURES)), np.nan)
    out[:, 0] = np.log1p(items.amount)
    out[:, 1] = items.due_date - items.document_date
    out[:, 2] = items.disputed
    out[:, 3] = items.electronic
    out[:, 4] = [dt.date.fromordinal(int(d)).month for d in items.document_date]
    out[:, 5] = (items.due_date + 0) % 7  # ordinal 1 is a Monday: 1 % 7 == 1 → weekday + 1
    order = np.lexsort((at, items.customer))
    cust = items.customer[order]
    bounds = np.flatnonzero(np.diff(cust)) + 1
    starts = np.concatenate(([0], bounds))
    ends = np.concatenate((bounds, [n]))
    dl_all = items.days_late()
    for s, e in zip(starts, ends, strict=True):
        members = order[s:e]  # this customer's items, by query date
        _customer_loop(items, members, at, dl_all, out)
    # every customer's items settled before t with the same disputed flag: the fallback of column 20
    for flag in (0.0, 1.0):
        done = sorted((int(items.settled_on[j]), float(dl_all[j]) > 0) for j in range(n)
                      if items.settled_on[j] > 0 and items.disputed[j] == flag)
        days = [d for d, _ in done]
        cum = [0]
        for _, is_late in done:
            cum.append(cum[-1] + is_late)
        for i in range(n):
            if items.disputed[i] != flag:
                continue
            k = bisect.bisect_left(days, int(at[i]))
            out[i, 20] = out[i, 14] if out[i, 19] > 0 else (cum[k] / k if k else NAN)
    return out


def _customer_loop(items: Items, members: np.ndarray, at: np.ndarray, dl_all: np.ndarray, out: np.ndarray) -> None:
    settled = [i for i in members if items.settled_on[i] > 0]
    settled.sort(key=lambda i: items.settled_on[i])
    by_doc = sorted(members, key=lambda i: items.document_date[i])
    dues = sorted(int(items.due_date[i]) for i in members)
    p_settle = 0
    p_doc = 0
    count = late = late30 = 0
    sum_dl = sum_sq = sum_pay = sum_pay_sq = 0.0
    dls: list[float] = []
    last6: deque = deque(maxlen=6)
    by_dispute = {0.0: [0, 0, 0.0], 1.0: [0, 0, 0.0]}  # count, late, sum of days late (not clipped)
    settled_dues: list[int] = []
    amounts: list[float] = []
    last_settled = 0
    for i in members:
        t = int(at[i])
        while p_settle < len(settled) and items.settled_on[settled[p_settle]] < t:
            j = settled[p_settle]
            p_settle += 1
            d = float(dl_all[j])
            count += 1
            late += d > 0
            late30 += d >= 30
            dpos = max(d, 0.0)
            sum_dl += dpos
            sum_sq += dpos * dpos
            sum_pay += float(items.settled_on[j] - items.document_date[j])
            sum_pay_sq += float(items.settled_on[j] - items.document_date[j]) ** 2
            bisect.insort(dls, dpos)
            last6.append(dpos)
            bucket = by_dispute[float(items.disputed[j])]
            bucket[0] += 1
            bucket[1] += d > 0
            bucket[2] += d
            bisect.insort(settled_dues, int(items.due_date[j]))
            last_settled = int(items.settled_on[j])
        while p_doc < len(by_doc) and items.document_date[by_doc[p_doc]] < t:
            bisect.insort(amounts, float(items.amount[by_doc[p_doc]]))
            p_doc += 1
        row = out[i]
        row[6] = count
        if count:
            mean = sum_dl / count
            row[7] = late / count
            row[8] = late30 / count
            row[9] = mean
            row[10] = dls[count // 2] if count % 2 else (dls[count // 2 - 1] + dls[count // 2]) / 2
            row[11] = math.sqrt(max(sum_sq / count - mean * mean, 0.0))
            row[12] = sum(last6) / len(last6)
            row[13] = sum_pay / count
            row[17] = t - last_settled
            row[21] = math.sqrt(max(sum_pay_sq / count - (sum_pay / count) ** 2, 0.0))
            row[18] = sum(1 for v in last6 if v > 0) / len(last6)
        for flag, col in ((0.0, 22), (1.0, 23)):
            if by_dispute[flag][0]:
                row[col] = by_dispute[flag][2] / by_dispute[flag][0]
        same = by_dispute[float(items.disputed[i])]
        row[19] = same[0]
        if same[0]:
            row[14] = same[1] / same[0]
        if amounts:
            k = len(amounts)
            median = amounts[k // 2] if k % 2 else (amounts[k // 2 - 1] + amounts[k // 2]) / 2
            row[15] = float(items.amount[i]) / median if median > 0 else NAN
        # overdue and unpaid at t: due before t, not settled before t (documents dated before t by then)
        row[16] = bisect.bisect_left(dues, t) - bisect.bisect_left(settled_dues, t) - (items.due_date[i] < t)


def test_setwise_features_equal_the_reference_loop(company, finance):
    load_synthetic(company, finance, n_invoices=1500, n_customers=25, seed=11)
    items = load_items(company=company)
    got = features(items, items.document_date)
    want = features_loop(items, items.document_date)
    assert got.dtype == np.float32 and got.shape == (len(items), len(FEATURES))
    np.testing.assert_allclose(got, want.astype(np.float32), rtol=1e-5, atol=1e-4, equal_nan=True)
    # live: every item as of one day (ties of the query date everywhere)
    day = dt.date(2025, 6, 30).toordinal()
    at = np.full(len(items), day)
    np.testing.assert_allclose(features(items, at), features_loop(items, at).astype(np.float32), rtol=1e-5,
                               atol=1e-4, equal_nan=True)


def _load_items_reference(company, until=None):
    """The former per-row reading of ``load_items`` (Decimal and date objects per row), to check the set-wise one."""
    from django.db.models import Exists, Max, OuterRef, Sum

    from huikuan.collections.models import Dispute
    from huikuan.ledger.models import Allocation, Instalment, Status
    from huikuan.prediction.models import DocumentFacts

    qs = (Instalment.objects.filter(company=company, document__status=Status.POSTED, replaced_on__isnull=True,
                                    amount__gt=0)
          .annotate(has_dispute=Exists(Dispute.objects.filter(document_id=OuterRef("document_id"))))
          .order_by("customer_id", "document_date", "id"))
    past = {}
    if until is not None:
        qs = qs.filter(document_date__lte=until)
        alloc = Allocation.objects.filter(instalment__company=company, instalment__last_allocated_on__gt=until)
        seen = set(alloc.values_list("instalment_id", flat=True).distinct())
        past = {i: (total, last) for i, total, last in alloc.filter(date__lte=until).values("instalment_id")
                .annotate(total=Sum("amount"), last=Max("date")).values_list("instalment_id", "total", "last")}
        past.update({i: (0, None) for i in seen - set(past)})
    facts = {d: (disp, dl) for d, disp, dl in DocumentFacts.objects.filter(company=company)
             .values_list("document_id", "disputed", "delivery")}
    rows = []
    for (pk, cid, did, seq, ddate, due, amount, open_amount, last, has_dispute, cur, sp) in qs.values_list(
            "id", "customer_id", "document_id", "seq", "document_date", "due_date", "amount", "open_amount",
            "last_allocated_on", "has_dispute", "currency", "salesperson_id"):
        if pk in past:
            allocated, last = past[pk]
            open_amount = amount - allocated
        settled = last.toordinal() if (open_amount == 0 and last is not None) else 0
        disp, delivery = facts.get(did, (False, ""))
        rows.append((pk, cid, did, seq, ddate.toordinal(), due.toordinal(), float(amount),
                     float(open_amount) if settled == 0 else 0.0, settled, 1.0 if (has_dispute or disp) else 0.0,
                     1.0 if delivery == "electronic" else 0.0 if delivery == "paper" else NAN, cur, sp or 0))
    return rows


def test_load_items_reads_what_the_per_row_reading_read(company, finance):
    from huikuan.collections import services as coll
    from huikuan.ledger.models import Instalment

    load_synthetic(company, finance, n_invoices=600, n_customers=15, seed=5)
    # a dispute opened in collections on an invoice still open (the other "disputed" source beside the facts)
    item = Instalment.objects.filter(company=company, open_amount__gt=0).order_by("id").first()
    coll.open_dispute(company=company, customer_id=item.customer_id, document_id=item.document_id, reason="price",
                      amount=item.open_amount, actor=finance, today=dt.date(2026, 1, 5))
    # a reversed document: its instalments are not read (``load_items`` leaves out the unposted documents by id)
    from huikuan.ledger import services as ledger

    gone = Instalment.objects.filter(company=company, open_amount__gt=0).exclude(document_id=item.document_id) \
        .order_by("-id").first()
    ledger.reverse_document(company=company, document_id=gone.document_id, actor=finance, on=dt.date(2026, 1, 6),
                            reason="wrong customer")
    assert gone.id not in load_items(company=company).id
    for until in (None, dt.date(2024, 6, 30), dt.date(2025, 3, 1)):
        got = load_items(company=company, until=until)
        want = _load_items_reference(company, until)
        assert len(got) == len(want) > 0
        cols = list(zip(*want, strict=True))
        for k, name in enumerate(("id", "customer", "document", "seq", "document_date", "due_date", "amount",
                                  "open_amount", "settled_on", "disputed", "electronic")):
            np.testing.assert_array_equal(getattr(got, name), np.array(cols[k]), err_msg=f"{until} {name}")
        assert got.currency == list(cols[11])
        np.testing.assert_array_equal(got.salesperson, np.array(cols[12]))
    assert ((got.settled_on > 0) & (got.open_amount > 0)).sum() == 0
    assert (got.electronic == 1).any() and (got.electronic == 0).any() and (got.disputed == 1).any()
    everything = load_items(company=company)
    assert everything.disputed[np.flatnonzero(everything.id == item.pk)[0]] == 1


def test_empty_items():
    empty = Items(**{k: (np.array([], dtype=np.int64) if k not in ("number", "currency", "customer_code") else [])
                     for k in Items.__slots__})
    assert features(empty, np.array([], dtype=np.int64)).shape == (0, len(FEATURES))


def test_features_by_customer_blocks_equal_the_whole(company, finance):
    """Blocks of whole customers (and only some rows, and items in any order) give the bits of one pass."""
    load_synthetic(company, finance, n_invoices=1500, n_customers=25, seed=11)
    items = load_items(company=company)
    live = np.full(len(items), dt.date(2025, 6, 30).toordinal())
    for at in (items.document_date, live):
        whole = features(items, at, block=len(items) + 1)
        for block in (1, 37, 400):
            assert features(items, at, block=block).tobytes() == whole.tobytes(), block
        still_open = items.settled_on == 0
        assert features(items, at, rows=still_open, block=100).tobytes() == whole[still_open].tobytes()
        shuffle = np.random.default_rng(7).permutation(len(items))
        mixed = items.subset(np.ones(len(items), dtype=bool))
        for name in ("id", "customer", "document", "seq", "document_date", "due_date", "amount", "open_amount",
                     "settled_on", "disputed", "electronic", "salesperson"):
            setattr(mixed, name, getattr(mixed, name)[shuffle])
        assert features(mixed, at[shuffle], block=60).tobytes() == whole[shuffle].tobytes()


def _same_items(a: Items, b: Items) -> None:
    for name in a.__slots__:
        x, y = getattr(a, name), getattr(b, name)
        if isinstance(x, np.ndarray):
            np.testing.assert_array_equal(x, y, err_msg=name)
        else:
            assert x == y, name


def test_load_items_by_binary_copy_reads_what_the_cursor_reads(company, finance, monkeypatch):
    """On PostgreSQL the rows come by ``COPY … (FORMAT binary)`` parsed by numpy: the same ``Items`` as the cursor's
    reading, and a row not of the fixed layout (a currency code that is not three ASCII letters) makes it read by the
    cursor instead."""
    from django.db import connection

    from huikuan.ledger.models import Instalment
    from huikuan.prediction import features as f

    if connection.vendor != "postgresql":
        pytest.skip("the binary COPY is PostgreSQL's")
    load_synthetic(company, finance, n_invoices=400, n_customers=12, seed=3)
    copied = []
    real = f._copy_columns
    monkeypatch.setattr(f, "_copy_columns", lambda *a: copied.append(real(*a)) or copied[-1])
    monkeypatch.setattr(f, "COPY_BATCH", 5000)  # many batches, rows split across the stream's blocks
    got = load_items(company=company, until=dt.date(2025, 3, 1))
    assert copied[-1] is not None and len(got) > 300
    with monkeypatch.context() as m:
        m.setattr(f, "_copy_columns", lambda *a: None)
        _same_items(got, load_items(company=company, until=dt.date(2025, 3, 1)))
    Instalment.objects.filter(pk=got.id[5]).update(currency="¥")  # two bytes in UTF-8: not the fixed layout
    again = load_items(company=company, until=dt.date(2025, 3, 1))
    assert copied[-1] is None and again.currency[5] == "¥" and again.currency.count("¥") == 1
    with monkeypatch.context() as m:
        m.setattr(f, "_copy_columns", lambda *a: None)
        _same_items(again, load_items(company=company, until=dt.date(2025, 3, 1)))
