"""The review queue (issue 13): filters and sorting in SQL, the filtered XLSX, bulk confirm of first
suggestions (each line its own audited application; a line whose suggestion no longer holds is reported
and left whole), and the property that a bulk confirm never applies more than a line or an item holds."""

import datetime as dt
import io
import itertools
from decimal import Decimal as D

import pytest
from django.http import QueryDict
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openpyxl import load_workbook

from huikuan.accounts.models import Company
from huikuan.banking import queue as bq
from huikuan.banking import services as bs
from huikuan.banking.models import BankAccount, BankApplication, BankLine, BankStatement, LineStatus
from huikuan.common.models import AuditEvent
from huikuan.customers.models import Customer
from huikuan.ledger import services as ledger
from huikuan.ledger.models import Instalment

pytestmark = pytest.mark.django_db
ON = dt.date(2026, 3, 20)
_seq = itertools.count(1)


def login(client, user):
    client.force_login(user)
    s = client.session
    s["company_id"] = user.companies.first().pk
    s.save()


def _statement(company, account):
    return BankStatement.objects.create(company=company, account=account, source_format="camt053", file_name="q.xml",
                                        file_hash=f"h{next(_seq)}")


def line(company, account, amount, *, customer=None, items=(), confidence="0.900", day=dt.date(2026, 3, 2),
         payer="某公司", memo="", status=None, statement=None):
    """An incoming line whose first suggestion pays ``items`` ((instalment, amount) pairs) for ``customer``."""
    n = next(_seq)
    proposals = []
    if customer is not None:
        proposals = [{"customer_id": customer.pk, "customer_name": customer.name, "kind": "exact",
                      "confidence": confidence, "rest": "0",
                      "allocations": [[i.pk, str(a), "0", f"N{i.pk}"] for i, a in items],
                      "reasons": [["amount", {}]], "identity": []}]
    return BankLine.objects.create(
        company=company, account=account, statement=statement or _statement(company, account), date=day,
        amount=D(amount), counterparty_name=payer, memo=memo, dedupe_key=f"k{n}",
        customer=customer, confidence=D(confidence) if customer else D(0), proposals=proposals,
        status=status or (LineStatus.SUGGESTED if customer else LineStatus.UNMATCHED))


def inst(company, finance, customer, total, day=dt.date(2026, 2, 1)):
    doc = ledger.post_document(company=company, customer_id=customer.pk, document_date=day, actor=finance,
                               total=D(total))
    return Instalment.objects.get(document=doc)


def ids(company, **params):
    qd = QueryDict(mutable=True)
    qd.update(params)
    return [ln.pk for ln in bq.queue_lines(company=company, filters=bq.read_filters(qd, company=company))]


def test_filters_status_band_amount_customer_date_and_search(company, account, customer, other_customer):
    a = line(company, account, "1000.00", customer=customer, confidence="0.900", memo="货款 INV-7", day=dt.date(2026, 3, 1))
    b = line(company, account, "250.50", customer=customer, confidence="0.600", day=dt.date(2026, 3, 5))
    c = line(company, account, "80.00", customer=other_customer, confidence="0.300", payer="广州南方",
             day=dt.date(2026, 3, 9))
    d = line(company, account, "5000.00", payer="不认识的人")  # no suggestion
    line(company, account, "70.00", customer=customer, status=LineStatus.CONFIRMED)  # decided: never in the queue
    line(company, account, "-70.00", payer="bank fee")  # outgoing: never in the queue
    assert set(ids(company)) == {a.pk, b.pk, c.pk, d.pk}
    assert ids(company, status="unmatched") == [d.pk]
    assert ids(company, band="high") == [a.pk]
    assert ids(company, band="medium") == [b.pk]
    assert ids(company, band="low") == [c.pk]
    assert ids(company, band="none") == [d.pk]
    assert set(ids(company, min="250.50", max="1,000")) == {a.pk, b.pk}
    assert set(ids(company, customer="C001")) == {a.pk, b.pk}
    assert ids(company, customer=other_customer.name) == [c.pk]
    assert ids(company, customer="NOPE") == []  # an unknown customer shows nothing, not everything
    assert ids(company, **{"from": "2026-03-04", "to": "2026-03-09"}) == [b.pk, c.pk]
    assert ids(company, q="INV-7") == [a.pk]
    assert ids(company, q="南方") == [c.pk]
    assert ids(company, q="不认识") == [d.pk]
    # bad values are dropped, not a 500, and named
    f = bq.read_filters(QueryDict("min=abc&from=2026-13-45&band=nope&status=confirmed&sort=drop"), company=company)
    assert f.amount_min is None and f.date_from is None and f.band == "" and f.status == "" and f.sort == "-confidence"
    assert set(f.problems) == {"min", "from"}


def test_sorting_is_stable_by_each_column(company, account, customer):
    a = line(company, account, "300.00", customer=customer, confidence="0.500", day=dt.date(2026, 3, 3), payer="乙")
    b = line(company, account, "100.00", customer=customer, confidence="0.900", day=dt.date(2026, 3, 1), payer="甲")
    c = line(company, account, "200.00", customer=customer, confidence="0.700", day=dt.date(2026, 3, 2), payer="丙")
    assert ids(company) == [b.pk, c.pk, a.pk]
    assert ids(company, sort="confidence") == [a.pk, c.pk, b.pk]
    assert ids(company, sort="amount") == [b.pk, c.pk, a.pk]
    assert ids(company, sort="-amount") == [a.pk, c.pk, b.pk]
    assert ids(company, sort="date") == [b.pk, c.pk, a.pk]
    assert ids(company, sort="-date") == [a.pk, c.pk, b.pk]
    f = bq.read_filters(QueryDict("band=high&sort=amount"), company=company)
    assert f.query() == "band=high&sort=amount" and f.query(sort="-confidence") == "band=high"


def test_queue_page_filters_sorts_and_exports_the_filtered_list(client, company, finance, account, customer,
                                                                 other_customer):
    line(company, account, "1234567.80", customer=customer, confidence="0.900", payer="华东付款人")
    line(company, account, "80.00", customer=other_customer, confidence="0.300", payer="南方付款人")
    login(client, finance)
    page = client.get("/bank/queue/?band=high&sort=-amount").content.decode()
    assert "华东付款人" in page and "南方付款人" not in page
    assert "1,234,567.80" in page
    assert 'aria-sort="descending"' in page and "band=high&amp;sort=amount" in page  # the header reverses
    assert "/bank/queue.xlsx?band=high&amp;sort=-amount" in page
    r = client.get("/bank/queue/?min=abc")
    assert r.status_code == 200 and any(
        "Amount from" in str(m) or "金额 起" in str(m) for m in r.context["messages"])
    wb = load_workbook(io.BytesIO(b"".join(client.get("/bank/queue.xlsx?band=high").streaming_content)))
    payers = [row[2] for row in wb.active.iter_rows(min_row=2, values_only=True)]
    assert "华东付款人" in payers and "南方付款人" not in payers
    assert client.get("/bank/queue/?page=999&sort=amount&customer=C001").status_code == 200


def test_bulk_confirm_applies_each_line_and_reports_a_stale_one(client, company, finance, account, customer):
    i1 = inst(company, finance, customer, "100.00")
    i2 = inst(company, finance, customer, "200.00")
    first = line(company, account, "100.00", customer=customer, items=[(i1, "100.00")])
    second = line(company, account, "200.00", customer=customer, items=[(i2, "200.00")])
    # a second line suggesting the same item: once the first is applied its suggestion no longer holds
    stale = line(company, account, "100.00", customer=customer, items=[(i1, "100.00")], payer="重复付款")
    bare = line(company, account, "55.00", payer="无建议")
    login(client, finance)
    events = AuditEvent.objects.filter(verb="banking.line.applied").count()
    r = client.post("/bank/queue/confirm/", {"line": [first.pk, second.pk, stale.pk, bare.pk],
                                             "back": "band=high"}, follow=True)
    assert r.redirect_chain[-1][0] == "/bank/queue/?band=high"
    texts = [str(m) for m in r.context["messages"]]
    assert any("2" in t and "300.00" in t for t in texts)
    assert any("重复付款" in t for t in texts) and any("无建议" in t for t in texts)
    assert Instalment.objects.get(pk=i1.pk).open_amount == 0 and Instalment.objects.get(pk=i2.pk).open_amount == 0
    assert BankLine.objects.get(pk=first.pk).status == LineStatus.CONFIRMED
    assert BankLine.objects.get(pk=second.pk).status == LineStatus.CONFIRMED
    # the stale line is untouched: still suggested, no payment, no application
    assert BankLine.objects.get(pk=stale.pk).status == LineStatus.SUGGESTED
    assert not BankApplication.objects.filter(line=stale).exists()
    assert BankLine.objects.get(pk=bare.pk).status == LineStatus.UNMATCHED
    assert AuditEvent.objects.filter(verb="banking.line.applied").count() == events + 2  # one event per line
    # each is reversible on its own
    client.post(f"/bank/lines/{first.pk}/undo/", {"reason": "wrong customer"})
    assert Instalment.objects.get(pk=i1.pk).open_amount == D("100.00")


def test_bulk_confirm_refuses_nothing_selected_and_other_companies_lines(client, company, finance, account, customer,
                                                                         users):
    other = Company.objects.create(code="T99", name="别家公司")
    acct2 = BankAccount.objects.create(company=other, bank="工行", account_number="X-2")
    foreign = line(other, acct2, "10.00", customer=None)
    login(client, finance)
    r = client.post("/bank/queue/confirm/", {}, follow=True)
    assert any("Select the lines" in str(m) or "勾选" in str(m) for m in r.context["messages"])
    r = client.post("/bank/queue/confirm/", {"line": [foreign.pk, "abc"]}, follow=True)
    assert BankLine.objects.get(pk=foreign.pk).status == LineStatus.UNMATCHED
    assert any(f"#{foreign.pk}" in str(m) for m in r.context["messages"])  # reported as unknown, nothing shown of it
    with pytest.raises(bs.BankingError):
        bs.confirm_many(company=company, line_ids=range(1, bs.MAX_BULK + 2), actor=finance, on=ON)
    assert client.post("/bank/queue/confirm/", {"line": [foreign.pk]}).status_code == 302
    client.force_login(users["auditor"])
    assert client.post("/bank/queue/confirm/", {"line": [foreign.pk]}).status_code == 403


amounts = st.integers(min_value=1, max_value=50_000)


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_bulk_confirm_never_applies_more_than_a_line_or_an_item_holds(company, finance, account, net30, data):
    """Whatever the suggestions (several lines on the same items, items paid since), after a bulk confirm
    no item is below zero, no line applied more than it received, and every refused line is untouched."""
    cust = Customer.objects.create(company=company, code=f"P{next(_seq)}", name=f"性质客户{next(_seq)}",
                                   payment_term=net30)
    items = [inst(company, finance, cust, D(c) / 100) for c in data.draw(st.lists(amounts, min_size=1, max_size=4))]
    st_ = _statement(company, account)
    lines = []
    for _k in range(data.draw(st.integers(min_value=1, max_value=5))):
        chosen = data.draw(st.lists(st.sampled_from(items), min_size=0, max_size=len(items), unique_by=lambda i: i.pk))
        allocs = [(i, D(data.draw(st.integers(min_value=1, max_value=int(i.amount * 100)))) / 100) for i in chosen]
        rest = D(data.draw(st.integers(min_value=0, max_value=5000))) / 100
        total = sum((a for _i, a in allocs), D(0)) + rest
        if total <= 0:
            total = D("1.00")
        lines.append(line(company, account, total, customer=cust, items=allocs, statement=st_))
    if data.draw(st.booleans()):  # an item paid elsewhere after the suggestions were made
        victim = data.draw(st.sampled_from(items))
        pay = ledger.record_payment(company=company, customer_id=cust.pk, amount=victim.open_amount, date=ON,
                                    actor=finance, auto_allocate=False)
        ledger.allocate(company=company, credit_id=pay.pk, actor=finance, on=ON,
                        plan=[ledger.AllocationInput(instalment_id=victim.pk, amount=victim.open_amount)])
    before = {i.pk: Instalment.objects.get(pk=i.pk).open_amount for i in items}
    out = bs.confirm_many(company=company, line_ids=[ln.pk for ln in lines], actor=finance, on=ON)
    assert len(out) == len(lines)
    for i in items:
        assert Instalment.objects.get(pk=i.pk).open_amount >= 0
    taken = {i.pk: D(0) for i in items}
    for o, ln in zip(out, lines, strict=True):
        now = BankLine.objects.get(pk=ln.pk)
        apps = BankApplication.objects.filter(line=ln)
        if o.applied:
            # with no item to pay the whole line is unapplied cash on the customer's account
            assert now.status == (LineStatus.CONFIRMED if ln.proposals[0]["allocations"] else LineStatus.UNAPPLIED)
            assert sum(a.amount for a in apps) == ln.amount  # exactly the line: allocations + the rest on account
            for i, a, _d, _n in ln.proposals[0]["allocations"]:
                taken[int(i)] += D(a)
        else:
            assert o.message and now.status == LineStatus.SUGGESTED and not apps.exists()
    for i in items:
        assert taken[i.pk] <= before[i.pk]  # never more than was open when the bulk confirm started
        assert Instalment.objects.get(pk=i.pk).open_amount == before[i.pk] - taken[i.pk]
