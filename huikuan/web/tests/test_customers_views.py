import io
from decimal import Decimal as D

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from openpyxl import load_workbook

from huikuan.customers import services
from huikuan.customers.errors import CurrencyLocked
from huikuan.customers.models import Contact, Customer, CustomerFile, CustomerGroup, PaymentTerm

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def as_user(client, users):
    def login(role):
        client.force_login(users[role])
        return client

    return login


@pytest.fixture
def book(company, users, net30):
    """Customers of three owners: two of sales_east, one of sales_west, one of manager_east."""
    group = CustomerGroup.objects.create(company=company, name="重点客户")
    made = {}
    for code, name, short, owner, region in [
        ("E001", "上海华东机械有限公司", "华东机械", "sales_east", "华东"),
        ("E002", "杭州西湖贸易有限公司", "", "sales_east", "华东"),
        ("W001", "成都西部物流有限公司", "", "sales_west", "西南"),
        ("M001", "南京钟山电子有限公司", "", "manager_east", "华东"),
    ]:
        made[code] = services.create_customer(
            company=company,
            actor=users["admin"],
            code=code,
            name=name,
            short_name=short,
            owner=users[owner],
            region=region,
            group=group if code == "E002" else None,
        )
    return made


def _codes(response):
    return [c.code for c in response.context["page"].object_list]


def test_salesperson_sees_only_own(as_user, book):
    r = as_user("sales_east").get(reverse("web:customer-list"))
    assert r.status_code == 200
    assert _codes(r) == ["E001", "E002"]


def test_manager_sees_team(as_user, book):
    r = as_user("manager_east").get(reverse("web:customer-list"))
    assert _codes(r) == ["E001", "E002", "M001"]


def test_finance_sees_all_and_filters(as_user, book, company):
    c = as_user("finance")
    assert _codes(c.get(reverse("web:customer-list"))) == ["E001", "E002", "M001", "W001"]
    assert _codes(c.get(reverse("web:customer-list"), {"region": "西南"})) == ["W001"]
    group = CustomerGroup.objects.get()
    assert _codes(c.get(reverse("web:customer-list"), {"group": group.pk})) == ["E002"]
    Customer.objects.filter(code="W001").update(status="suspended")
    assert _codes(c.get(reverse("web:customer-list"), {"status": "suspended"})) == ["W001"]
    assert _codes(c.get(reverse("web:customer-list"), {"sort": "-code"})) == ["W001", "M001", "E002", "E001"]
    assert _codes(c.get(reverse("web:customer-list"), {"sort": "'; drop table"})) == [
        "E001",
        "E002",
        "M001",
        "W001",
    ]


@pytest.mark.parametrize(
    "q,expected",
    [
        ("shhd", ["E001"]),
        ("hdjx", ["E001"]),
        ("西湖", ["E002"]),
        ("e00", ["E001", "E002"]),
        ("HZXH", ["E002"]),
        ("xyz", []),
    ],
)
def test_pinyin_and_code_search(as_user, book, q, expected):
    r = as_user("finance").get(reverse("web:customer-list"), {"q": q})
    assert _codes(r) == expected


def test_htmx_search_returns_table_fragment(as_user, book):
    r = as_user("finance").get(
        reverse("web:customer-list"), {"q": "shhd"}, HTTP_HX_REQUEST="true", HTTP_HX_TARGET="customer-table"
    )
    body = r.content.decode()
    assert r.status_code == 200
    assert body.lstrip().startswith('<div id="customer-table">')
    assert "<html" not in body and "E001" in body and "E002" not in body
    # the export link lives in the fragment, so it follows the live search
    assert reverse("web:customer-export") + "?q=shhd" in body


def test_list_page_has_search_box_and_export_link(as_user, book):
    body = as_user("finance").get(reverse("web:customer-list"), {"region": "华东"}).content.decode()
    assert "data-search" in body and 'hx-trigger="input changed delay:250ms' in body
    assert reverse("web:customer-export") + "?region=%E5%8D%8E%E4%B8%9C" in body


def test_list_query_count_bounded(as_user, company, users, django_assert_max_num_queries):
    group = CustomerGroup.objects.create(company=company, name="G")
    for i in range(30):
        Customer.objects.create(
            company=company,
            code=f"Q{i:03}",
            name=f"客户{i}",
            owner=users["sales_east"],
            group=group if i % 2 else None,
        )
    c = as_user("finance")
    with django_assert_max_num_queries(8):
        r = c.get(reverse("web:customer-list"))
    assert len(r.context["page"].object_list) == 30
    with django_assert_max_num_queries(8):
        c.get(reverse("web:customer-list"), {"q": "客户", "sort": "-open_amount"})


def test_pagination_50_per_page(as_user, company, users):
    Customer.objects.bulk_create(
        [
            Customer(company=company, code=f"P{i:03}", name=f"客户{i}", owner=users["sales_east"])
            for i in range(55)
        ]
    )
    c = as_user("finance")
    assert len(c.get(reverse("web:customer-list")).context["page"].object_list) == 50
    assert _codes(c.get(reverse("web:customer-list"), {"page": 2})) == [f"P{i:03}" for i in range(50, 55)]


def test_export_xlsx_content_and_scope(as_user, book, company, users, day):
    from huikuan.ledger import services as ledger

    for code, total in (("E001", "1234.50"), ("E002", "0.25")):
        ledger.post_document(
            company=company,
            customer_id=book[code].pk,
            document_date=day,
            total=D(total),
            actor=users["finance"],
        )
    ledger.record_payment(
        company=company, customer_id=book["E002"].pk, amount=D("10.25"), date=day, actor=users["finance"]
    )
    r = as_user("sales_east").get(reverse("web:customer-export"), {"q": "e00"})
    assert r.status_code == 200
    wb = load_workbook(io.BytesIO(b"".join(r.streaming_content)))
    ws = wb.active
    rows = list(ws.iter_rows(values_only=True))
    assert [row[0] for row in rows[1:-1]] == ["E001", "E002"]  # salesperson's own, filtered
    assert rows[1][1] == "上海华东机械有限公司"
    assert rows[1][9] == pytest.approx(1234.50) and ws["J2"].number_format == "#,##0.00"
    assert rows[2][9] is None or rows[2][9] == 0  # E002 paid in full, 10.00 left unapplied
    assert rows[-1][9] == pytest.approx(1234.50) and rows[-1][10] == pytest.approx(10.0)
    assert ws.freeze_panes == "A2"


def test_export_neutralises_formula_names(as_user, company, users):
    services.create_customer(
        company=company, actor=users["finance"], code="X1", name='=HYPERLINK("http://x")'
    )
    r = as_user("finance").get(reverse("web:customer-export"))
    ws = load_workbook(io.BytesIO(b"".join(r.streaming_content))).active
    assert ws["B2"].value == '\'=HYPERLINK("http://x")'


def test_other_owners_customer_contacts_files_404(as_user, book, users):
    west = book["W001"]
    contact = services.add_contact(customer_id=west.pk, actor=users["admin"], name="王", phone="13800138000")
    upload = services.upload_customer_file(
        customer_id=west.pk, actor=users["admin"], upload=SimpleUploadedFile("a.pdf", b"%PDF-1.4 x")
    )
    c = as_user("sales_east")
    for url in [
        reverse("web:customer-edit", args=[west.pk]),
        reverse("web:customer-contacts", args=[west.pk]),
        reverse("web:customer-contact-add", args=[west.pk]),
        reverse("web:contact-edit", args=[contact.pk]),
        reverse("web:customer-files", args=[west.pk]),
        reverse("web:customer-file-download", args=[upload.pk]),
    ]:
        assert c.get(url).status_code == 404, url
    assert c.post(reverse("web:contact-deactivate", args=[contact.pk])).status_code == 404
    assert (
        c.post(reverse("web:customer-edit", args=[west.pk]), {"code": "W001", "name": "x"}).status_code == 404
    )
    contact.refresh_from_db()
    assert contact.is_active
    # the owner can download it
    r = as_user("sales_west").get(reverse("web:customer-file-download", args=[upload.pk]))
    assert r.status_code == 200 and r["Content-Type"] == "application/pdf"
    assert b"".join(r.streaming_content) == b"%PDF-1.4 x"


def test_auditor_gets_403_on_post(as_user, book, company):
    c = as_user("auditor")
    e = book["E001"]
    assert c.get(reverse("web:customer-list")).status_code == 200  # may read
    assert (
        c.post(
            reverse("web:customer-create"), {"code": "Z", "name": "Z", "currency": "CNY", "status": "active"}
        ).status_code
        == 403
    )
    assert c.post(reverse("web:customer-edit", args=[e.pk]), {"code": "E001", "name": "x"}).status_code == 403
    assert c.post(reverse("web:customer-contact-add", args=[e.pk]), {"name": "x"}).status_code == 403
    assert c.post(reverse("web:customer-files", args=[e.pk]), {}).status_code == 403
    assert c.post(reverse("web:group-list"), {"name": "g"}).status_code == 403
    assert c.post(reverse("web:term-create"), {"code": "x"}).status_code == 403
    assert not Customer.objects.filter(code="Z").exists()


def _form(**kw):
    data = {"code": "N001", "name": "北京海淀科技有限公司", "currency": "CNY", "status": "active"}
    data.update(kw)
    return data


def test_salesperson_creates_customer_owned_by_self(as_user, users, company):
    c = as_user("sales_east")
    r = c.post(reverse("web:customer-create"), _form(owner=users["sales_west"].pk, new_group="新客户"))
    assert r.status_code == 302
    customer = Customer.objects.get(code="N001")
    assert customer.owner == users["sales_east"]  # owner field is fixed for salespeople
    assert customer.group.name == "新客户"
    assert customer.name_initials.startswith("bjhdkjyxgs")


def test_create_bad_uscc_shows_error_in_language(as_user):
    c = as_user("finance")
    r = c.post(
        reverse("web:customer-create"), _form(credit_code="91330100MA2CFW1X40"), HTTP_ACCEPT_LANGUAGE="en"
    )
    assert r.status_code == 200
    assert "not a valid unified social credit code" in r.context["form"].errors["credit_code"][0]
    r = c.post(
        reverse("web:customer-create"), _form(credit_code="91330100MA2CFW1X40"), HTTP_HX_REQUEST="true"
    )
    assert r.status_code == 422
    assert '<form method="post" class="stacked card" id="customer-form"' in r.content.decode()
    assert "<html" not in r.content.decode()
    assert not Customer.objects.exists()


def test_duplicate_code_on_form(as_user, book):
    r = as_user("finance").post(reverse("web:customer-create"), _form(code="E001"), HTTP_HX_REQUEST="true")
    assert r.status_code == 422
    assert "E001" in r.context["form"].errors["code"][0]


def test_edit_version_conflict_shown(as_user, book, users):
    e = book["E001"]
    c = as_user("finance")
    data = _form(code="E001", name="上海华东机械有限公司", version=1, region="A")
    assert c.post(reverse("web:customer-edit", args=[e.pk]), data).status_code == 302
    r = c.post(reverse("web:customer-edit", args=[e.pk]), dict(data, region="B"))  # stale version 1
    assert r.status_code == 200
    assert r.context["form"].non_field_errors()
    e.refresh_from_db()
    assert e.region == "A" and e.version == 2


def test_contact_pages(as_user, book):
    e = book["E001"]
    c = as_user("sales_east")
    r = c.post(
        reverse("web:customer-contact-add", args=[e.pk]),
        {"name": "张三", "phone": "12345", "preferred_channel": "phone", "language": "zh-hans"},
        HTTP_HX_REQUEST="true",
    )
    assert r.status_code == 422 and "phone" in r.context["form"].errors
    r = c.post(
        reverse("web:customer-contact-add", args=[e.pk]),
        {"name": "张三", "phone": "13800138000", "preferred_channel": "phone", "language": "zh-hans"},
    )
    assert r.status_code == 302
    contact = Contact.objects.get()
    assert contact.phone == "+8613800138000"
    r = c.post(
        reverse("web:contact-edit", args=[contact.pk]),
        {"name": "张三丰", "phone": "13800138000", "preferred_channel": "email", "language": "en"},
    )
    assert r.status_code == 302
    assert c.post(reverse("web:contact-deactivate", args=[contact.pk])).status_code == 302
    contact.refresh_from_db()
    assert contact.name == "张三丰" and not contact.is_active
    assert "张三丰" in c.get(reverse("web:customer-contacts", args=[e.pk])).content.decode()


def test_file_upload_page(as_user, book, settings):
    e = book["E001"]
    c = as_user("sales_east")
    r = c.post(
        reverse("web:customer-files", args=[e.pk]),
        {"file": SimpleUploadedFile("x.pdf", b"<script>alert(1)</script>"), "kind": "contract", "title": "t"},
    )
    assert r.status_code == 200 and "file" in r.context["form"].errors
    assert not CustomerFile.objects.exists()
    r = c.post(
        reverse("web:customer-files", args=[e.pk]),
        {
            "file": SimpleUploadedFile("营业执照.png", b"\x89PNG\r\n\x1a\n" + b"0" * 20),
            "kind": "license",
            "title": "营业执照",
            "valid_until": "2027-12-31",
        },
    )
    assert r.status_code == 302
    f = CustomerFile.objects.get()
    assert f.kind == "license" and str(f.valid_until) == "2027-12-31"
    body = c.get(reverse("web:customer-files", args=[e.pk])).content.decode()
    assert reverse("web:customer-file-download", args=[f.pk]) in body
    assert settings.MEDIA_URL not in body  # never linked publicly


def test_terms_pages(as_user, company):
    c = as_user("finance")
    r = c.post(
        reverse("web:term-create"),
        {"code": "S", "name": "30/70", "kind": "split", "split": "30@0, 70@60", "active": "on"},
    )
    assert r.status_code == 302
    t = PaymentTerm.objects.get(code="S")
    assert t.split_lines == [{"percent": "30", "days": 0}, {"percent": "70", "days": 60}]
    r = c.post(
        reverse("web:term-create"),
        {"code": "S2", "name": "bad", "kind": "split", "split": "30@0, 60@60"},
        HTTP_HX_REQUEST="true",
    )
    assert r.status_code == 422 and "split" in r.context["form"].errors
    r = c.post(
        reverse("web:term-create"),
        {"code": "D", "name": "2/10 net 30", "kind": "net", "discount": "2/10 net 30", "active": "on"},
    )
    assert r.status_code == 302
    d = PaymentTerm.objects.get(code="D")
    assert (d.days, d.discount_percent, d.discount_days) == (30, D("2"), 10)
    r = c.post(
        reverse("web:term-edit", args=[d.pk]),
        {"code": "D", "name": "2/10 net 45", "kind": "net", "days": "45", "discount": "2/10", "active": "on"},
    )
    assert r.status_code == 302
    d.refresh_from_db()
    assert d.days == 45
    body = c.get(reverse("web:term-list")).content.decode()
    assert "30@0, 70@60" in body and "2/10" in body
    x = c.get(reverse("web:term-list"), {"format": "xlsx"})
    ws = load_workbook(io.BytesIO(b"".join(x.streaming_content))).active
    assert [row[0] for row in ws.iter_rows(min_row=2, values_only=True)] == ["D", "S"]
    assert as_user("sales_east").get(reverse("web:term-create")).status_code == 403


def test_group_page(as_user):
    c = as_user("finance")
    assert c.post(reverse("web:group-list"), {"name": "经销商"}).status_code == 302
    r = c.post(reverse("web:group-list"), {"name": "经销商"}, HTTP_HX_REQUEST="true")
    assert r.status_code == 422
    assert CustomerGroup.objects.filter(name="经销商").count() == 1


def test_currency_locked_once_documents_exist(company, users, customer, day):
    from huikuan.ledger import services as ledger

    services.update_customer(
        customer_id=customer.pk, actor=users["finance"], expected_version=1, currency="USD"
    )
    services.update_customer(
        customer_id=customer.pk, actor=users["finance"], expected_version=2, currency="CNY"
    )
    ledger.post_document(
        company=company, customer_id=customer.pk, document_date=day, total=D("100.00"), actor=users["finance"]
    )
    customer.refresh_from_db()
    with pytest.raises(CurrencyLocked):
        services.update_customer(
            customer_id=customer.pk, actor=users["finance"], expected_version=customer.version, currency="USD"
        )
    customer.refresh_from_db()
    assert customer.currency == "CNY"


def test_htmx_success_uses_hx_redirect(as_user):
    r = as_user("finance").post(reverse("web:customer-create"), _form(), HTTP_HX_REQUEST="true")
    assert r.status_code == 200
    assert r["HX-Redirect"].endswith(f"/customers/{Customer.objects.get(code='N001').pk}/")


def test_download_headers_do_not_let_files_run(as_user, book, users):
    upload = services.upload_customer_file(
        customer_id=book["E001"].pk, actor=users["admin"], upload=SimpleUploadedFile("a.docx", _docx_bytes())
    )
    r = as_user("manager_east").get(reverse("web:customer-file-download", args=[upload.pk]))
    assert r.status_code == 200
    assert r["X-Content-Type-Options"] == "nosniff"
    assert "sandbox" in r["Content-Security-Policy"]
    assert r["Content-Disposition"].startswith("attachment")


def _docx_bytes():
    import zipfile

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("word/document.xml", "<w:document/>")
    return buf.getvalue()


def test_mark_as_checked_clears_the_flag_once_audited(as_user, book):
    from huikuan.common.models import AuditEvent
    from huikuan.customers import review

    e1 = book["E001"]
    e1.review_notes = [review.note("same_name", other="E002")]
    e1.save(update_fields=["review_notes"])
    page = as_user("sales_east").get(reverse("web:customer-detail", args=[e1.pk])).content.decode()
    assert 'id="customer-check-this"' in page and reverse("web:customer-checked", args=[e1.pk]) in page
    # out of scope: 404; a GET changes nothing
    assert as_user("sales_west").post(reverse("web:customer-checked", args=[e1.pk])).status_code == 404
    assert as_user("sales_east").get(reverse("web:customer-checked", args=[e1.pk])).status_code == 405
    r = as_user("sales_east").post(reverse("web:customer-checked", args=[e1.pk]))
    assert r.status_code == 302 and r["Location"] == reverse("web:customer-detail", args=[e1.pk])
    e1.refresh_from_db()
    assert e1.review_notes == []
    assert AuditEvent.objects.filter(verb="customers.customer.reviewed", target_id=e1.pk).count() == 1
    page = as_user("sales_east").get(reverse("web:customer-detail", args=[e1.pk])).content.decode()
    assert 'id="customer-check-this"' not in page


def test_auditor_cannot_mark_as_checked(as_user, book):
    e1 = book["E001"]
    e1.review_notes = [{"code": "customers.review.same_name", "params": {"other": "E002"}}]
    e1.save(update_fields=["review_notes"])
    assert "customer-checked" not in as_user("auditor").get(reverse("web:customer-detail", args=[e1.pk])).content.decode()
    assert as_user("auditor").post(reverse("web:customer-checked", args=[e1.pk])).status_code == 403
