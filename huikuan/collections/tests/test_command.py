import datetime as dt
from decimal import Decimal as D
from io import StringIO

import pytest
from django.core.management import call_command

from huikuan.collections import services as svc
from huikuan.collections.models import PromiseStatus, QueueEntry
from huikuan.common.jobs import daily_jobs, run_once
from huikuan.ledger import services as ls

pytestmark = pytest.mark.django_db


def test_review_command_and_daily_job(company, customer, finance):
    ls.post_document(company=company, customer_id=customer.pk, document_date=dt.date(2026, 1, 5), total=D("10000.00"),
                     actor=finance)
    p = svc.record_promise(company=company, customer_id=customer.pk, amount="10", promised_date=dt.date(2026, 3, 2),
                           today=dt.date(2026, 3, 2), actor=finance)
    out = StringIO()
    call_command("collections", "review", "--as-of", "2026-03-03", stdout=out)
    assert "broken 1" in out.getvalue() and "worklist 1 customers" in out.getvalue()
    p.refresh_from_db()
    assert p.status == PromiseStatus.BROKEN
    assert QueueEntry.objects.get(customer=customer).overdue_amount == D("10000.00")
    svc.save_interest_rule(company=company, actor=finance, basis="daily", rate="0.05")
    out = StringIO()
    call_command("collections", "interest", customer.code, "--as-of", "2026-03-06", stdout=out)
    assert "150.00" in out.getvalue()
    jobs = dict(daily_jobs(company, dt.date(2026, 3, 4)))
    assert run_once(f"collections:{company.pk}", dt.date(2026, 3, 4), jobs[f"collections:{company.pk}"])
    assert not run_once(f"collections:{company.pk}", dt.date(2026, 3, 4), jobs[f"collections:{company.pk}"])


def test_credit_scoring_reads_broken_promises_and_disputes(company, customer, finance):
    from huikuan.collections import services as svc
    from huikuan.credit.signals import behaviour

    doc = ls.post_document(company=company, customer_id=customer.pk, document_date=dt.date(2026, 1, 5), total=D("100.00"),
                           actor=finance)
    svc.record_promise(company=company, customer_id=customer.pk, amount="10", promised_date=dt.date(2026, 3, 2),
                       today=dt.date(2026, 3, 2), actor=finance)
    svc.review_promises(company=company, as_of=dt.date(2026, 3, 3))
    svc.open_dispute(company=company, customer_id=customer.pk, reason="price", amount="5", actor=finance,
                     today=dt.date(2026, 3, 3), document_id=doc.pk)
    assert behaviour(company, [customer.pk], dt.date(2026, 3, 4))[customer.pk] == {"broken_promises": 1, "disputes": 1}
