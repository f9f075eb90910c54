"""Collection commission: the DOMAIN.md golden case, bands, bills, clawback after approval, validation."""

import datetime as dt
from decimal import Decimal as D

import pytest

from huikuan.insight import commission as cm
from huikuan.insight.commission import BandInput, CommissionError
from huikuan.insight.models import BillMode, CommissionLine, CommissionStatement
from huikuan.ledger import services as s

pytestmark = pytest.mark.django_db

VECTOR = [BandInput(0, 30, D("1")), BandInput(31, 90, D("0.5")), BandInput(91, None, D("0"))]


def _doc(company, customer, day, total, actor, due):
    return s.post_document(company=company, customer_id=customer.pk, document_date=day, total=D(total), actor=actor,
                           schedule=[s.ScheduleInput(due_date=due, amount=D(total))])


@pytest.fixture
def rule(company, finance):
    return cm.save_rule(company=company, valid_from=dt.date(2026, 1, 1), bands=VECTOR, actor=finance)


def test_golden_vector(company, customer, finance, users, rule):
    # rate 1 % up to 30 days late, 0.5 % up to 90, 0 beyond: 100,000 on time, 50,000 45 days late,
    # 20,000 120 days late → 1,000 + 250 + 0 = 1,250.00
    _doc(company, customer, dt.date(2026, 1, 5), "20000", finance, due=dt.date(2026, 2, 1))
    _doc(company, customer, dt.date(2026, 3, 1), "50000", finance, due=dt.date(2026, 4, 16))
    _doc(company, customer, dt.date(2026, 5, 1), "100000", finance, due=dt.date(2026, 6, 10))
    s.record_payment(company=company, customer_id=customer.pk, amount=D("170000"), date=dt.date(2026, 5, 31),
                     actor=finance)
    assert cm.compute_month(company=company, month=dt.date(2026, 5, 1), actor=finance) == 3
    st = CommissionStatement.objects.get(salesperson=users["sales_east"], month=dt.date(2026, 5, 1))
    assert st.collected_amount == D("170000.00") and st.commission_amount == D("1250.00")
    lines = {ln.amount: (ln.days_late, ln.rate, ln.commission) for ln in st.lines.all()}
    assert lines == {D("20000.00"): (119, D("0"), D("0.00")), D("50000.00"): (45, D("0.5"), D("250.00")),
                     D("100000.00"): (0, D("1"), D("1000.00"))}
    # recomputing a draft gives the same result, not double
    cm.compute_month(company=company, month=dt.date(2026, 5, 20), actor=finance)
    st.refresh_from_db()
    assert st.commission_amount == D("1250.00") and st.lines.count() == 3


def test_rounding_and_bills(company, customer, finance, users):
    cm.save_rule(company=company, valid_from=dt.date(2026, 1, 1), bands=[BandInput(0, None, D("1.5"))],
                 bill_mode=BillMode.REDUCED, bill_share=D("50"), actor=finance)
    _doc(company, customer, dt.date(2026, 3, 1), "100.33", finance, due=dt.date(2026, 3, 31))
    _doc(company, customer, dt.date(2026, 3, 2), "1000", finance, due=dt.date(2026, 4, 1))
    s.record_payment(company=company, customer_id=customer.pk, amount=D("100.33"), date=dt.date(2026, 3, 10),
                     actor=finance)
    s.record_payment(company=company, customer_id=customer.pk, amount=D("1000"), date=dt.date(2026, 3, 11),
                     actor=finance, method="bank_acceptance", bill_number="110000000000000000000000000001",
                     bill_acceptor="工商银行", bill_maturity_date=dt.date(2026, 8, 11))
    cm.compute_month(company=company, month=dt.date(2026, 3, 1), actor=finance)
    lines = {ln.amount: (ln.is_bill, ln.commission) for ln in CommissionLine.objects.all()}
    # 100.33 × 1.5 % = 1.50495 → 1.50; the bill at half the rate: 1,000 × 0.75 % = 7.50
    assert lines == {D("100.33"): (False, D("1.50")), D("1000.00"): (True, D("7.50"))}


def test_clawback_after_approval_lands_next_month(company, customer, finance, users, rule):
    _doc(company, customer, dt.date(2026, 3, 1), "10000", finance, due=dt.date(2026, 3, 31))
    pay = s.record_payment(company=company, customer_id=customer.pk, amount=D("10000"), date=dt.date(2026, 3, 20),
                           actor=finance)
    cm.compute_month(company=company, month=dt.date(2026, 3, 1), actor=finance)
    march = CommissionStatement.objects.get(month=dt.date(2026, 3, 1))
    assert march.commission_amount == D("100.00")
    assert cm.approve(company=company, statement_ids=[march.pk], actor=users["finance2"]) == 1
    # the payment bounces; the reversal is back-dated into the approved March
    s.reverse_credit(company=company, credit_id=pay.pk, actor=finance, on=dt.date(2026, 3, 25), reason="退票")
    cm.compute_month(company=company, month=dt.date(2026, 3, 1), actor=finance)
    march.refresh_from_db()
    assert march.commission_amount == D("100.00") and march.lines.count() == 1  # never rewritten
    cm.compute_month(company=company, month=dt.date(2026, 4, 1), actor=finance)
    april = CommissionStatement.objects.get(month=dt.date(2026, 4, 1))
    adj = april.lines.get()
    assert adj.adjustment and adj.amount == D("-10000.00") and adj.commission == D("-100.00")
    assert april.commission_amount == D("-100.00") and april.adjustment_amount == D("-100.00")


def test_clawback_uses_what_was_earned_even_after_a_rule_change(company, customer, finance, users, rule):
    _doc(company, customer, dt.date(2026, 3, 1), "10000", finance, due=dt.date(2026, 3, 31))
    pay = s.record_payment(company=company, customer_id=customer.pk, amount=D("10000"), date=dt.date(2026, 3, 20),
                           actor=finance)
    cm.compute_month(company=company, month=dt.date(2026, 3, 1), actor=finance)
    cm.save_rule(company=company, valid_from=dt.date(2026, 4, 1), bands=[BandInput(0, None, D("3"))], actor=finance)
    s.reverse_credit(company=company, credit_id=pay.pk, actor=finance, on=dt.date(2026, 4, 3), reason="退票")
    cm.compute_month(company=company, month=dt.date(2026, 4, 1), actor=finance)
    april = CommissionStatement.objects.get(month=dt.date(2026, 4, 1))
    assert april.commission_amount == D("-100.00") and not april.lines.get().adjustment


@pytest.mark.parametrize("bands,message", [
    ([BandInput(0, 30, D("1")), BandInput(20, 90, D("0.5"))], "overlap"),
    ([BandInput(0, None, D("1")), BandInput(31, 90, D("0.5"))], "overlap"),
    ([BandInput(0, 30, D("101"))], "100"),
    ([BandInput(0, 30, D("-1"))], "100"),
    ([BandInput(40, 30, D("1"))], "ends before"),
    ([], "at least one"),
])
def test_bad_rules_refused_nothing_saved(company, finance, bands, message):
    from django.utils import translation

    with translation.override("en"), pytest.raises(CommissionError) as err:
        cm.save_rule(company=company, valid_from=dt.date(2026, 1, 1), bands=bands, actor=finance)
    assert message in str(err.value.message)
    from huikuan.insight.models import CommissionRule
    assert not CommissionRule.objects.exists()


def test_parse_bands_and_no_rule(company, finance):
    assert cm.parse_bands("0-30:1%, 31-90：0.5；91-:0") == VECTOR
    with pytest.raises(CommissionError):
        cm.parse_bands("0-30 1")
    with pytest.raises(CommissionError):
        cm.compute_month(company=company, month=dt.date(2026, 3, 1), actor=finance)


def test_own_statement_cannot_be_approved_by_its_salesperson(company, customer, finance, users, rule):
    _doc(company, customer, dt.date(2026, 3, 1), "100", finance, due=dt.date(2026, 3, 31))
    s.record_payment(company=company, customer_id=customer.pk, amount=D("100"), date=dt.date(2026, 3, 20), actor=finance)
    cm.compute_month(company=company, month=dt.date(2026, 3, 1), actor=finance)
    st = CommissionStatement.objects.get()
    with pytest.raises(CommissionError):
        cm.approve(company=company, statement_ids=[st.pk], actor=users["sales_east"])


# ---------------------------------------------------------------- screens


def test_people_page_statement_and_scope(client, company, customer, other_customer, finance, users, rule):
    import io

    import openpyxl
    from django.urls import reverse

    _doc(company, customer, dt.date(2026, 3, 1), "10000", finance, due=dt.date(2026, 3, 31))
    _doc(company, other_customer, dt.date(2026, 3, 1), "4000", finance, due=dt.date(2026, 3, 31))
    s.record_payment(company=company, customer_id=customer.pk, amount=D("10000"), date=dt.date(2026, 3, 20), actor=finance)
    s.record_payment(company=company, customer_id=other_customer.pk, amount=D("4000"), date=dt.date(2026, 3, 21),
                     actor=finance)
    client.force_login(finance)
    r = client.post(reverse("insight:commission-run") + "?month=2026-03", {"action": "compute"})
    assert r.status_code == 302
    east = CommissionStatement.objects.get(salesperson=users["sales_east"])
    west = CommissionStatement.objects.get(salesperson=users["sales_west"])
    assert (east.commission_amount, west.commission_amount) == (D("100.00"), D("40.00"))
    r = client.get(reverse("insight:people"), {"month": "2026-03", "sort": "collected"})
    assert r.status_code == 200
    assert [x["row"].label for x in r.context["rows"]] == ["sales_east", "sales_west"]
    assert r.context["rows"][0]["commission"] == D("100.00")
    x = client.get(reverse("insight:people"), {"month": "2026-03", "format": "xlsx"})
    assert list(openpyxl.load_workbook(io.BytesIO(b"".join(x.streaming_content))).active.values)[1][1] == "sales_east"
    # the statement lists every payment behind the figure, in XLSX too
    r = client.get(reverse("insight:commission-statement", args=[east.pk]))
    assert [ln.amount for ln in r.context["lines"]] == [D("10000.00")] and "100.00" in r.content.decode()
    x = client.get(reverse("insight:commission-statement", args=[east.pk]), {"format": "xlsx"})
    rows = list(openpyxl.load_workbook(io.BytesIO(b"".join(x.streaming_content))).active.values)
    assert rows[1][7] == 10000 and rows[-1][9] == 100
    # approve all drafts (finance2, so nobody approves their own)
    client.force_login(users["finance2"])
    client.post(reverse("insight:commission-run") + "?month=2026-03",
                {"action": "approve", "statement": [east.pk, west.pk]})
    assert set(CommissionStatement.objects.values_list("status", flat=True)) == {"approved"}
    # a salesperson sees their own statement, not a colleague's; their manager sees the team's
    client.force_login(users["sales_west"])
    assert client.get(reverse("insight:commission-statement", args=[east.pk])).status_code == 404
    assert client.get(reverse("insight:commission-statement", args=[west.pk])).status_code == 200
    r = client.get(reverse("insight:people"), {"month": "2026-03"})
    assert [x["row"].label for x in r.context["rows"]] == ["sales_west"]
    client.force_login(users["manager_east"])
    assert client.get(reverse("insight:commission-statement", args=[east.pk])).status_code == 200
    assert client.get(reverse("insight:commission-statement", args=[west.pk])).status_code == 404
    assert client.post(reverse("insight:commission-run"), {"action": "compute"}).status_code == 403


def test_rules_page_validates(client, company, finance, users):
    from django.urls import reverse

    from huikuan.insight.models import CommissionRule

    client.force_login(finance)
    r = client.post(reverse("insight:commission-rules"), {"valid_from": "2026-01-01", "bands": "0-30:1, 20-90:0.5",
                                                         "bill_mode": "same", "bill_share": "100"},
                    HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert r.status_code == 422 and not CommissionRule.objects.exists()
    r = client.post(reverse("insight:commission-rules"), {"valid_from": "2026-01-01", "bands": "0-30:150",
                                                         "bill_mode": "same", "bill_share": "100"})
    assert r.status_code == 422 and not CommissionRule.objects.exists()
    r = client.post(reverse("insight:commission-rules"), {"valid_from": "2026-01-01", "bands": "0-30:1, 31-90:0.5, 91-:0",
                                                         "bill_mode": "reduced", "bill_share": "50"})
    assert r.status_code == 302
    rule = CommissionRule.objects.get()
    assert [(b.days_from, b.days_to, b.rate) for b in rule.bands.all()] == [(0, 30, D("1")), (31, 90, D("0.5")),
                                                                            (91, None, D("0"))]
    client.force_login(users["sales_east"])
    assert client.get(reverse("insight:commission-rules")).status_code == 403


# ---------------------------------------------------------------- what a month's lines cost to write


def test_a_line_pays_for_two_foreign_keys_and_three_indexes():
    """A month writes one line per payment allocation (about 150,000 at 100,000 customers): each index and each
    deferred foreign-key check is paid per line. Only the allocation (one line each) and the statement are
    constrained; the statement is found through (statement, date); customer, credit and instalment are the
    allocation's own (append-only, protected by its foreign keys) and carry neither constraint nor index."""
    from django.db import connection

    with connection.cursor() as cur:
        found = connection.introspection.get_constraints(cur, CommissionLine._meta.db_table)
    fks = sorted(c["columns"][0] for c in found.values() if c["foreign_key"])
    indexed = sorted(tuple(c["columns"]) for c in found.values() if c["index"] or c["unique"] or c["primary_key"])
    assert fks == ["allocation_id", "statement_id"]
    assert indexed == [("allocation_id",), ("id",), ("statement_id", "date")]
