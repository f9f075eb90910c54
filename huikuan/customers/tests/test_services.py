import io
import zipfile
from decimal import Decimal as D

import pytest
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile

from huikuan.common.errors import ConcurrentChange, NotAllowed
from huikuan.common.identifiers import uscc_check_char
from huikuan.common.models import AuditEvent
from huikuan.customers import services
from huikuan.customers.errors import DuplicateCode, InvalidField, InvalidTerms, InvalidUpload
from huikuan.customers.models import Contact, Customer, CustomerFile, PaymentTerm

pytestmark = pytest.mark.django_db

VALID_USCC = "91330100MA2CFW1X7" + uscc_check_char("91330100MA2CFW1X7")  # org code MA2CFW1X7 (GB 11714)


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def _create(company, actor, **kw):
    values = dict(code="K001", name="上海华东机械有限公司", short_name="华东机械")
    values.update(kw)
    return services.create_customer(company=company, actor=actor, **values)


def test_create_sets_initials_audit_and_salesperson_owner(company, users):
    c = _create(company, users["sales_east"], credit_code=VALID_USCC.lower())
    assert c.owner == users["sales_east"]  # a salesperson owns what they create
    assert c.credit_code == VALID_USCC
    assert c.name_initials == "shhdjxyxgs hdjx"
    event = AuditEvent.objects.get(verb="customers.customer.created")
    assert event.customer_id == c.pk and event.actor == users["sales_east"]


def test_salesperson_cannot_assign_someone_else(company, users):
    with pytest.raises(InvalidField) as exc:
        _create(company, users["sales_east"], owner=users["sales_west"])
    assert exc.value.field == "owner"
    assert not Customer.objects.exists()


def test_manager_assigns_within_team_only(company, users):
    c = _create(company, users["manager_east"], owner=users["sales_east"])
    assert c.owner == users["sales_east"]
    assert _create(company, users["manager_east"], code="K003").owner == users["manager_east"]
    unchanged = services.update_customer(
        customer_id=c.pk, actor=users["manager_east"], expected_version=1, owner=None
    )
    assert unchanged.owner == users["sales_east"]
    with pytest.raises(InvalidField):
        _create(company, users["manager_east"], code="K002", owner=users["sales_west"])


def test_uscc_bad_checksum_rejected(company, users):
    bad = VALID_USCC[:17] + ("0" if VALID_USCC[17] != "0" else "1")
    with pytest.raises(InvalidField) as exc:
        _create(company, users["finance"], credit_code=bad)
    assert exc.value.field == "credit_code"
    assert not Customer.objects.exists()
    assert _create(company, users["finance"], credit_code="").credit_code == ""


def test_duplicate_code_per_company(company, users):
    _create(company, users["finance"])
    with pytest.raises(DuplicateCode) as exc:
        _create(company, users["finance"], name="另一家")
    assert exc.value.field == "code"
    assert "K001" in str(exc.value)


def test_auditor_cannot_create(company, users):
    with pytest.raises(NotAllowed):
        _create(company, users["auditor"])


def test_update_records_before_after_and_bumps_version(company, users):
    c = _create(company, users["finance"])
    updated = services.update_customer(
        customer_id=c.pk,
        actor=users["finance"],
        expected_version=1,
        name="杭州西湖贸易有限公司",
        region="华东",
    )
    assert updated.version == 2
    assert updated.name_initials.startswith("hzxhmyyxgs")
    event = AuditEvent.objects.get(verb="customers.customer.updated")
    assert event.data["before"] == {"name": "上海华东机械有限公司", "region": ""}
    assert event.data["after"] == {"name": "杭州西湖贸易有限公司", "region": "华东"}


def test_version_conflict_second_clerk_refused(company, users):
    c = _create(company, users["finance"])
    services.update_customer(customer_id=c.pk, actor=users["finance"], expected_version=1, region="华东")
    with pytest.raises(ConcurrentChange):
        services.update_customer(customer_id=c.pk, actor=users["finance2"], expected_version=1, region="华南")
    c.refresh_from_db()
    assert c.region == "华东" and c.version == 2


def test_update_out_of_scope_refused(company, users, other_customer):
    with pytest.raises(NotAllowed):
        services.update_customer(
            customer_id=other_customer.pk, actor=users["sales_east"], expected_version=1, region="x"
        )


def test_currency_change_allowed_without_documents(users, customer):
    services.update_customer(
        customer_id=customer.pk, actor=users["finance"], expected_version=1, currency="usd"
    )
    customer.refresh_from_db()
    assert customer.currency == "USD"
    with pytest.raises(InvalidField):
        services.update_customer(
            customer_id=customer.pk, actor=users["finance"], expected_version=2, currency="XXX"
        )


def test_parent_cycle_refused(company, users):
    a = _create(company, users["finance"], code="A")
    b = _create(company, users["finance"], code="B", parent=a)
    with pytest.raises(InvalidField):
        services.update_customer(customer_id=a.pk, actor=users["finance"], expected_version=1, parent=b)


def test_contact_phone_normalised_and_invalid_refused(company, users, customer):
    contact = services.add_contact(
        customer_id=customer.pk,
        actor=users["sales_east"],
        name="张三",
        phone="138 0013 8000",
        is_primary=True,
    )
    assert contact.phone == "+8613800138000"
    with pytest.raises(InvalidField) as exc:
        services.add_contact(customer_id=customer.pk, actor=users["sales_east"], name="李四", phone="12345")
    assert exc.value.field == "phone"
    assert Contact.objects.count() == 1
    other = services.add_contact(
        customer_id=customer.pk,
        actor=users["sales_east"],
        name="王五",
        phone="021-6234 5678",
        is_primary=True,
    )
    assert other.phone == "+862162345678"
    contact.refresh_from_db()
    assert not contact.is_primary  # only one primary
    services.update_contact(contact_id=contact.pk, actor=users["sales_east"], phone="+86 139 0000 0000")
    contact.refresh_from_db()
    assert contact.phone == "+8613900000000"
    services.deactivate_contact(contact_id=contact.pk, actor=users["sales_east"])
    contact.refresh_from_db()
    assert not contact.is_active
    assert Contact.objects.filter(pk=contact.pk).exists()  # kept, not deleted
    assert AuditEvent.objects.filter(verb__startswith="customers.contact.").count() == 4


def test_contact_of_other_owner_refused(users, other_customer):
    with pytest.raises(NotAllowed):
        services.add_contact(customer_id=other_customer.pk, actor=users["sales_east"], name="x")


def _pdf(size=100):
    return b"%PDF-1.7\n" + b"0" * size


def _docx():
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("word/document.xml", "<w:document/>")
    return buf.getvalue()


def test_upload_ok(users, customer):
    f = services.upload_customer_file(
        customer_id=customer.pk,
        actor=users["sales_east"],
        upload=SimpleUploadedFile("合同.pdf", _pdf()),
        title="合同",
        kind="contract",
    )
    assert f.content_type == "application/pdf"
    assert default_storage.exists(f.file.name)
    d = services.upload_customer_file(
        customer_id=customer.pk,
        actor=users["legal"],
        upload=SimpleUploadedFile("g.docx", _docx()),
        kind="guarantee",
    )
    assert d.title == "g" and d.file.name.endswith(".docx")


def _stored_files(settings):
    root = settings.MEDIA_ROOT
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


def test_upload_oversized_refused_nothing_stored(users, customer, settings):
    settings.HUIKUAN_UPLOAD_MAX_BYTES = 1000
    with pytest.raises(InvalidUpload) as exc:
        services.upload_customer_file(
            customer_id=customer.pk, actor=users["sales_east"], upload=SimpleUploadedFile("a.pdf", _pdf(2000))
        )
    assert exc.value.field == "file"
    assert not CustomerFile.objects.exists() and _stored_files(settings) == []


@pytest.mark.parametrize(
    "name,content",
    [
        ("evil.exe", b"MZ\x90\x00" + b"0" * 50),
        ("evil.html", b"<html><script>alert(1)</script>"),
        ("fake.pdf", b"<html><script>alert(1)</script>"),  # extension lies
        ("fake.png", _pdf()),
        ("fake.docx", b"PK\x03\x04" + b"0" * 50),  # not a real zip
        ("sheet.xlsx", _docx()),  # a zip, but a Word document
    ],
)
def test_upload_wrong_type_refused_nothing_stored(users, customer, settings, name, content):
    with pytest.raises(InvalidUpload):
        services.upload_customer_file(
            customer_id=customer.pk, actor=users["sales_east"], upload=SimpleUploadedFile(name, content)
        )
    assert not CustomerFile.objects.exists() and _stored_files(settings) == []


def test_upload_not_allowed_for_auditor(users, customer):
    with pytest.raises(NotAllowed):
        services.upload_customer_file(
            customer_id=customer.pk, actor=users["auditor"], upload=SimpleUploadedFile("a.pdf", _pdf())
        )


def _term(company, actor, **kw):
    values = dict(code="T1", name="t", kind="net", days=30)
    values.update(kw)
    return services.create_payment_term(company=company, actor=actor, **values)


def test_terms_valid_and_split_normalised(company, users):
    t = _term(
        company,
        users["finance"],
        kind="split",
        split_lines=[{"percent": "30.00", "days": 0}, {"percent": "70", "days": 60}],
    )
    assert t.split_lines == [{"percent": "30", "days": 0}, {"percent": "70", "days": 60}]
    assert t.days == 60
    d = _term(company, users["finance"], code="D", discount_percent="2", discount_days=10)
    assert d.discount_percent == D("2") and d.discount_days == 10


@pytest.mark.parametrize(
    "kw,field",
    [
        (
            dict(kind="split", split_lines=[{"percent": "30", "days": 0}, {"percent": "60", "days": 60}]),
            "split_lines",
        ),
        (
            dict(kind="split", split_lines=[{"percent": "30", "days": -1}, {"percent": "70", "days": 60}]),
            "split_lines",
        ),
        (
            dict(kind="split", split_lines=[{"percent": "0", "days": 0}, {"percent": "100", "days": 60}]),
            "split_lines",
        ),
        (dict(kind="split", split_lines=[]), "split_lines"),
        (dict(discount_percent="100", discount_days=10), "discount_percent"),
        (dict(discount_percent="-1", discount_days=10), "discount_percent"),
        (dict(discount_percent="2", discount_days=30), "discount_days"),
        (dict(days=-5), "days"),
        (dict(kind="eom", days="x"), "days"),
    ],
)
def test_terms_invalid(company, users, kw, field):
    with pytest.raises(InvalidTerms) as exc:
        _term(company, users["finance"], **kw)
    assert exc.value.field == field
    assert not PaymentTerm.objects.exists()


def test_terms_permission_duplicate_and_update(company, users):
    with pytest.raises(NotAllowed):
        _term(company, users["sales_east"])
    t = _term(company, users["finance"])
    with pytest.raises(InvalidTerms):
        _term(company, users["finance"])
    services.update_payment_term(term_id=t.pk, company=company, actor=users["finance"], days=45)
    t.refresh_from_db()
    assert t.days == 45
    assert AuditEvent.objects.get(verb="customers.terms.updated").data == {
        "before": {"days": 30},
        "after": {"days": 45},
    }
