"""Races on PostgreSQL: plan approval against payments and a second approval; promises against each other.

Losers must get a clean DomainError and ``check_ledger()`` must stay empty (see ledger/tests/test_concurrency.py).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal as D

import pytest

from huikuan.collections import services as svc
from huikuan.collections.models import PaymentPlan, PlanStatus, Promise
from huikuan.common.errors import DomainError
from huikuan.ledger import services as ls
from huikuan.ledger.checks import check_ledger
from huikuan.ledger.models import Instalment
from huikuan.ledger.tests.test_concurrency import postgres_only, run_threads, split

pytestmark = postgres_only
TODAY = dt.date(2026, 3, 2)


@pytest.mark.parametrize("round_", range(3))
def test_plan_approval_races_payments(company, customer, users, finance, round_):
    doc = ls.post_document(company=company, customer_id=customer.pk, document_date=dt.date(2026, 1, 5), total=D("9000.00"),
                           actor=finance)
    inst = doc.instalments.get()
    plans = [svc.request_plan(company=company, customer_id=customer.pk, instalment_ids=[inst.pk], today=TODAY,
                              actor=users["collector"], lines=[("2026-04-01", "4500"), ("2026-05-01", "4500")])]

    def work(i):
        if i == 0:
            return svc.decide_plan(company=company, plan_id=plans[0].pk, approve=True, actor=finance, today=TODAY)
        if i == 1:
            return svc.decide_plan(company=company, plan_id=plans[0].pk, approve=True, actor=users["admin"], today=TODAY)
        return ls.record_payment(company=company, customer_id=customer.pk, amount=D("1000.00"), date=TODAY, actor=finance)

    ok, errors = split(run_threads(4, work))
    assert all(isinstance(e, DomainError) for e in errors), errors
    approved = [r for r in ok if isinstance(r, PaymentPlan)]
    assert len(approved) <= 1  # never two approvals; none when a payment changed the open amount first
    assert check_ledger() == []
    customer.refresh_from_db()
    assert customer.open_amount == D("7000.00")
    assert sum(i.amount for i in Instalment.objects.filter(document=doc)) == D("9000.00")
    plan = PaymentPlan.objects.get()
    if approved:
        assert plan.status == PlanStatus.ACTIVE
        assert sum(i.open_amount for i in Instalment.objects.filter(plan_id=plan.pk)) == D("7000.00")
    else:
        assert plan.status == PlanStatus.PENDING and Instalment.objects.get(pk=inst.pk).replaced_on is None


def test_promises_do_not_exceed_the_open_amount_together(company, customer, finance, users):
    ls.post_document(company=company, customer_id=customer.pk, document_date=dt.date(2026, 1, 5), total=D("1000.00"),
                     actor=finance)

    def work(i):
        return svc.record_promise(company=company, customer_id=customer.pk, amount="400", promised_date=TODAY, today=TODAY,
                                  actor=users["collector"])

    ok, errors = split(run_threads(4, work))
    assert len(ok) == 2 and all(isinstance(e, svc.InvalidPromise) for e in errors), errors
    assert sum(p.amount for p in Promise.objects.all()) == D("800.00")
