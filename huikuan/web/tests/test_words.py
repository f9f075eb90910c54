"""Words that mean the right thing where they stand (issue 13): one English word, several Chinese ones."""

import datetime as dt
import re
from decimal import Decimal as D
from pathlib import Path

import pytest

from huikuan.collections import services as cols
from huikuan.common import clock
from huikuan.credit import services as cs
from huikuan.credit.models import CreditProfile
from huikuan.ledger import services as ls

pytestmark = pytest.mark.django_db
PO = Path(__file__).resolve().parents[2] / "locale" / "zh_Hans" / "LC_MESSAGES" / "django.po"


def _entries():
    text = PO.read_text(encoding="utf-8")
    out = {}
    for block in text.split("\n\n"):
        ctx = re.search(r'^msgctxt "(.*)"$', block, re.M)
        mid = re.search(r'^msgid "(.*)"$', block, re.M)
        mstr = re.search(r'^msgstr "(.*)"$', block, re.M)
        if mid and mstr and mid.group(1):
            out[(ctx.group(1) if ctx else None, mid.group(1))] = mstr.group(1)
    return out


def test_a_word_given_a_context_is_translated_differently_from_the_bare_word():
    """A msgid used in two contexts must not share one translation where the contexts differ: each
    context entry exists because the bare translation is wrong there."""
    entries = _entries()
    same = [(ctx, mid, tr) for (ctx, mid), tr in entries.items()
            if ctx and ctx != "menu" and (None, mid) in entries and entries[(None, mid)] == tr]
    assert same == [], same
    for ctx, mid, want in [("apply payment", "Apply", "核销"), ("period", "From", "期间起"), ("period", "To", "期间止"),
                           ("amount requested", "Requested", "申请金额"), ("credit standing", "Credit", "信用"),
                           ("filter", "Show", "显示"), ("promise status", "Open", "待兑现"),
                           ("dispute status", "Open", "处理中")]:
        assert entries[(ctx, mid)] == want


def _zh(client, user):
    client.force_login(user)
    client.cookies["django_language"] = "zh-hans"
    return client


def test_pages_use_the_word_for_their_context(client, users, company, customer, finance):
    today = clock.today(company)
    ls.post_document(company=company, customer_id=customer.pk, document_date=today - dt.timedelta(days=40),
                     total=D("1000.00"), actor=finance)
    pay = ls.record_payment(company=company, customer_id=customer.pk, amount=D("100.00"), date=today, actor=finance,
                            auto_allocate=False)
    c = _zh(client, users["admin"])
    html = c.get(f"/payments/{pay.pk}/").content.decode()
    assert ">核销</a>" in html and ">应用</a>" not in html
    html = c.get(f"/customers/{customer.pk}/statement/").content.decode()
    assert "期间起<br>" in html and "期间止<br>" in html and "发自<br>" not in html
    html = c.get("/statements/").content.decode()
    assert "期间起<br>" in html and "致<br>" not in html
    html = c.get("/collections/").content.decode()
    assert "显示 <select name=\"tier\">" in html and "查询 <select" not in html
    cs.policy_of(company)
    CreditProfile.objects.create(company=company, customer=customer, limit_amount=D("500"), grade="A")
    cs.submit_order(company=company, customer_id=customer.pk, reference="SO-1", amount=D("5000"), as_of=today,
                    actor=users["sales_east"])
    html = c.get("/credit/orders/").content.decode()
    assert 'data-sort="requested">申请金额<span class="arrow">' in html and ">申请时间<" not in html


def test_promise_and_dispute_status_are_not_open_amounts(client, users, company, customer, finance):
    today = clock.today(company)
    doc = ls.post_document(company=company, customer_id=customer.pk, document_date=today - dt.timedelta(days=40),
                           total=D("1000.00"), actor=finance)
    cols.record_promise(company=company, customer_id=customer.pk, amount=D("300"), promised_date=today + dt.timedelta(days=5),
                        today=today, actor=users["collector"])
    cols.open_dispute(company=company, customer_id=customer.pk, instalment_id=doc.instalments.get().pk, reason="price",
                      amount=D("50"), actor=users["collector"], today=today)
    c = _zh(client, users["admin"])
    html = c.get("/collections/promises/").content.decode()
    assert "待兑现" in html and ">未收</span>" not in html
    html = c.get("/collections/disputes/").content.decode()
    assert "<td>处理中" in html
