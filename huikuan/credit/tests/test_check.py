"""Credit check, orders and the hold queue."""

import datetime as dt
from decimal import Decimal as D

import pytest

from huikuan.common.errors import NotAllowed
from huikuan.common.models import AuditEvent
from huikuan.credit import selectors, services
from huikuan.credit.errors import CreditError, OrderNotOpen, UnknownCustomer
from huikuan.credit.models import CreditPolicy, CreditProfile, Mode, Notification, OrderStatus, SalesOrder

from .conftest import invoice, pay

pytestmark = pytest.mark.django_db
DAY = dt.date(2026, 3, 2)


@pytest.fixture
def limited(company, customer):
    services.policy_of(company)
    return CreditProfile.objects.create(company=company, customer=customer, limit_amount=D("10000"), grade="A",
                                        valid_to=dt.date(2026, 12, 31), next_review_date=dt.date(2026, 6, 1))


def codes(result):
    return [r.code for r in result.reasons]


def test_exposure_is_open_ar_plus_open_orders_minus_unapplied(company, finance, users, customer, limited):
    invoice(company, customer, finance, amount="3000.00", date=dt.date(2026, 2, 20))
    pay(company, customer, finance, amount="500.00", date=dt.date(2026, 2, 21))  # applied oldest-first
    services.submit_order(company=company, customer_id=customer.pk, reference="SO-1", amount="1000", as_of=DAY,
                          actor=users["sales_east"])
    from huikuan.ledger import services as ledger
    ledger.record_payment(company=company, customer_id=customer.pk, amount=D("200"), date=DAY, actor=finance,
                          auto_allocate=False)
    r = services.check_credit(company=company, customer_id=customer.pk, amount="100", as_of=DAY)
    assert r.exposure_amount == D("2500.00") + D("1000.00") - D("200.00")
    assert r.available_amount == D("10000.00") - r.exposure_amount
    assert r.outcome == "approve" and r.reasons == ()


def test_over_limit_holds_in_hard_mode_and_warns_in_soft(company, users, customer, limited):
    r = services.check_credit(company=company, customer_id=customer.pk, amount="10000.01", as_of=DAY)
    assert r.outcome == "hold" and codes(r) == ["over_limit"] and "0.01" in str(r.reasons[0].message)
    assert services.check_credit(company=company, customer_id=customer.pk, amount="10000", as_of=DAY).outcome == "approve"
    CreditPolicy.objects.filter(company=company).update(mode=Mode.SOFT)
    assert services.check_credit(company=company, customer_id=customer.pk, amount="20000", as_of=DAY).outcome == "warn"


def test_every_reason(company, finance, users, customer, limited):
    invoice(company, customer, finance, amount="100.00", date=dt.date(2025, 12, 1), due=dt.date(2026, 1, 1))
    CreditProfile.objects.filter(pk=limited.pk).update(valid_to=dt.date(2026, 3, 1), next_review_date=dt.date(2026, 3, 1),
                                                       grade="D")
    services.place_hold(company=company, customer_id=customer.pk, reason="bounced", source="manual", actor=users["admin"])
    r = services.check_credit(company=company, customer_id=customer.pk, amount="50", as_of=DAY)
    assert r.outcome == "hold"
    assert set(codes(r)) == {"limit_expired", "over_limit", "on_hold_manual", "prepayment_required", "overdue",
                             "review_overdue"}
    overdue = next(x for x in r.reasons if x.code == "overdue")
    assert overdue.severity == "hold" and "60" in str(overdue.message)  # D holds after 0 days
    assert r.available_amount < 0


def test_overdue_within_rule_only_warns(company, finance, customer, limited):
    invoice(company, customer, finance, amount="100.00", date=dt.date(2026, 1, 6), due=dt.date(2026, 2, 20))  # 45 days: grade A's maximum
    r = services.check_credit(company=company, customer_id=customer.pk, amount="50", as_of=DAY)
    assert r.outcome == "warn" and codes(r) == ["overdue"]  # 10 days, grade A holds after 30


def test_unknown_or_out_of_scope_customer(company, users, customer, other_customer):
    with pytest.raises(UnknownCustomer):
        services.check_credit(company=company, customer_id=999999, amount="1", as_of=DAY)
    with pytest.raises(UnknownCustomer):
        services.check_credit(company=company, customer_id=other_customer.pk, amount="1", as_of=DAY,
                              actor=users["sales_east"])
    with pytest.raises(CreditError):
        services.check_credit(company=company, customer_id=customer.pk, amount="-5", as_of=DAY)


def test_order_reserves_credit_and_update_rechecks(company, users, customer, limited):
    s = users["sales_east"]
    a = services.submit_order(company=company, customer_id=customer.pk, reference="SO-1", amount="8000", as_of=DAY, actor=s)
    assert a.outcome == "approve" and a.order.status == OrderStatus.OPEN
    b = services.submit_order(company=company, customer_id=customer.pk, reference="SO-2", amount="3000", as_of=DAY, actor=s)
    assert b.outcome == "hold" and b.order.status == OrderStatus.HELD and "1,000.00" in str(b.reasons[0].message)
    # lowering SO-1 frees credit; re-submitting SO-2 now passes
    services.submit_order(company=company, customer_id=customer.pk, reference="SO-1", amount="7000", as_of=DAY, actor=s)
    c = services.submit_order(company=company, customer_id=customer.pk, reference="SO-2", amount="3000", as_of=DAY, actor=s)
    assert c.order.status == OrderStatus.OPEN and c.order.pk == b.order.pk
    services.set_order_status(company=company, order_id=c.order.pk, status="invoiced", actor=users["finance"])
    with pytest.raises(OrderNotOpen):
        services.submit_order(company=company, customer_id=customer.pk, reference="SO-2", amount="1", as_of=DAY, actor=s)


def test_salesperson_cannot_order_for_others_customer(company, users, other_customer):
    with pytest.raises(UnknownCustomer):
        services.submit_order(company=company, customer_id=other_customer.pk, reference="X", amount="1", as_of=DAY,
                              actor=users["sales_east"])
    with pytest.raises(NotAllowed):
        services.submit_order(company=company, customer_id=other_customer.pk, reference="X", amount="1", as_of=DAY,
                              actor=users["auditor"])
    assert not SalesOrder.objects.exists()


def test_queue_release_partial_prepayment_reject(company, users, customer, limited):
    s, cm = users["sales_east"], users["credit_manager"]
    orders = [services.submit_order(company=company, customer_id=customer.pk, reference=f"H{i}", amount="20000",
                                    as_of=DAY, actor=s).order for i in range(4)]
    assert all(o.status == "held" for o in orders)
    with pytest.raises(NotAllowed):
        services.decide_held_order(company=company, order_id=orders[0].pk, action="release", reason="ok", actor=s)
    with pytest.raises(CreditError):
        services.decide_held_order(company=company, order_id=orders[0].pk, action="release", reason="", actor=cm)
    with pytest.raises(CreditError):
        services.decide_held_order(company=company, order_id=orders[0].pk, action="partial", reason="x", amount="20000",
                                   actor=cm)
    services.decide_held_order(company=company, order_id=orders[0].pk, action="partial", reason="half now",
                               amount="8000", actor=cm)
    services.decide_held_order(company=company, order_id=orders[1].pk, action="prepayment", reason="pay first", actor=cm)
    services.decide_held_order(company=company, order_id=orders[2].pk, action="reject", reason="no", actor=cm)
    services.decide_held_order(company=company, order_id=orders[3].pk, action="release", reason="CFO ok", actor=cm)
    got = {o.reference: (o.status, o.amount, o.requested_amount, o.prepayment_requested)
           for o in SalesOrder.objects.all()}
    assert got == {"H0": ("open", D("8000.00"), D("20000.00"), False), "H1": ("held", D("20000.00"), D("20000.00"), True),
                   "H2": ("rejected", D("20000.00"), D("20000.00"), False), "H3": ("open", D("20000.00"), D("20000.00"), False),
                   # the unreleased 12,000 of H0 stays on hold, in the queue, as its own order
                   "H0-R1": ("held", D("12000.00"), D("12000.00"), False)}
    rest = SalesOrder.objects.get(reference="H0-R1")
    assert rest.split_from_id == orders[0].pk and rest.requested_by == s and rest.check_reasons == orders[0].check_reasons
    assert rest in selectors.hold_queue(user=cm, company=company)
    with pytest.raises(OrderNotOpen):
        services.decide_held_order(company=company, order_id=orders[3].pk, action="reject", reason="late", actor=cm)
    notes = list(Notification.objects.filter(user=s).values_list("message", flat=True))
    assert len(notes) == 4 and any("8,000.00" in str(n) and "12,000.00" in str(n) and "H0-R1" in str(n) for n in notes)
    assert AuditEvent.objects.filter(customer_id=customer.pk, verb="credit.order.partly_released").exists()
