"""Every URL × role: the GET status each role gets. A new URL without a row here fails the test.

Roles: anonymous, each staff role, the owning salesperson (sales_east), another salesperson
(sales_west, whose customers are elsewhere) and the owner's sales manager. Objects all belong to a
customer owned by sales_east, so sales_west must get 404 on every object page.
"""

import datetime as dt
from decimal import Decimal as D

import pytest
from django.core.cache import cache
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import get_resolver
from django.utils import timezone

from huikuan.common.models import ExportJob
from huikuan.customers import services as cs
from huikuan.customers.models import Contact, CustomerGroup
from huikuan.imports.models import ImportJob
from huikuan.ledger import fapiao as ledger_fapiao
from huikuan.ledger import services as s
from huikuan.statements.models import StatementBatch
from huikuan.statements.services import issue_statement
from tests.e2e.access import (
    EDITORS,
    GET_405,
    LEDGER_POST,
    OK_ALL,
    OWN,
    ROLES,
    STAFF,
    TERMS,
    WO_REQ,
    extensions,
    only,
    post_only,
)

pytestmark = pytest.mark.django_db

IMPORTERS = {"admin", "finance", "credit_manager", "sales_east", "sales_west", "manager_east"}
# import jobs are visible to their creator (here finance) and administrators only
JOB = {r: (200 if r in ("admin", "finance") else 404) for r in STAFF}
# a large export written by the worker is its requester's (here finance) only: administrators too get 404
EXPORT = {r: (200 if r == "finance" else 404) for r in STAFF}

# name → (path template, expected by role, anonymous status). Objects: {c} customer, {d} document, {p} payment,
# {a} allocation, {i} instalment, {w} write-off request, {f} fapiao, {ct} contact, {fl} file, {t} term,
# {st} statement, {b} statement batch, {j} import job, {ex} export job (written).
MATRIX = {
    "set_language": ("/i18n/setlang/", {r: 302 for r in STAFF}, 302),
    "web:login": ("/login/", {r: 302 for r in STAFF}, 200),
    "web:logout": ("/logout/", GET_405, 405),
    "web:switch-company": ("/company/", GET_405, 405),
    "web:dashboard": ("/", OK_ALL, 302),
    "web:customer-list": ("/customers/", OK_ALL, 302),
    "web:customer-export": ("/customers/export.xlsx", OK_ALL, 302),
    "web:customer-pick": ("/customers/pick/?q=C", OK_ALL, 302),  # the picker: scoped results, never a 404
    "web:customer-create": ("/customers/new/", only(EDITORS), 302),
    "web:customer-edit": ("/customers/{c}/edit/", only(EDITORS, west=404), 302),
    "web:customer-contacts": ("/customers/{c}/contacts/", OWN, 302),
    "web:customer-contact-add": ("/customers/{c}/contacts/new/", only(EDITORS, west=404), 302),
    "web:contact-edit": ("/contacts/{ct}/edit/", only(EDITORS, west=404), 302),
    "web:contact-deactivate": ("/contacts/{ct}/deactivate/", GET_405, 405),
    "web:customer-files": ("/customers/{c}/files/", OWN, 302),
    "web:customer-file-download": ("/files/{fl}/", OWN, 302),
    "web:group-list": ("/customer-groups/", OK_ALL, 302),
    "web:term-list": ("/terms/", OK_ALL, 302),
    "web:term-create": ("/terms/new/", only(TERMS), 302),
    "web:term-edit": ("/terms/{t}/edit/", only(TERMS), 302),
    "web:customer-detail": ("/customers/{c}/", OWN, 302),
    "web:document-list": ("/documents/", OK_ALL, 302),
    "web:document-new": ("/documents/new/", only(LEDGER_POST), 302),
    "web:document-preview-schedule": ("/documents/preview-schedule/", post_only(LEDGER_POST), 302),
    "web:document-detail": ("/documents/{d}/", OWN, 302),
    "web:document-reverse": ("/documents/{d}/reverse/", post_only(LEDGER_POST), 302),
    "web:payment-list": ("/payments/", OK_ALL, 302),
    "web:bill-register": ("/payments/bills/", OK_ALL, 302),
    "web:payment-new": ("/payments/new/", only(LEDGER_POST), 302),
    "web:credit-note-new": ("/credit-notes/new/", only(LEDGER_POST), 302),
    "web:payment-detail": ("/payments/{p}/", OWN, 302),
    "web:payment-apply": ("/payments/{p}/apply/", only(LEDGER_POST), 302),
    "web:payment-reverse": ("/payments/{p}/reverse/", post_only(LEDGER_POST), 302),
    "web:payment-instrument": ("/payments/{p}/instrument/", post_only(LEDGER_POST), 302),
    "web:allocation-reverse": ("/payments/{p}/allocations/{a}/reverse/", post_only(LEDGER_POST), 302),
    "web:writeoff-list": ("/write-offs/", OK_ALL, 302),
    "web:writeoff-new": ("/write-offs/new/{i}/", only(WO_REQ), 302),
    "web:writeoff-decide": ("/write-offs/{w}/decide/", post_only({"admin", "finance", "credit_manager"}), 302),
    "web:fapiao-list": ("/fapiao/", OK_ALL, 302),
    "web:fapiao-new": ("/fapiao/new/", only(LEDGER_POST), 302),
    "web:fapiao-red": ("/fapiao/{f}/red/", only(LEDGER_POST), 302),
    "web:aging": ("/reports/aging/", OK_ALL, 302),
    "web:aging-drill": ("/reports/aging/items/?bucket=-1", OK_ALL, 302),
    "insight:kpis": ("/kpis/", OK_ALL, 302),
    "insight:kpi-items": ("/kpis/items/?source=billed", OK_ALL, 302),
    "web:customer-statement": ("/customers/{c}/statement/", OWN, 302),
    "web:statement-issue": ("/customers/{c}/statement/issue/", GET_405, 302),
    "web:statement-index": ("/statements/", OK_ALL, 302),
    "web:statement-batch-new": ("/statements/batches/new/", GET_405, 302),
    "web:statement-batch": ("/statements/batches/{b}/", {**OK_ALL, "sales_east": 404, "sales_west": 404, "manager_east": 404}, 302),
    "web:statement-batch-resume": ("/statements/batches/{b}/resume/", GET_405, 302),
    "web:statement-pdf": ("/statements/{st}/pdf/", OWN, 302),
    "web:statement-reply": ("/statements/{st}/reply/", OWN, 302),
    "web:export-list": ("/exports/", OK_ALL, 302),
    "web:export-job": ("/exports/{ex}/", EXPORT, 302),
    "web:export-download": ("/exports/{ex}/download/", EXPORT, 302),
    "imports:index": ("/imports/", only(IMPORTERS, other=404), 302),
    "imports:upload": ("/imports/upload/", GET_405, 302),
    "imports:export": ("/imports/export.xlsx", OK_ALL, 302),
    "imports:template": ("/imports/templates/customers.xlsx", only(IMPORTERS, other=404), 302),
    "imports:job": ("/imports/{j}/", JOB, 302),
    "imports:commit": ("/imports/{j}/commit/", GET_405, 302),
    "imports:progress": ("/imports/{j}/progress/", JOB, 302),
    "imports:errors": ("/imports/{j}/errors.xlsx", JOB, 302),
    "api:schema": ("/api/v1/schema/", OK_ALL, 200),  # the schema holds no data
    "api:docs": ("/api/v1/docs/", OK_ALL, 200),
    "api:redoc": ("/api/v1/redoc/", OK_ALL, 200),
    "api:customer-list": ("/api/v1/customers/", OK_ALL, 401),
    "api:customer-detail": ("/api/v1/customers/{c}/", OWN, 401),
    "api:contact-list": ("/api/v1/customers/{c}/contacts/", OWN, 401),
    "api:document-list": ("/api/v1/documents/", OK_ALL, 401),
    "api:document-detail": ("/api/v1/documents/{d}/", OWN, 401),
    "api:payment-list": ("/api/v1/payments/", OK_ALL, 401),
    "api:payment-detail": ("/api/v1/payments/{p}/", OWN, 401),
    "api:payment-allocations": ("/api/v1/payments/{p}/allocations/", OWN, 401),
    "api:credit-note-list": ("/api/v1/credit-notes/", OK_ALL, 401),
    "api:aging": ("/api/v1/aging/", OK_ALL, 401),
    "api:kpis": ("/api/v1/kpis/", OK_ALL, 401),
    "api:customer-statement": ("/api/v1/customers/{c}/statement/", OWN, 401),
}
for _ext in extensions():
    MATRIX.update(_ext.ROWS)


def all_url_names():
    names = []

    def walk(res, ns=None):
        for p in res.url_patterns:
            if hasattr(p, "url_patterns"):
                walk(p, p.namespace or ns)
            elif p.name:
                names.append(f"{ns}:{p.name}" if ns else p.name)

    walk(get_resolver())
    return names


def test_every_url_has_a_row():
    missing = sorted(set(all_url_names()) - set(MATRIX))
    assert missing == [], f"add these URLs to the access matrix: {missing}"


@pytest.fixture
def world(company, customer, users, finance, net30, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    settings.DATA_DIR = tmp_path
    (tmp_path / "exports").mkdir()
    (tmp_path / "exports" / "x.xlsx").write_bytes(b"PK")
    ex = ExportJob.objects.create(company_id=company.pk, created_by=finance, kind="prediction.forecast_items",
                                  language="en", title="x", status="done", path="x.xlsx", filename="x.xlsx",
                                  finished_at=timezone.now())
    doc = s.post_document(company=company, customer_id=customer.pk, document_date=dt.date(2026, 1, 5),
                          total=D("1000.00"), actor=finance)
    inst = doc.instalments.get()
    pay = s.record_payment(company=company, customer_id=customer.pk, amount=D("100.00"), date=dt.date(2026, 1, 6), actor=finance)
    alloc = pay.allocations.get()
    wo = s.request_write_off(company=company, instalment_id=inst.pk, amount=D("5.00"), reason="x", actor=finance)
    fp = ledger_fapiao.record_fapiao(company=company, customer_id=customer.pk, number="FP1", fapiao_type="special",
                         issue_date=dt.date(2026, 1, 5), amount=D("1000.00"), actor=finance, document_id=doc.pk)
    ct = Contact.objects.create(customer=customer, name="王")
    fl = cs.upload_customer_file(customer_id=customer.pk, actor=finance,
                                 upload=SimpleUploadedFile("c.pdf", b"%PDF-1.4 test", content_type="application/pdf"))
    st = issue_statement(user=finance, customer=customer, period_from=dt.date(2026, 1, 1), period_to=dt.date(2026, 1, 31),
                         today=dt.date(2026, 2, 1))
    b = StatementBatch.objects.create(company=company, period_from=dt.date(2026, 1, 1), period_to=dt.date(2026, 1, 31),
                                      created_by=finance)
    j = ImportJob.objects.create(company=company, kind="customers", file_name="x.csv", created_by=finance)
    CustomerGroup.objects.create(company=company, name="G")
    world = {"c": customer.pk, "d": doc.pk, "p": pay.pk, "a": alloc.pk, "i": inst.pk, "w": wo.pk, "f": fp.pk,
            "ct": ct.pk, "fl": fl.pk, "t": net30.pk, "st": st.pk, "b": b.pk, "j": j.pk, "ex": ex.pk}
    for ext in extensions():
        objs = ext.objects(world=world, company=company, customer=customer, users=users, finance=finance)
        clash = set(objs) & set(world)  # one name, two objects: a row would silently test the wrong one
        assert not clash, f"{ext.__name__} reuses placeholder names {sorted(clash)}"
        world.update(objs)
    return world


def test_url_role_matrix(client, world, users):
    diffs = []
    for role in ROLES:
        client.logout()
        if role != "anon":
            client.force_login(users[role])
        for name, (path, expected, anon) in MATRIX.items():
            if role == "anon":
                cache.clear()  # the anonymous API throttle (60/min) would answer 429 to the later API rows
            status = client.get(path.format(**world)).status_code
            want = anon if role == "anon" else expected[role]
            if status != want:
                diffs.append(f"{name} {role}: got {status}, want {want}")
    assert diffs == [], "\n".join(diffs)
