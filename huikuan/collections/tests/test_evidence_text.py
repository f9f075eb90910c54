"""Issue 12 point 18: the evidence pack prints its number as written (no ``u002D`` from escapejs in CSS),
describes events instead of listing their codes, and its contact-log CSV goes through the export guard."""

import csv
import datetime as dt
import io
import zipfile
from decimal import Decimal as D

import pytest
import time_machine
from django.urls import reverse
from django.utils import translation
from pypdf import PdfReader

from huikuan.collections import services as svc
from huikuan.common.templatetags.pdf_text import css_string
from huikuan.ledger import services as ls
from huikuan.statements.services import issue_statement

pytestmark = pytest.mark.django_db
TODAY = dt.date(2026, 3, 2)


@pytest.fixture(autouse=True)
def _clock():
    with time_machine.travel(dt.datetime(2026, 3, 2, 2, 0, tzinfo=dt.UTC), tick=False):
        yield


def test_css_string_escapes_only_what_could_break_out():
    assert css_string("DN20270120-208-5") == '"DN20270120-208-5"'
    assert css_string('a"b\\c</style>&') == '"a\\22 b\\5C c\\3C /style\\3E \\26 "'
    assert css_string("第1页\n") == '"第1页\\A "'


def test_evidence_pack_text(client, company, customer, users, finance):
    inv = ls.post_document(company=company, customer_id=customer.pk, document_date=dt.date(2026, 1, 5),
                           total=D("10000.00"), actor=finance, reference="HT-2026-001")
    issue_statement(user=finance, customer=customer, period_from=dt.date(2026, 1, 1), period_to=dt.date(2026, 2, 28),
                    today=TODAY)
    svc.log_activity(company=company, customer_id=customer.pk, kind="call", outcome="refuses", actor=finance,
                     note='=HYPERLINK("http://evil.example","点我")', contact_name="+86 138 0000 0001")
    svc.record_written_demand(company=company, customer_id=customer.pk, date=TODAY, reference="CD-2026-7", actor=finance)
    case = svc.open_case(company=company, customer_id=customer.pk, instalment_ids=[inv.instalments.get().pk],
                         actor=users["legal"], today=TODAY)
    assert "-" in case.number
    client.force_login(users["legal"])
    for lang, issued in (("zh-hans", "对账单"), ("en", "tatement")):
        r = client.get(reverse("collections:case-evidence-pdf", args=[case.pk]), HTTP_ACCEPT_LANGUAGE=lang)
        text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(r.content)).pages)
        assert case.number in text and "u002D" not in text
        assert "statement.issued" not in text and "collections.demand" not in text
        assert issued in text
    with translation.override("en"):
        r = client.get(reverse("collections:case-evidence-zip", args=[case.pk]), HTTP_ACCEPT_LANGUAGE="en")
    raw = zipfile.ZipFile(io.BytesIO(r.content)).read("contact-log.csv").decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(raw)))
    header, row = rows[0], rows[1]
    assert header[0] == "When" and len(rows) == 2
    assert row[3] == "'+86 138 0000 0001" and row[4].startswith("'=HYPERLINK")  # neutralised, not a formula
    assert row[1] != "call" and row[2] != "refuses"  # labels, not codes
