"""Reads fold the customers marked as changed into the aggregate once there are many (insight.services.FOLD_AT)."""

import datetime as dt
from decimal import Decimal as D

import pytest
from django.db import transaction

from huikuan.insight import aging as fast
from huikuan.insight import services
from huikuan.insight.models import AgingChange, CustomerAging
from huikuan.ledger import services as s
from huikuan.ledger.aging import aging_report

pytestmark = pytest.mark.django_db

X = dt.date(2026, 6, 30)


def _post(company, cust, finance, day, total):
    return s.post_document(company=company, customer_id=cust.pk, document_date=day, total=D(total), actor=finance)


def _same_as_live(user, company):
    for group in ("customer", "none"):
        a = fast.aging_report(user=user, company=company, as_of=X, group_by=group)
        b = aging_report(user=user, company=company, as_of=X, group_by=group)
        assert (a.totals, a.total, a.row_count, a.disputed) == (b.totals, b.total, b.row_count, b.disputed)
        assert [(r.key, r.buckets, r.total) for r in a.rows] == [(r.key, r.buckets, r.total) for r in b.rows]


def test_many_marks_are_folded_on_read_and_stay_exact(company, customer, other_customer, finance, monkeypatch):
    _post(company, customer, finance, dt.date(2026, 1, 5), "1000.00")
    _post(company, other_customer, finance, dt.date(2026, 3, 1), "300.00")
    assert services.refresh_customer_aging(company=company, as_of=X) == 2
    monkeypatch.setattr(services, "FOLD_AT", 2)
    monkeypatch.setattr(services, "FOLD_CHUNK", 1)  # one customer per chunk
    # one change: below the threshold, recomputed live and still marked
    _post(company, customer, finance, dt.date(2026, 6, 1), "50.00")
    _same_as_live(finance, company)
    assert list(AgingChange.objects.values_list("customer_id", flat=True)) == [customer.pk]
    # a second customer changes (settled in full): the next read folds both and clears the marks
    s.record_payment(company=company, customer_id=other_customer.pk, amount=D("300.00"), date=dt.date(2026, 6, 2),
                     actor=finance)
    rep = fast.aging_report(user=finance, company=company, as_of=X)
    assert not AgingChange.objects.exists()
    assert rep.total == D("1050.00") and rep.row_count == 1
    stored = {a.customer_id: a.total for a in CustomerAging.objects.all()}
    assert stored == {customer.pk: 105000}  # fen; the settled customer has no row any more
    _same_as_live(finance, company)
    _same_as_live(customer.owner, company)  # scoped


def test_no_fold_inside_a_transaction_nor_without_an_aggregate(company, customer, other_customer, finance, monkeypatch):
    monkeypatch.setattr(services, "FOLD_AT", 1)
    _post(company, customer, finance, dt.date(2026, 1, 5), "1000.00")
    assert services.fold_changed_customers(company=company) == 0  # no aggregate yet: nothing to fold into
    services.refresh_customer_aging(company=company, as_of=X)
    _post(company, other_customer, finance, dt.date(2026, 3, 1), "300.00")
    with transaction.atomic():
        assert fast.aging_report(user=finance, company=company, as_of=X).total == D("1300.00")
        assert AgingChange.objects.count() == 1  # a read inside a caller's transaction writes nothing
    assert fast.aging_report(user=finance, company=company, as_of=X).total == D("1300.00")
    assert not AgingChange.objects.exists()
    assert CustomerAging.objects.filter(customer=other_customer, total=30000).exists()
