"""Random sequences of payments, payment plans, disputes and promises (issue 12, "tests that must exist"):

* every promise's outcome, as the daily review records it, equals a pure model written here independently
  of ``calculations.consume_promises`` (promises served earliest promised date first, then earliest made;
  each takes the payments received in its window, earliest first, up to its amount);
* aging as of every earlier date (buckets and total) is unchanged by the later events;
* the ledger check stays clean (the autouse fixture runs ``check_ledger`` after the test).
"""

import datetime as dt
import itertools
from decimal import Decimal as D

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from huikuan.collections import services as svc
from huikuan.collections.models import Promise, PromiseStatus
from huikuan.customers.models import Customer
from huikuan.ledger import services as ls
from huikuan.ledger.aging import aging_report
from huikuan.ledger.checks import check_ledger
from huikuan.ledger.models import Instalment

pytestmark = pytest.mark.django_db
START = dt.date(2026, 2, 2)
_codes = itertools.count(1)

ops = st.lists(st.tuples(
    st.sampled_from(["pay", "pay", "promise", "promise", "plan", "dispute"]),
    st.integers(min_value=0, max_value=6),  # days that pass before it
    st.integers(min_value=1, max_value=40),  # size: hundreds of yuan
    st.integers(min_value=0, max_value=9),  # promise: days ahead
), min_size=1, max_size=7)


def _model(promises, payments, as_of):
    """{promise id: paid towards it as of ``as_of``} — the rule of ARCHITECTURE "Promises to pay", account promises."""
    left = [[d, a] for d, a in sorted(payments)]
    out = {}
    for pid, amount, made, due in sorted(promises, key=lambda p: (p[3], p[2], p[0])):
        need, took = amount, D(0)
        for piece in left:
            if piece[0] < made or piece[0] > min(due, as_of) or piece[1] <= 0 or need <= 0:
                continue
            t = min(piece[1], need)
            piece[1] -= t
            need -= t
            took += t
        out[pid] = took
    return out


def _aging(user, company, customer, as_of):
    r = aging_report(user=user, company=company, as_of=as_of, customer_id=customer.pk)
    return r.totals, r.total


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                  HealthCheck.too_slow])
@given(seq=ops)
def test_random_sequences(company, users, net30, seq):
    finance, approver = users["finance"], users["credit_manager"]
    customer = Customer.objects.create(company=company, code=f"H{next(_codes):04d}", name="随机测试有限公司",
                                       owner=users["sales_east"], payment_term=net30)
    for day, total in ((dt.date(2025, 12, 1), "3000.00"), (dt.date(2026, 1, 10), "5000.00")):
        ls.post_document(company=company, customer_id=customer.pk, document_date=day, total=D(total), actor=finance)
    day = START
    payments: list[tuple[dt.date, D]] = []
    promises: list[tuple[int, D, dt.date, dt.date]] = []
    seen: dict[dt.date, tuple] = {}  # aging as of dates before the events that followed
    for kind, gap, size, ahead in seq:
        day += dt.timedelta(days=gap)
        earlier = day - dt.timedelta(days=1)
        seen.setdefault(earlier, _aging(finance, company, customer, earlier))
        amount = D(size * 100)
        customer.refresh_from_db()
        if kind == "pay":
            ls.record_payment(company=company, customer_id=customer.pk, amount=amount, date=day, actor=finance, today=day)
            payments.append((day, amount))
        elif kind == "promise":
            try:
                p = svc.record_promise(company=company, customer_id=customer.pk, amount=amount, actor=finance, today=day,
                                       promised_date=day + dt.timedelta(days=ahead))
            except svc.InvalidPromise:
                continue  # more than is open and not yet promised: refused, as it should be
            promises.append((p.pk, p.amount, p.made_on, p.promised_date))
        elif kind == "plan":
            item = (Instalment.objects.filter(customer=customer, open_amount__gt=0, disputed_amount=0, replaced_on__isnull=True)
                    .order_by("due_date", "pk").first())
            if item is None:
                continue
            first = min(amount, item.open_amount - D("0.01")) if item.open_amount > D("0.01") else item.open_amount
            lines = [(day + dt.timedelta(days=10), first)]
            if item.open_amount - first > 0:
                lines.append((day + dt.timedelta(days=40), item.open_amount - first))
            plan = svc.request_plan(company=company, customer_id=customer.pk, instalment_ids=[item.pk], today=day,
                                    actor=users["collector"], lines=[(d.isoformat(), str(a)) for d, a in lines])
            svc.decide_plan(company=company, plan_id=plan.pk, approve=True, actor=approver, today=day)
        elif kind == "dispute":
            item = (Instalment.objects.filter(customer=customer, open_amount__gt=0).order_by("-due_date", "pk").first())
            room = item.open_amount - item.disputed_amount if item else D(0)
            if room <= 0:
                continue
            svc.open_dispute(company=company, customer_id=customer.pk, reason="quality", amount=min(amount, room),
                             actor=finance, today=day, instalment_id=item.pk)
        svc.review_promises(company=company, as_of=day, customer_id=customer.pk)
        want = _model(promises, payments, day)
        for p in Promise.objects.filter(customer=customer):
            paid = want[p.pk]
            if p.status == PromiseStatus.OPEN:  # neither kept nor past its date yet
                assert paid < p.amount and p.promised_date >= day, (p.pk, paid)
            elif p.status == PromiseStatus.KEPT:
                assert paid >= p.amount, (p.pk, paid)
            else:
                assert p.status == PromiseStatus.BROKEN and paid < p.amount and p.promised_date < day, (p.pk, paid)
    for as_of, figures in seen.items():
        assert _aging(finance, company, customer, as_of) == figures, as_of
    assert check_ledger() == []
