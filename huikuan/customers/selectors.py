"""Reads of the customer master, always scoped by ``accounts.scoping.owner_q``.

Out-of-scope rows never load: ``get_customer`` and friends raise Http404 for them.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Count, Q, QuerySet
from django.http import Http404

from huikuan.accounts.scoping import owner_q

from . import search
from .models import Contact, Customer, CustomerBankAccount, CustomerFile, CustomerGroup, PaymentTerm

# URL value → ORDER BY. Every ordering ends in a unique column so pages are stable.
CUSTOMER_SORTS = {
    "code": ("code",),
    "-code": ("-code",),
    "name": ("name", "code"),
    "-name": ("-name", "-code"),
    "owner": ("owner__display_name", "owner__username", "code"),
    "-owner": ("-owner__display_name", "-owner__username", "-code"),
    "region": ("region", "code"),
    "-region": ("-region", "-code"),
    "open_amount": ("open_amount", "code"),
    "-open_amount": ("-open_amount", "-code"),
    "unapplied_amount": ("unapplied_amount", "code"),
    "-unapplied_amount": ("-unapplied_amount", "-code"),
    "status": ("status", "code"),
    "-status": ("-status", "-code"),
}


def scoped_customers(*, user, company) -> QuerySet[Customer]:
    """Every customer of ``company`` the user may see (salesperson: own; sales manager: team's)."""
    if company is None:
        return Customer.objects.none()
    return Customer.objects.filter(company=company).filter(owner_q(user, "owner"))


def customer_list(
    *,
    user,
    company,
    q: str = "",
    owner_id: int | None = None,
    group_id: int | None = None,
    region: str = "",
    status: str = "",
    with_balance: bool = False,
    sort: str = "code",
    prefilter: bool = True,
) -> QuerySet[Customer]:
    """Customers for the list page and its export, with owner and group joined (no N+1).

    ``q`` matches code or pinyin initials by prefix ("shhd" finds 上海华东…, "C00" finds C001) and
    name or short name by substring; one or two ASCII characters match by prefix only (name and short name
    included), through the trigram index (``customers.search``). ``with_balance`` keeps customers with open receivables or
    unapplied cash. ``sort`` is one of ``CUSTOMER_SORTS`` (anything else sorts by code). ``prefilter=False``
    leaves the index's prefilter out: the same rows, for a page of a frequent term (``search_page_plan``).
    """
    qs = scoped_customers(user=user, company=company).select_related("owner", "group", "collector")
    q = (q or "").strip()
    if q:
        initials = q.lower().replace(" ", "")
        key = initials if initials.isascii() and initials.isalnum() else ""
        if search.short_ascii(q):
            # one or two letters: by prefix of code, name, short name or either initials (customers.search)
            match = Q(code__istartswith=q) | Q(name__istartswith=q) | Q(short_name__istartswith=q)
            pre = search.prefilter([q, key], word_start=True)
        else:
            # CJK text has no case: a plain LIKE avoids UPPER() on every row (much cheaper at 100k rows).
            contains = "contains" if q.upper() == q.lower() else "icontains"
            match = Q(code__istartswith=q) | Q(**{f"name__{contains}": q}) | Q(**{f"short_name__{contains}": q})
            pre = search.prefilter([q, key])
        if key:
            # name_initials holds "<name initials> <short-name initials>"; both are searchable by prefix.
            match |= Q(name_initials__startswith=key) | Q(name_initials__contains=" " + key)
        qs = qs.filter(match) if pre is None or not prefilter else qs.filter(pre, match)
    if owner_id:
        qs = qs.filter(owner_id=owner_id)
    if group_id:
        qs = qs.filter(group_id=group_id)
    if region:
        qs = qs.filter(region=region)
    if status:
        qs = qs.filter(status=status)
    if with_balance:
        qs = qs.filter(Q(open_amount__gt=0) | Q(unapplied_amount__gt=0))
    return qs.order_by(*CUSTOMER_SORTS.get(sort, CUSTOMER_SORTS["code"]))


def search_page_plan(*, q: str, sort: str = "code", plain):
    """A paginator's ``plan`` (``common.paging``) for a list of ``customer_list`` rows searched for ``q``:
    once the count (taken through the prefilter) says the term is frequent, the page is read from
    ``plain()`` — the same rows without the prefilter — by a scan in the list's order that stops after the
    page (``search.scan_in_order``). None when there is no search."""
    q = (q or "").strip()
    if not q:
        return None

    def plan(count: int, offset: int, limit: int):
        return plain() if search.scan_in_order(count=count, offset=offset, limit=limit, sort=sort) else None

    return plan


def customer_pick(*, user, company, q: str, limit: int = 20) -> list[Customer]:
    """Customers for a picker's autocomplete: by code (prefix), name or short name (anywhere), pinyin initials
    or full pinyin at any position ("hd" and "huadong" find 上海华东…), a contact's phone (4+ digits, anywhere)
    or the 统一社会信用代码 (prefix); one or two ASCII characters match the start of code, name, short name,
    initials or pinyin ("hd" finds 华东机械 by its short name), through the trigram index (``customers.search``).
    Exact code first, then code prefix, then the rest by code; never more than ``limit`` (the picker asks
    again as the user types — no list is capped for good). The rest is read like a list's page: counted
    through the index (up to ``search.FREQUENT``), a frequent term read in code order (``search_page_plan``)."""
    q = " ".join((q or "").split())
    if not q:
        return []
    compact = q.lower().replace(" ", "").replace("'", "")
    key = compact if compact.isascii() and compact.isalnum() else ""
    if search.short_ascii(q):
        # one or two letters: by prefix (customers.search) — of code, name, short name, initials or pinyin
        match = Q(code__istartswith=q) | Q(name__istartswith=q) | Q(short_name__istartswith=q)
        if key:
            match |= (Q(name_initials__startswith=key) | Q(name_initials__contains=" " + key)
                      | Q(name_pinyin__startswith=key) | Q(name_pinyin__contains=" " + key))
        pre = search.prefilter([q, key], word_start=True)
    else:
        contains = "contains" if q.upper() == q.lower() else "icontains"
        match = Q(code__istartswith=q) | Q(**{f"name__{contains}": q}) | Q(**{f"short_name__{contains}": q})
        if key:
            match |= Q(name_initials__contains=key) | Q(name_pinyin__contains=key)
            if len(key) >= 6:
                match |= Q(credit_code__startswith=key.upper())
        pre = search.prefilter([q, key])
    plain = match
    if pre is not None:
        match = pre & match
    digits = "".join(ch for ch in q if ch.isdigit())
    phone = None
    if len(digits) >= 4 and len(digits) >= len(compact) - 2:  # mostly digits: a phone number
        phone = Q(pk__in=Contact.objects.filter(customer__company=company, phone__contains=digits).values("customer_id"))
    base = scoped_customers(user=user, company=company).only("pk", "code", "name", "short_name", "status")
    by_code = Q(code__istartswith=q)
    code_pre = search.code_prefilter(q)
    if code_pre is not None:
        by_code = code_pre & by_code
    first = list(base.filter(by_code).order_by("code")[:limit])  # the exact code sorts first
    if len(first) < limit:
        rest = limit - len(first)
        others = base.filter(match)
        if pre is not None:
            # counted through the index (up to the rows scan_in_order asks for): a frequent term is read in code
            # order with the plain conditions, a scan that stops after ``rest`` rows
            counted = others.order_by().values("pk")[: max(search.FREQUENT, 4 * rest)].count()
            if search.scan_in_order(count=counted, offset=0, limit=rest):
                others = base.filter(plain)
        found = list(others.exclude(code__istartswith=q).order_by("code")[:rest])
        if phone is not None:
            # a separate statement, merged by code: OR-ed into ``match`` it would keep the index's prefilter
            # from being a condition of the whole query, and every customer would be read (bench/customer_search.py)
            seen = {c.pk for c in found}
            found += [c for c in base.filter(phone).exclude(code__istartswith=q).order_by("code")[:rest]
                      if c.pk not in seen]
            found = sorted(found, key=lambda c: c.code)[:rest]
        first += found
    return first


def get_customer(*, user, company, pk) -> Customer:
    """One customer in the user's scope (owner, group, parent, terms joined); Http404 otherwise."""
    try:
        return (
            scoped_customers(user=user, company=company)
            .select_related("owner", "group", "parent", "payment_term")
            .get(pk=pk)
        )
    except (Customer.DoesNotExist, ValueError, TypeError) as exc:
        raise Http404 from exc


@dataclass(frozen=True)
class SameCreditCode:
    """Other customers of the company registered under the same 统一社会信用代码 (a warning, not a block):
    the ones the user may see, and how many more exist outside their scope."""

    visible: tuple[Customer, ...]
    hidden_count: int

    def __bool__(self) -> bool:
        return bool(self.visible) or self.hidden_count > 0


def same_credit_code(*, user, customer: Customer, limit: int = 20) -> SameCreditCode:
    """Customers other than ``customer`` with its credit code: one count, and the visible ones listed (up to
    ``limit``) when there are any; no query when the code is empty."""
    if not customer.credit_code:
        return SameCreditCode((), 0)
    others = Customer.objects.filter(company_id=customer.company_id, credit_code=customer.credit_code).exclude(
        pk=customer.pk)
    counts = others.aggregate(total=Count("pk"), seen=Count("pk", filter=owner_q(user, "owner")))
    if not counts["total"]:
        return SameCreditCode((), 0)
    visible = tuple(others.filter(owner_q(user, "owner")).order_by("code")[:limit]) if counts["seen"] else ()
    return SameCreditCode(visible, counts["total"] - counts["seen"])


def get_contact(*, user, company, pk) -> Contact:
    """A contact of a customer in scope; Http404 otherwise."""
    try:
        return (
            Contact.objects.filter(customer__company=company)
            .filter(owner_q(user, "customer__owner"))
            .select_related("customer")
            .get(pk=pk)
        )
    except (Contact.DoesNotExist, ValueError, TypeError) as exc:
        raise Http404 from exc


def get_customer_file(*, user, company, pk) -> CustomerFile:
    """A stored document of a customer in scope; Http404 otherwise."""
    try:
        return (
            CustomerFile.objects.filter(customer__company=company)
            .filter(owner_q(user, "customer__owner"))
            .select_related("customer", "uploaded_by")
            .get(pk=pk)
        )
    except (CustomerFile.DoesNotExist, ValueError, TypeError) as exc:
        raise Http404 from exc


def customer_contacts(*, customer: Customer, include_inactive: bool = True) -> QuerySet[Contact]:
    qs = customer.contacts.all()
    if not include_inactive:
        qs = qs.filter(is_active=True)
    return qs.order_by("-is_active", "-is_primary", "name")


def main_contacts(*, customer_ids) -> dict[int, Contact]:
    """The contact to call for each customer (one query): the primary active contact with a phone, else the
    first active one with a phone. Customers without such a contact are absent from the result."""
    out: dict[int, Contact] = {}
    qs = (Contact.objects.filter(customer_id__in=list(customer_ids), is_active=True).exclude(phone="")
          .order_by("customer_id", "-is_primary", "pk"))
    for c in qs:
        out.setdefault(c.customer_id, c)
    return out


def customer_bank_accounts(*, customer: Customer) -> QuerySet[CustomerBankAccount]:
    """The accounts the customer pays from, oldest first."""
    return customer.bank_accounts.order_by("id")


def get_bank_account(*, user, company, pk) -> CustomerBankAccount:
    """A bank account of a customer in scope; Http404 otherwise."""
    try:
        return (
            CustomerBankAccount.objects.filter(company=company)
            .filter(owner_q(user, "customer__owner"))
            .select_related("customer")
            .get(pk=pk)
        )
    except (CustomerBankAccount.DoesNotExist, ValueError, TypeError) as exc:
        raise Http404 from exc


def customer_files(*, customer: Customer) -> QuerySet[CustomerFile]:
    return customer.files.select_related("uploaded_by").order_by("-uploaded_at", "-pk")


def customer_regions(*, user, company) -> list[str]:
    """Distinct non-blank regions among the customers the user sees (for the filter)."""
    return list(
        scoped_customers(user=user, company=company)
        .exclude(region="")
        .order_by("region")
        .values_list("region", flat=True)
        .distinct()
    )


def customer_groups(*, company) -> QuerySet[CustomerGroup]:
    return CustomerGroup.objects.filter(company=company).order_by("name")


def payment_terms(*, company, active_only: bool = False) -> QuerySet[PaymentTerm]:
    qs = PaymentTerm.objects.filter(company=company)
    if active_only:
        qs = qs.filter(active=True)
    return qs.order_by("code")


def get_payment_term(*, company, pk) -> PaymentTerm:
    try:
        return PaymentTerm.objects.get(company=company, pk=pk)
    except (PaymentTerm.DoesNotExist, ValueError, TypeError) as exc:
        raise Http404 from exc
