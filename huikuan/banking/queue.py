"""The review queue's reads: the incoming lines still to decide, filtered and sorted in SQL.

One function serves the page, its XLSX and the bulk confirm's "back to the same list": the filters come
from the query string, bad values are ignored (never a 500), and every ordering ends in the primary key
so a page is stable. The filters use the queue index (company, status, −confidence) plus the line's own
columns; at 10,000 open lines a page is one COUNT and one 50-row SELECT (bench/bank_queue.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from django.db.models import Q, QuerySet
from django.http import QueryDict
from django.utils.translation import gettext_lazy as _

from huikuan.common.http import parse_date, parse_int
from huikuan.common.listing import Sorting
from huikuan.customers.models import Customer

from .models import OPEN_STATUSES, BankLine, LineStatus

# the shared list sorting (issue 13); every order ends in the id so equal values never shuffle between pages.
# The columns are NOT NULL: plain ASC/DESC, so the queue index (company, status, −confidence) still serves
# the default order
QUEUE_SORTS = Sorting({
    "confidence": ("confidence", "-date"), "date": "date", "amount": "amount", "counterparty": "counterparty_name",
}, default="-confidence", tiebreak="id", nulls_last=False)
DEFAULT_SORT = QUEUE_SORTS.default

# confidence bands (the matcher's 0–1 score): what a clerk can confirm at a glance, what needs a look,
# what is a guess, and lines with no suggestion at all
BANDS = {
    "high": (Decimal("0.800"), None),
    "medium": (Decimal("0.500"), Decimal("0.800")),
    "low": (Decimal("0.001"), Decimal("0.500")),
    "none": (None, Decimal("0.001")),
}


def band_choices():
    # the ranges stay out of the catalog: a "%" in a msgid makes gettext treat it as a format string
    return [("high", f"{_('High confidence')} (≥ 80%)"), ("medium", f"{_('Medium confidence')} (50–79%)"),
            ("low", f"{_('Low confidence')} (< 50%)"), ("none", str(_("No suggestion")))]


def status_choices():
    return [(LineStatus.SUGGESTED.value, LineStatus.SUGGESTED.label),
            (LineStatus.UNMATCHED.value, LineStatus.UNMATCHED.label)]


def _money(raw) -> Decimal | None:
    text = (raw or "").strip().replace(",", "").replace("，", "")
    if not text:
        return None
    try:
        value = Decimal(text)
    except InvalidOperation:
        return None
    return value if value.is_finite() else None


@dataclass
class QueueFilters:
    status: str = ""
    band: str = ""
    amount_min: Decimal | None = None
    amount_max: Decimal | None = None
    customer: Customer | None = None
    customer_code: str = ""
    date_from: object = None
    date_to: object = None
    q: str = ""
    account: int | None = None
    sort: str = DEFAULT_SORT
    problems: tuple = ()

    def query(self, *, sort: str | None = None) -> str:
        """The filters as a query string (without the page), for sort links, the pager and the export."""
        qd = QueryDict(mutable=True)
        for key, value in (("status", self.status), ("band", self.band),
                           ("min", "" if self.amount_min is None else str(self.amount_min)),
                           ("max", "" if self.amount_max is None else str(self.amount_max)),
                           ("customer", self.customer_code), ("from", self.date_from.isoformat() if self.date_from else ""),
                           ("to", self.date_to.isoformat() if self.date_to else ""), ("q", self.q),
                           ("account", str(self.account or "")), ("sort", sort if sort is not None else self.sort)):
            if value and not (key == "sort" and value == DEFAULT_SORT):
                qd[key] = value
        return qd.urlencode()


def read_filters(params, *, company) -> QueueFilters:
    """The filters of a query string; a value that does not parse is dropped and named in ``problems``."""
    f = QueueFilters()
    problems = []
    f.status = params.get("status", "") if params.get("status", "") in dict(status_choices()) else ""
    f.band = params.get("band", "") if params.get("band", "") in BANDS else ""
    for key, attr in (("min", "amount_min"), ("max", "amount_max")):
        raw = (params.get(key) or "").strip()
        value = _money(raw)
        if raw and value is None:
            problems.append(key)
        setattr(f, attr, value)
    for key, attr in (("from", "date_from"), ("to", "date_to")):
        raw = (params.get(key) or "").strip()
        value = parse_date(raw)
        if raw and value is None:
            problems.append(key)
        setattr(f, attr, value)
    code = " ".join((params.get("customer") or "").split())[:60]
    if code:
        f.customer_code = code
        f.customer = (Customer.objects.filter(company=company, code=code).only("pk", "code", "name").first()
                      or Customer.objects.filter(company=company, name=code).only("pk", "code", "name").first())
        if f.customer is None:
            problems.append("customer")
    f.q = " ".join((params.get("q") or "").split())[:100]
    f.account = parse_int(params.get("account"))
    f.sort = QUEUE_SORTS.state(params).value
    f.problems = tuple(problems)
    return f


def queue_lines(*, company, filters: QueueFilters) -> QuerySet[BankLine]:
    """Incoming lines still to decide (suggested or unmatched), as the filters say, in their order."""
    f = filters
    qs = BankLine.objects.filter(company=company, status__in=[f.status] if f.status else OPEN_STATUSES, amount__gt=0)
    if f.band:
        low, high = BANDS[f.band]
        if low is not None:
            qs = qs.filter(confidence__gte=low)
        if high is not None:
            qs = qs.filter(confidence__lt=high)
    if f.amount_min is not None:
        qs = qs.filter(amount__gte=f.amount_min)
    if f.amount_max is not None:
        qs = qs.filter(amount__lte=f.amount_max)
    if f.customer_code:
        # a code that matches no customer shows nothing rather than everything
        qs = qs.filter(customer_id=f.customer.pk) if f.customer is not None else qs.none()
    if f.date_from:
        qs = qs.filter(date__gte=f.date_from)
    if f.date_to:
        qs = qs.filter(date__lte=f.date_to)
    if f.q:
        # CJK text has no case: a plain LIKE avoids UPPER() per row
        op = "contains" if f.q.upper() == f.q.lower() else "icontains"
        qs = qs.filter(Q(**{f"counterparty_name__{op}": f.q}) | Q(**{f"memo__{op}": f.q}) | Q(serial=f.q)
                       | Q(counterparty_account=f.q))
    if f.account:
        qs = qs.filter(account_id=f.account)
    return QUEUE_SORTS.apply(qs, {"sort": f.sort})
