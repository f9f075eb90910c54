import datetime as dt
from decimal import Decimal as D

import pytest

from huikuan.credit import services
from huikuan.credit.models import CreditProfile, CreditRequest, RequestStatus
from huikuan.ledger import services as ledger


@pytest.fixture
def as_of():
    return dt.date(2026, 3, 2)


def invoice(company, customer, actor, *, amount, date, due=None):
    """Post an invoice with one instalment due ``due`` (defaults to date + 30)."""
    return ledger.post_document(
        company=company, customer_id=customer.pk, document_date=date, actor=actor, total=D(amount),
        lines=[ledger.LineInput("goods", D(amount))],
        schedule=[ledger.ScheduleInput(due or date + dt.timedelta(days=30), D(amount))],
    )


def pay(company, customer, actor, *, amount, date):
    return ledger.record_payment(company=company, customer_id=customer.pk, amount=D(amount), date=date, actor=actor)


def set_limit(company, customer, users, limit, *, as_of, grade="", valid_to=None):
    """Give the customer a limit through the approval flow (credit manager asks, admin approves)."""
    if grade:
        CreditProfile.objects.update_or_create(company=company, customer=customer, defaults={"grade": grade})
    req = services.request_change(company=company, customer_id=customer.pk, kind="limit", reason="setup",
                                  actor=users["credit_manager"], as_of=as_of, limit_amount=D(limit), valid_to=valid_to,
                                  exception=True)
    req = services.decide_request(company=company, request_id=req.pk, approve=True, actor=users["admin"], as_of=as_of)
    if req.status == RequestStatus.PARTLY:
        other = users["admin2"] if "admin2" in users else None
        assert other is not None
        services.decide_request(company=company, request_id=req.pk, approve=True, actor=other, as_of=as_of)
    assert CreditRequest.objects.get(pk=req.pk).status == RequestStatus.APPROVED
    return CreditProfile.objects.get(company=company, customer=customer)


@pytest.fixture
def cusers(users, company):
    """users plus a second administrator for two-step approvals."""
    from huikuan.accounts.models import Role, User

    u = User.objects.create_user(username="admin2", password="pw-123456", role=Role.ADMIN, display_name="admin2")
    u.companies.add(company)
    return {**users, "admin2": u}


@pytest.fixture(autouse=True)
def _english():
    """Tests match English messages; the default language (zh-hans) is covered by the catalog test."""
    from django.utils import translation

    with translation.override("en"):
        yield
