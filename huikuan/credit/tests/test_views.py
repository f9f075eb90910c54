"""Credit screens through the client, as personas."""

import datetime as dt
from decimal import Decimal as D

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from huikuan.credit import scoring, services
from huikuan.credit.models import (
    CreditProfile,
    CreditRequest,
    Grade,
    OrderStatus,
    SalesOrder,
    ThirdPartyReport,
)

from .conftest import invoice

pytestmark = pytest.mark.django_db
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@pytest.fixture
def profile(company, customer):
    services.policy_of(company)
    return CreditProfile.objects.create(company=company, customer=customer, limit_amount=D("10000"), grade="A")


def test_salesperson_cannot_edit_a_limit(client, users, customer, profile):
    client.force_login(users["sales_east"])
    r = client.post(reverse("credit:profile-edit", args=[customer.pk]), {"limit_amount": "99999"})
    assert r.status_code == 403
    assert CreditProfile.objects.get(pk=profile.pk).limit_amount == D("10000.00")
    # … but may ask for it
    r = client.post(reverse("credit:profile-request", args=[customer.pk]),
                    {"kind": "limit", "limit_amount": "20000", "reason": "new contract"})
    assert r.status_code == 302
    assert CreditRequest.objects.get().limit_amount == D("20000.00")


def test_request_above_grade_maximum_shows_error(client, users, customer, profile):
    client.force_login(users["sales_east"])
    r = client.post(reverse("credit:profile-request", args=[customer.pk]),
                    {"kind": "limit", "limit_amount": "2000000", "reason": "x"}, HTTP_ACCEPT_LANGUAGE="en")
    assert r.status_code == 422 and not CreditRequest.objects.exists()


def test_order_entry_hold_queue_and_notification(client, users, customer, profile):
    client.force_login(users["sales_east"])
    r = client.post(reverse("credit:order-new"), {"customer": customer.pk, "reference": "SO-9", "amount": "12000"})
    order = SalesOrder.objects.get(reference="SO-9")
    assert r.status_code == 302 and order.status == OrderStatus.HELD
    client.force_login(users["credit_manager"])
    page = client.get(reverse("credit:queue"))
    assert b"SO-9" in page.content
    r = client.post(reverse("credit:order-decide", args=[order.pk]), {"action": "partial", "amount": "9000",
                                                                      "reason": "rest next month"})
    assert r.status_code == 302
    order.refresh_from_db()
    assert (order.status, order.amount) == (OrderStatus.OPEN, D("9000.00"))
    rest = SalesOrder.objects.get(reference="SO-9-R1")
    assert (rest.status, rest.amount) == (OrderStatus.HELD, D("3000.00"))
    assert b"SO-9-R1" in client.get(reverse("credit:queue")).content
    client.force_login(users["sales_east"])
    page = client.get(reverse("credit:order", args=[order.pk]))
    assert b"rest next month" in page.content and b"notifications" in page.content and b"SO-9-R1" in page.content


def test_refused_partial_release_keeps_the_decision_amount_and_reason(client, users, customer, profile):
    client.force_login(users["sales_east"])
    client.post(reverse("credit:order-new"), {"customer": customer.pk, "reference": "SO-7", "amount": "12000"})
    order = SalesOrder.objects.get(reference="SO-7")
    client.force_login(users["credit_manager"])
    r = client.post(reverse("credit:order-decide", args=[order.pk]),
                    {"action": "partial", "amount": "15000", "reason": "most of it", "next": "https://evil.example/"},
                    HTTP_ACCEPT_LANGUAGE="en")
    assert r.status_code == 422
    html = r.content.decode()
    assert '<option value="partial" selected>' in html and '<option value="release" selected>' not in html
    assert 'value="15000"' in html and 'value="most of it"' in html and "must be less than the order" in html
    order.refresh_from_db()
    assert (order.status, order.amount) == (OrderStatus.HELD, D("12000.00"))
    # a decision never redirects off the site
    r = client.post(reverse("credit:order-decide", args=[order.pk]),
                    {"action": "partial", "amount": "5000", "reason": "ok", "next": "https://evil.example/"})
    assert r.status_code == 302 and r["Location"] == reverse("credit:queue")


def test_exports_are_xlsx(client, users, customer, profile):
    client.force_login(users["admin"])
    for name in ("credit:profile-export", "credit:order-export", "credit:queue-export", "credit:request-export",
                 "credit:report-export"):
        r = client.get(reverse(name))
        assert r.status_code == 200 and r["Content-Type"] == XLSX, name


def test_policy_overlap_refused_with_422(client, users, company):
    services.policy_of(company)
    client.force_login(users["credit_manager"])
    data = {"mode": "hard", "approval_threshold_amount": "500000", "g-TOTAL_FORMS": "2", "g-INITIAL_FORMS": "0",
            "g-0-code": "A", "g-0-min_score": "50", "g-0-max_score": "100",
            "g-1-code": "B", "g-1-min_score": "0", "g-1-max_score": "50"}
    r = client.post(reverse("credit:policy"), data)
    assert r.status_code == 422 and Grade.objects.count() == 6
    data["g-1-max_score"] = "49"
    r = client.post(reverse("credit:policy"), data)
    assert r.status_code == 302 and Grade.objects.count() == 2


def test_report_csv_unknown_customer_imports_nothing(client, users, customer):
    client.force_login(users["credit_manager"])
    csv = f"客户编码,机构,报告日期,评分,评级\n{customer.code},企查查,2026-03-01,70,A\nNOPE,企查查,2026-03-01,50,B\n"
    r = client.post(reverse("credit:report-import"), {"file": SimpleUploadedFile("r.csv", csv.encode())},
                    HTTP_ACCEPT_LANGUAGE="en")
    assert r.status_code == 422 and b"NOPE" in r.content and not ThirdPartyReport.objects.exists()
    csv = f"customer,provider,date,score\n{customer.code},企查查,2026/3/1,70\n"
    r = client.post(reverse("credit:report-import"), {"file": SimpleUploadedFile("r.csv", csv.encode("gb18030"))})
    assert r.status_code == 302 and ThirdPartyReport.objects.get().score == 70


def test_panel_shows_factor_points_and_chart(client, users, company, finance, customer, profile):
    invoice(company, customer, finance, amount="100.00", date=dt.date(2026, 1, 1))
    scoring.rescore(company=company, as_of=dt.date(2026, 2, 1))
    scoring.rescore(company=company, as_of=dt.date(2026, 3, 1))
    client.force_login(users["sales_east"])
    r = client.get(reverse("credit:customer-panel", args=[customer.pk]))
    assert r.status_code == 200 and b"<svg" in r.content and b"polyline" in r.content
    assert r.content.count(b"<circle") == 2
    client.force_login(users["sales_west"])
    assert client.get(reverse("credit:customer-panel", args=[customer.pk])).status_code == 404


def test_check_form(client, users, customer, profile):
    client.force_login(users["sales_east"])
    r = client.get(reverse("credit:check"), {"customer": customer.pk, "amount": "10000.01"})
    assert r.status_code == 200 and b"check-result" in r.content
    assert r.context["result"].outcome == "hold"


def test_lists_run_a_constant_number_of_queries(client, users, company, customer, profile, django_assert_max_num_queries):
    client.force_login(users["admin"])
    for i in range(15):
        services.submit_order(company=company, customer_id=customer.pk, reference=f"Q{i}", amount="20000",
                              as_of=dt.date(2026, 3, 2), actor=users["admin"])
    with django_assert_max_num_queries(12):
        client.get(reverse("credit:queue"))
    with django_assert_max_num_queries(12):
        client.get(reverse("credit:orders"))
    with django_assert_max_num_queries(12):
        client.get(reverse("credit:profiles"))


def test_manual_hold_placed_on_the_page_released_only_by_request(client, users, customer, profile):
    client.force_login(users["credit_manager"])
    r = client.post(reverse("credit:profile-hold", args=[customer.pk]), {"action": "place", "reason": "bounced"})
    assert r.status_code == 302 and CreditProfile.objects.get(pk=profile.pk).on_hold
    r = client.post(reverse("credit:profile-hold", args=[customer.pk]), {"action": "release", "reason": "ok"})
    assert r.status_code == 422 and CreditProfile.objects.get(pk=profile.pk).on_hold
    client.post(reverse("credit:profile-request", args=[customer.pk]), {"kind": "hold_release", "reason": "paid"})
    req = CreditRequest.objects.get()
    r = client.post(reverse("credit:request-decide", args=[req.pk]), {"decision": "approve"})
    assert CreditProfile.objects.get(pk=profile.pk).on_hold  # own request: refused
    client.force_login(users["admin"])
    client.post(reverse("credit:request-decide", args=[req.pk]), {"decision": "approve", "note": "ok"})
    assert not CreditProfile.objects.get(pk=profile.pk).on_hold


def test_hold_queue_rows_show_overdue_grade_score_and_limit_use(client, company, users, customer, other_customer,
                                                                profile, finance, time_machine):
    """The manager decides from the queue: each held order shows the customer's overdue amount, grade, score
    and limit use; the page's query count does not grow with the rows."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from huikuan.ledger import services as ls

    time_machine.move_to(dt.datetime(2026, 6, 1, 12, 0))
    CreditProfile.objects.filter(pk=profile.pk).update(score=72)
    ls.post_document(company=company, customer_id=customer.pk, document_date=dt.date(2026, 3, 1), total=D("2500"),
                     actor=finance, schedule=[ls.ScheduleInput(due_date=dt.date(2026, 4, 1), amount=D("2500"))])
    ls.post_document(company=company, customer_id=customer.pk, document_date=dt.date(2026, 5, 20), total=D("1500"),
                     actor=finance, schedule=[ls.ScheduleInput(due_date=dt.date(2026, 6, 20), amount=D("1500"))])
    client.force_login(users["sales_east"])
    client.post(reverse("credit:order-new"), {"customer": customer.code, "reference": "SO-1", "amount": "12000"})
    client.force_login(users["credit_manager"])
    with CaptureQueriesContext(connection) as one:
        page = client.get(reverse("credit:queue"), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    row = page[page.index(">SO-1</a>"):]
    row = row[:row.index("</tr>")]
    assert "2,500.00" in row  # overdue: only the instalment past due on 2026-06-01
    assert "A · 72" in row
    assert "40 %" in row  # 4,000.00 open of a 10,000.00 limit
    client.force_login(users["sales_east"])
    for n in range(2, 6):
        client.post(reverse("credit:order-new"), {"customer": customer.code, "reference": f"SO-{n}", "amount": "12000"})
    client.force_login(users["credit_manager"])
    with CaptureQueriesContext(connection) as many:
        client.get(reverse("credit:queue"))
    assert SalesOrder.objects.filter(status=OrderStatus.HELD).count() == 5
    assert len(many.captured_queries) == len(one.captured_queries)


def test_hold_queue_export_has_the_decision_columns(client, company, users, customer, profile, finance):
    import io

    from openpyxl import load_workbook

    client.force_login(users["sales_east"])
    client.post(reverse("credit:order-new"), {"customer": customer.code, "reference": "SO-X", "amount": "12000"})
    client.force_login(users["credit_manager"])
    r = client.get(reverse("credit:queue-export"), HTTP_ACCEPT_LANGUAGE="en")
    ws = load_workbook(io.BytesIO(b"".join(r.streaming_content))).active
    head = [c.value for c in ws[1]]
    row = dict(zip(head, [c.value for c in ws[2]], strict=True))
    assert row["Reference"] == "SO-X" and row["Grade"] == "A" and row["Credit limit"] == 10000
    assert row["Overdue"] == 0
