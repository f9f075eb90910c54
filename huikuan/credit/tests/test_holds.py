"""Holds, order rejection, grade_of and the behaviour-source registry (the hooks other apps call)."""

import datetime as dt
from decimal import Decimal as D

import pytest

from huikuan.common.errors import NotAllowed
from huikuan.common.models import AuditEvent
from huikuan.credit import services, signals
from huikuan.credit.errors import UnknownCustomer
from huikuan.credit.models import CreditProfile, HoldSource, Notification, OrderStatus, SalesOrder
from huikuan.credit.selectors import grade_of

pytestmark = pytest.mark.django_db


def test_manual_hold_placed_and_released_with_timeline_events(company, users, customer):
    cm = users["credit_manager"]
    services.place_hold(company=company, customer_id=customer.pk, reason="cheque bounced", source="manual", actor=cm)
    p = CreditProfile.objects.get(customer=customer)
    assert (p.on_hold, p.hold_source, p.hold_reason) == (True, "manual", "cheque bounced")
    services.release_hold(company=company, customer_id=customer.pk, reason="paid", source="manual", actor=cm)
    p.refresh_from_db()
    assert not p.on_hold and p.hold_source == ""
    verbs = list(AuditEvent.objects.filter(customer_id=customer.pk).order_by("id").values_list("verb", flat=True))
    assert verbs == ["credit.hold.placed", "credit.hold.released"]


def test_manual_hold_needs_permission_and_a_reason(company, users, customer):
    with pytest.raises(NotAllowed):
        services.place_hold(company=company, customer_id=customer.pk, reason="x", source="manual", actor=users["sales_east"])
    with pytest.raises(Exception, match="reason"):
        services.place_hold(company=company, customer_id=customer.pk, reason=" ", source="manual", actor=users["admin"])
    assert not CreditProfile.objects.filter(customer=customer, on_hold=True).exists()


def test_automatic_source_lifts_only_its_own_hold(company, users, customer):
    services.place_hold(company=company, customer_id=customer.pk, reason="bounced", source="manual", actor=users["admin"])
    services.release_hold(company=company, customer_id=customer.pk, reason="cleared", source="dunning", actor=None)
    assert CreditProfile.objects.get(customer=customer).on_hold
    services.release_hold(company=company, customer_id=customer.pk, reason="ok", source="manual", actor=users["admin"])
    services.place_hold(company=company, customer_id=customer.pk, reason="step 3", source="dunning", actor=None)
    services.release_hold(company=company, customer_id=customer.pk, reason="paid", source="dunning", actor=None)
    assert not CreditProfile.objects.get(customer=customer).on_hold


def test_unknown_customer_and_source(company, users, other_customer):
    from huikuan.accounts.models import Company

    elsewhere = Company.objects.create(code="X9", name="Other")
    with pytest.raises(UnknownCustomer):
        services.place_hold(company=elsewhere, customer_id=other_customer.pk, reason="x", source="automatic", actor=None)
    with pytest.raises(Exception, match="source"):
        services.place_hold(company=company, customer_id=other_customer.pk, reason="x", source="magic", actor=None)


def test_reject_open_orders_rejects_open_and_held_and_notifies(company, users, customer, as_of):
    sales = users["sales_east"]
    services.policy_of(company)
    CreditProfile.objects.create(company=company, customer=customer, limit_amount=D("1000"))
    a = services.submit_order(company=company, customer_id=customer.pk, reference="SO-1", amount="600", as_of=as_of, actor=sales)
    b = services.submit_order(company=company, customer_id=customer.pk, reference="SO-2", amount="600", as_of=as_of, actor=sales)
    assert (a.order.status, b.order.status) == (OrderStatus.OPEN, OrderStatus.HELD)
    n = services.reject_open_orders(company=company, customer_id=customer.pk, reason="legal case", actor=users["legal"])
    assert n == 2
    assert set(SalesOrder.objects.values_list("status", flat=True)) == {"rejected"}
    assert Notification.objects.filter(user=sales).count() == 2
    assert services.reject_open_orders(company=company, customer_id=customer.pk, reason="again", actor=None) == 0


def test_grade_of(company, customer):
    assert grade_of(customer) is None
    CreditProfile.objects.create(company=company, customer=customer, grade="AA")
    assert grade_of(customer) == "AA"


def test_behaviour_registry_sums_sources(company, customer, other_customer):
    day = dt.date(2026, 3, 2)
    assert signals.behaviour(company, [customer.pk], day) == {customer.pk: {"broken_promises": 0, "disputes": 0}}

    def src(company, ids, as_of):
        return {customer.pk: {"broken_promises": 2, "disputes": 1}}

    signals.register_behaviour_source(src)
    try:
        got = signals.behaviour(company, [customer.pk, other_customer.pk], day)
        assert got[customer.pk] == {"broken_promises": 2, "disputes": 1}
        assert got[other_customer.pk] == {"broken_promises": 0, "disputes": 0}
    finally:
        signals.unregister_behaviour_source(src)


def test_hold_sources_are_the_documented_ones():
    assert set(HoldSource.values) == {"manual", "automatic", "dunning", "playbook"}
