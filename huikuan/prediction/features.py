"""Features of an instalment as of a date — the leakage rule lives here.

An item's features as of ``t`` use only what was known before ``t``:

- the customer's settled items count only if they were settled **before** ``t`` (``settled_on < t``):
  how many, the share paid late / 30+ days late, mean, median and spread of days late, the mean and the late share of the
  last six, the mean days to pay and its spread, the late share among the earlier items with the same disputed
  flag, the mean days late (not clipped at 0) of the earlier undisputed and of the earlier disputed items;
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

from huikuan.collections.models import Dispute
from huikuan.ledger.models import Instalment, ReceivableDocument, Status

from .models import DocumentFacts

FEATURES = (
    "log_amount", "terms_days", "disputed", "electronic", "month", "due_weekday",
    "n_prev", "late_rate", "late30_rate", "mean_days_late", "median_days_late", "std_days_late",
    "last6_days_late", "mean_days_to_pay", "late_rate_same_dispute", "amount_ratio", "overdue_open_n",
    "days_since_last_settled", "last6_late_rate",
    # the "customer × disputed" baseline as features, so the model can always do what it does: how many of the
    # customer's earlier items had the same disputed flag, and their late share — or, with none, the late share
    # of every customer's items with that flag settled before t (never a training-window constant: no leakage)
    "n_same_dispute", "dispute_rate_or_company",
    # the customer's spread of days to pay and its mean days late (not clipped at 0) of its earlier undisputed and
    # disputed items: the location and the scale of its lateness, for the late / on-time model (``model.Smooth``)
    "std_days_to_pay", "mean_dl_undisputed", "mean_dl_disputed",
)
FEATURES_V1 = FEATURES[:19]  # the features of versions trained before columns 19–20 were added
FEATURES_V2 = FEATURES[:21]  # … and before columns 21–23
NAN = float("nan")
EPOCH = dt.date(2000, 1, 1).toordinal()
ORDINAL_ZERO = dt.date(1, 1, 1)  # DaysBetween(day, this) + 1 == day.toordinal()
CHUNK = 50_000
BLOCK = 250_000  # items per block of whole customers in ``features`` (its temporaries scale with it)


@dataclass(slots=True)
class Items:
    """The company's instalments as parallel numpy arrays (dates as int32 ordinals, ids int64, amounts float)."""

    id: np.ndarray
    customer: np.ndarray
    document: np.ndarray
    number: list | None  # None from ``load_items`` until ``with_labels`` reads them
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
    customer_code: list | None

    def __len__(self) -> int:
        return len(self.id)

    def days_late(self) -> np.ndarray:
        return np.where(self.settled_on > 0, self.settled_on - self.due_date, np.nan)

    def subset(self, mask: np.ndarray) -> Items:
        idx = np.flatnonzero(mask)
        out = {}
        for name in self.__slots__:
            v = getattr(self, name)
            out[name] = v[idx] if isinstance(v, np.ndarray) else None if v is None else [v[i] for i in idx]
        return Items(**out)


def load_items(*, company, until: dt.date | None = None, customer_ids=None) -> Items:
    """Every live instalment of ``company`` (document posted, not replaced by a payment plan).

    ``until``: only documents dated up to it and settlements up to it (what the books said that day);
    an item settled after ``until`` is treated as open. Disputed: a dispute opened on the document
    (collections) or the history import's flag.
    """
    from django.db import connection
    from django.db.models import BigIntegerField, ExpressionWrapper, F, IntegerField, Max, Sum, Value
    from django.db.models.functions import Coalesce

    from huikuan.credit.scoring import DaysBetween
    from huikuan.ledger.models import Allocation

    def ordinal_of(field):  # date.toordinal() computed by the database: no date object per row
        return ExpressionWrapper(DaysBetween(F(field), Value(ORDINAL_ZERO)) + 1, output_field=IntegerField())

    def fen(field):  # a money column's raw hundredths: no Decimal per row
        return ExpressionWrapper(F(field), output_field=BigIntegerField())

    # every column an annotation, in this order: the SQL selects them in it (read with a plain cursor below)
    columns = {
        "c_id": F("id"), "c_customer": F("customer_id"), "c_document": F("document_id"), "c_seq": F("seq"),
        "c_doc": ordinal_of("document_date"), "c_due": ordinal_of("due_date"), "c_amount": fen("amount"),
        "c_open": fen("open_amount"), "c_last": Coalesce(ordinal_of("last_allocated_on"), Value(0)),
        "c_sp": Coalesce(F("salesperson_id"), Value(0)), "c_currency": F("currency"),
    }
    # no ORDER BY: sorting 2 M rows spilled to disk on the server; numpy sorts them below (lexsort). No join to the
    # documents and no EXISTS per row: the company's few unposted documents are left out by one hashed NOT IN, the
    # disputed documents are read apart (below) — at 2 M rows the merge join and the per-row subplan were ~80 % of
    # the statement's time (docs/PERFORMANCE.md)
    unposted = ReceivableDocument.objects.filter(company=company).exclude(status=Status.POSTED).values("pk")
    qs = (Instalment.objects.filter(company=company, replaced_on__isnull=True, amount__gt=0)
          .exclude(document_id__in=unposted).annotate(**columns).order_by())
    if until is not None:
        qs = qs.filter(document_date__lte=until)
    if customer_ids is not None:
        qs = qs.filter(customer_id__in=customer_ids)
    sql, params = qs.values_list(*columns).query.sql_with_params()
    # one list of numpy chunks per column, in a compact dtype (dates int32: ordinals < 2^22; ids and hundredths
    # int64): no 2-D int64 table of every row, so the peak is one column twice, not the whole table three times
    dtypes = (np.int64, np.int64, np.int64, np.int32, np.int32, np.int32, np.int64, np.int64, np.int32, np.int64)
    names = list(columns)
    read = None
    if connection.vendor == "postgresql":
        read = _copy_columns(connection, sql, params, names, dtypes)
    if read is None:
        read = _fetch_columns(connection, sql, params, dtypes)
    parts, currency_codes, currencies = read

    def column(k: int) -> np.ndarray:  # concatenated, its chunks released
        out = np.concatenate(parts[k]) if parts[k] else np.zeros(0, dtype=dtypes[k])
        parts[k] = []
        return out

    pk, cid, o_doc = column(0), column(1), column(4)
    order = np.lexsort((pk, o_doc, cid))  # by customer, document date, id
    pk, cid, o_doc = pk[order], cid[order], o_doc[order]
    did, seq, o_due, f_amount, f_open, o_last, sp = (column(k)[order] for k in (2, 3, 5, 6, 7, 8, 9))
    codes = (np.concatenate(currency_codes) if currency_codes else np.zeros(0, dtype=np.int32))[order]
    del currency_codes, order
    if until is not None and len(pk):  # as of ``until``: allocations dated after it undone (set-wise)
        alloc = Allocation.objects.filter(instalment__company=company, instalment__last_allocated_on__gt=until)
        later = np.unique(np.fromiter(alloc.values_list("instalment_id", flat=True).distinct().iterator(), dtype=np.int64))
        before = list(alloc.filter(date__lte=until).values("instalment_id").order_by()
                      .annotate(total=Sum(fen("amount")), last=Max(ordinal_of("date")))
                      .values_list("instalment_id", "total", "last"))
        b_ids = np.array([r[0] for r in before], dtype=np.int64)
        b_order = np.argsort(b_ids)
        b_ids = b_ids[b_order]
        b_total = np.array([int(r[1]) for r in before], dtype=np.int64)[b_order]
        b_last = np.array([int(r[2]) for r in before], dtype=np.int64)[b_order]
        hit = _member(later, pk)
        f_open[hit] = f_amount[hit]  # nothing allocated by ``until`` …
        o_last[hit] = 0
        at = np.searchsorted(b_ids, pk)
        part = hit & _member(b_ids, pk)  # … or what was, and when last
        f_open[part] = f_amount[part] - b_total[at[part]]
        o_last[part] = b_last[at[part]]
    settled = np.where((f_open == 0) & (o_last > 0), o_last, 0)
    facts = list(DocumentFacts.objects.filter(company=company).order_by("document_id")
                 .values_list("document_id", "disputed", "delivery").iterator(chunk_size=10000))
    f_doc = np.array([f[0] for f in facts], dtype=np.int64)
    f_disp = np.array([bool(f[1]) for f in facts], dtype=bool)
    f_elec = np.array([1.0 if f[2] == "electronic" else 0.0 if f[2] == "paper" else NAN for f in facts])
    # a dispute opened on the document (the collections app): its documents, read apart (few), looked up by numpy
    disputed_docs = np.unique(np.fromiter(
        Dispute.objects.filter(document__company=company).values_list("document_id", flat=True).iterator(),
        dtype=np.int64))
    has_dispute = _member(disputed_docs, did)
    known = _member(f_doc, did)
    at = np.searchsorted(f_doc, did)
    disputed = (has_dispute > 0) | np.where(known, f_disp[np.minimum(at, max(len(f_doc) - 1, 0))] if len(f_doc)
                                            else False, False)
    electronic = np.where(known, f_elec[np.minimum(at, max(len(f_doc) - 1, 0))] if len(f_doc) else NAN, NAN)
    names = list(currencies)
    return Items(id=pk, customer=cid, document=did, number=None, seq=seq, document_date=o_doc, due_date=o_due,
                 amount=f_amount / 100.0, open_amount=np.where(settled == 0, f_open / 100.0, 0.0), settled_on=settled,
                 disputed=disputed.astype(np.float64), electronic=electronic,
                 currency=[names[k] for k in codes.tolist()], salesperson=sp, customer_code=None)


_PG_BINARY = {np.int64: ("int8", ">i8"), np.int32: ("int4", ">i4")}
COPY_BATCH = 1 << 22  # bytes of COPY data parsed at a time (~37,000 rows)


def _fetch_columns(connection, sql, params, dtypes):
    """``load_items``' columns read by a (server-side, on PostgreSQL) cursor: one list of numpy chunks per column in
    a compact dtype (dates int32: ordinals < 2^22; ids and hundredths int64) — no 2-D table of every row —, the
    last column (the currency) as codes into ``currencies``."""
    parts: list[list[np.ndarray]] = [[] for _ in dtypes]
    currency_codes: list[np.ndarray] = []
    currencies: dict[str, int] = {}
    with connection.chunked_cursor() as cur:
        cur.execute(sql, params)
        while chunk := cur.fetchmany(CHUNK):
            cols = list(zip(*chunk, strict=True))
            for k, dtype in enumerate(dtypes):
                parts[k].append(np.array(cols[k], dtype=dtype))
            currency_codes.append(np.array([currencies.setdefault(c, len(currencies)) for c in cols[len(dtypes)]],
                                           dtype=np.int32))
            del chunk, cols
    return parts, currency_codes, currencies


def _copy_columns(connection, sql, params, names, dtypes):
    """What ``_fetch_columns`` reads, on PostgreSQL by ``COPY (…) TO STDOUT`` in the binary format: every column cast
    to a fixed width (int8, int4, the currency char(3)), so each row is the same number of bytes and a batch of rows
    is one numpy record array (big-endian), converted a column at a time — no Python object per value; and the
    server sends rows while this process converts the previous ones (a cursor's FETCH waits for each other). None
    when a row does not have that layout (a currency code not of three ASCII letters): the caller reads by cursor."""
    fields = [("count", ">i2")]
    select = []
    widths = {}  # each field's length word: its width (a NULL would be -1)
    currency = names[len(dtypes)]
    for name, (pg, kind) in [*((n, _PG_BINARY[t]) for n, t in zip(names, dtypes, strict=False)),
                             (currency, ("char(3)", "S3"))]:
        fields += [(f"{name}_n", ">i4"), (name, kind)]
        widths[f"{name}_n"] = np.dtype(kind).itemsize
        select.append(f"q.{connection.ops.quote_name(name)}::{pg}")
    row = np.dtype(fields)  # packed, as the rows are sent
    parts: list[list[np.ndarray]] = [[] for _ in dtypes]
    raw_currency: list[np.ndarray] = []
    state = {"buf": bytearray(), "header": False, "bad": False}

    def consume(final: bool) -> None:
        buf = state["buf"]
        if not state["header"]:
            if len(buf) < 19:
                return
            if bytes(buf[:11]) != b"PGCOPY\n\xff\r\n\x00":
                state["bad"] = True
                return
            skip = 19 + int.from_bytes(buf[15:19], "big")
            if len(buf) < skip:
                return
            del buf[:skip]
            state["header"] = True
        n = len(buf) // row.itemsize
        if final and bytes(buf[n * row.itemsize:]) != b"\xff\xff":
            state["bad"] = True
        if not n or state["bad"]:
            return
        rec = np.frombuffer(buf, dtype=row, count=n)
        if (rec["count"] != len(names)).any() or any((rec[k] != w).any() for k, w in widths.items()):
            state["bad"] = True
        else:
            for k, (name, dtype) in enumerate(zip(names, dtypes, strict=False)):
                parts[k].append(rec[name].astype(dtype))
            raw_currency.append(rec[currency].copy())
        del rec
        del buf[:n * row.itemsize]

    statement = f"COPY (SELECT {', '.join(select)} FROM ({sql}) q) TO STDOUT (FORMAT binary)"
    with connection.cursor() as cursor, cursor.cursor.copy(statement, params) as copy:  # psycopg's own cursor
        for data in copy:
            state["buf"] += data
            if len(state["buf"]) >= COPY_BATCH and not state["bad"]:
                consume(False)
    if not state["bad"]:
        consume(True)
    if state["bad"]:
        return None
    codes = np.concatenate(raw_currency) if raw_currency else np.zeros(0, dtype="S3")
    distinct, inverse = np.unique(codes, return_inverse=True)
    try:
        currencies = {c.decode("ascii").rstrip(" "): k for k, c in enumerate(distinct.tolist())}
    except UnicodeDecodeError:
        return None
    return parts, [inverse.astype(np.int32)], currencies


def _member(sorted_values: np.ndarray, values: np.ndarray) -> np.ndarray:
    """values[i] in sorted_values, element-wise (searchsorted, no Python set)."""
    if len(sorted_values) == 0:
        return np.zeros(len(values), dtype=bool)
    at = np.minimum(np.searchsorted(sorted_values, values), len(sorted_values) - 1)
    return sorted_values[at] == values


def with_labels(items: Items) -> Items:
    """``items`` with document numbers and customer codes (``load_items`` leaves them out: only the backtest's
    per-item CSV needs them), read for these items only."""
    if items.number is not None and items.customer_code is not None:
        return items
    found: dict[int, tuple[str, str]] = {}
    ids = items.id.tolist()
    for s in range(0, len(ids), 900):
        found.update((pk, (number, code)) for pk, number, code in Instalment.objects.filter(pk__in=ids[s:s + 900])
                     .values_list("pk", "document__number", "customer__code"))
    items.number = [found.get(i, ("", ""))[0] for i in ids]
    items.customer_code = [found.get(i, ("", ""))[1] for i in ids]
    return items


def features(items: Items, at: np.ndarray, *, rows: np.ndarray | None = None, block: int = BLOCK) -> np.ndarray:
    """The feature matrix (len(items) × len(FEATURES), float32) of each item as of ``at[i]`` (ordinal dates);
    with ``rows`` (a boolean mask or ascending indices) only those items' rows, in their order — the history is
    still every item of ``items``.

    Pure: reads only ``items`` (the customer's history is the other items of the same customer).
    Set-wise: the customer's settled items are sorted once by (customer, settled date); the figures of
    "everything settled before t" are prefix sums read at the position ``searchsorted`` gives for
    (customer, t) — no per-item loop, except the two running medians (days late, amount), computed once
    per settled item / per item in one pass each.

    Memory: an item's features read only its own customer's items (and the company-wide late share of column
    20, prefix sums over every settled item computed once), so the work runs over blocks of whole customers of
    about ``block`` items: the temporaries are those of one block, not of 2 M items. The sums are of whole
    numbers (days, counts: exact in float64), so a block gives the same bits as the whole (tested).
    """
    n = len(items)
    at = np.asarray(at, dtype=np.int64)
    if rows is None:
        sel = np.arange(n)
    else:
        rows = np.asarray(rows)
        sel = np.flatnonzero(rows) if rows.dtype == bool else rows.astype(np.int64)
    out = np.full((len(sel), len(FEATURES)), np.nan, dtype=np.float32)
    if n == 0 or len(sel) == 0:
        return out
    company = _company_late_shares(items, at)
    cust = items.customer
    if (np.diff(cust) >= 0).all():  # ``load_items`` order: blocks are slices (views, no copies)
        order = None
        sorted_cust, sel_rank, sel_order = cust, sel, np.arange(len(sel))
        if len(sel) > 1 and (np.diff(sel) < 0).any():
            sel_order = np.argsort(sel, kind="stable")
    else:
        order = np.argsort(cust, kind="stable")
        sorted_cust = cust[order]
        rank = np.empty(n, dtype=np.int64)
        rank[order] = np.arange(n)
        sel_rank = rank[sel]
        sel_order = np.argsort(sel_rank, kind="stable")
        del rank
    ranks = sel_rank[sel_order]
    # block bounds on customer boundaries: every ``block`` items, moved back to where that customer starts
    cuts = np.unique(np.concatenate((
        [0], np.searchsorted(sorted_cust, sorted_cust[np.arange(block, n, max(block, 1))], side="left"), [n])))
    for s, e in zip(cuts[:-1].tolist(), cuts[1:].tolist(), strict=True):
        a, b = np.searchsorted(ranks, (s, e), side="left")
        if a == b:
            continue
        part = slice(s, e) if order is None else order[s:e]
        block_items = {name: getattr(items, name)[part] for name in _BLOCK_COLUMNS}
        out[sel_order[a:b]] = _block_features(block_items, at[part], ranks[a:b] - s, company)
    return out


_BLOCK_COLUMNS = ("customer", "document_date", "due_date", "settled_on", "amount", "disputed", "electronic")


def _company_late_shares(items: Items, at: np.ndarray):
    """Column 20's fallback, company-wide: every customer's items settled before t with a given disputed flag —
    prefix sums over all settled items in settled-date order (read at t by ``searchsorted``)."""
    s_idx = np.flatnonzero(items.settled_on > 0)
    g_order = np.argsort(items.settled_on[s_idx], kind="stable")
    g = s_idx[g_order]
    g_day = items.settled_on[g]
    g_disp = (items.disputed[g] > 0).astype(np.float64)
    g_late = (items.settled_on[g] - items.due_date[g] > 0).astype(np.float64)
    return g_day, _prefix(g_disp), _prefix(g_disp * g_late), _prefix(g_late)


def _prefix(values):
    return np.concatenate(([0.0], np.cumsum(values, dtype=np.float64)))


def _block_features(b: dict, at_all: np.ndarray, q: np.ndarray, company) -> np.ndarray:
    """The features of the rows ``q`` of one block of whole customers (``b``: the block's item arrays, ``at_all``:
    every block item's query date — ties of the "last six" follow them)."""
    out = np.full((len(q), len(FEATURES)), np.nan, dtype=np.float32)
    n = len(q)
    cust_all = b["customer"].astype(np.int64)
    settled_on, due_date, document_date = b["settled_on"], b["due_date"], b["document_date"]
    amount_all, disputed_all = b["amount"], b["disputed"]
    at = at_all[q]
    cust = cust_all[q]
    amount, disputed, due_q = amount_all[q], disputed_all[q], due_date[q]
    out[:, 0] = np.log1p(amount)
    out[:, 1] = due_q - document_date[q]
    out[:, 2] = disputed
    out[:, 3] = b["electronic"][q]
    days = (document_date[q] - dt.date(1970, 1, 1).toordinal()).astype("datetime64[D]")
    out[:, 4] = days.astype("datetime64[M]").astype(np.int64) % 12 + 1
    out[:, 5] = due_q % 7  # ordinal 1 is a Monday: 1 % 7 == 1 → weekday + 1
    span = np.int64(1 << 22)  # dates are ordinals < 2^22; (customer, date) as one sortable key
    qkey = cust * span + at
    cstart = cust * span

    # ---- the customer's items settled before t (prefix sums over settled items in settled order)
    s_idx = np.flatnonzero(settled_on > 0)
    # ties on the settled date in the order of the query dates, then the position (the "last six")
    s_idx = s_idx[np.lexsort((s_idx, at_all[s_idx], settled_on[s_idx], cust_all[s_idx]))]
    s_cust = cust_all[s_idx]
    s_settled = settled_on[s_idx]
    s_key = s_cust * span + s_settled
    pos = np.searchsorted(s_key, qkey, side="left")  # settled events before (customer, t)
    first = np.searchsorted(s_key, cstart, side="left")  # the customer's first settled event
    count = pos - first
    d = (s_settled - due_date[s_idx]).astype(np.float64)
    dpos = np.maximum(d, 0.0)
    late = (d > 0).astype(np.float64)
    disp = disputed_all[s_idx] > 0

    def window(cs, lo, hi):
        return cs[hi] - cs[lo]

    has = count > 0
    cnt = np.where(has, count, 1).astype(np.float64)
    c_late = _prefix(late)
    c_dl = _prefix(dpos)
    mean = window(c_dl, first, pos) / cnt
    out[:, 6] = count
    n_late = window(c_late, first, pos)
    out[:, 7] = np.where(has, n_late / cnt, np.nan)
    out[:, 8] = np.where(has, window(_prefix((d >= 30).astype(np.float64)), first, pos) / cnt, np.nan)
    out[:, 9] = np.where(has, mean, np.nan)
    out[:, 11] = np.where(has, np.sqrt(np.maximum(window(_prefix(dpos * dpos), first, pos) / cnt - mean * mean, 0.0)),
                          np.nan)
    lo6 = np.maximum(pos - 6, first)
    k6 = np.where(has, pos - lo6, 1).astype(np.float64)
    out[:, 12] = np.where(has, window(c_dl, lo6, pos) / k6, np.nan)
    out[:, 18] = np.where(has, window(c_late, lo6, pos) / k6, np.nan)
    pay = (s_settled - document_date[s_idx]).astype(np.float64)
    mean_pay = window(_prefix(pay), first, pos) / cnt
    out[:, 13] = np.where(has, mean_pay, np.nan)
    out[:, 21] = np.where(has, np.sqrt(np.maximum(window(_prefix(pay * pay), first, pos) / cnt - mean_pay * mean_pay,
                                                  0.0)), np.nan)
    last_settled = s_settled[np.maximum(pos - 1, 0)] if len(s_idx) else np.zeros(n, dtype=np.int64)
    out[:, 17] = np.where(has, at - last_settled, np.nan)
    c_disp_late = _prefix((disp & (d > 0)).astype(np.float64))
    n_disp = window(_prefix(disp.astype(np.float64)), first, pos)
    n_disp_late = window(c_disp_late, first, pos)
    same_n = np.where(disputed > 0, n_disp, count - n_disp)
    same_late = np.where(disputed > 0, n_disp_late, n_late - n_disp_late)
    out[:, 14] = np.where(same_n > 0, same_late / np.where(same_n > 0, same_n, 1), np.nan)
    out[:, 19] = same_n
    disp_dl = window(_prefix(np.where(disp, d, 0.0)), first, pos)
    n_undisp = count - n_disp
    undisp_dl = window(_prefix(d), first, pos) - disp_dl
    out[:, 22] = np.where(n_undisp > 0, undisp_dl / np.where(n_undisp > 0, n_undisp, 1), np.nan)
    out[:, 23] = np.where(n_disp > 0, disp_dl / np.where(n_disp > 0, n_disp, 1), np.nan)
    # no earlier item with the same flag: every customer's items settled before t with it (company-wide)
    g_day, g_n_disp_cs, g_late_disp_cs, g_late_cs = company
    gpos = np.searchsorted(g_day, at, side="left")
    g_n_disp, g_late_disp = g_n_disp_cs[gpos], g_late_disp_cs[gpos]
    g_n_same = np.where(disputed > 0, g_n_disp, gpos - g_n_disp)
    g_late_same = np.where(disputed > 0, g_late_disp, g_late_cs[gpos] - g_late_disp)
    company_rate = np.where(g_n_same > 0, g_late_same / np.where(g_n_same > 0, g_n_same, 1), np.nan)
    out[:, 20] = np.where(same_n > 0, out[:, 14], company_rate)
    # median days late of the first k settled events of each customer, k = 1 … (running, one pass)
    med_dl = _running_medians(dpos, s_cust)
    out[:, 10] = np.where(has, med_dl[np.maximum(pos - 1, 0)] if len(s_idx) else np.nan, np.nan)

    # ---- the customer's earlier documents: median amount
    a_idx = np.lexsort((document_date, cust_all))
    a_key = cust_all[a_idx] * span + document_date[a_idx]
    apos = np.searchsorted(a_key, qkey, side="left")
    afirst = np.searchsorted(a_key, cstart, side="left")
    med_amount = _running_medians(amount_all[a_idx].astype(np.float64), cust_all[a_idx])
    median = med_amount[np.maximum(apos - 1, 0)]
    ok = (apos > afirst) & (median > 0)
    out[:, 15] = np.where(ok, amount / np.where(ok, median, 1.0), np.nan)

    # ---- overdue and unpaid at t: the customer's items due before t, less those settled before t and due
    # before t (both "before t": max(due, settled) < t), less the item itself when it is due before t
    d_key = np.sort(cust_all * span + due_date)
    m_key = np.sort(s_cust * span + np.maximum(due_date[s_idx], s_settled))
    due_before = np.searchsorted(d_key, qkey, side="left") - np.searchsorted(d_key, cstart, side="left")
    paid_before = np.searchsorted(m_key, qkey, side="left") - np.searchsorted(m_key, cstart, side="left")
    out[:, 16] = due_before - paid_before - (due_q < at)
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


__all__ = ["FEATURES", "FEATURES_V1", "FEATURES_V2", "Items", "features", "load_items", "ordinal"]
