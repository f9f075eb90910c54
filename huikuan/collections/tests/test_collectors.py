"""Collector assignment (issue 13): managers assign a collector to customers (one or many, audited, also
through the API); a collector's worklist opens on "my queue"; collectors are not a scope (DESIGN §5)."""

import datetime as dt
from decimal import Decimal as D

import pytest
import time_machine
from django.urls import reverse

from huikuan.accounts.models import Company, Role
from huikuan.collections.worklist import refresh_queue
from huikuan.common.errors import NotAllowed
from huikuan.common.models import AuditEvent
from huikuan.customers import services as cs
from huikuan.customers.errors import InvalidField
from huikuan.customers.models import Customer
from huikuan.ledger import services as ls

pytestmark = pytest.mark.django_db
TODAY = dt.date(2026, 3, 2)


@pytest.fixture(autouse=True)
def _clock():
    with time_machine.travel(dt.datetime(2026, 3, 2, 2, 0, tzinfo=dt.UTC), tick=False):
        yield


@pytest.fixture
def overdue(company, customer, other_customer, finance):
    for c in (customer, other_customer):
        ls.post_document(company=company, customer_id=c.pk, document_date=dt.date(2026, 1, 5), total=D("500.00"),
                         actor=finance)
    refresh_queue(company=company, as_of=TODAY)


def test_manager_assigns_many_audited_and_only_changes_are_recorded(company, customer, other_customer, users):
    boss, li = users["credit_manager"], users["collector"]
    n = cs.assign_collector(company=company, customer_ids=[customer.pk, other_customer.pk], collector=li, actor=boss)
    assert n == 2
    assert set(Customer.objects.filter(collector=li).values_list("pk", flat=True)) == {customer.pk, other_customer.pk}
    ev = AuditEvent.objects.filter(verb="customers.collector.assigned")
    assert ev.count() == 2 and ev.first().data["after"] == "collector" and ev.first().data["before"] is None
    # again: nothing changes, nothing recorded
    assert cs.assign_collector(company=company, customer_ids=[customer.pk], collector=li, actor=boss) == 0
    assert ev.count() == 2
    assert cs.assign_collector(company=company, customer_ids=[customer.pk], collector=None, actor=users["admin"]) == 1
    assert Customer.objects.get(pk=customer.pk).collector_id is None
    assert AuditEvent.objects.filter(verb="customers.collector.assigned").latest("id").data["before"] == "collector"


def test_who_may_assign_and_who_may_be_assigned(company, customer, users):
    li = users["collector"]
    for role in ("collector", "finance", "salesperson", "sales_manager", "auditor"):
        with pytest.raises(NotAllowed):
            cs.assign_collector(company=company, customer_ids=[customer.pk], collector=li, actor=users[role])
    with pytest.raises(InvalidField):  # a salesperson owns customers; the collector is the second person
        cs.assign_collector(company=company, customer_ids=[customer.pk], collector=users["sales_east"],
                            actor=users["credit_manager"])
    li.is_active = False
    li.save()
    with pytest.raises(InvalidField):
        cs.assign_collector(company=company, customer_ids=[customer.pk], collector=li, actor=users["credit_manager"])
    with pytest.raises(InvalidField):
        cs.assign_collector(company=company, customer_ids=[], collector=None, actor=users["credit_manager"])


def test_a_customer_of_another_company_refuses_the_whole_batch(company, customer, users):
    other = Company.objects.create(code="T99", name="别家公司")
    foreign = Customer.objects.create(company=other, code="X1", name="别家客户")
    with pytest.raises(NotAllowed):
        cs.assign_collector(company=company, customer_ids=[customer.pk, foreign.pk], collector=users["collector"],
                            actor=users["credit_manager"])
    assert Customer.objects.get(pk=customer.pk).collector_id is None  # nothing half-done


def test_collector_worklist_opens_on_my_queue_and_can_show_everyone(client, company, customer, other_customer,
                                                                    overdue, users):
    li = users["collector"]
    client.force_login(li)
    # nobody assigned yet: the whole worklist, as before
    body = client.get(reverse("collections:index")).content.decode()
    assert customer.name in body and other_customer.name in body
    cs.assign_collector(company=company, customer_ids=[customer.pk], collector=li, actor=users["credit_manager"])
    r = client.get(reverse("collections:index"))
    body = r.content.decode()
    assert r.context["who"] == "me" and customer.name in body and other_customer.name not in body
    body = client.get(reverse("collections:index") + "?collector=").content.decode()
    assert customer.name in body and other_customer.name in body
    body = client.get(reverse("collections:index") + "?collector=none").content.decode()
    assert customer.name not in body and other_customer.name in body
    # collectors see every customer (not a scope): the other customer's page is open to them
    assert client.get(reverse("collections:customer", args=[other_customer.pk])).status_code == 200
    # a salesperson filtering by a collector still sees only their own customers
    cs.assign_collector(company=company, customer_ids=[other_customer.pk], collector=li, actor=users["admin"])
    client.force_login(users["sales_east"])
    body = client.get(reverse("collections:index") + f"?collector={li.pk}").content.decode()
    assert customer.name in body and other_customer.name not in body
    r = client.get(reverse("collections:index") + f"?collector={li.pk}&export=xlsx")
    assert r.status_code == 200


def test_bulk_assign_from_the_worklist(client, company, customer, other_customer, overdue, users):
    li = users["collector"]
    client.force_login(users["credit_manager"])
    body = client.get(reverse("collections:index")).content.decode()
    assert 'id="assign"' in body and 'form="assign"' in body
    r = client.post(reverse("collections:assign-collector"),
                    {"customer": [customer.pk, other_customer.pk], "collector": li.pk, "back": "tier=2"})
    assert r.status_code == 302 and r["Location"] == reverse("collections:index") + "?tier=2"
    assert Customer.objects.filter(collector=li).count() == 2
    r = client.post(reverse("collections:assign-collector"), {"customer": [customer.pk], "collector": ""}, follow=True)
    assert Customer.objects.get(pk=customer.pk).collector_id == li.pk  # no collector chosen: nothing changed
    assert any(m.level_tag == "error" for m in r.context["messages"])
    client.post(reverse("collections:assign-collector"), {"customer": [customer.pk], "collector": "none"})
    assert Customer.objects.get(pk=customer.pk).collector_id is None
    client.force_login(li)
    assert 'id="assign"' not in client.get(reverse("collections:index")).content.decode()
    assert client.post(reverse("collections:assign-collector"),
                       {"customer": [customer.pk], "collector": li.pk}).status_code == 403
    assert Customer.objects.get(pk=customer.pk).collector_id is None


def test_assign_one_customer_from_its_collections_page(client, company, customer, users):
    """A customer with nothing overdue is not on the worklist: its own page assigns it."""
    li = users["collector"]
    url = reverse("collections:customer", args=[customer.pk])
    client.force_login(users["credit_manager"])
    assert 'name="next" value="customer"' in client.get(url).content.decode()
    r = client.post(reverse("collections:assign-collector"), {"customer": [customer.pk], "collector": li.pk,
                                                              "next": "customer"})
    assert r.status_code == 302 and r["Location"] == url
    assert Customer.objects.get(pk=customer.pk).collector_id == li.pk
    client.force_login(li)
    body = client.get(url).content.decode()
    assert 'name="next" value="customer"' not in body and f"<b data-collector>{li}</b>" in body


def test_the_collector_role_exists(users):
    assert users["collector"].role == Role.COLLECTOR and users["collector"].can("collections.work")
    assert users["credit_manager"].can("collections.assign") and not users["collector"].can("collections.assign")
