"""Statement replies are all kept; "confirmed" with another balance is a disagreement (差异) with the difference
(issue 12, point 15). Through the service and the reply page."""

import datetime as dt
from decimal import Decimal as D

import pytest
from django.urls import reverse

from huikuan.ledger import services as s
from huikuan.statements import services as st
from huikuan.statements.models import ReplyStatus, Statement, StatementReply
from huikuan.statements.selectors import limitation

pytestmark = pytest.mark.django_db
TODAY = dt.date(2026, 4, 20)


@pytest.fixture
def issued(company, customer, finance):
    s.post_document(company=company, customer_id=customer.pk, document_date=dt.date(2026, 1, 5), total=D("10000.00"),
                    actor=finance)
    return st.issue_statement(user=finance, customer=customer, period_from=dt.date(2026, 1, 1),
                              period_to=dt.date(2026, 3, 31), today=dt.date(2026, 4, 1))


def _reply(issued, finance, status, day, **kw):
    return st.record_reply(user=finance, statement_id=issued.pk, company=issued.company, status=status,
                           replied_on=dt.date(2026, 4, day), today=TODAY, **kw)


def test_every_reply_is_kept_and_the_statement_shows_the_latest(issued, finance, customer):
    _reply(issued, finance, ReplyStatus.DISPUTED, 10, note="3月15日货款已付 2,000", replied_by="李会计")
    _reply(issued, finance, ReplyStatus.CONFIRMED, 15, replied_by="李会计")
    # recorded later but dated earlier: kept, and does not hide the newer reply
    _reply(issued, finance, ReplyStatus.DISPUTED, 12, note="补充说明")
    replies = list(StatementReply.objects.filter(statement=issued).order_by("replied_on"))
    assert [(r.replied_on.day, r.status) for r in replies] == [(10, "disputed"), (12, "disputed"), (15, "confirmed")]
    assert replies[0].note == "3月15日货款已付 2,000" and replies[0].recorded_by == finance
    stmt = Statement.objects.get(pk=issued.pk)
    assert (stmt.status, stmt.replied_on, stmt.confirmed_amount) == ("confirmed", dt.date(2026, 4, 15), D("10000.00"))
    assert limitation(customer=customer).last_confirmed == dt.date(2026, 4, 15)


def test_confirmed_with_another_balance_is_a_disagreement_with_the_difference(issued, finance, customer):
    _reply(issued, finance, ReplyStatus.CONFIRMED, 10, confirmed_amount="8000.00")
    stmt = Statement.objects.get(pk=issued.pk)
    assert stmt.status == ReplyStatus.DISPUTED
    assert stmt.difference() == D("-2000.00")
    reply = StatementReply.objects.get(statement=issued)
    assert (reply.status, reply.confirmed_amount, reply.difference_amount) == ("disputed", D("8000.00"), D("-2000.00"))
    assert limitation(customer=customer).last_confirmed is None  # a disagreement is not a confirmation
    # the same balance is a confirmation
    _reply(issued, finance, ReplyStatus.CONFIRMED, 11, confirmed_amount="10000")
    assert Statement.objects.get(pk=issued.pk).status == ReplyStatus.CONFIRMED
    assert StatementReply.objects.filter(statement=issued).count() == 2


def test_a_confirmation_stays_counted_after_a_later_disagreement(issued, finance, customer):
    _reply(issued, finance, ReplyStatus.CONFIRMED, 10)
    _reply(issued, finance, ReplyStatus.DISPUTED, 18, note="发现重复开票")
    assert Statement.objects.get(pk=issued.pk).status == ReplyStatus.DISPUTED
    assert limitation(customer=customer).last_confirmed == dt.date(2026, 4, 10)


def test_reply_page_lists_every_reply_with_the_difference(issued, client, finance, time_machine):
    time_machine.move_to(dt.datetime(2026, 4, 20, 2, 0, tzinfo=dt.UTC), tick=False)
    client.force_login(finance)
    url = reverse("web:statement-reply", args=[issued.pk])
    r = client.post(url, {"status": "confirmed", "replied_on": "2026-04-10", "replied_by": "李会计",
                          "confirmed_amount": "9500.00", "note": ""})
    assert r.status_code == 302
    client.post(url, {"status": "confirmed", "replied_on": "2026-04-12", "replied_by": "王经理", "confirmed_amount": ""})
    body = client.get(url).content.decode()
    assert "李会计" in body and "王经理" in body
    assert "-500.00" in body
    page = client.get(reverse("web:customer-statement", args=[issued.customer_id])).content.decode()
    assert "badge ok" in page  # the latest reply is the confirmation
