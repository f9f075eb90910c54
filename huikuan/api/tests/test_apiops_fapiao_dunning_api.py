"""Issue 18 (apiops): fapiao (list, read, record, red-reverse) and dunning notices (read) through the API —
the fapiao screens' rules and permission, the dunning run's notices with their items and deliveries."""

import datetime as dt
from decimal import Decimal as D

import pytest
from django.utils import timezone

from huikuan.customers.models import Contact
from huikuan.dunning import services as dunning
from huikuan.dunning.models import Notice
from huikuan.ledger import services as ledger
from huikuan.ledger.models import Fapiao

pytestmark = pytest.mark.django_db


@pytest.fixture
def doc(company, customer, finance):
    return ledger.post_document(company=company, customer_id=customer.pk, document_date=dt.date(2026, 1, 5),
                                total=D("1000.00"), actor=finance)


def test_fapiao_recorded_listed_and_red_reversed(company, customer, doc, api):
    c = api("finance")
    body = {"customer": customer.pk, "number": "04400001", "issue_date": "2026-01-06", "amount": "1000.00",
            "document": doc.pk}
    r = c.post("/api/v1/fapiao/", body, format="json", HTTP_IDEMPOTENCY_KEY="fp-1")
    assert r.status_code == 201, r.content
    fp = r.json()
    assert fp["status"] == "issued" and fp["document_number"] == doc.number and fp["fapiao_type"] == "special"
    again = c.post("/api/v1/fapiao/", body, format="json", HTTP_IDEMPOTENCY_KEY="fp-1")
    assert again.json()["id"] == fp["id"] and Fapiao.objects.count() == 1
    assert [x["id"] for x in c.get("/api/v1/fapiao/", {"document": doc.pk}).json()["results"]] == [fp["id"]]
    mark = timezone.now()
    red = c.post(f"/api/v1/fapiao/{fp['id']}/red-reverse/", {"red_number": "04400002", "issue_date": "2026-01-10",
                                                               "amount": "400.00"}, format="json")
    assert red.status_code == 201, red.content
    assert red.json()["amount"] == "-400.00" and red.json()["red_of"] == fp["id"]
    assert c.get(f"/api/v1/fapiao/{fp['id']}/").json()["status"] == "partly_red"
    changed = {x["id"] for x in c.get("/api/v1/fapiao/", {"updated_since": mark.isoformat()}).json()["results"]}
    assert changed == {fp["id"], red.json()["id"]}  # the original's status changed too


def test_fapiao_refusals_match_the_screen(company, customer, other_customer, doc, finance, api):
    c = api("finance")
    base = {"customer": customer.pk, "number": "FP-9", "issue_date": "2026-01-06", "amount": "600.00",
            "document": doc.pk}
    assert c.post("/api/v1/fapiao/", base, format="json").status_code == 201
    over = c.post("/api/v1/fapiao/", {**base, "number": "FP-10", "amount": "500.00"}, format="json")
    assert over.status_code == 422 and over.json()["error"]["code"] == "over_fapiao"
    dup = c.post("/api/v1/fapiao/", {**base, "amount": "1.00"}, format="json")
    assert dup.json()["error"]["code"] == "duplicate_number"
    future = c.post("/api/v1/fapiao/", {**base, "number": "FP-11", "amount": "1.00", "issue_date": "2999-01-01"},
                    format="json")
    assert future.status_code == 422 and "issue_date" in future.json()["error"]["fields"]
    wrong = c.post("/api/v1/fapiao/", {**base, "number": "FP-12", "amount": "1.00", "customer": other_customer.pk},
                   format="json")
    assert wrong.status_code == 422 and wrong.json()["error"]["code"] == "wrong_customer"
    assert api("sales_east").post("/api/v1/fapiao/", {**base, "number": "FP-13", "amount": "1.00"},
                                  format="json").status_code == 403
    assert api("sales_west").get("/api/v1/fapiao/").json()["results"] == []
    assert Fapiao.objects.count() == 1
    fp = Fapiao.objects.get()
    too_much = c.post(f"/api/v1/fapiao/{fp.pk}/red-reverse/", {"red_number": "R-1", "issue_date": "2026-01-10",
                                                                "amount": "700.00"}, format="json")
    assert too_much.status_code == 422 and too_much.json()["error"]["code"] == "over_fapiao"
    early = c.post(f"/api/v1/fapiao/{fp.pk}/red-reverse/", {"red_number": "R-1", "issue_date": "2026-01-01"},
                   format="json")
    assert early.status_code == 422 and "issue_date" in early.json()["error"]["fields"]
    assert api("sales_west").post(f"/api/v1/fapiao/{fp.pk}/red-reverse/", {"red_number": "R-1",
                                  "issue_date": "2026-01-10"}, format="json").status_code == 404
    whole = c.post(f"/api/v1/fapiao/{fp.pk}/red-reverse/", {"red_number": "R-1", "issue_date": "2026-01-10"},
                   format="json")
    assert whole.status_code == 201 and whole.json()["amount"] == "-600.00"
    twice = c.post(f"/api/v1/fapiao/{fp.pk}/red-reverse/", {"red_number": "R-2", "issue_date": "2026-01-10"},
                   format="json")
    assert twice.status_code == 422 and twice.json()["error"]["code"] == "already_reversed"
    assert Fapiao.objects.count() == 2


def test_dunning_notices_read_with_items_and_deliveries(company, customer, other_customer, finance, api):
    Contact.objects.create(customer=customer, name="财务", email="pay@example.cn")
    ledger.post_document(company=company, customer_id=customer.pk, document_date=dt.date(2026, 9, 1),
                         total=D("800.00"), actor=finance)
    dunning.ensure_defaults(company)
    dunning.run_dunning(company=company, as_of=dt.date(2026, 12, 31), enqueue=False)
    notice = Notice.objects.filter(customer=customer).first()
    assert notice is not None
    c = api("collector")
    rows = c.get("/api/v1/dunning-notices/", {"customer": customer.pk}).json()["results"]
    assert notice.pk in [x["id"] for x in rows]
    one = c.get(f"/api/v1/dunning-notices/{notice.pk}/").json()
    assert one["number"] == notice.number and one["items"] and one["items"][0]["amount"]
    assert {d["channel"] for d in one["deliveries"]} == set(notice.deliveries.values_list("channel", flat=True))
    assert c.get("/api/v1/dunning-notices/", {"tone": "angry"}).status_code == 422
    assert c.get("/api/v1/dunning-notices/", {"cycle_from": "soon"}).status_code == 422
    assert [x["id"] for x in c.get("/api/v1/dunning-notices/", {"updated_since": "2000-01-01"}).json()["results"]]
    west = api("sales_west")
    assert west.get(f"/api/v1/dunning-notices/{notice.pk}/").status_code == 404
    assert notice.pk not in [x["id"] for x in west.get("/api/v1/dunning-notices/").json()["results"]]
