"""A statement reply is never dated after today (issue 12, point 7): a reply dated ahead would push the
limitation date (诉讼时效) out. Through the service and the reply page, in the user's language."""

import datetime as dt
from decimal import Decimal as D

import pytest
from django.urls import reverse

from huikuan.ledger import services as s
from huikuan.statements import services as st
from huikuan.statements.models import ReplyStatus, Statement
from huikuan.statements.selectors import limitation

pytestmark = pytest.mark.django_db


@pytest.fixture
def issued(company, customer, finance):
    s.post_document(company=company, customer_id=customer.pk, document_date=dt.date(2026, 1, 5), total=D("100.00"),
                    actor=finance)
    return st.issue_statement(user=finance, customer=customer, period_from=dt.date(2026, 1, 1),
                              period_to=dt.date(2026, 3, 31), today=dt.date(2026, 4, 1))


def test_a_reply_dated_after_today_is_refused(issued, company, customer, finance):
    with pytest.raises(st.StatementError) as info:
        st.record_reply(user=finance, statement_id=issued.pk, company=company, status=ReplyStatus.CONFIRMED,
                        replied_on=dt.date(2026, 4, 9), today=dt.date(2026, 4, 8))
    assert info.value.field == "replied_on"
    assert Statement.objects.get(pk=issued.pk).replied_on is None
    assert limitation(customer=customer).limitation_date == dt.date(2029, 2, 4)  # no event: due date + 3 years
    st.record_reply(user=finance, statement_id=issued.pk, company=company, status=ReplyStatus.CONFIRMED,
                    replied_on=dt.date(2026, 4, 8), today=dt.date(2026, 4, 8))
    assert limitation(customer=customer).limitation_date == dt.date(2029, 4, 8)


def test_the_reply_page_refuses_a_future_date_in_the_users_language(issued, client, finance, time_machine):
    time_machine.move_to(dt.datetime(2026, 4, 8, 2, 0, tzinfo=dt.UTC), tick=False)
    client.force_login(finance)
    url = reverse("web:statement-reply", args=[issued.pk])
    for lang, words in (("en", "after today (2026-04-08)"), ("zh-hans", "晚于今天")):
        client.cookies["django_language"] = lang
        r = client.post(url, {"status": "confirmed", "replied_on": "2099-01-01", "replied_by": "张三"})
        assert r.status_code == 422 and words in r.content.decode()
    assert Statement.objects.get(pk=issued.pk).replied_on is None
