"""诉讼时效 per item (issue 12 point 11): due date + 3 years with no event, restarted by a confirmed statement,
a written demand (dunning or by hand, with proof), a partial payment, a promise and a payment plan; the worklist
flag and priority, the legal queue (limitation watch) and the customer page. SQLite and PostgreSQL."""

import datetime as dt
from decimal import Decimal as D

import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from huikuan.collections import limitation as lim
from huikuan.collections import services as svc
from huikuan.collections.models import QueueEntry, WrittenDemand
from huikuan.collections.worklist import priority, refresh_queue
from huikuan.ledger import services as ls
from huikuan.statements import services as st
from huikuan.statements.models import ReplyStatus
from huikuan.statements.selectors import limitation as customer_limitation

pytestmark = pytest.mark.django_db
TODAY = dt.date(2026, 3, 2)
PDF = b"%PDF-1.4\n%proof of delivery\n"


@pytest.fixture(autouse=True)
def _clock():
    with time_machine.travel(dt.datetime(2026, 3, 2, 2, 0, tzinfo=dt.UTC), tick=False):
        yield


def _proof(name="ems.pdf"):
    return SimpleUploadedFile(name, PDF, content_type="application/pdf")


@pytest.fixture
def old(company, customer, finance):
    """5,000 invoiced 2023-01-10, net 30 → due 2023-02-09: three years ago, never chased."""
    return ls.post_document(company=company, customer_id=customer.pk, document_date=dt.date(2023, 1, 10),
                            total=D("5000.00"), actor=finance)


def _item(customer, doc, as_of=TODAY):
    return next(r for r in lim.customer_items(customer=customer, as_of=as_of) if r.instalment.document_id == doc.pk)


def test_no_event_means_due_date_plus_three_years(customer, old):
    row = _item(customer, old)
    assert row.instalment.due_date == dt.date(2023, 2, 9)
    assert (row.limitation_from, row.limitation_date, row.days_left) == (dt.date(2023, 2, 9), dt.date(2026, 2, 9), -21)
    assert row.event == str(lim.EVENTS["lim_due"])
    # the customer page's date is the earliest item's, not empty
    assert customer_limitation(customer=customer, as_of=TODAY).limitation_date == dt.date(2026, 2, 9)
    assert lim.earliest(customer=customer, as_of=TODAY) == dt.date(2026, 2, 9)


def test_leap_day_and_window_inverse():
    assert lim.plus_years(dt.date(2024, 2, 29)) == dt.date(2027, 2, 28)
    for day in (dt.date(2027, 2, 28), dt.date(2027, 3, 1), dt.date(2028, 2, 29), dt.date(2026, 12, 31)):
        start = lim.window_start(day)
        assert lim.plus_years(start) <= day
        assert lim.plus_years(start + dt.timedelta(days=1)) > day


def test_instalments_of_one_debt_run_from_the_last_one(company, customer, finance):
    """Art. 189: a document paid in instalments runs from its last instalment's due date."""
    doc = ls.post_document(company=company, customer_id=customer.pk, document_date=dt.date(2023, 1, 10), total=D("3000.00"),
                           actor=finance, schedule=[ls.ScheduleInput(dt.date(2023, 2, 10), D("1000.00")),
                                                ls.ScheduleInput(dt.date(2023, 5, 10), D("2000.00"))])
    rows = [r for r in lim.customer_items(customer=customer, as_of=TODAY) if r.instalment.document_id == doc.pk]
    assert [r.limitation_date for r in rows] == [dt.date(2026, 5, 10), dt.date(2026, 5, 10)]


def test_confirmed_statement_restarts_items_it_covers(company, customer, old, finance):
    later = ls.post_document(company=company, customer_id=customer.pk, document_date=dt.date(2023, 6, 1),
                             total=D("700.00"), actor=finance)
    stmt = st.issue_statement(user=finance, customer=customer, period_from=dt.date(2023, 1, 1), period_to=dt.date(2023, 3, 31),
                              today=dt.date(2023, 4, 1))
    st.record_reply(user=finance, statement_id=stmt.pk, company=company, status=ReplyStatus.CONFIRMED,
                    replied_on=dt.date(2023, 8, 20), today=dt.date(2023, 8, 20))
    row = _item(customer, old)
    assert (row.limitation_date, row.event) == (dt.date(2026, 8, 20), str(lim.EVENTS["lim_confirmation"]))
    # the statement's period ended before the later invoice: its confirmation does not acknowledge it
    assert _item(customer, later).limitation_date == dt.date(2026, 7, 1)


def test_disputed_reply_does_not_restart(company, customer, old, finance):
    stmt = st.issue_statement(user=finance, customer=customer, period_from=dt.date(2023, 1, 1), period_to=dt.date(2023, 3, 31),
                              today=dt.date(2023, 4, 1))
    st.record_reply(user=finance, statement_id=stmt.pk, company=company, status=ReplyStatus.DISPUTED,
                    replied_on=dt.date(2023, 8, 20), note="金额不符", today=dt.date(2023, 8, 20))
    assert _item(customer, old).limitation_date == dt.date(2026, 2, 9)


def test_written_demand_from_dunning_restarts(company, customer, old):
    svc.record_written_demand(company=company, customer_id=customer.pk, date=dt.date(2025, 11, 3), reference="DN-1", actor=None,
                              channel="letter")
    row = _item(customer, old)
    assert (row.limitation_date, row.event) == (dt.date(2028, 11, 3), str(lim.EVENTS["lim_demand"]))


def test_written_demand_by_hand_needs_channel_proof_and_no_future_date(company, customer, old, users):
    collector = users["collector"]
    kw = dict(company=company, customer_id=customer.pk, reference="EMS1234567", actor=collector, by_hand=True, today=TODAY)
    with pytest.raises(svc.CollectionsError) as e:
        svc.record_written_demand(date=TODAY, channel="courier", proof=None, **kw)
    assert e.value.field == "proof"
    with pytest.raises(svc.CollectionsError) as e:
        svc.record_written_demand(date=TODAY, channel="pigeon", proof=_proof(), **kw)
    assert e.value.field == "channel"
    with pytest.raises(svc.CollectionsError) as e:
        svc.record_written_demand(date=TODAY + dt.timedelta(days=1), channel="courier", proof=_proof(), **kw)
    assert e.value.field == "date"
    with pytest.raises(Exception):  # noqa: B017 - the upload check (a text file named .pdf)
        svc.record_written_demand(date=TODAY, channel="courier", proof=SimpleUploadedFile("x.pdf", b"hello"), **kw)
    assert not WrittenDemand.objects.exists()
    wd = svc.record_written_demand(date=dt.date(2026, 1, 15), channel="courier", proof=_proof(), note="顺丰签收", **kw)
    assert wd.channel == "courier" and wd.proof.name.endswith(".pdf") and wd.created_by == collector
    assert _item(customer, old).limitation_date == dt.date(2029, 1, 15)
    with pytest.raises(svc.CollectionsError):  # the same reference twice by hand is a mistake, not a no-op
        svc.record_written_demand(date=TODAY, channel="courier", proof=_proof(), **kw)


def test_demand_before_an_item_was_issued_does_not_cover_it(company, customer, finance):
    svc.record_written_demand(company=company, customer_id=customer.pk, date=dt.date(2023, 3, 1), reference="DN-0", actor=None)
    doc = ls.post_document(company=company, customer_id=customer.pk, document_date=dt.date(2023, 3, 5), total=D("100.00"),
                           actor=finance)
    assert _item(customer, doc).limitation_date == dt.date(2026, 4, 4)


def test_partial_payment_restarts_that_item_and_a_reversed_one_does_not(company, customer, old, finance):
    other = ls.post_document(company=company, customer_id=customer.pk, document_date=dt.date(2023, 2, 1), total=D("900.00"),
                             actor=finance)
    pay = ls.record_payment(company=company, customer_id=customer.pk, amount=D("1000.00"), date=dt.date(2024, 7, 1),
                            actor=finance, today=TODAY)  # oldest due first: part of the old invoice only
    row = _item(customer, old)
    assert (row.limitation_date, row.event) == (dt.date(2027, 7, 1), str(lim.EVENTS["lim_payment"]))
    assert _item(customer, other).limitation_date == dt.date(2026, 3, 3)  # not paid on: its own due date
    ls.reverse_credit(company=company, credit_id=pay.pk, actor=finance, on=dt.date(2024, 7, 5), reason="bounced")
    assert _item(customer, old).limitation_date == dt.date(2026, 2, 9)


def test_promise_restarts_its_items_or_the_whole_account(company, customer, old, finance, users):
    other = ls.post_document(company=company, customer_id=customer.pk, document_date=dt.date(2023, 2, 1), total=D("900.00"),
                             actor=finance)
    svc.record_promise(company=company, customer_id=customer.pk, amount="1000", promised_date=dt.date(2025, 6, 30),
                       today=dt.date(2025, 6, 1), actor=users["collector"], instalment_ids=[old.instalments.get().pk])
    row = _item(customer, old)
    assert (row.limitation_date, row.event) == (dt.date(2028, 6, 1), str(lim.EVENTS["lim_promise"]))
    assert _item(customer, other).limitation_date == dt.date(2026, 3, 3)
    p = svc.record_promise(company=company, customer_id=customer.pk, amount="100", promised_date=dt.date(2025, 9, 30),
                           today=dt.date(2025, 9, 1), actor=users["collector"])
    assert _item(customer, other).limitation_date == dt.date(2028, 9, 1)
    svc.cancel_promise(company=company, promise_id=p.pk, actor=users["collector"])  # entered by mistake
    assert _item(customer, other).limitation_date == dt.date(2026, 3, 3)


def test_payment_plan_runs_from_its_last_instalment(company, customer, old, users):
    inst = old.instalments.get()
    plan = svc.request_plan(company=company, customer_id=customer.pk, instalment_ids=[inst.pk], actor=users["collector"],
                            today=dt.date(2025, 12, 1),
                            lines=[(dt.date(2026, 1, 31), D("2500.00")), (dt.date(2026, 4, 30), D("2500.00"))])
    svc.decide_plan(company=company, plan_id=plan.pk, approve=True, actor=users["credit_manager"], today=dt.date(2025, 12, 1))
    rows = lim.customer_items(customer=customer, as_of=TODAY)
    assert {r.limitation_date for r in rows} == {dt.date(2029, 4, 30)}


def test_events_after_as_of_are_ignored(company, customer, old):
    svc.record_written_demand(company=company, customer_id=customer.pk, date=dt.date(2026, 2, 1), reference="DN-2", actor=None)
    assert _item(customer, old, as_of=dt.date(2026, 1, 1)).limitation_date == dt.date(2026, 2, 9)
    assert _item(customer, old, as_of=dt.date(2026, 2, 1)).limitation_date == dt.date(2029, 2, 1)


def test_worklist_flags_and_boosts_items_near_their_date(company, customer, other_customer, finance):
    near = ls.post_document(company=company, customer_id=customer.pk, document_date=dt.date(2023, 6, 1), total=D("1000.00"),
                            actor=finance)  # due 2023-07-01 → 2026-07-01: 121 days left
    ls.post_document(company=company, customer_id=other_customer.pk, document_date=dt.date(2025, 6, 1), total=D("1000.00"),
                     actor=finance)
    refresh_queue(company=company, as_of=TODAY)
    e = QueueEntry.objects.get(customer=customer)
    assert e.limitation_date == dt.date(2026, 7, 1)
    days = (TODAY - near.instalments.get().due_date).days
    assert e.priority == priority(D("1000.00"), days, D("1")) * 2
    assert QueueEntry.objects.get(customer=other_customer).limitation_date is None
    svc.record_written_demand(company=company, customer_id=customer.pk, date=dt.date(2026, 2, 1), reference="DN-3", actor=None)
    refresh_queue(company=company, as_of=TODAY, customer_ids=[customer.pk])
    e.refresh_from_db()
    assert e.limitation_date is None and e.priority == priority(D("1000.00"), days, D("1"))


def test_priority_boost_only_inside_the_window():
    base = priority(D("100"), 10, D("1"))
    assert priority(D("100"), 10, D("1"), limitation_days=180) == 2 * base
    assert priority(D("100"), 10, D("1"), limitation_days=181) == base
    assert priority(D("100"), 10, D("1"), limitation_days=-1) == base  # passed: flagged, not boosted


def test_limitation_watch_lists_near_items_in_scope(client, company, customer, other_customer, old, finance, users):
    ls.post_document(company=company, customer_id=customer.pk, document_date=dt.date(2025, 1, 10), total=D("800.00"),
                     actor=finance)  # far from its date: not listed
    ls.post_document(company=company, customer_id=other_customer.pk, document_date=dt.date(2023, 1, 10), total=D("300.00"),
                     actor=finance)
    client.force_login(users["sales_east"])  # owns customer, not other_customer
    r = client.get(reverse("collections:limitation"))
    assert r.status_code == 200
    rows = r.context["rows"]
    assert [x.instalment.document_id for x in rows] == [old.pk]
    assert rows[0].limitation_date == dt.date(2026, 2, 9) and rows[0].days_left == -21
    x = client.get(reverse("collections:limitation") + "?export=xlsx")
    assert x.status_code == 200 and x["Content-Type"].startswith("application/vnd.openxmlformats")
    client.force_login(finance)
    assert len(client.get(reverse("collections:limitation")).context["rows"]) == 2


def test_demand_form_on_the_customer_page(client, company, customer, old, users, other_customer):
    client.force_login(users["collector"])
    page = client.get(reverse("collections:customer", args=[customer.pk]))
    assert b'id="demand-form"' in page.content and b'id="limitation-items"' in page.content
    r = client.post(reverse("collections:demand-new", args=[customer.pk]),
                    {"date": "2026-02-20", "channel": "lawyer", "reference": "律函[2026]8号", "proof": _proof("letter.pdf")})
    assert r.status_code == 302
    assert _item(customer, old).limitation_date == dt.date(2029, 2, 20)
    r = client.post(reverse("collections:demand-new", args=[customer.pk]),
                    {"date": "2026-02-21", "channel": "lawyer", "reference": "律函[2026]9号"}, follow=True)
    assert [m.level_tag for m in r.context["messages"]][-1] == "error" and WrittenDemand.objects.count() == 1
    # the recorded demand is listed with its proof, which downloads as it was uploaded
    wd = WrittenDemand.objects.get()
    page = client.get(reverse("collections:customer", args=[customer.pk]))
    proof_url = reverse("collections:demand-proof", args=[wd.pk])
    assert "律函[2026]8号" in page.content.decode() and proof_url in page.content.decode()
    r = client.get(proof_url)
    assert r.status_code == 200 and b"".join(r.streaming_content) == PDF
    assert r["Content-Disposition"].startswith("attachment") and r["Content-Security-Policy"] == "sandbox"
    client.force_login(users["sales_west"])  # another salesperson's customer: the proof is not there for them
    assert client.get(proof_url).status_code == 404
    client.force_login(users["sales_east"])
    assert client.post(reverse("collections:demand-new", args=[other_customer.pk]),
                       {"date": "2026-02-20", "channel": "lawyer", "reference": "X", "proof": _proof()}).status_code == 404
