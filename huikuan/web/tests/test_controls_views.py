"""The ledger controls through the web forms (issue 12, points 2–5 and 7): refusals land on the right field in
the user's language, keep what was typed, and an explicit choice (post-dated, keep the rest as credit,
partial red fapiao) goes through."""

import datetime as dt
import uuid
from decimal import Decimal as D

import pytest
from django.urls import reverse

from huikuan.customers.models import Customer
from huikuan.ledger import fapiao as fp
from huikuan.ledger import services as s
from huikuan.ledger.models import Credit, CreditKind, Fapiao, Instalment

pytestmark = pytest.mark.django_db

TODAY = dt.date(2026, 3, 10)


@pytest.fixture(autouse=True)
def _today(time_machine):
    time_machine.move_to(dt.datetime(2026, 3, 10, 2, 0, tzinfo=dt.UTC), tick=False)  # 10:00 in Shanghai


@pytest.fixture
def as_user(client, users):
    def login(name, lang="en"):
        client.force_login(users[name])
        client.cookies["django_language"] = lang
        return client

    return login


def _inv(company, customer, actor, total="10000.00", date=dt.date(2026, 3, 1)):
    return s.post_document(company=company, customer_id=customer.pk, document_date=date, total=D(total), actor=actor)


def _payment(customer, **extra):
    return {"customer": customer.code, "amount": "400", "date": "2026-03-11", "method": "transfer",
            "auto_allocate": "on", "request_key": uuid.uuid4().hex, **extra}


def test_a_post_dated_payment_is_refused_until_confirmed(as_user, customer):
    c = as_user("finance")
    r = c.post(reverse("web:payment-new"), _payment(customer, memo="远期"), headers={"HX-Request": "true"})
    body = r.content.decode()
    assert r.status_code == 422 and not Credit.objects.exists()
    assert "is after today (2026-03-10)" in body and 'id="post-dated"' in body and 'name="post_dated"' in body
    assert 'value="远期"' in body and 'value="2026-03-11"' in body  # what was typed is kept
    r = c.post(reverse("web:payment-new"), _payment(customer, post_dated="on"))
    assert r.status_code == 302 and Credit.objects.get().date == dt.date(2026, 3, 11)


def test_post_dated_error_in_chinese(as_user, customer):
    c = as_user("finance", "zh-hans")
    r = c.post(reverse("web:payment-new"), _payment(customer))
    assert r.status_code == 422
    assert "晚于今天" in r.context["form"].errors["date"][0]


def test_credit_note_limited_to_the_document_unless_the_rest_is_kept(as_user, company, customer, finance):
    doc = _inv(company, customer, finance)
    older = _inv(company, customer, finance, total="500.00", date=dt.date(2026, 2, 1))
    c = as_user("finance")
    data = {"customer": customer.code, "document": doc.number, "amount": "99,999", "date": "2026-03-10",
            "reason": "退货", "apply": "on", "request_key": uuid.uuid4().hex}
    r = c.post(reverse("web:credit-note-new"), data)
    assert r.status_code == 422 and not Credit.objects.exists()
    assert "Only 10000.00 is still open" in r.context["form"].errors["amount"][0]
    c.cookies["django_language"] = "zh-hans"
    r = c.post(reverse("web:credit-note-new"), data)
    assert "仍未结清" in r.context["form"].errors["amount"][0]
    r = c.post(reverse("web:credit-note-new"), {**data, "keep_rest_as_credit": "on"})
    assert r.status_code == 302
    cn = Credit.objects.get(kind=CreditKind.CREDIT_NOTE)
    assert cn.unapplied_amount == D("89999.00")
    assert older.instalments.get().open_amount == D("500.00") and doc.instalments.get().open_amount == 0
    r = c.post(reverse("web:credit-note-new"), {**data, "date": "2026-03-11", "request_key": uuid.uuid4().hex})
    assert r.status_code == 422 and "date" in r.context["form"].errors


def test_fapiao_form_limits_and_partial_red(as_user, company, customer, finance):
    doc = _inv(company, customer, finance)
    c = as_user("finance")
    form = c.get(reverse("web:fapiao-new"), {"document": doc.pk})
    assert form.context["form"].initial["amount"] == D("10000.00")
    data = {"customer": customer.code, "document": doc.number, "number": "F-1", "fapiao_type": "special",
            "issue_date": "2026-03-10", "amount": "15000"}
    r = c.post(reverse("web:fapiao-new"), data)
    assert r.status_code == 422 and "at most 10000.00 more" in r.context["form"].errors["amount"][0]
    r = c.post(reverse("web:fapiao-new"), {**data, "amount": "10000", "issue_date": "2026-03-11"})
    assert r.status_code == 422 and "issue_date" in r.context["form"].errors
    assert c.post(reverse("web:fapiao-new"), {**data, "amount": "10000"}).status_code == 302
    f = Fapiao.objects.get()
    red = c.get(reverse("web:fapiao-red", args=[f.pk]))
    assert red.context["form"].initial["amount"] == D("10000.00")
    r = c.post(reverse("web:fapiao-red", args=[f.pk]), {"red_number": "R-1", "issue_date": "2026-03-10",
                                                         "amount": "10000.01"})
    assert r.status_code == 422 and "amount" in r.context["form"].errors
    r = c.post(reverse("web:fapiao-red", args=[f.pk]), {"red_number": "R-1", "issue_date": "2026-03-10",
                                                         "amount": "2500"})
    assert r.status_code == 302
    f.refresh_from_db()
    assert f.status == "partly_red" and fp.red_left(f) == D("7500.00")
    listing = c.get(reverse("web:fapiao-list")).content.decode()
    assert reverse("web:fapiao-red", args=[f.pk]) in listing  # still reversible
    assert c.get(reverse("web:fapiao-new"), {"document": doc.pk}).context["form"].initial["amount"] == D("2500.00")


def test_bill_honoured_before_maturity_and_duplicate_bill(as_user, company, customer, other_customer, finance):
    c = as_user("finance")
    data = _payment(customer, date="2026-03-10", method="commercial_acceptance", bill_number="2305 0001",
                    bill_acceptor="上海华东机械有限公司", bill_maturity_date="2026-06-10")
    assert c.post(reverse("web:payment-new"), data).status_code == 302
    bill = Credit.objects.get()
    r = c.post(reverse("web:payment-new"), {**data, "customer": other_customer.code, "bill_number": "23050001",
                                            "request_key": uuid.uuid4().hex})
    assert r.status_code == 422 and bill.number in r.context["form"].errors["bill_number"][0]
    r = c.post(reverse("web:payment-instrument", args=[bill.pk]), {"status": "honoured"}, follow=True)
    assert "cannot be honoured before then" in r.content.decode()
    bill.refresh_from_db()
    assert bill.bill_status == "received"


def test_registration_code_checks_the_organisation_code(as_user, users):
    c = as_user("finance")
    data = {"code": "N1", "name": "北京测试有限公司", "currency": "CNY", "status": "active",
            "credit_code": "91330100MA2CFW1X4L"}  # its own check character is right, the embedded one is not
    r = c.post(reverse("web:customer-create"), data)
    assert "organisation code" in r.context["form"].errors["credit_code"][0]
    c.cookies["django_language"] = "zh-hans"
    r = c.post(reverse("web:customer-create"), data)
    assert "组织机构代码" in r.context["form"].errors["credit_code"][0]
    assert not Customer.objects.filter(code="N1").exists()


def test_same_registration_code_warns_on_both_customers(as_user, company, customer, other_customer, users):
    Customer.objects.filter(pk=customer.pk).update(credit_code="91350100M000100Y43")
    c = as_user("finance")
    r = c.post(reverse("web:customer-edit", args=[other_customer.pk]), {
        "code": other_customer.code, "name": other_customer.name, "currency": "CNY", "status": "active",
        "credit_code": "91350100M000100Y43", "owner": users["sales_west"].pk, "version": other_customer.version},
        follow=True)
    body = r.content.decode()
    assert r.status_code == 200 and "same unified social credit code" in body and customer.code in body
    other_customer.refresh_from_db()
    assert other_customer.credit_code == "91350100M000100Y43"  # a warning, not a block
    for mine, twin in ((customer, other_customer), (other_customer, customer)):
        page = c.get(reverse("web:customer-detail", args=[mine.pk])).content.decode()
        assert 'id="same-credit-code"' in page and twin.code in page
    # a salesperson sees that a twin exists, not whose it is
    c = as_user("sales_east")
    page = c.get(reverse("web:customer-detail", args=[customer.pk])).content.decode()
    assert "1 customer you cannot see" in page and other_customer.code not in page


def test_no_warning_without_a_twin(as_user, customer):
    Customer.objects.filter(pk=customer.pk).update(credit_code="91350100M000100Y43")
    page = as_user("finance").get(reverse("web:customer-detail", args=[customer.pk])).content.decode()
    assert 'id="same-credit-code"' not in page
    assert Instalment.objects.count() == 0
