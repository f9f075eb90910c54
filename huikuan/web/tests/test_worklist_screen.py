"""The worklist as a collector reads it (issue 13): a rank instead of a 10-digit priority, the main contact's
phone one tap away."""

import datetime as dt
import re
from decimal import Decimal as D

import pytest

from huikuan.collections.worklist import refresh_queue
from huikuan.common import clock
from huikuan.customers.models import Contact
from huikuan.ledger import services as ls

pytestmark = pytest.mark.django_db


def test_worklist_rows_show_rank_and_tap_to_call(client, users, company, customer, other_customer, finance):
    today = clock.today(company)
    ls.post_document(company=company, customer_id=customer.pk, document_date=today - dt.timedelta(days=120),
                     total=D("98765.43"), actor=finance)
    ls.post_document(company=company, customer_id=other_customer.pk, document_date=today - dt.timedelta(days=40),
                     total=D("300.00"), actor=finance)
    Contact.objects.create(customer=customer, name="李会计", phone="+8613800001111", is_active=True)
    Contact.objects.create(customer=customer, name="王经理", phone="+8613912345678", is_primary=True)
    Contact.objects.create(customer=other_customer, name="无电话", email="a@example.cn", is_primary=True)
    refresh_queue(company=company, as_of=today)
    client.force_login(users["collector"])
    html = client.get("/collections/").content.decode()
    rows = re.findall(r'<tr data-customer="(\d+)">(.*?)</tr>', html, re.S)
    assert [int(pk) for pk, _ in rows] == [customer.pk, other_customer.pk]
    first, second = rows[0][1], rows[1][1]
    assert '<a class="tel" href="tel:+8613912345678">+8613912345678</a>' in first and "王经理" in first  # the primary
    assert "tel:" not in second
    assert ">#1</td>" in first and ">#2</td>" in second
    assert "排名" in html
