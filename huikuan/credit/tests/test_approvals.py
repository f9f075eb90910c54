"""Maker-checker requests, policy validation, profile edits and third-party reports."""

import datetime as dt
from decimal import Decimal as D

import pytest

from huikuan.common.errors import NotAllowed
from huikuan.common.models import AuditEvent
from huikuan.credit import services
from huikuan.credit.errors import AboveGradeMaximum, PolicyInvalid, SelfApproval, UnknownCustomer
from huikuan.credit.models import CreditProfile, Grade, Notification, RequestStatus, ThirdPartyReport

pytestmark = pytest.mark.django_db
DAY = dt.date(2026, 3, 2)


@pytest.fixture
def graded(company, customer):
    services.policy_of(company)
    return CreditProfile.objects.create(company=company, customer=customer, grade="B", limit_amount=D("1000"))


def test_limit_increase_approved_by_someone_else(company, users, customer, graded):
    req = services.request_change(company=company, customer_id=customer.pk, kind="limit", reason="growing",
                                  actor=users["sales_east"], as_of=DAY, limit_amount="50000")
    assert req.status == "pending" and not req.needs_second
    with pytest.raises(NotAllowed):
        services.decide_request(company=company, request_id=req.pk, approve=True, actor=users["sales_east"], as_of=DAY)
    services.decide_request(company=company, request_id=req.pk, approve=True, actor=users["credit_manager"], as_of=DAY)
    p = CreditProfile.objects.get(pk=graded.pk)
    assert p.limit_amount == D("50000.00") and p.valid_from == DAY
    verbs = set(AuditEvent.objects.filter(customer_id=customer.pk).values_list("verb", flat=True))
    assert {"credit.request.created", "credit.request.approved", "credit.limit.changed"} <= verbs
    assert Notification.objects.filter(user=users["sales_east"]).exists()


def test_self_approval_refused_and_nothing_changes(company, users, customer, graded):
    cm = users["credit_manager"]
    req = services.request_change(company=company, customer_id=customer.pk, kind="limit", reason="x", actor=cm,
                                  as_of=DAY, limit_amount="2000")
    with pytest.raises(SelfApproval):
        services.decide_request(company=company, request_id=req.pk, approve=True, actor=cm, as_of=DAY)
    req.refresh_from_db()
    assert req.status == RequestStatus.PENDING
    assert CreditProfile.objects.get(pk=graded.pk).limit_amount == D("1000.00")


def test_above_threshold_needs_a_second_different_approver(company, cusers, customer):
    users = cusers
    services.policy_of(company)
    CreditProfile.objects.create(company=company, customer=customer, grade="AAA")
    req = services.request_change(company=company, customer_id=customer.pk, kind="limit", reason="big", as_of=DAY,
                                  actor=users["sales_east"], limit_amount="600000", exception=True)
    assert req.needs_second
    services.decide_request(company=company, request_id=req.pk, approve=True, actor=users["credit_manager"], as_of=DAY)
    req.refresh_from_db()
    assert req.status == RequestStatus.PARTLY
    assert CreditProfile.objects.get(customer=customer).limit_amount == 0
    with pytest.raises(SelfApproval):
        services.decide_request(company=company, request_id=req.pk, approve=True, actor=users["credit_manager"], as_of=DAY)
    services.decide_request(company=company, request_id=req.pk, approve=True, actor=users["admin"], as_of=DAY)
    assert CreditProfile.objects.get(customer=customer).limit_amount == D("600000.00")


def test_second_approval_needs_admin(company, users, customer):
    from huikuan.accounts.models import Role, User

    cm2 = User.objects.create_user(username="cm2", password="pw-123456", role=Role.CREDIT_MANAGER)
    cm2.companies.add(company)
    services.policy_of(company)
    CreditProfile.objects.create(company=company, customer=customer, grade="AAA")
    req = services.request_change(company=company, customer_id=customer.pk, kind="limit", reason="big", as_of=DAY,
                                  actor=users["sales_east"], limit_amount="700000", exception=True)
    services.decide_request(company=company, request_id=req.pk, approve=True, actor=users["credit_manager"], as_of=DAY)
    with pytest.raises(NotAllowed):
        services.decide_request(company=company, request_id=req.pk, approve=True, actor=cm2, as_of=DAY)


def test_above_grade_maximum_only_as_exception(company, users, customer, graded):
    with pytest.raises(AboveGradeMaximum):  # B: at most 500,000 (no sales yet, so no months-of-sales cap)
        services.request_change(company=company, customer_id=customer.pk, kind="limit", reason="x", as_of=DAY,
                                actor=users["sales_east"], limit_amount="500000.01")
    with pytest.raises(AboveGradeMaximum):  # B: terms at most 30 days
        services.request_change(company=company, customer_id=customer.pk, kind="terms", reason="x", as_of=DAY,
                                actor=users["sales_east"], terms_days=45)
    req = services.request_change(company=company, customer_id=customer.pk, kind="terms", reason="x", as_of=DAY,
                                  actor=users["sales_east"], terms_days=45, exception=True)
    assert req.exception and req.needs_second
    ok = services.request_change(company=company, customer_id=customer.pk, kind="terms", reason="x", as_of=DAY,
                                 actor=users["sales_east"], terms_days=30)
    services.decide_request(company=company, request_id=ok.pk, approve=True, actor=users["credit_manager"], as_of=DAY)
    assert CreditProfile.objects.get(pk=graded.pk).terms_days == 30


def test_grade_override_and_hold_release_requests(company, users, customer, graded):
    req = services.request_change(company=company, customer_id=customer.pk, kind="grade", reason="parent guarantee",
                                  actor=users["sales_east"], as_of=DAY, grade="AA")
    services.decide_request(company=company, request_id=req.pk, approve=True, actor=users["credit_manager"], as_of=DAY)
    p = CreditProfile.objects.get(pk=graded.pk)
    assert (p.grade, p.grade_override) == ("AA", True)
    services.place_hold(company=company, customer_id=customer.pk, reason="x", source="manual", actor=users["admin"])
    req = services.request_change(company=company, customer_id=customer.pk, kind="hold_release", reason="paid",
                                  actor=users["sales_east"], as_of=DAY)
    services.decide_request(company=company, request_id=req.pk, approve=False, actor=users["credit_manager"],
                            note="not yet", as_of=DAY)
    assert CreditProfile.objects.get(pk=graded.pk).on_hold
    req = services.request_change(company=company, customer_id=customer.pk, kind="hold_release", reason="paid",
                                  actor=users["sales_east"], as_of=DAY)
    services.decide_request(company=company, request_id=req.pk, approve=True, actor=users["credit_manager"], as_of=DAY)
    assert not CreditProfile.objects.get(pk=graded.pk).on_hold


def test_salesperson_cannot_edit_limit_and_nobody_raises_it_directly(company, users, customer, graded):
    kw = dict(company=company, customer_id=customer.pk, next_review_date=None, guarantees="", guarantee_amount="0",
              collateral="", collateral_amount="0")
    with pytest.raises(NotAllowed):
        services.update_profile(actor=users["sales_east"], limit_amount="1", **kw)
    with pytest.raises(NotAllowed):
        services.update_profile(actor=users["credit_manager"], limit_amount="5000", **kw)
    assert CreditProfile.objects.get(pk=graded.pk).limit_amount == D("1000.00")
    services.update_profile(actor=users["credit_manager"], limit_amount="500", **{**kw, "guarantees": "parent"})
    p = CreditProfile.objects.get(pk=graded.pk)
    assert p.limit_amount == D("500.00") and p.guarantees == "parent"


def _grades(**changes):
    rows = [services.GradeInput(c, lo, hi) for c, lo, hi, *_ in services.DEFAULT_GRADES]
    return rows


def test_policy_bands_overlap_or_gap_refused(company, users):
    services.policy_of(company)
    rows = _grades()
    bad = [services.GradeInput("AAA", 85, 100), *rows[1:]]  # overlaps AA 80–89
    with pytest.raises(PolicyInvalid, match="overlap"):
        services.save_policy(company=company, actor=users["credit_manager"], mode="hard", approval_threshold_amount="1",
                             grades=bad)
    gap = [services.GradeInput("AAA", 91, 100), *rows[1:]]
    with pytest.raises(PolicyInvalid, match="90-90"):
        services.save_policy(company=company, actor=users["credit_manager"], mode="hard", approval_threshold_amount="1",
                             grades=gap)
    assert Grade.objects.get(code="AAA").min_score == 90
    with pytest.raises(NotAllowed):
        services.save_policy(company=company, actor=users["finance"], mode="soft", approval_threshold_amount="1", grades=rows)
    services.save_policy(company=company, actor=users["credit_manager"], mode="soft", approval_threshold_amount="100000",
                         grades=[services.GradeInput("A", 50, 100, max_terms_days=60), services.GradeInput("B", 0, 49)])
    assert list(Grade.objects.values_list("code", flat=True)) == ["A", "B"]


def test_reports_by_hand_and_csv(company, users, customer):
    cm = users["credit_manager"]
    services.add_report(company=company, actor=cm, provider="天眼查", report_date=DAY, score=77, rating="A",
                        customer_id=customer.pk)
    with pytest.raises(UnknownCustomer):
        services.add_report(company=company, actor=cm, provider="x", report_date=DAY, score=1, customer_code="NOPE")
    with pytest.raises(Exception, match="line 3"):
        services.import_reports(company=company, actor=cm, rows=[
            {"line": 2, "customer": customer.code, "provider": "企查查", "date": DAY, "score": "60"},
            {"line": 3, "customer": "NOPE", "provider": "企查查", "date": DAY, "score": "60"},
        ])
    assert ThirdPartyReport.objects.count() == 1
    n = services.import_reports(company=company, actor=cm, rows=[
        {"line": 2, "customer": customer.code, "provider": "企查查", "date": DAY, "score": "60", "rating": "BB"}])
    assert n == 1 and ThirdPartyReport.objects.count() == 2
    with pytest.raises(Exception, match="0 to 100"):
        services.add_report(company=company, actor=cm, provider="x", report_date=DAY, score=101, customer_id=customer.pk)


def test_months_of_sales_cap(company, finance, users, customer, graded):
    from .conftest import invoice

    for m in range(1, 4):  # 36,000 invoiced in 12 months → 3,000 a month; B allows 1 month
        invoice(company, customer, finance, amount="12000.00", date=dt.date(2026, m, 1))
    with pytest.raises(AboveGradeMaximum):
        services.request_change(company=company, customer_id=customer.pk, kind="limit", reason="x", as_of=DAY,
                                actor=users["sales_east"], limit_amount="3000.01")
    services.request_change(company=company, customer_id=customer.pk, kind="limit", reason="x", as_of=DAY,
                            actor=users["sales_east"], limit_amount="3000")
