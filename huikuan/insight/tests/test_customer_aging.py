"""The per-customer aging aggregate equals the live computation after any change (freshness rule)."""

import datetime as dt
from decimal import Decimal as D

import pytest

from huikuan.insight import aging as fast
from huikuan.insight.models import AgingChange, CustomerAging
from huikuan.insight.services import refresh_customer_aging
from huikuan.ledger import services as s
from huikuan.ledger.aging import aging_report
from huikuan.ledger.models import Instalment

pytestmark = pytest.mark.django_db

X = dt.date(2026, 6, 30)


def _same(user, company, **kw):
    for group in ("customer", "none"):
        for page in ({}, {"offset": 1, "limit": 1}):
            a = fast.aging_report(user=user, company=company, as_of=X, group_by=group, **kw, **page)
            b = aging_report(user=user, company=company, as_of=X, group_by=group, **kw, **page)
            assert (a.totals, a.total, a.row_count, a.disputed) == (b.totals, b.total, b.row_count, b.disputed)
            assert [(r.key, r.label, r.buckets, r.total, r.disputed) for r in a.rows] == \
                   [(r.key, r.label, r.buckets, r.total, r.disputed) for r in b.rows]
    return fast.aging_report(user=user, company=company, as_of=X, **kw)


@pytest.fixture
def book(company, customer, other_customer, finance):
    for cust, day, total in ((customer, dt.date(2026, 1, 5), "1000.00"), (customer, dt.date(2026, 5, 20), "250.50"),
                             (other_customer, dt.date(2026, 3, 1), "300.00"), (other_customer, dt.date(2026, 6, 25), "80.00")):
        s.post_document(company=company, customer_id=cust.pk, document_date=day, total=D(total), actor=finance)


def test_rebuild_then_every_kind_of_change_stays_exact(book, company, customer, other_customer, finance, users,
                                                       django_assert_max_num_queries):
    assert refresh_customer_aging(company=company, as_of=X) == 2
    assert not AgingChange.objects.exists() and CustomerAging.objects.filter(as_of=X).count() == 2
    with django_assert_max_num_queries(4):  # aggregate present? totals, page, labels
        rep = fast.aging_report(user=finance, company=company, as_of=X)
    assert rep.total == D("1630.50") and rep.row_count == 2
    _same(finance, company)
    # a payment (allocation), then a dispute, a reversal and a new document: each marks the customer
    pay = s.record_payment(company=company, customer_id=customer.pk, amount=D("600.00"), date=dt.date(2026, 6, 1), actor=finance)
    assert AgingChange.objects.filter(customer=customer).exists()
    assert _same(finance, company).total == D("1030.50")
    inst = Instalment.objects.filter(customer=other_customer).order_by("pk").first()
    s.set_instalment_dispute(company=company, instalment_id=inst.pk, amount=D("120.00"), actor=finance, reason="质量")
    assert _same(finance, company).disputed == D("120.00")
    s.reverse_credit(company=company, credit_id=pay.pk, actor=finance, on=dt.date(2026, 6, 10), reason="退票")
    s.post_document(company=company, customer_id=other_customer.pk, document_date=dt.date(2026, 6, 29), total=D("9.99"),
                    actor=finance)
    rep = _same(finance, company)
    assert rep.total == D("1640.49") and rep.total == sum(rep.totals, D(0))
    # scoped user and a minimum total
    _same(customer.owner, company)
    _same(finance, company, min_total=D("500"))
    # rebuilding clears the markers and gives the same report
    before = _same(finance, company)
    refresh_customer_aging(company=company, as_of=X)
    assert not AgingChange.objects.exists()
    after = _same(finance, company)
    assert (after.totals, after.disputed) == (before.totals, before.disputed)


def test_other_dates_and_options_are_computed_live(book, company, finance):
    refresh_customer_aging(company=company, as_of=X)
    CustomerAging.objects.update(total=0)  # a stale aggregate must not be read for another date or options
    for kw in ({"as_of": X - dt.timedelta(days=1)}, {"as_of": X, "edges": (15, 45)}, {"as_of": X, "basis": "document"},
               {"as_of": X, "group_by": "region"}, {"as_of": X, "scheme": "accounting"}):
        a = fast.aging_report(user=finance, company=company, **kw)
        b = aging_report(user=finance, company=company, **kw)
        assert (a.totals, [r.total for r in a.rows]) == (b.totals, [r.total for r in b.rows])


def test_daily_job_rebuilds(book, company):
    from huikuan.common.jobs import daily_jobs

    jobs = dict(daily_jobs(company, X))
    assert jobs[f"customer-aging:{company.pk}"]() == "2 customers"
    assert CustomerAging.objects.filter(company=company, as_of=X).count() == 2
