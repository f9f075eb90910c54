"""A payment plan never rewrites the past (issue 12 point 9): aging as of any date before the approval is what
it was — live and from stored past dates — and the plan's instalments count from the approval on."""

import datetime as dt
from decimal import Decimal as D

import pytest

from huikuan.collections import services as coll
from huikuan.insight import aging as fast
from huikuan.insight import past
from huikuan.ledger import services as s
from huikuan.ledger.aging import aging_report

# PostgreSQL: a build needs a transaction of its own (its snapshot), so these tests commit
pytestmark = pytest.mark.django_db(transaction=True)

APPROVED = dt.date(2026, 3, 2)
DATES = [dt.date(2026, 1, 4), dt.date(2026, 1, 5), dt.date(2026, 2, 4), dt.date(2026, 2, 5), dt.date(2026, 2, 19),
         dt.date(2026, 2, 20), dt.date(2026, 2, 28), dt.date(2026, 3, 1)]


def _figures(user, company, as_of, report=aging_report, **kw):
    r = report(user=user, company=company, as_of=as_of, **kw)
    return r.totals, r.total, [(x.key, x.buckets, x.total) for x in r.rows]


def test_aging_before_the_plan_is_unchanged_live_and_stored(company, customer, other_customer, finance, users):
    inv = s.post_document(company=company, customer_id=customer.pk, document_date=dt.date(2026, 1, 5), total=D("10000.00"),
                          actor=finance)  # net 30: due 2026-02-04
    s.post_document(company=company, customer_id=other_customer.pk, document_date=dt.date(2026, 1, 20),
                    total=D("800.00"), actor=finance)
    s.record_payment(company=company, customer_id=customer.pk, amount=D("1000.00"), date=dt.date(2026, 2, 20), actor=finance)
    before = {d: _figures(finance, company, d) for d in DATES}
    acc_before = {d: _figures(finance, company, d, scheme="accounting") for d in DATES}
    past.build(company=company, as_of=dt.date(2026, 2, 28))  # a stored past date, built before the plan
    assert before[dt.date(2026, 2, 28)][1] == D("9800.00")

    plan = coll.request_plan(company=company, customer_id=customer.pk, instalment_ids=[inv.instalments.get().pk],
                             today=APPROVED, actor=users["collector"],
                             lines=[("2026-04-01", "4500"), ("2026-05-01", "4500")])
    coll.decide_plan(company=company, plan_id=plan.pk, approve=True, actor=finance, today=APPROVED)

    for d in DATES:
        assert _figures(finance, company, d) == before[d], d
        assert _figures(finance, company, d, scheme="accounting") == acc_before[d], d
        assert _figures(finance, company, d, report=fast.aging_report) == before[d], d  # stored dates read too
    # as of the approval the replaced 9,000 is current (due in April and May); 账龄 still from the invoice date
    totals, total, _rows = _figures(finance, company, APPROVED)
    assert total == D("9800.00") and totals[0] == D("9000.00")
    acc = aging_report(user=finance, company=company, as_of=APPROVED, scheme="accounting")
    assert acc.totals[0] == D("9800.00")
