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
    return out


def _customer_loop(items: Items, members: np.ndarray, at: np.ndarray, dl_all: np.ndarray, out: np.ndarray) -> None:
    settled = [i for i in members if items.settled_on[i] > 0]
    settled.sort(key=lambda i: items.settled_on[i])
    by_doc = sorted(members, key=lambda i: items.document_date[i])
    dues = sorted(int(items.due_date[i]) for i in members)
    p_settle = 0
    p_doc = 0
    count = late = late30 = 0
    sum_dl = sum_sq = sum_pay = 0.0
    dls: list[float] = []
    last6: deque = deque(maxlen=6)
    by_dispute = {0.0: [0, 0], 1.0: [0, 0]}
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
            bisect.insort(dls, dpos)
            last6.append(dpos)
            bucket = by_dispute[float(items.disputed[j])]
            bucket[0] += 1
            bucket[1] += d > 0
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
            row[18] = sum(1 for v in last6 if v > 0) / len(last6)
        same = by_dispute[float(items.disputed[i])]
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


def test_empty_items():
    empty = Items(**{k: (np.array([], dtype=np.int64) if k not in ("number", "currency", "customer_code") else [])
                     for k in Items.__slots__})
    assert features(empty, np.array([], dtype=np.int64)).shape == (0, len(FEATURES))
