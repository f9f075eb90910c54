"""Receivables financing list: criteria (days to due, grade, dispute, statement confirmation), marking once."""

import datetime as dt
from decimal import Decimal as D

import pytest
from django.urls import reverse

from huikuan.common.errors import NotAllowed
from huikuan.credit.models import CreditProfile
from huikuan.integrations import financing
from huikuan.integrations.models import FinancedItem
from huikuan.ledger import services as ledger
from huikuan.ledger.models import Instalment

pytestmark = pytest.mark.django_db
TODAY = dt.date(2026, 3, 2)


@pytest.fixture
def items(company, customer, other_customer, finance):
    a = ledger.post_document(company=company, customer_id=customer.pk, document_date=dt.date(2026, 2, 20),
                             total=D("1000.00"), actor=finance)  # due 2026-03-22
    b = ledger.post_document(company=company, customer_id=other_customer.pk, document_date=dt.date(2026, 3, 1),
                             total=D("2000.00"), actor=finance)  # due 2026-03-31
    ledger.post_document(company=company, customer_id=customer.pk, document_date=dt.date(2026, 1, 1),
                         total=D("500.00"), actor=finance)  # due 2026-01-31: overdue, not eligible
    CreditProfile.objects.create(company=company, customer=customer, grade="A")
    CreditProfile.objects.create(company=company, customer=other_customer, grade="C")
    return a.instalments.get(), b.instalments.get()


def _ids(company, **kw):
    return [i.pk for i in financing.eligible(company=company, criteria=financing.Criteria(as_of=TODAY, **kw))]


def test_criteria(company, items):
    a, b = items
    assert _ids(company) == [a.pk, b.pk]
    assert _ids(company, max_days=25) == [a.pk]
    assert _ids(company, min_days=25) == [b.pk]
    assert _ids(company, grades=("A",)) == [a.pk]
    assert _ids(company, confirmed_only=True) == []
    Instalment.objects.filter(pk=a.pk).update(disputed_amount=D("1.00"))
    assert _ids(company) == [b.pk]


def test_mark_financed_once_for_the_open_amount(company, users, items):
    a, b = items
    rows = financing.mark_financed(actor=users["finance"], company=company, instalment_ids=[b.pk, a.pk],
                                   bank="工商银行", financed_on=TODAY)
    assert sorted(r.amount for r in rows) == [D("1000.00"), D("2000.00")]
    assert _ids(company) == []
    with pytest.raises(financing.FinancingError):
        financing.mark_financed(actor=users["finance"], company=company, instalment_ids=[a.pk], bank="x",
                                financed_on=TODAY)
    with pytest.raises(NotAllowed):
        financing.mark_financed(actor=users["collector"], company=company, instalment_ids=[a.pk], bank="x",
                                financed_on=TODAY)


def test_screen(company, users, items, client):
    a, _b = items
    client.force_login(users["finance"])
    url = reverse("integrations:financing")
    assert client.get(url).status_code == 200
    assert client.get(url + "?format=xlsx").status_code == 200
    client.post(url, {"items": [str(a.pk)], "bank": "招商银行", "financed_on": "2026-03-02", "action": "mark"})
    assert FinancedItem.objects.get().instalment_id == a.pk
    assert client.get(url + "?show=financed&format=xlsx").status_code == 200
    client.force_login(users["sales_east"])
    assert client.get(url).status_code == 403


def test_amount_at_most_open_and_not_in_the_future(company, users, items):
    a, b = items
    fin = users["finance"]
    with pytest.raises(financing.FinancingError, match="1000.01"):
        financing.mark_financed(actor=fin, company=company, amounts={a.pk: "1000.01"}, bank="x", financed_on=TODAY)
    with pytest.raises(financing.FinancingError):
        financing.mark_financed(actor=fin, company=company, amounts={a.pk: "1.001"}, bank="x", financed_on=TODAY)
    with pytest.raises(financing.FinancingError):
        financing.mark_financed(actor=fin, company=company, instalment_ids=[a.pk], bank="x",
                                financed_on=TODAY + dt.timedelta(days=1), today=TODAY)
    with pytest.raises(financing.FinancingError):  # all or nothing: b's bad amount refuses a too
        financing.mark_financed(actor=fin, company=company, amounts={a.pk: "10", b.pk: "0"}, bank="x", financed_on=TODAY)
    assert not FinancedItem.objects.exists()
    Instalment.objects.filter(pk=b.pk).update(disputed_amount=D("5.00"))
    with pytest.raises(financing.FinancingError, match="dispute|争议"):
        financing.mark_financed(actor=fin, company=company, instalment_ids=[b.pk], bank="x", financed_on=TODAY)
    (row,) = financing.mark_financed(actor=fin, company=company, amounts={a.pk: "800.00"}, bank="建设银行",
                                     reference="BF-2026-01", financed_on=TODAY, today=TODAY)
    assert (row.amount, row.reference) == (D("800.00"), "BF-2026-01")


def test_release_keeps_the_history_and_makes_the_item_eligible_again(company, users, items):
    from huikuan.common.models import AuditEvent

    a, _b = items
    fin = users["finance"]
    (row,) = financing.mark_financed(actor=fin, company=company, instalment_ids=[a.pk], bank="x", financed_on=TODAY)
    assert a.pk not in _ids(company)
    with pytest.raises(financing.FinancingError):
        financing.release(actor=fin, company=company, financed_id=row.pk, reason=" ", today=TODAY)
    with pytest.raises(NotAllowed):
        financing.release(actor=users["collector"], company=company, financed_id=row.pk, reason="x", today=TODAY)
    financing.release(actor=fin, company=company, financed_id=row.pk, reason="银行退回", today=TODAY)
    row.refresh_from_db()
    assert (row.released_on, row.release_reason, row.released_by) == (TODAY, "银行退回", fin)
    assert a.pk in _ids(company)
    with pytest.raises(financing.FinancingError):
        financing.release(actor=fin, company=company, financed_id=row.pk, reason="again", today=TODAY)
    (again,) = financing.mark_financed(actor=fin, company=company, instalment_ids=[a.pk], bank="y", financed_on=TODAY)
    assert FinancedItem.objects.filter(instalment=a).count() == 2 and again.released_on is None
    verbs = list(AuditEvent.objects.filter(verb__startswith="integrations.financing.").values_list("verb", flat=True))
    assert sorted(verbs) == ["integrations.financing.marked", "integrations.financing.marked",
                             "integrations.financing.released"]


def test_financed_once_at_a_time_is_a_constraint(company, users, items):
    from django.db import IntegrityError, transaction

    a, _b = items
    financing.mark_financed(actor=users["finance"], company=company, instalment_ids=[a.pk], bank="x", financed_on=TODAY)
    with pytest.raises(IntegrityError), transaction.atomic():
        FinancedItem.objects.create(company=company, instalment=a, bank="y", financed_on=TODAY, amount=D("1.00"))


def _zip(data):
    import csv
    import io
    import zipfile

    zf = zipfile.ZipFile(io.BytesIO(data))
    def rows(name):
        return list(csv.reader(io.StringIO(zf.read(name).decode("utf-8-sig"))))
    return zf, rows


def test_evidence_zip(company, customer, users, items, client, settings, tmp_path):
    """The pack holds items.csv, fapiao.csv, the confirmed statement PDF (its SHA-256 in items.csv and the
    manifest), the delivery proof naming the document, and a manifest whose hashes match every file."""
    import hashlib

    from django.core.files.base import ContentFile

    from huikuan.customers.models import CustomerFile, DocumentKind
    from huikuan.ledger.models import Fapiao
    from huikuan.statements.models import IssuedCopy, ReplyStatus, Statement

    settings.MEDIA_ROOT = str(tmp_path)
    a, b = items
    Fapiao.objects.create(company=company, customer=customer, document=a.document, number="04400001",
                          issue_date=dt.date(2026, 2, 20), amount=D("1000.00"))
    st = Statement.objects.create(company=company, customer=customer, number="ST-1", period_from=dt.date(2026, 1, 1),
                                  period_to=dt.date(2026, 2, 28), closing_amount=D("1500.00"),
                                  status=ReplyStatus.CONFIRMED, replied_on=dt.date(2026, 3, 1), replied_by="王会计")
    pdf = b"%PDF-1.4 issued statement"
    IssuedCopy.objects.create(statement=st, pdf=pdf, sha256=hashlib.sha256(pdf).hexdigest(), language="zh-hans")
    f = CustomerFile(customer=customer, kind=DocumentKind.DELIVERY, title=f"签收单 {a.document.number}")
    f.file.save("pod.pdf", ContentFile(b"%PDF delivery"), save=True)
    CustomerFile(customer=customer, kind=DocumentKind.DELIVERY, title="another order").file.save(
        "other.pdf", ContentFile(b"%PDF other"), save=True)

    client.force_login(users["finance"])
    resp = client.post(reverse("integrations:financing"), {"items": [str(a.pk), str(b.pk)], "action": "zip"})
    assert resp.status_code == 200 and resp["Content-Type"] == "application/zip"
    zf, rows = _zip(resp.content)
    names = set(zf.namelist())
    assert {"items.csv", "fapiao.csv", "manifest.csv", "statements/ST-1.pdf"} <= names
    assert [n for n in names if n.startswith("delivery/")] and not any("other" in n for n in names)
    assert zf.read("statements/ST-1.pdf") == pdf
    items_csv = rows("items.csv")
    row_a = next(r for r in items_csv[1:] if r[3] == a.document.number)
    row_b = next(r for r in items_csv[1:] if r[3] == b.document.number)
    assert "04400001" in row_a and "ST-1" in row_a and hashlib.sha256(pdf).hexdigest() in row_a
    assert "ST-1" not in row_b  # the other customer has no confirmed statement
    manifest = rows("manifest.csv")[1:]
    assert {m[0] for m in manifest} == names - {"manifest.csv"}
    for path, size, sha, _what in manifest:
        content = zf.read(path)
        assert (int(size), sha) == (len(content), hashlib.sha256(content).hexdigest())
    # bad input: nothing selected, an item of another company
    resp = client.post(reverse("integrations:financing"), {"action": "zip"})
    assert resp.status_code == 302


def test_evidence_zip_takes_the_portal_stamped_copy(company, customer, users, items):
    from huikuan.integrations import financing_evidence
    from huikuan.statements.models import ReplyStatus, Statement

    a, _b = items
    st = Statement.objects.create(company=company, customer=customer, number="ST-2", period_from=dt.date(2026, 1, 1),
                                  period_to=dt.date(2026, 3, 1), closing_amount=D("1500.00"),
                                  status=ReplyStatus.CONFIRMED, replied_on=dt.date(2026, 3, 1))
    assert financing_evidence.CONFIRMED_PDF_PROVIDERS  # the portal registered its lookup
    from unittest import mock

    with mock.patch.object(financing_evidence, "CONFIRMED_PDF_PROVIDERS",
                           [lambda ids: {st.pk: (b"%PDF stamped", "abc")} if st.pk in ids else {}]):
        zf, _rows = _zip(financing_evidence.build_zip(company=company, instalment_ids=[a.pk]))
    assert zf.read("statements/ST-2.pdf") == b"%PDF stamped"
    with pytest.raises(financing_evidence.EvidenceError):
        financing_evidence.build_zip(company=company, instalment_ids=[])
    with pytest.raises(financing_evidence.EvidenceError):
        financing_evidence.build_zip(company=company, instalment_ids=[a.pk, 10**9])


def test_screen_release(company, users, items, client):
    a, _b = items
    client.force_login(users["finance"])
    url = reverse("integrations:financing")
    client.post(url, {"items": [str(a.pk)], "bank": "招商银行", "reference": "HT-9", "financed_on": "2026-03-02",
                      "action": "mark"})
    row = FinancedItem.objects.get()
    assert row.reference == "HT-9"
    page = client.get(url + "?show=financed")
    assert b"HT-9" in page.content
    for view in (page, client.get(url)):  # the criteria form is whole on both views
        html = view.content.decode()
        assert all(f'name="{n}"' in html for n in ("show", "min_days", "max_days", "grades", "confirmed"))
        assert html.count("<form") == html.count("</form>")
    client.post(url + "?show=financed", {"release": str(row.pk), "reason": "误标"})
    row.refresh_from_db()
    assert row.released_on is not None
    assert b"HT-9" not in client.get(url + "?show=financed").content
    assert b"HT-9" in client.get(url + "?show=financed&released=1").content


def test_aging_financed_column_and_filter(company, customer, users, items, client):
    """The aging shows the financed part per row and in total, and filters to only / without financed items,
    as of the date: an item released before it, or financed after it, does not count."""
    from huikuan.ledger import aging as ledger_aging

    a, _b = items
    fin = users["finance"]
    (row,) = financing.mark_financed(actor=fin, company=company, instalment_ids=[a.pk], bank="x",
                                     financed_on=TODAY - dt.timedelta(days=1))
    marked = financing.instalments_sql(company=company, day=TODAY)
    only = ledger_aging.aging_report(user=fin, company=company, as_of=TODAY, marked=marked, marked_mode="only")
    without = ledger_aging.aging_report(user=fin, company=company, as_of=TODAY, marked=marked, marked_mode="exclude")
    everything = ledger_aging.aging_report(user=fin, company=company, as_of=TODAY)
    assert only.total == D("1000.00") and without.total == D("2500.00") and everything.total == D("3500.00")
    totals = ledger_aging.marked_totals(user=fin, company=company, as_of=TODAY, group_by="customer", marked=marked)
    assert totals == {customer.pk: D("1000.00"), "*": D("1000.00")}
    # the day before it was financed, nothing was with a bank
    assert not financing.as_of(company=company, day=TODAY - dt.timedelta(days=2)).exists()

    client.force_login(fin)
    url = reverse("web:aging") + "?as_of=2026-03-02"
    page = client.get(url).content.decode()
    assert 'class="num financed"' in page and "1,000.00" in page
    assert "3,500.00" not in client.get(url + "&financed=only").content.decode()
    assert "2,500.00" in client.get(url + "&financed=exclude").content.decode()
    assert client.get(url + "&financed=only&format=xlsx").status_code == 200
    drill = client.get(reverse("web:aging-drill") + "?as_of=2026-03-02&group=none&bucket=-1").content.decode()
    assert drill.count('class="badge financed"') == 1
    drill = client.get(reverse("web:aging-drill") + "?as_of=2026-03-02&group=none&bucket=-1&financed=exclude")
    assert a.document.number not in drill.content.decode()

    financing.release(actor=fin, company=company, financed_id=row.pk, reason="r", today=TODAY)
    assert not financing.as_of(company=company, day=TODAY).exists()  # released on TODAY: not with a bank that day
    assert 'class="num financed"' not in client.get(url).content.decode()
    assert financing.as_of(company=company, day=TODAY - dt.timedelta(days=1)).exists()


def test_customer_360_shows_financed_items(company, customer, users, items, client):
    a, _b = items
    client.force_login(users["finance"])
    url = reverse("web:customer-detail", args=[customer.pk]) + "?as_of=2026-03-02"
    assert 'id="financed-items"' not in client.get(url).content.decode()
    financing.mark_financed(actor=users["finance"], company=company, instalment_ids=[a.pk], bank="农业银行",
                            reference="FX-77", financed_on=TODAY)
    page = client.get(url).content.decode()
    assert 'id="financed-items"' in page and "农业银行" in page and "FX-77" in page
