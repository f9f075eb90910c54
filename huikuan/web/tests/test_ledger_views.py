import datetime as dt
import uuid
from decimal import Decimal as D

import pytest
from django.urls import reverse

from huikuan.common import clock
from huikuan.ledger import fapiao as fp
from huikuan.ledger import services as s
from huikuan.ledger.models import (
    Allocation,
    Credit,
    CreditKind,
    Fapiao,
    Instalment,
    ReceivableDocument,
    Status,
    WriteOffRequest,
    WriteOffStatus,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def as_user(client, users):
    def login(name):
        client.force_login(users[name])
        client.cookies["django_language"] = "en"
        return client

    return login


def _doc_post(customer, **extra):
    data = {
        "customer": customer.code, "kind": "invoice", "number": "", "document_date": "2026-03-02", "currency": "",
        "salesperson": "", "payment_term": "", "reference": "PO-1", "description": "pumps", "total": "1,234.50",
        "request_key": uuid.uuid4().hex,
    }
    data.update(extra)
    return data


def _inv(company, customer, actor, total="1000.00", date=dt.date(2026, 1, 5), **kw):
    return s.post_document(company=company, customer_id=customer.pk, document_date=date, total=D(total), actor=actor, **kw)


# ---------------------------------------------------------------- documents


def test_post_invoice_through_the_form_derives_the_schedule(as_user, customer):
    c = as_user("finance")
    r = c.post(reverse("web:document-new"), _doc_post(customer))
    doc = ReceivableDocument.objects.get()
    assert r.status_code == 302 and r["Location"] == reverse("web:document-detail", args=[doc.pk])
    assert doc.total_amount == D("1234.50") and doc.reference == "PO-1"
    (inst,) = doc.instalments.all()
    assert inst.due_date == dt.date(2026, 4, 1) and inst.amount == D("1234.50")  # customer's Net 30
    page = c.get(r["Location"])
    assert page.status_code == 200 and doc.number in page.content.decode()


def test_post_invoice_with_edited_schedule_and_lines(as_user, customer):
    c = as_user("finance")
    data = _doc_post(customer, total="")
    data.update({
        "line_description": ["pump", "valve", ""], "line_quantity": ["2", "", ""], "line_unit_price": ["300", "", ""],
        "line_amount": ["", "１００.００", ""],  # qty × price; full-width digits
        "sched_due": ["2026-03-10", "2026-05-10", ""], "sched_amount": ["200.00", "500.00", ""],
        "sched_discount": ["", "", ""], "sched_discount_date": ["", "", ""],
    })
    r = c.post(reverse("web:document-new"), data)
    assert r.status_code == 302, r.content.decode()[:2000]
    doc = ReceivableDocument.objects.get()
    assert doc.total_amount == D("700.00")
    assert [ln.amount for ln in doc.lines.all()] == [D("600.00"), D("100.00")]
    assert [(i.due_date, i.amount) for i in doc.instalments.order_by("seq")] == [
        (dt.date(2026, 3, 10), D("200.00")), (dt.date(2026, 5, 10), D("500.00"))
    ]


def test_schedule_not_summing_to_total_is_refused_and_nothing_stored(as_user, customer):
    c = as_user("finance")
    data = _doc_post(customer, total="1000.00", sched_due=["2026-03-10", "2026-05-10"],
                     sched_amount=["400.00", "500.00"])
    r = c.post(reverse("web:document-new"), data)
    assert r.status_code == 422
    form = r.context["form"]
    assert "schedule" in form.errors and "add up to 900.00" in form.errors["schedule"][0]
    assert not ReceivableDocument.objects.exists() and not Instalment.objects.exists()
    assert 'value="400.00"' in r.content.decode()  # the typed rows come back for correction
    # htmx: only the form fragment, still 422
    r = c.post(reverse("web:document-new"), data, headers={"HX-Request": "true"})
    assert r.status_code == 422 and b"<html" not in r.content and b"document-form" in r.content


def test_preview_schedule_shows_editable_rows(as_user, company, customer):
    from huikuan.customers.models import PaymentTerm

    split = PaymentTerm.objects.create(company=company, code="S37", name="30/70", kind="split",
                                       split_lines=[{"percent": "30", "days": 0}, {"percent": "70", "days": 60}])
    c = as_user("finance")
    r = c.post(reverse("web:document-preview-schedule"), _doc_post(customer, total="100.01", payment_term=split.pk),
               headers={"HX-Request": "true"})
    body = r.content.decode()
    assert r.status_code == 200
    assert 'name="sched_amount" value="30.00"' in body and 'name="sched_amount" value="70.01"' in body
    assert 'value="2026-05-01"' in body
    r = c.post(reverse("web:document-preview-schedule"), _doc_post(customer, total=""), headers={"HX-Request": "true"})
    assert r.status_code == 422 and "Enter the total" in r.content.decode()
    r = c.post(reverse("web:document-preview-schedule"), _doc_post(customer, total="10.005"), headers={"HX-Request": "true"})
    assert r.status_code == 422 and "more decimals" in r.content.decode()


def test_double_submit_with_same_request_key_has_one_effect(as_user, customer):
    c = as_user("finance")
    data = _doc_post(customer)
    first = c.post(reverse("web:document-new"), data)
    second = c.post(reverse("web:document-new"), data, follow=True)
    doc = ReceivableDocument.objects.get()
    assert first["Location"] == second.redirect_chain[-1][0] == reverse("web:document-detail", args=[doc.pk])
    assert "already submitted" in second.content.decode()
    customer.refresh_from_db()
    assert customer.open_amount == D("1234.50")
    # the same for a payment
    pay = {"customer": customer.code, "amount": "10", "date": "2026-03-03", "method": "transfer",
           "auto_allocate": "on", "request_key": "same-key"}
    c.post(reverse("web:payment-new"), pay)
    c.post(reverse("web:payment-new"), pay)
    assert Credit.objects.filter(kind=CreditKind.PAYMENT).count() == 1


def test_reverse_document_needs_reason_and_twice_is_refused(as_user, company, customer, finance):
    doc = _inv(company, customer, finance)
    c = as_user("finance")
    r = c.post(reverse("web:document-reverse", args=[doc.pk]), {"reason": ""})
    assert r.status_code == 422
    r = c.post(reverse("web:document-reverse", args=[doc.pk]), {"reason": "duplicate entry"})
    assert r.status_code == 302
    doc.refresh_from_db()
    assert doc.status == Status.REVERSED
    r = c.post(reverse("web:document-reverse", args=[doc.pk]), {"reason": "again"})
    assert r.status_code == 422 and "already been reversed" in r.content.decode()


# ---------------------------------------------------------------- payments


def test_record_payment_auto_allocates_oldest_first(as_user, company, customer, finance):
    old = _inv(company, customer, finance, "300.00", date=dt.date(2026, 1, 1))
    new = _inv(company, customer, finance, "500.00", date=dt.date(2026, 2, 1))
    c = as_user("finance")
    r = c.post(reverse("web:payment-new"), {
        "customer": customer.code, "amount": "400", "date": "2026-03-01", "method": "transfer",
        "auto_allocate": "on", "request_key": uuid.uuid4().hex,
    })
    pay = Credit.objects.get(kind=CreditKind.PAYMENT)
    assert r.status_code == 302 and r["Location"] == reverse("web:payment-detail", args=[pay.pk])
    assert pay.unapplied_amount == 0
    assert old.instalments.get().open_amount == 0 and new.instalments.get().open_amount == D("400.00")
    page = c.get(r["Location"])
    assert old.number in page.content.decode() and new.number in page.content.decode()


def test_acceptance_bill_fields_are_required(as_user, customer):
    c = as_user("finance")
    data = {"customer": customer.code, "amount": "400", "date": "2026-03-01", "method": "bank_acceptance",
            "request_key": uuid.uuid4().hex}
    r = c.post(reverse("web:payment-new"), data)
    assert r.status_code == 422 and "bill_number" in r.context["form"].errors
    data.update(bill_number="1304 5678", bill_acceptor="工商银行", bill_maturity_date="2026-08-01")
    r = c.post(reverse("web:payment-new"), data)
    assert r.status_code == 302
    pay = Credit.objects.get()
    assert pay.bill_number == "13045678" and pay.bill_status == "received" and pay.unapplied_amount == D("400.00")


def test_cheque_payment_and_htmx_validation_fragment(as_user, customer):
    c = as_user("finance")
    data = {"customer": customer.code, "amount": "1.005", "date": "2026-03-01", "method": "cheque",
            "cheque_number": "CHQ-778", "request_key": uuid.uuid4().hex}
    r = c.post(reverse("web:payment-new"), data, headers={"HX-Request": "true"})
    assert r.status_code == 422 and b"<html" not in r.content and b"payment-form" in r.content
    assert "more decimals" in r.content.decode()
    assert not Credit.objects.exists()
    data["amount"] = "１,２００.５０"
    r = c.post(reverse("web:payment-new"), data, headers={"HX-Request": "true"})
    pay = Credit.objects.get()
    assert r.status_code == 200 and r["HX-Redirect"] == reverse("web:payment-detail", args=[pay.pk])
    assert pay.amount == D("1200.50") and pay.reference == "CHQ-778" and pay.cheque_status == "pending"
    assert pay.unapplied_amount == D("1200.50")  # nothing open to apply it to


def test_manual_apply_and_over_allocation_refused(as_user, company, customer, finance):
    doc = _inv(company, customer, finance, "300.00")
    (inst,) = doc.instalments.all()
    pay = s.record_payment(company=company, customer_id=customer.pk, amount=D("200.00"), date=dt.date(2026, 2, 1),
                           actor=finance, auto_allocate=False)
    c = as_user("finance")
    url = reverse("web:payment-apply", args=[pay.pk])
    assert c.get(url).status_code == 200
    r = c.post(url, {"mode": "manual", f"amt_{inst.pk}": "250.00"})
    assert r.status_code == 422
    assert "more than the 200.00 unapplied" in r.context["form"].errors["plan"][0]  # all totals checked before the service
    assert not Allocation.objects.exists()
    r = c.post(url, {"mode": "manual", f"amt_{inst.pk}": "150.00"}, headers={"HX-Request": "true"})
    assert r.status_code == 200 and r["HX-Redirect"] == reverse("web:payment-detail", args=[pay.pk])
    inst.refresh_from_db()
    pay.refresh_from_db()
    assert inst.open_amount == D("150.00") and pay.unapplied_amount == D("50.00")
    r = c.post(url, {"mode": "auto"})
    assert r.status_code == 302
    inst.refresh_from_db()
    assert inst.open_amount == D("100.00")


def test_reverse_allocation_and_payment_twice_refused(as_user, company, customer, finance):
    _inv(company, customer, finance, "300.00")
    pay = s.record_payment(company=company, customer_id=customer.pk, amount=D("100.00"), date=dt.date(2026, 2, 1),
                           actor=finance)
    alloc = Allocation.objects.get()
    c = as_user("finance")
    r = c.post(reverse("web:allocation-reverse", args=[pay.pk, alloc.pk]), {"reason": "wrong invoice"})
    assert r.status_code == 302
    pay.refresh_from_db()
    assert pay.unapplied_amount == D("100.00")
    r = c.post(reverse("web:allocation-reverse", args=[pay.pk, alloc.pk]), {"reason": "again"})
    assert r.status_code == 422 and "already been reversed" in r.content.decode()
    r = c.post(reverse("web:payment-reverse", args=[pay.pk]), {"reason": "bounced"})
    assert r.status_code == 302
    r = c.post(reverse("web:payment-reverse", args=[pay.pk]), {"reason": "bounced"})
    assert r.status_code == 422 and "already been reversed" in r.content.decode()
    customer.refresh_from_db()
    assert customer.open_amount == D("300.00") and customer.unapplied_amount == 0


def test_credit_note_through_the_form(as_user, company, customer, finance):
    doc = _inv(company, customer, finance, "300.00")
    c = as_user("finance")
    r = c.post(reverse("web:credit-note-new"), {
        "customer": customer.code, "document": doc.number, "amount": "120", "date": "2026-02-01",
        "reason": "returned goods", "apply": "on", "request_key": uuid.uuid4().hex,
    })
    cn = Credit.objects.get(kind=CreditKind.CREDIT_NOTE)
    assert r.status_code == 302 and cn.document_id == doc.pk and cn.unapplied_amount == 0
    assert doc.instalments.get().open_amount == D("180.00")
    listing = c.get(reverse("web:payment-list"), {"kind": "credit_note"})
    assert cn.number in listing.content.decode()
    r = c.post(reverse("web:credit-note-new"), {
        "customer": customer.code, "amount": "1", "date": "2026-02-01", "reason": "", "request_key": "x",
    })
    assert r.status_code == 422 and "reason" in r.context["form"].errors


# ---------------------------------------------------------------- write-offs


def test_write_off_request_approval_and_self_approval(as_user, company, customer, finance):
    doc = _inv(company, customer, finance, "300.00")
    (inst,) = doc.instalments.all()
    c = as_user("collector")
    r = c.post(reverse("web:writeoff-new", args=[inst.pk]), {"amount": "301", "reason": "uncollectable"})
    assert r.status_code == 422 and "amount" in r.context["form"].errors
    r = c.post(reverse("web:writeoff-new", args=[inst.pk]), {"amount": "50", "reason": "small balance"})
    assert r.status_code == 302
    req = WriteOffRequest.objects.get()
    # a collector may request but not decide
    assert c.post(reverse("web:writeoff-decide", args=[req.pk]), {"decision": "approve"}).status_code == 403
    c = as_user("finance")
    assert req.instalment.document.number in c.get(reverse("web:writeoff-list")).content.decode()
    r = c.post(reverse("web:writeoff-decide", args=[req.pk]), {"decision": "approve", "note": "ok"})
    assert r.status_code == 302
    req.refresh_from_db()
    inst.refresh_from_db()
    assert req.status == WriteOffStatus.APPROVED and req.decided_by.username == "finance"
    assert inst.open_amount == D("250.00")
    # the requester cannot decide their own request
    r = c.post(reverse("web:writeoff-new", args=[inst.pk]), {"amount": "10", "reason": "mine"})
    own = WriteOffRequest.objects.get(status=WriteOffStatus.PENDING)
    r = c.post(reverse("web:writeoff-decide", args=[own.pk]), {"decision": "approve"})
    assert r.status_code == 403 and "your own write-off request" in r.content.decode()
    own.refresh_from_db()
    assert own.status == WriteOffStatus.PENDING


# ---------------------------------------------------------------- fapiao


def test_fapiao_record_red_reverse_and_views(as_user, company, customer, finance):
    doc = _inv(company, customer, finance, "300.00")
    c = as_user("finance")
    r = c.post(reverse("web:fapiao-new"), {"customer": customer.code, "document": doc.number, "number": "0441",
                                           "fapiao_type": "special", "issue_date": "2026-01-06", "amount": "300.00"})
    assert r.status_code == 302
    f = Fapiao.objects.get()
    unpaid = c.get(reverse("web:fapiao-list"), {"view": "invoiced_unpaid"})
    assert doc.number in unpaid.content.decode()
    assert doc.number not in c.get(reverse("web:fapiao-list"), {"view": "paid_not_invoiced"}).content.decode()
    r = c.post(reverse("web:fapiao-red", args=[f.pk]), {"red_number": "0441-R", "issue_date": "2026-01-07"})
    assert r.status_code == 302
    r = c.post(reverse("web:fapiao-red", args=[f.pk]), {"red_number": "0441-R2", "issue_date": "2026-01-07"})
    assert r.status_code == 422
    s.record_payment(company=company, customer_id=customer.pk, amount=D("300.00"), date=dt.date(2026, 2, 1), actor=finance)
    body = c.get(reverse("web:fapiao-list"), {"view": "paid_not_invoiced"}).content.decode()
    assert doc.number in body
    assert doc.number not in c.get(reverse("web:fapiao-list"), {"view": "invoiced_unpaid"}).content.decode()
    assert "0441-R" in c.get(reverse("web:fapiao-list")).content.decode()


# ---------------------------------------------------------------- customer 360


def test_customer_360_page(as_user, company, customer, finance):
    today = clock.today(company)
    _inv(company, customer, finance, "300.00", date=today - dt.timedelta(days=75))  # due 45 days ago
    _inv(company, customer, finance, "200.00", date=today)
    s.record_payment(company=company, customer_id=customer.pk, amount=D("350.00"), date=today, actor=finance)
    c = as_user("finance")
    r = c.get(reverse("web:customer-detail", args=[customer.pk]))
    assert r.status_code == 200
    summary = r.context["s"]
    assert summary.open_amount == D("150.00") and summary.overdue_amount == D("0.00")
    assert summary.as_of == today
    body = r.content.decode()
    assert customer.name in body and "RCV-" in body and reverse("web:document-new") in body
    assert reverse("web:customer-edit", args=[customer.pk]) in body
    auditor_body = as_user("auditor").get(reverse("web:customer-detail", args=[customer.pk])).content.decode()
    assert reverse("web:customer-edit", args=[customer.pk]) not in auditor_body
    assert reverse("web:payment-new") not in auditor_body
    c = as_user("finance")
    past = c.get(reverse("web:customer-detail", args=[customer.pk]), {"as_of": (today + dt.timedelta(days=40)).isoformat()})
    assert past.context["s"].overdue_amount == D("150.00")


# ---------------------------------------------------------------- scoping and permissions


def test_out_of_scope_objects_are_404(as_user, company, customer, finance):
    doc = _inv(company, customer, finance, "300.00")
    pay = s.record_payment(company=company, customer_id=customer.pk, amount=D("10.00"), date=dt.date(2026, 2, 1),
                           actor=finance)
    inst = doc.instalments.get()
    c = as_user("sales_west")
    for url in (reverse("web:customer-detail", args=[customer.pk]), reverse("web:document-detail", args=[doc.pk]),
                reverse("web:payment-detail", args=[pay.pk])):
        assert c.get(url).status_code == 404, url
    assert doc.number not in c.get(reverse("web:document-list")).content.decode()
    assert pay.number not in c.get(reverse("web:payment-list")).content.decode()
    c = as_user("sales_east")
    assert c.get(reverse("web:customer-detail", args=[customer.pk])).status_code == 200
    assert c.get(reverse("web:document-detail", args=[doc.pk])).status_code == 200
    # a finance clerk cannot post for a customer of another company either: the picker refuses it
    c = as_user("collector")
    assert c.get(reverse("web:writeoff-new", args=[inst.pk])).status_code == 200


def test_auditor_and_salesperson_can_view_but_not_post(as_user, company, customer, finance):
    doc = _inv(company, customer, finance, "300.00")
    pay = s.record_payment(company=company, customer_id=customer.pk, amount=D("10.00"), date=dt.date(2026, 2, 1),
                           actor=finance)
    inst = doc.instalments.get()
    for name in ("auditor", "sales_east"):
        c = as_user(name)
        assert c.get(reverse("web:document-detail", args=[doc.pk])).status_code == 200
        assert c.get(reverse("web:payment-list")).status_code == 200
        posts = [
            (reverse("web:document-new"), _doc_post(customer)),
            (reverse("web:document-reverse", args=[doc.pk]), {"reason": "x"}),
            (reverse("web:payment-new"), {"customer": customer.code, "amount": "1", "date": "2026-02-01",
                                          "method": "transfer"}),
            (reverse("web:payment-apply", args=[pay.pk]), {"mode": "auto"}),
            (reverse("web:payment-reverse", args=[pay.pk]), {"reason": "x"}),
            (reverse("web:credit-note-new"), {"customer": customer.code, "amount": "1", "reason": "x"}),
            (reverse("web:writeoff-new", args=[inst.pk]), {"amount": "1", "reason": "x"}),
            (reverse("web:fapiao-new"), {"customer": customer.code, "number": "9", "amount": "1"}),
        ]
        for url, data in posts:
            assert c.post(url, data).status_code == 403, (name, url)
    assert ReceivableDocument.objects.count() == 1 and Credit.objects.count() == 1
    assert not WriteOffRequest.objects.exists() and not Fapiao.objects.exists()


# ---------------------------------------------------------------- exports and query counts


def test_xlsx_exports(as_user, company, customer, finance):
    _inv(company, customer, finance, "300.00")
    c = as_user("finance")
    for name in ("web:document-list", "web:payment-list", "web:writeoff-list", "web:fapiao-list"):
        r = c.get(reverse(name), {"format": "xlsx"})
        assert r.status_code == 200 and r["Content-Type"].startswith("application/vnd.openxmlformats"), name
        assert b"".join(r.streaming_content)[:2] == b"PK"
    r = c.get(reverse("web:fapiao-list"), {"format": "xlsx", "view": "invoiced_unpaid"})
    assert r.status_code == 200


def _make_rows(company, customer, finance, n, start=0):
    for i in range(start, start + n):
        doc = _inv(company, customer, finance, "100.00", date=dt.date(2026, 1, 1) + dt.timedelta(days=i))
        s.record_payment(company=company, customer_id=customer.pk, amount=D("40.00"), date=dt.date(2026, 3, 1),
                         actor=finance)
        fp.record_fapiao(company=company, customer_id=customer.pk, number=f"F{i}", fapiao_type="special",
                        issue_date=dt.date(2026, 1, 2), amount=D("100.00"), actor=finance, document_id=doc.pk)
        s.request_write_off(company=company, instalment_id=doc.instalments.get().pk, amount=D("1.00"),
                            reason="r", actor=finance)


def _query_counts(client, pages):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    counts = {}
    for url, params in pages:
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(url, params).status_code == 200, url
        counts[(url, tuple(params.items()))] = len(ctx.captured_queries)
    return counts


def test_list_and_360_query_counts_are_constant(as_user, company, customer, finance):
    _make_rows(company, customer, finance, 2)
    doc = ReceivableDocument.objects.order_by("pk").first()
    pay = Credit.objects.order_by("pk").first()
    c = as_user("finance2")
    pages = [
        (reverse("web:document-list"), {}),
        (reverse("web:document-list"), {"open": "1", "q": "INV"}),
        (reverse("web:payment-list"), {}),
        (reverse("web:writeoff-list"), {}),
        (reverse("web:fapiao-list"), {}),
        (reverse("web:fapiao-list"), {"view": "invoiced_unpaid"}),
        (reverse("web:fapiao-list"), {"view": "paid_not_invoiced"}),
        (reverse("web:customer-detail", args=[customer.pk]), {}),
        (reverse("web:document-detail", args=[doc.pk]), {}),
        (reverse("web:payment-detail", args=[pay.pk]), {}),
        (reverse("web:payment-apply", args=[pay.pk]), {}),
    ]
    few = _query_counts(c, pages)
    _make_rows(company, customer, finance, 12, start=2)
    # more allocations on the same document and payment too
    s.record_payment(company=company, customer_id=customer.pk, amount=D("500.00"), date=dt.date(2026, 3, 2), actor=finance)
    many = _query_counts(c, pages)
    assert many == few
    # 360: one query per panel (bank accounts added one; the per-item 诉讼时效 three: reply, demand, items;
    # the financed items one)
    assert max(many.values()) <= 15, many


def test_cheque_bounce_through_the_payment_page(client, company, customer, finance, users):
    import datetime as _dt
    from decimal import Decimal as _D

    from django.urls import reverse as _reverse

    from huikuan.ledger import services as _s

    chq = _s.record_payment(company=company, customer_id=customer.pk, amount=_D("80.00"), date=_dt.date(2026, 1, 10),
                            actor=finance, method="cheque")
    client.force_login(users["auditor"])
    assert client.post(_reverse("web:payment-instrument", args=[chq.pk]), {"status": "bounced"}).status_code == 403
    client.force_login(finance)
    page = client.get(_reverse("web:payment-detail", args=[chq.pk])).content.decode()
    assert 'name="status"' in page and 'value="bounced"' in page
    r = client.post(_reverse("web:payment-instrument", args=[chq.pk]), {"status": "bounced", "note": "存款不足"})
    assert r.status_code == 302
    chq.refresh_from_db()
    assert chq.cheque_status == "bounced" and chq.status == "reversed"
