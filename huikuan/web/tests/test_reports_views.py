import datetime as dt
import io
from decimal import Decimal as D

import openpyxl
import pytest
from django.urls import reverse

from huikuan.ledger import services as s
from huikuan.statements.models import Statement

pytestmark = pytest.mark.django_db


@pytest.fixture
def data(company, customer, other_customer, finance):
    for cust, total in ((customer, "1000.00"), (other_customer, "250.00")):
        s.post_document(company=company, customer_id=cust.pk, document_date=dt.date(2026, 1, 5), total=D(total), actor=finance)
    return customer


def test_aging_page_xlsx_matches_screen_and_drills_down(client, data, finance, django_assert_max_num_queries):
    client.force_login(finance)
    url = reverse("web:aging") + "?as_of=2026-04-30&group=customer"
    client.get(url)  # the first view of a past date may store that date's per-customer aging (insight.past)
    with django_assert_max_num_queries(12):
        r = client.get(url)
    html = r.content.decode()
    assert r.status_code == 200 and "1,250.00" in html
    wb = openpyxl.load_workbook(io.BytesIO(b"".join(client.get(url + "&format=xlsx").streaming_content)))
    ws = wb.active
    rows = list(ws.iter_rows(values_only=True))
    assert rows[-1][0] in ("Total", "合计", "总计")
    assert float(rows[-1][-2]) == 1250.0 and float(rows[-1][-1]) == 0.0  # total, disputed
    assert not any(isinstance(c, str) and c.startswith("=") for row in rows for c in row)
    drill = client.get(reverse("web:aging-drill") + f"?as_of=2026-04-30&group=customer&key={data.pk}&bucket=-1",
                       HTTP_HX_REQUEST="true")
    assert drill.status_code == 200 and "1,000.00" in drill.content.decode() and "<html" not in drill.content.decode()


def test_aging_shows_the_disputed_part_on_screen_and_in_xlsx(client, data, company, finance):
    from huikuan.ledger.models import Instalment

    inst = Instalment.objects.get(customer=data)
    s.set_instalment_dispute(company=company, instalment_id=inst.pk, amount=D("123.45"), actor=finance, reason="数量差异")
    client.force_login(finance)
    url = reverse("web:aging") + "?as_of=2026-04-30&group=customer"
    html = client.get(url).content.decode()
    assert "123.45" in html
    rows = list(openpyxl.load_workbook(io.BytesIO(b"".join(client.get(url + "&format=xlsx").streaming_content))).active
                .iter_rows(values_only=True))
    assert float(rows[-1][-1]) == 123.45
    assert [float(r[-1] or 0) for r in rows[1:-1]] == [123.45, 0.0]


def test_aging_scoped_for_salesperson(client, data, users):
    client.force_login(users["sales_west"])
    html = client.get(reverse("web:aging") + "?as_of=2026-04-30").content.decode()
    assert "250.00" in html and "1,000.00" not in html


def test_bad_edges_show_an_error(client, data, finance):
    client.force_login(finance)
    r = client.get(reverse("web:aging") + "?edges=60,30")
    assert r.status_code == 200 and "form-errors" in r.content.decode()


def test_statement_screen_pdf_xlsx_and_scope(client, data, users, finance):
    client.force_login(finance)
    url = reverse("web:customer-statement", args=[data.pk]) + "?from=2026-01-01&to=2026-03-31"
    r = client.get(url)
    assert r.status_code == 200 and "壹仟元整" in r.content.decode()
    pdf = client.get(url + "&format=pdf")
    assert pdf["Content-Type"] == "application/pdf" and pdf.content[:4] == b"%PDF"
    x = client.get(url + "&format=xlsx")
    assert x["Content-Type"].startswith("application/vnd.openxmlformats")
    client.force_login(users["sales_west"])
    assert client.get(url).status_code == 404


def test_issue_and_record_reply_through_the_ui(client, data, finance, users):
    client.force_login(finance)
    r = client.post(reverse("web:statement-issue", args=[data.pk]), {"from": "2026-01-01", "to": "2026-03-31"})
    assert r.status_code == 302
    st = Statement.objects.get()
    bad = client.post(reverse("web:statement-reply", args=[st.pk]), {"status": "disputed", "replied_on": "2026-04-05", "note": ""})
    assert bad.status_code == 422
    ok = client.post(reverse("web:statement-reply", args=[st.pk]),
                     {"status": "confirmed", "replied_on": "2026-04-05", "replied_by": "张三"})
    assert ok.status_code == 302
    st.refresh_from_db()
    assert st.status == "confirmed" and st.confirmed_amount == D("1000.00")
    page = client.get(reverse("web:customer-statement", args=[data.pk])).content.decode()
    assert "2029-04-05" in page
    client.force_login(users["auditor"])
    assert client.post(reverse("web:statement-reply", args=[st.pk]), {"status": "confirmed"}).status_code == 403
    client.force_login(users["sales_west"])
    assert client.get(reverse("web:statement-pdf", args=[st.pk])).status_code == 404


def test_customer_360_shows_last_confirmation_and_limitation_date(client, data, finance):
    from huikuan.statements.models import ReplyStatus
    from huikuan.statements.services import issue_statement, record_reply

    st = issue_statement(user=finance, customer=data, period_from=dt.date(2026, 1, 1), period_to=dt.date(2026, 3, 31),
                         today=dt.date(2026, 4, 1))
    record_reply(user=finance, statement_id=st.pk, company=data.company, status=ReplyStatus.CONFIRMED,
                 replied_on=dt.date(2026, 4, 8))
    client.force_login(finance)
    html = client.get(reverse("web:customer-detail", args=[data.pk])).content.decode()
    assert "2026-04-08" in html and "2029-04-08" in html
