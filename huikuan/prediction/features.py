"""Features of an instalment as of a date — the leakage rule lives here.

An item's features as of ``t`` use only what was known before ``t``:

- the customer's settled items count only if they were settled **before** ``t`` (``settled_on < t``):
  how many, the share paid late / 30+ days late, mean, median and spread of days late, the mean and the late share of the
  last six, the mean days to pay, the late share among the earlier items with the same disputed flag;
- the customer's earlier documents (``document_date < t``): their median amount (the item's amount is
  compared with it) and how many are overdue and unpaid at ``t``;
- the item's own data: amount, terms (due − document date), disputed, delivery channel, month, weekday.

Training and the backtest take ``t`` = the item's document date; a live prediction takes ``t`` = the
prediction date (the item's own state at ``t`` — how many days overdue — enters the prediction by
conditioning, see ``model``). Events dated on or after ``t`` never change the features: appending later
documents or payments leaves every earlier item's features unchanged (tested).

Reads: one query over the company's instalments (values, no model instances); the rest is per-customer
arithmetic on sorted lists, linear in the number of items.
"""

from __future__ import annotations

import bisect
import datetime as dt
from dataclasses import dataclass

import numpy as np
from django.db.models import Exists, OuterRef

from huikuan.collections.models import Dispute
from huikuan.ledger.models import Instalment, Status

from .models import DocumentFacts

FEATURES = (
    "log_amount", "terms_days", "disputed", "electronic", "month", "due_weekday",
    "n_prev", "late_rate", "late30_rate", "mean_days_late", "median_days_late", "std_days_late",
    "last6_days_late", "mean_days_to_pay", "late_rate_same_dispute", "amount_ratio", "overdue_open_n",
    "days_since_last_settled", "last6_late_rate",
)
NAN = float("nan")
EPOCH = dt.date(2000, 1, 1).toordinal()


@dataclass(slots=True)
class Items:
    """The company's instalments as parallel numpy arrays (dates as ordinals)."""

    id: np.ndarray
    customer: np.ndarray
    document: np.ndarray
    number: list
    seq: np.ndarray
    document_date: np.ndarray
    due_date: np.ndarray
    amount: np.ndarray  # Decimal → float for the model only (features, not money)
    open_amount: np.ndarray
    settled_on: np.ndarray  # ordinal, or 0 while not fully settled
    disputed: np.ndarray
    electronic: np.ndarray  # 1 electronic, 0 paper, nan unknown
    currency: list
    salesperson: np.ndarray
    customer_code: list

    def __len__(self) -> int:
        return len(self.id)

    def days_late(self) -> np.ndarray:
        return np.where(self.settled_on > 0, self.settled_on - self.due_date, np.nan)

    def subset(self, mask: np.ndarray) -> Items:
        idx = np.flatnonzero(mask)
        out = {}
        for name in self.__slots__:
            v = getattr(self, name)
            out[name] = v[idx] if isinstance(v, np.ndarray) else [v[i] for i in idx]
        return Items(**out)


def load_items(*, company, until: dt.date | None = None, customer_ids=None) -> Items:
    """Every live instalment of ``company`` (document posted, not replaced by a payment plan).

    ``until``: only documents dated up to it and settlements up to it (what the books said that day);
    an item settled after ``until`` is treated as open. Disputed: a dispute opened on the document
    (collections) or the history import's flag.
    """
    qs = (Instalment.objects.filter(company=company, document__status=Status.POSTED, replaced_on__isnull=True,
                                    amount__gt=0)
          .annotate(has_dispute=Exists(Dispute.objects.filter(document_id=OuterRef("document_id"))))
          .order_by("customer_id", "document_date", "id"))
    if until is not None:
        qs = qs.filter(document_date__lte=until)
    if customer_ids is not None:
        qs = qs.filter(customer_id__in=customer_ids)
    past: dict[int, tuple] = {}  # allocated after ``until``: what had been allocated by then, and when last
    if until is not None:
        from django.db.models import Max, Sum

        from huikuan.ledger.models import Allocation

        alloc = Allocation.objects.filter(instalment__company=company, instalment__last_allocated_on__gt=until)
        seen = set(alloc.values_list("instalment_id", flat=True).distinct())
        past = {i: (total, last) for i, total, last in alloc.filter(date__lte=until).values("instalment_id")
                .annotate(total=Sum("amount"), last=Max("date")).values_list("instalment_id", "total", "last")}
        past.update({i: (0, None) for i in seen - set(past)})
    facts = {d: (disp, dl) for d, disp, dl in DocumentFacts.objects.filter(company=company)
             .values_list("document_id", "disputed", "delivery").iterator(chunk_size=10000)}
    rows = qs.values_list("id", "customer_id", "document_id", "document__number", "seq", "document_date", "due_date",
                          "amount", "open_amount", "last_allocated_on", "has_dispute", "currency", "salesperson_id",
                          "customer__code")
    cols = [[] for _ in range(15)]
    for (pk, cid, did, number, seq, ddate, due, amount, open_amount, last, has_dispute, cur, sp, code) in \
            rows.iterator(chunk_size=20000):
        if pk in past:  # as of ``until``, before the later allocations
            allocated, last = past[pk]
            open_amount = amount - allocated
        settled = last.toordinal() if (open_amount == 0 and last is not None) else 0
        disp, delivery = facts.get(did, (False, ""))
        cols[0].append(pk)
        cols[1].append(cid)
        cols[2].append(did)
        cols[3].append(number)
        cols[4].append(seq)
        cols[5].append(ddate.toordinal())
        cols[6].append(due.toordinal())
        cols[7].append(float(amount))
        cols[8].append(float(open_amount) if settled == 0 else 0.0)
        cols[9].append(settled)
        cols[10].append(1.0 if (has_dispute or disp) else 0.0)
        cols[11].append(1.0 if delivery == "electronic" else 0.0 if delivery == "paper" else NAN)
        cols[12].append(cur)
        cols[13].append(sp or 0)
        cols[14].append(code)
    i64 = np.int64
    return Items(id=np.array(cols[0], dtype=i64), customer=np.array(cols[1], dtype=i64),
                 document=np.array(cols[2], dtype=i64), number=cols[3], seq=np.array(cols[4], dtype=i64),
                 document_date=np.array(cols[5], dtype=i64), due_date=np.array(cols[6], dtype=i64),
                 amount=np.array(cols[7]), open_amount=np.array(cols[8]), settled_on=np.array(cols[9], dtype=i64),
                 disputed=np.array(cols[10]), electronic=np.array(cols[11]), currency=cols[12],
                 salesperson=np.array(cols[13], dtype=i64), customer_code=cols[14])


def features(items: Items, at: np.ndarray) -> np.ndarray:
    """The feature matrix (len(items) × len(FEATURES), float32) of each item as of ``at[i]`` (ordinal dates).

    Pure: reads only ``items`` (the customer's history is the other items of the same customer).
    Set-wise: the customer's settled items are sorted once by (customer, settled date); the figures of
    "everything settled before t" are prefix sums read at the position ``searchsorted`` gives for
    (customer, t) — no per-item loop, except the two running medians (days late, amount), computed once
    per settled item / per item in one pass each.
    """
    n = len(items)
    out = np.full((n, len(FEATURES)), np.nan, dtype=np.float32)
    if n == 0:
        return out
    at = np.asarray(at, dtype=np.int64)
    cust = items.customer.astype(np.int64)
    out[:, 0] = np.log1p(items.amount)
    out[:, 1] = items.due_date - items.document_date
    out[:, 2] = items.disputed
    out[:, 3] = items.electronic
    days = (items.document_date - dt.date(1970, 1, 1).toordinal()).astype("datetime64[D]")
    out[:, 4] = days.astype("datetime64[M]").astype(np.int64) % 12 + 1
    out[:, 5] = items.due_date % 7  # ordinal 1 is a Monday: 1 % 7 == 1 → weekday + 1
    span = np.int64(1 << 22)  # dates are ordinals < 2^22; (customer, date) as one sortable key
    qkey = cust * span + at

    # ---- the customer's items settled before t (prefix sums over settled items in settled order)
    s_idx = np.flatnonzero(items.settled_on > 0)
    # ties on the settled date in the order of the query dates, then the position (the "last six")
    s_idx = s_idx[np.lexsort((s_idx, at[s_idx], items.settled_on[s_idx], cust[s_idx]))]
    s_cust = cust[s_idx]
    s_key = s_cust * span + items.settled_on[s_idx]
    pos = np.searchsorted(s_key, qkey, side="left")  # settled events before (customer, t)
    first = np.searchsorted(s_key, cust * span, side="left")  # the customer's first settled event
    count = pos - first
    d = (items.settled_on[s_idx] - items.due_date[s_idx]).astype(np.float64)
    dpos = np.maximum(d, 0.0)
    late = (d > 0).astype(np.float64)
    disp = items.disputed[s_idx] > 0

    def prefix(values):
        return np.concatenate(([0.0], np.cumsum(values, dtype=np.float64)))

    def window(cs, lo, hi):
        return cs[hi] - cs[lo]

    c_late, c_late30 = prefix(late), prefix((d >= 30).astype(np.float64))
    c_dl, c_sq = prefix(dpos), prefix(dpos * dpos)
    c_pay = prefix((items.settled_on[s_idx] - items.document_date[s_idx]).astype(np.float64))
    c_disp, c_disp_late = prefix(disp.astype(np.float64)), prefix((disp & (d > 0)).astype(np.float64))
    has = count > 0
    cnt = np.where(has, count, 1).astype(np.float64)
    mean = window(c_dl, first, pos) / cnt
    out[:, 6] = count
    out[:, 7] = np.where(has, window(c_late, first, pos) / cnt, np.nan)
    out[:, 8] = np.where(has, window(c_late30, first, pos) / cnt, np.nan)
    out[:, 9] = np.where(has, mean, np.nan)
    out[:, 11] = np.where(has, np.sqrt(np.maximum(window(c_sq, first, pos) / cnt - mean * mean, 0.0)), np.nan)
    lo6 = np.maximum(pos - 6, first)
    k6 = np.where(has, pos - lo6, 1).astype(np.float64)
    out[:, 12] = np.where(has, window(c_dl, lo6, pos) / k6, np.nan)
    out[:, 18] = np.where(has, window(c_late, lo6, pos) / k6, np.nan)
    out[:, 13] = np.where(has, window(c_pay, first, pos) / cnt, np.nan)
    last_settled = items.settled_on[s_idx][np.maximum(pos - 1, 0)] if len(s_idx) else np.zeros(n, dtype=np.int64)
    out[:, 17] = np.where(has, at - last_settled, np.nan)
    n_disp = window(c_disp, first, pos)
    n_disp_late = window(c_disp_late, first, pos)
    same_n = np.where(items.disputed > 0, n_disp, count - n_disp)
    same_late = np.where(items.disputed > 0, n_disp_late, window(c_late, first, pos) - n_disp_late)
    out[:, 14] = np.where(same_n > 0, same_late / np.where(same_n > 0, same_n, 1), np.nan)
    # median days late of the first k settled events of each customer, k = 1 … (running, one pass)
    med_dl = _running_medians(dpos, s_cust)
    out[:, 10] = np.where(has, med_dl[np.maximum(pos - 1, 0)] if len(s_idx) else np.nan, np.nan)

    # ---- the customer's earlier documents: median amount
    a_idx = np.lexsort((items.document_date, cust))
    a_key = cust[a_idx] * span + items.document_date[a_idx]
    apos = np.searchsorted(a_key, qkey, side="left")
    afirst = np.searchsorted(a_key, cust * span, side="left")
    med_amount = _running_medians(items.amount[a_idx].astype(np.float64), cust[a_idx])
    median = med_amount[np.maximum(apos - 1, 0)]
    ok = (apos > afirst) & (median > 0)
    out[:, 15] = np.where(ok, items.amount / np.where(ok, median, 1.0), np.nan)

    # ---- overdue and unpaid at t: the customer's items due before t, less those settled before t and due
    # before t (both "before t": max(due, settled) < t), less the item itself when it is due before t
    d_key = np.sort(cust * span + items.due_date)
    m_key = np.sort(s_cust * span + np.maximum(items.due_date[s_idx], items.settled_on[s_idx]))
    due_before = np.searchsorted(d_key, qkey, side="left") - np.searchsorted(d_key, cust * span, side="left")
    paid_before = np.searchsorted(m_key, qkey, side="left") - np.searchsorted(m_key, cust * span, side="left")
    out[:, 16] = due_before - paid_before - (items.due_date < at)
    return out


def _running_medians(values: np.ndarray, groups: np.ndarray) -> np.ndarray:
    """For values ordered by group: the median of the group's first k values at each position k."""
    out = np.empty(len(values), dtype=np.float64)
    vals = values.tolist()
    grp = groups.tolist()
    current = None
    seen: list[float] = []
    insort = bisect.insort
    for k, (g, v) in enumerate(zip(grp, vals, strict=True)):
        if g != current:
            current, seen = g, []
        insort(seen, v)
        m = len(seen)
        h = m // 2
        out[k] = seen[h] if m % 2 else (seen[h - 1] + seen[h]) / 2
    return out


def ordinal(day: dt.date) -> int:
    return day.toordinal()


__all__ = ["FEATURES", "Items", "features", "load_items", "ordinal"]
