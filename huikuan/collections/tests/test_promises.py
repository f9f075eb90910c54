"""Promises to pay: money is consumed by promises in order, each unit keeping one promise (issue 12 point 8)."""

import datetime as dt
from decimal import Decimal as D

import pytest

from huikuan.collections import calculations as calc
from huikuan.collections import selectors as sel
from huikuan.collections import services as svc
from huikuan.collections.models import Promise, PromiseStatus
from huikuan.ledger import services as ls
from huikuan.ledger.models import Instalment

pytestmark = pytest.mark.django_db
TODAY = dt.date(2026, 3, 2)


def _days(n):
    return TODAY + dt.timedelta(days=n)


@pytest.fixture
def inv(company, customer, finance):
    """10,000 invoiced 2026-01-05, net 30 → due 2026-02-04."""
    return ls.post_document(company=company, customer_id=customer.pk, document_date=dt.date(2026, 1, 5),
                            total=D("10000.00"), actor=finance)


def _promise(company, customer, users, amount, days, **kw):
    return svc.record_promise(company=company, customer_id=customer.pk, amount=amount, promised_date=_days(days),
                              today=TODAY, actor=users["collector"], **kw)


def _status(p):
    p.refresh_from_db()
    return p.status, p.paid_amount


def test_one_payment_keeps_one_of_two_equal_promises_the_earliest(company, customer, inv, users, finance):
    later = _promise(company, customer, users, "4000", 5)
    earlier = _promise(company, customer, users, "4000", 3)
    ls.record_payment(company=company, customer_id=customer.pk, amount=D("4000.00"), date=_days(1), actor=finance)
    shown = {p.pk: (paid, state) for p, paid, state in sel.promises_progress([later, earlier], as_of=_days(1))}
    assert shown == {earlier.pk: (D("4000.00"), "kept"), later.pk: (D("0.00"), "open")}
    assert svc.review_promises(company=company, as_of=_days(1)) == {"kept": 1, "broken": 0}
    assert _status(earlier) == (PromiseStatus.KEPT, D("4000.00"))
    assert svc.review_promises(company=company, as_of=_days(6)) == {"kept": 0, "broken": 1}
    assert _status(later) == (PromiseStatus.BROKEN, D("0.00"))


def test_more_money_keeps_the_second_promise_too(company, customer, inv, users, finance):
    a = _promise(company, customer, users, "4000", 3)
    b = _promise(company, customer, users, "4000", 5)
    ls.record_payment(company=company, customer_id=customer.pk, amount=D("6000.00"), date=_days(1), actor=finance)
    assert svc.review_promises(company=company, as_of=_days(2)) == {"kept": 1, "broken": 0}
    ls.record_payment(company=company, customer_id=customer.pk, amount=D("2000.00"), date=_days(4), actor=finance)
    assert svc.review_promises(company=company, as_of=_days(4)) == {"kept": 1, "broken": 0}
    assert _status(a) == (PromiseStatus.KEPT, D("4000.00"))
    assert _status(b) == (PromiseStatus.KEPT, D("4000.00"))


def test_unapplied_cash_in_the_window_counts(company, customer, inv, users, finance):
    p = _promise(company, customer, users, "3000", 4, instalment_ids=[inv.instalments.get().pk])
    pay = ls.record_payment(company=company, customer_id=customer.pk, amount=D("3000.00"), date=_days(2), actor=finance,
                            auto_allocate=False)
    assert pay.unapplied_amount == D("3000.00")
    assert svc.review_promises(company=company, as_of=_days(2)) == {"kept": 1, "broken": 0}
    assert _status(p) == (PromiseStatus.KEPT, D("3000.00"))


def test_reversed_payment_and_money_outside_the_window_do_not_count(company, customer, inv, users, finance):
    ls.record_payment(company=company, customer_id=customer.pk, amount=D("1000.00"), date=_days(-1), actor=finance)
    p = _promise(company, customer, users, "2000", 3)
    pay = ls.record_payment(company=company, customer_id=customer.pk, amount=D("2000.00"), date=_days(1), actor=finance)
    ls.reverse_credit(company=company, credit_id=pay.pk, actor=finance, on=_days(2), reason="bounced")
    ls.record_payment(company=company, customer_id=customer.pk, amount=D("2000.00"), date=_days(4), actor=finance)
    assert svc.review_promises(company=company, as_of=_days(4)) == {"kept": 0, "broken": 1}
    assert _status(p) == (PromiseStatus.BROKEN, D("0.00"))


def test_promise_on_an_item_follows_the_payment_plan_that_replaced_it(company, customer, inv, users, finance):
    inst = inv.instalments.get()
    p = _promise(company, customer, users, "5000", 20, instalment_ids=[inst.pk])
    plan = svc.request_plan(company=company, customer_id=customer.pk, instalment_ids=[inst.pk], today=TODAY,
                            actor=users["collector"], lines=[(_days(10).isoformat(), "5000"), (_days(40).isoformat(), "5000")])
    svc.decide_plan(company=company, plan_id=plan.pk, approve=True, actor=finance, today=TODAY)
    first = Instalment.objects.filter(plan_id=plan.pk).order_by("due_date").first()
    ls.record_payment(company=company, customer_id=customer.pk, amount=D("5000.00"), date=_days(9), actor=finance)
    first.refresh_from_db()
    assert first.open_amount == 0
    assert svc.review_promises(company=company, as_of=_days(9)) == {"kept": 1, "broken": 0}
    assert _status(p) == (PromiseStatus.KEPT, D("5000.00"))


def test_money_on_other_items_does_not_keep_an_item_promise(company, customer, inv, users, finance):
    inv2 = ls.post_document(company=company, customer_id=customer.pk, document_date=dt.date(2025, 12, 1),
                            total=D("3000.00"), actor=finance)  # older: a payment goes there first
    p = _promise(company, customer, users, "3000", 3, instalment_ids=[inv.instalments.get().pk])
    ls.record_payment(company=company, customer_id=customer.pk, amount=D("3000.00"), date=_days(1), actor=finance)
    assert inv2.instalments.get().open_amount == 0
    assert svc.review_promises(company=company, as_of=_days(4)) == {"kept": 0, "broken": 1}
    assert Promise.objects.get(pk=p.pk).paid_amount == 0


def test_consume_promises_examples():
    P, M = calc.PromiseTerms, calc.MoneyIn
    d = dt.date(2026, 3, 1)
    promises = [P(key=1, amount=D("4000"), made_on=d, promised_date=d + dt.timedelta(days=5)),
                P(key=2, amount=D("4000"), made_on=d, promised_date=d + dt.timedelta(days=3)),
                P(key=3, amount=D("500"), made_on=d, promised_date=d + dt.timedelta(days=9), scope=frozenset({7}))]
    money = [M(date=d + dt.timedelta(days=1), amount=D("4000"), instalment=8, key=(1, 8)),
             M(date=d + dt.timedelta(days=2), amount=D("700"), instalment=7, key=(2, 7))]
    assert calc.consume_promises(promises, money, as_of=d + dt.timedelta(days=9)) == {
        2: D("4000"), 1: D("700"), 3: D("0")}
    # as of day 1 only the first piece has arrived
    assert calc.consume_promises(promises, money, as_of=d + dt.timedelta(days=1)) == {2: D("4000"), 1: D("0"), 3: D("0")}


# ---------------------------------------------------------------- activity log (issue 12 point 14)


def test_a_note_never_replaces_the_last_outcome(company, customer, inv, users):
    from huikuan.collections.models import QueueEntry

    c = users["collector"]
    svc.log_activity(company=company, customer_id=customer.pk, kind="call", outcome="refuses", note="拒绝付款", actor=c)
    svc.review_promises(company=company, as_of=TODAY)
    QueueEntry.objects.filter(customer=customer).update(broken_promise_on=TODAY)
    svc.log_activity(company=company, customer_id=customer.pk, kind="note", note="财务经理下周回来", actor=c)
    entry = QueueEntry.objects.get(customer=customer)
    assert entry.last_outcome == "refuses"
    assert entry.broken_promise_on == TODAY  # a note is not the follow-up of a broken promise
    assert sel.last_outcomes([customer.pk])[customer.pk].outcome == "refuses"
    with pytest.raises(svc.CollectionsError):  # a note has no outcome
        svc.log_activity(company=company, customer_id=customer.pk, kind="note", outcome="reached", note="x", actor=c)


def test_promised_outcome_requires_the_promise(company, customer, inv, users):
    from huikuan.collections.models import Activity

    c = users["collector"]
    with pytest.raises(svc.InvalidPromise) as err:
        svc.log_activity(company=company, customer_id=customer.pk, kind="call", outcome="promised", actor=c, today=TODAY)
    assert err.value.field == "promise_amount"
    with pytest.raises(svc.InvalidPromise):  # a promise with another outcome is contradictory
        svc.log_activity(company=company, customer_id=customer.pk, kind="call", outcome="no_answer", actor=c, today=TODAY,
                         promise_amount="100", promise_date=_days(3))
    assert Activity.objects.count() == 0 and Promise.objects.count() == 0
    act = svc.log_activity(company=company, customer_id=customer.pk, kind="call", actor=c, today=TODAY,
                           promise_amount="100", promise_date=_days(3))
    assert act.outcome == "promised" and act.promise.amount == D("100.00")
