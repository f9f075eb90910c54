"""The daily acceptance-bill reminder (issue 12 point 4): one task per held bill, REMIND_DAYS before maturity,
for the person who recorded it; never twice; not for endorsed, reversed or far-off bills; run by the daily jobs."""

import datetime as dt
from decimal import Decimal as D

import pytest
from django.utils import translation

from huikuan.collections.bills import REMIND_DAYS, remind_bills
from huikuan.collections.models import Task, TaskKind
from huikuan.common.jobs import daily_jobs
from huikuan.ledger import services as ls
from huikuan.ledger.models import BillStatus, Credit, Method

pytestmark = pytest.mark.django_db
TODAY = dt.date(2026, 3, 2)


def _bill(company, customer, actor, number, maturity, amount="1000.00"):
    return ls.record_payment(company=company, customer_id=customer.pk, amount=D(amount), date=TODAY, actor=actor,
                             method=Method.BANK_ACCEPTANCE, bill_number=number, bill_acceptor="招商银行上海分行",
                             bill_maturity_date=maturity, today=TODAY)


def test_one_task_per_held_bill_inside_the_window(company, customer, finance, users):
    near = _bill(company, customer, finance, "110000000000000000000000000001", TODAY + dt.timedelta(days=REMIND_DAYS))
    _bill(company, customer, finance, "110000000000000000000000000002", TODAY + dt.timedelta(days=REMIND_DAYS + 1))
    endorsed = _bill(company, customer, finance, "110000000000000000000000000003", TODAY + dt.timedelta(days=3))
    Credit.objects.filter(pk=endorsed.pk).update(bill_status=BillStatus.ENDORSED)  # passed on: not ours to present
    assert remind_bills(company=company, as_of=TODAY) == 1
    task = Task.objects.get()
    assert (task.kind, task.due, task.owner, task.customer_id, task.source) == (
        TaskKind.BILL, TODAY, finance, customer.pk, f"bill:{near.pk}")
    with translation.override("en"):
        assert "110000000000000000000000000001" in str(task.note) and "present it for payment" in str(task.note)
    with translation.override("zh-hans"):
        assert "提示付款" in str(task.note)
    assert remind_bills(company=company, as_of=TODAY) == 0  # never twice
    Task.objects.update(status="done")
    assert remind_bills(company=company, as_of=TODAY) == 0  # closed by hand: not brought back
    assert remind_bills(company=company, as_of=TODAY + dt.timedelta(days=1)) == 1  # the second one enters the window


def test_the_daily_jobs_include_the_reminder(company, customer, finance):
    _bill(company, customer, finance, "110000000000000000000000000009", TODAY + dt.timedelta(days=2))
    jobs = dict(daily_jobs(company, TODAY))
    assert f"bill-reminders:{company.pk}" in jobs
    assert jobs[f"bill-reminders:{company.pk}"]() == "bill reminders 1"
    assert Task.objects.filter(kind=TaskKind.BILL).count() == 1
