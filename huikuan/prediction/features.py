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
import math
from collections import deque
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
        _customer_features(items, members, at, dl_all, out)
    return out


def _customer_features(items: Items, members: np.ndarray, at: np.ndarray, dl_all: np.ndarray, out: np.ndarray) -> None:
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


def ordinal(day: dt.date) -> int:
    return day.toordinal()


__all__ = ["FEATURES", "Items", "features", "load_items", "ordinal"]
