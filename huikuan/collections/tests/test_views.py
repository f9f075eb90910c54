"""Collections screens through the client as personas: scope (404), quick actions, evidence pack, exports."""

import datetime as dt
import io
import zipfile
from decimal import Decimal as D

import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from huikuan.collections import services as svc
from huikuan.collections.models import Activity, Case, PaymentPlan, PlanStatus, Promise
from huikuan.collections.worklist import refresh_queue
from huikuan.customers import services as cs
from huikuan.ledger import services as ls
from huikuan.statements.services import issue_statement

pytestmark = pytest.mark.django_db
TODAY = dt.date(2026, 3, 2)


@pytest.fixture(autouse=True)
def _clock():
    with time_machine.travel(dt.datetime(2026, 3, 2, 2, 0, tzinfo=dt.UTC), tick=False):
        yield


@pytest.fixture
def inv(company, customer, finance):
    return ls.post_document(company=company, customer_id=customer.pk, document_date=dt.date(2026, 1, 5),
                            total=D("10000.00"), actor=finance, reference="HT-2026-001")


def test_worklist_lists_scoped_customers_and_exports(client, company, customer, other_customer, inv, users, finance,
                                                     django_assert_max_num_queries):
    ls.post_document(company=company, customer_id=other_customer.pk, document_date=dt.date(2026, 1, 5), total=D("50.00"),
                     actor=finance)
    refresh_queue(company=company, as_of=TODAY)
    client.force_login(users["collector"])
    with django_assert_max_num_queries(12):
        r = client.get(reverse("collections:index"))
    assert r.status_code == 200
    body = r.content.decode()
    assert body.index(customer.name) < body.index(other_customer.name)
    send_now = reverse("dunning:send-now", args=[customer.pk])
    assert (send_now in body) == users["collector"].can("dunning.send")
    client.force_login(users["auditor"])
    assert send_now not in client.get(reverse("collections:index")).content.decode()
    client.force_login(users["sales_west"])
    body = client.get(reverse("collections:index")).content.decode()
    assert other_customer.name in body and customer.name not in body
    r = client.get(reverse("collections:index") + "?export=xlsx")
    assert r.status_code == 200 and r["Content-Type"].startswith("application/vnd.openxmlformats")


def test_out_of_scope_objects_are_404(client, company, customer, inv, users, finance):
    p = svc.record_promise(company=company, customer_id=customer.pk, amount="10", promised_date=TODAY, today=TODAY, actor=finance)
    case = svc.open_case(company=company, customer_id=customer.pk, actor=users["legal"], today=TODAY)
    client.force_login(users["sales_west"])
    for url in (reverse("collections:customer", args=[customer.pk]), reverse("collections:case", args=[case.pk]),
                reverse("collections:case-evidence-pdf", args=[case.pk]), reverse("collections:customer-panel", args=[customer.pk])):
        assert client.get(url).status_code == 404, url
    for url in (reverse("collections:log-activity", args=[customer.pk]), reverse("collections:promise-cancel", args=[p.pk]),
                reverse("collections:promise-new", args=[customer.pk])):
        assert client.post(url, {"kind": "call", "amount": "1", "promised_date": "2026-03-05"}).status_code == 404, url
    assert Activity.objects.count() == 0 and Promise.objects.count() == 1


def test_log_call_with_promise_then_payment_shows_kept(client, company, customer, inv, users, finance):
    client.force_login(users["collector"])
    r = client.post(reverse("collections:log-activity", args=[customer.pk]), {
        "kind": "call", "outcome": "promised", "note": "王经理", "next_action_date": "2026-03-06",
        "promise_amount": "3000", "promise_date": "2026-03-05", "next": reverse("collections:index")})
    assert r.status_code == 302 and r["Location"] == reverse("collections:index")
    promise = Promise.objects.get()
    assert promise.amount == D("3000.00") and promise.activity.outcome == "promised"
    panel = client.get(reverse("collections:customer-panel", args=[customer.pk])).content.decode()
    assert "badge warn promise-state" in panel
    ls.record_payment(company=company, customer_id=customer.pk, amount=D("3000.00"), date=TODAY, actor=finance)
    panel = client.get(reverse("collections:customer-panel", args=[customer.pk])).content.decode()
    assert "badge ok promise-state" in panel
    # bad input: a past promised date changes nothing — not even the call it was logged with
    client.post(reverse("collections:promise-new", args=[customer.pk]), {"amount": "1", "promised_date": "2026-03-01"})
    client.post(reverse("collections:log-activity", args=[customer.pk]), {
        "kind": "call", "outcome": "promised", "promise_amount": "100", "promise_date": "2026-03-01"})
    client.post(reverse("collections:log-activity", args=[customer.pk]), {
        "kind": "call", "outcome": "promised", "promise_amount": "99999", "promise_date": "2026-03-09"})
    assert Promise.objects.count() == 1 and Activity.objects.count() == 1


def test_plan_views_maker_checker(client, company, customer, inv, users):
    inst = inv.instalments.get()
    client.force_login(users["collector"])
    url = reverse("collections:plan-new", args=[customer.pk])
    r = client.post(url, {"instalments": [inst.pk], "line_date": ["2026-04-01", "2026-05-01"], "line_amount": ["5000", "4000"]})
    assert r.status_code == 422 and PaymentPlan.objects.count() == 0
    r = client.post(url, {"instalments": [inst.pk], "line_date": ["2026-04-01", "2026-05-01"], "line_amount": ["5000", "5000"]})
    plan = PaymentPlan.objects.get()
    assert r.status_code == 302
    assert client.post(reverse("collections:plan-decide", args=[plan.pk]), {"approve": "1"}).status_code == 403
    client.force_login(users["credit_manager"])
    client.post(reverse("collections:plan-decide", args=[plan.pk]), {"approve": "1"})
    plan.refresh_from_db()
    assert plan.status == PlanStatus.ACTIVE
    assert "2026-05-01" in client.get(reverse("collections:plan", args=[plan.pk])).content.decode()


def test_evidence_pack_pdf_and_zip(client, company, customer, inv, users, finance, settings, tmp_path):
    from pypdf import PdfReader

    settings.MEDIA_ROOT = tmp_path
    cs.upload_customer_file(customer_id=customer.pk, actor=finance,
                            upload=SimpleUploadedFile("合同.pdf", b"%PDF-1.4 contract", content_type="application/pdf"))
    issue_statement(user=finance, customer=customer, period_from=dt.date(2026, 1, 1), period_to=dt.date(2026, 2, 28), today=TODAY)
    svc.log_activity(company=company, customer_id=customer.pk, kind="call", outcome="refuses", note="拒绝付款", actor=finance)
    svc.record_written_demand(company=company, customer_id=customer.pk, date=TODAY, reference="CD-2026-7", actor=finance)
    case = svc.open_case(company=company, customer_id=customer.pk, instalment_ids=[inv.instalments.get().pk],
                         actor=users["legal"], today=TODAY)
    client.force_login(users["legal"])
    r = client.get(reverse("collections:case-evidence-pdf", args=[case.pk]))
    assert r.status_code == 200 and r["Content-Type"] == "application/pdf"
    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(r.content)).pages)
    for needle in (case.number, customer.name, inv.number, "HT-2026-001", "拒绝付款", "CD-2026-7", "2029-03-02"):
        assert needle in text, needle
    r = client.get(reverse("collections:case-evidence-zip", args=[case.pk]))
    names = zipfile.ZipFile(io.BytesIO(r.content)).namelist()
    assert f"{case.number}-evidence.pdf" in names and "contact-log.csv" in names
    assert any(n.startswith("files/") for n in names) and any(n.startswith("statements/ST-") for n in names)


def test_dispute_form_on_an_item_or_a_whole_document(client, company, customer, inv, users, finance):
    from huikuan.collections.models import Dispute

    client.force_login(users["collector"])
    url = reverse("collections:dispute-new", args=[customer.pk])
    client.post(url, {"target": f"i{inv.instalments.get().pk}", "reason": "quality", "amount": "100"})
    client.post(url, {"target": f"d{inv.pk}", "reason": "price", "amount": "50"})
    client.post(url, {"target": f"d{inv.pk}", "reason": "price", "amount": "99999"})  # more than open: refused
    assert [(d.instalment_id is not None, d.amount) for d in Dispute.objects.order_by("pk")] == [
        (True, D("100.00")), (False, D("50.00"))]
    assert inv.instalments.get().disputed_amount == D("150.00")
    body = client.get(reverse("collections:customer", args=[customer.pk])).content.decode()
    assert f'value="d{inv.pk}"' in body


def test_case_update_form_and_list(client, company, customer, users):
    case = svc.open_case(company=company, customer_id=customer.pk, actor=users["legal"], today=TODAY)
    client.force_login(users["legal"])
    url = reverse("collections:case", args=[case.pk])
    assert client.post(url, {"status": "filed", "commission_percent": "120"}).status_code == 422
    assert client.post(url, {"status": "filed", "firm": "律所", "fee_amount": "3000"}).status_code == 302
    assert Case.objects.get().status == "filed"
    assert "律所" in client.get(reverse("collections:cases")).content.decode()
    client.force_login(users["auditor"])
    assert client.post(url, {"status": "closed"}).status_code == 403


def test_interest_rule_page_and_panel(client, company, customer, inv, users, finance):
    client.force_login(users["collector"])
    assert client.post(reverse("collections:interest-rules"), {"basis": "daily", "rate": "0.05"}).status_code == 403
    client.force_login(finance)
    assert client.post(reverse("collections:interest-rules"), {"basis": "daily", "rate": "abc"}).status_code == 422
    assert client.post(reverse("collections:interest-rules"), {"basis": "daily", "rate": "0.05"}).status_code == 302
    panel = client.get(reverse("collections:customer-panel", args=[customer.pk])).content.decode()
    assert "130.00" in panel  # 10,000 × 0.05 % × 26 days (due 4 Feb, as of 2 Mar)
    r = client.post(reverse("collections:interest-post", args=[customer.pk]))
    assert r.status_code == 302
    customer.refresh_from_db()
    assert customer.open_amount == D("10130.00")


def test_playbook_runs_every_step_and_records_them(client, company, customer, inv, users):
    client.force_login(users["collector"])
    assert client.post(reverse("collections:playbook-run", args=[customer.pk, "bankruptcy"])).status_code == 403
    client.force_login(users["credit_manager"])
    client.post(reverse("collections:playbook-run", args=[customer.pk, "bankruptcy"]), {"note": "破产"})
    from huikuan.collections.models import PlaybookRun, Task
    from huikuan.credit.models import CreditProfile

    run = PlaybookRun.objects.get()
    assert [(s.code, s.status) for s in run.steps.all()] == [
        ("hold", "done"), ("reject_orders", "done"), ("escalate", "done"), ("claim", "done"), ("notify", "done")]
    assert CreditProfile.objects.get(customer=customer).on_hold
    assert Case.objects.get(customer=customer).claim_amount == D("10000.00")
    assert set(Task.objects.filter(source="playbook").values_list("owner__username", flat=True)) == {"sales_east", "legal"}


@pytest.mark.parametrize("name", ["collections:promises", "collections:disputes", "collections:plans", "collections:cases"])
def test_lists_render_and_export(client, company, customer, inv, users, finance, name):
    svc.record_promise(company=company, customer_id=customer.pk, amount="10", promised_date=TODAY, today=TODAY, actor=finance)
    svc.open_dispute(company=company, customer_id=customer.pk, reason="price", amount="5", actor=finance, today=TODAY,
                     document_id=inv.pk)
    svc.open_case(company=company, customer_id=customer.pk, actor=users["legal"], today=TODAY)
    client.force_login(finance)
    assert client.get(reverse(name)).status_code == 200
    r = client.get(reverse(name) + "?export=xlsx")
    assert r.status_code == 200 and r["Content-Type"].startswith("application/vnd.openxmlformats")


def test_statement_page_shows_interest_to_date_and_panel_query_count(client, company, customer, inv, finance,
                                                                     django_assert_max_num_queries):
    svc.save_interest_rule(company=company, actor=finance, basis="daily", rate="0.05")
    client.force_login(finance)
    body = client.get(reverse("web:customer-statement", args=[customer.pk]) + "?from=2026-01-01&to=2026-03-06").content.decode()
    assert "150.00" in body  # 10,000 × 0.05 % × 30 days, under the closing balance
    for _n in range(4):  # constant number of queries whatever the number of promises, disputes, contacts
        svc.record_promise(company=company, customer_id=customer.pk, amount="10", promised_date=TODAY, today=TODAY,
                           actor=finance, instalment_ids=[inv.instalments.get().pk] if _n % 2 else ())
        svc.log_activity(company=company, customer_id=customer.pk, kind="note", note="x", actor=finance)
        svc.open_dispute(company=company, customer_id=customer.pk, reason="price", amount="1", actor=finance, today=TODAY,
                         document_id=inv.pk)
    with django_assert_max_num_queries(17):
        assert client.get(reverse("collections:customer-panel", args=[customer.pk])).status_code == 200
