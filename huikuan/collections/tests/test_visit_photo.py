"""A visit logged from a phone with a photo of the statement the customer signed (issue 13): the photo is
checked and filed on the customer's documents like any other upload, in the visit's transaction."""

import datetime as dt
from decimal import Decimal as D

import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from huikuan.collections import services as svc
from huikuan.collections.models import Activity, Promise
from huikuan.common.models import AuditEvent
from huikuan.customers.models import CustomerFile
from huikuan.ledger import services as ls

pytestmark = pytest.mark.django_db
JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 64


@pytest.fixture(autouse=True)
def _clock():
    with time_machine.travel(dt.datetime(2026, 3, 2, 2, 0, tzinfo=dt.UTC), tick=False):
        yield


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


@pytest.fixture
def inv(company, customer, finance):
    return ls.post_document(company=company, customer_id=customer.pk, document_date=dt.date(2026, 1, 5),
                            total=D("10000.00"), actor=finance)


def _files(tmp_path):
    return [p for p in tmp_path.rglob("*") if p.is_file()]


def test_a_visit_with_a_photo_and_a_promise_files_the_photo(client, customer, inv, users, tmp_path):
    client.force_login(users["sales_east"])
    r = client.post(reverse("collections:log-activity", args=[customer.pk]), {
        "kind": "visit", "outcome": "promised", "note": "对账单已签回", "promise_amount": "2,000",
        "promise_date": "2026-03-09", "photo": SimpleUploadedFile("IMG_0042.jpg", JPEG, content_type="image/jpeg")})
    assert r.status_code == 302
    act = Activity.objects.get()
    assert act.kind == "visit" and Promise.objects.get().activity_id == act.pk
    f = act.attachment
    assert f.customer_id == customer.pk and f.kind == "signed_statement" and f.content_type == "image/jpeg"
    assert f.uploaded_by == users["sales_east"] and f.title == "签回对账单 · 拜访 2026-03-02"  # the uploader's language
    assert AuditEvent.objects.filter(verb="customers.file.uploaded").count() == 1
    assert len(_files(tmp_path)) == 1
    panel = client.get(reverse("collections:customer-panel", args=[customer.pk])).content.decode()
    assert reverse("web:customer-file-download", args=[f.pk]) in panel
    assert client.get(reverse("web:customer-file-download", args=[f.pk])).status_code == 200
    # the customer's documents list it like any other upload
    assert "签回对账单 · 拜访 2026-03-02" in client.get(f"/customers/{customer.pk}/files/").content.decode()


def test_a_refused_photo_saves_nothing_and_keeps_the_typed_visit(client, customer, inv, users, tmp_path):
    client.force_login(users["sales_east"])
    r = client.post(reverse("collections:log-activity", args=[customer.pk]), {
        "kind": "visit", "outcome": "promised", "note": "签回", "promise_amount": "2000", "promise_date": "2026-03-09",
        "photo": SimpleUploadedFile("statement.jpg", b"<html>not a photo</html>", content_type="image/jpeg")})
    assert r.status_code == 422
    html = r.content.decode()
    assert 'name="photo"' in html and 'aria-invalid="true"' in html
    assert "签回" in html and 'value="2000"' in html and 'value="2026-03-09"' in html
    assert not Activity.objects.exists() and not CustomerFile.objects.exists() and not Promise.objects.exists()
    assert _files(tmp_path) == []


def test_a_refused_visit_leaves_no_file_behind(company, customer, inv, users, tmp_path):
    from huikuan.common.errors import DomainError

    with pytest.raises(DomainError):
        svc.log_activity(company=company, customer_id=customer.pk, kind="visit", outcome="promised", actor=users["sales_east"],
                         today=dt.date(2026, 3, 2), promise_amount="100", promise_date=dt.date(2026, 2, 1),
                         attachment=SimpleUploadedFile("s.jpg", JPEG, content_type="image/jpeg"))
    assert not CustomerFile.objects.exists() and not Activity.objects.exists()
    assert _files(tmp_path) == []


def test_another_salespersons_customer_is_404_with_a_photo_too(client, other_customer, users, tmp_path):
    client.force_login(users["sales_east"])
    r = client.post(reverse("collections:log-activity", args=[other_customer.pk]), {
        "kind": "visit", "photo": SimpleUploadedFile("s.jpg", JPEG, content_type="image/jpeg")})
    assert r.status_code == 404
    assert not CustomerFile.objects.exists() and _files(tmp_path) == []
