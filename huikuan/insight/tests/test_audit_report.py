"""The internal audit report and the audit-log search (huikuan.insight.audit_report, views_audit).

Every category is shown with an event its real service recorded; the segregation-of-duties findings with
two real violations; scoping through the client; bad filters refused with a clear message."""

from __future__ import annotations

import datetime as dt
import io
from decimal import Decimal as D

import openpyxl
import pytest
from django.urls import reverse
from django.utils import timezone

from huikuan.accounts.models import Role, User
from huikuan.collections import services as coll
from huikuan.common.models import AuditEvent
from huikuan.credit import services as credit
from huikuan.credit.models import CreditProfile
from huikuan.customers import services as cust
from huikuan.insight import audit_report as ar
from huikuan.ledger import periods
from huikuan.ledger import services as ls
from huikuan.ledger.services import AllocationInput

pytestmark = pytest.mark.django_db


def _today(company):
    from huikuan.common import clock

    return clock.today(company)


def _period(company):
    t = _today(company)
    return ar.Filters(since=t - dt.timedelta(days=1), until=t + dt.timedelta(days=1))


@pytest.fixture
def world(company, users, customer, finance):
    """One real event (or more) of every category, through the services."""
    today = _today(company)
    cm, sales = users["credit_manager"], users["sales_east"]
    credit.policy_of(company)
    CreditProfile.objects.create(company=company, customer=customer, grade="B", limit_amount=D("1000"))
    # limit change (requested by the salesperson, approved by the credit manager)
    req = credit.request_change(company=company, customer_id=customer.pk, kind="limit", reason="growing",
                                actor=sales, as_of=today, limit_amount="5000")
    credit.decide_request(company=company, request_id=req.pk, approve=True, actor=cm, as_of=today)
    # over-limit release: an order above the limit is held, then released by the credit manager
    big = credit.submit_order(company=company, customer_id=customer.pk, reference="SO-9", amount="9000", as_of=today,
                              actor=sales)
    credit.decide_held_order(company=company, order_id=big.order.pk, action="release", reason="good payer", actor=cm)
    # back-dated: a document dated in an earlier month than today
    old = today.replace(day=1) - dt.timedelta(days=20)
    doc = ls.post_document(company=company, customer_id=customer.pk, document_date=old, total=D("3000.00"),
                           actor=finance, number="INV-OLD")
    current = ls.post_document(company=company, customer_id=customer.pk, document_date=today, total=D("500.00"),
                               actor=finance, number="INV-NOW")
    # manual allocation, then its reversal
    pay = ls.record_payment(company=company, customer_id=customer.pk, amount=D("100.00"), date=today, actor=finance,
                            auto_allocate=False)
    inst = doc.instalments.get()
    made = ls.allocate(company=company, credit_id=pay.pk, actor=finance, on=today,
                       plan=[AllocationInput(instalment_id=inst.pk, amount=D("100.00"))])
    ls.reverse_allocation(company=company, allocation_id=made[0].pk, actor=finance, on=today, reason="wrong invoice")
    # write-off requested by the collector, approved by finance
    wo = ls.request_write_off(company=company, instalment_id=current.instalments.get().pk, amount=D("10.00"),
                              reason="rounding", actor=users["collector"])
    ls.decide_write_off(company=company, request_id=wo.pk, approve=True, actor=finance, on=today)
    # payment plan requested by the collector, approved by the credit manager
    plan = coll.request_plan(company=company, customer_id=customer.pk, instalment_ids=[inst.pk], today=today,
                             actor=users["collector"],
                             lines=[((today + dt.timedelta(days=10)).isoformat(), "1500"),
                                    ((today + dt.timedelta(days=40)).isoformat(), "1500")])
    coll.decide_plan(company=company, plan_id=plan.pk, approve=True, actor=cm, today=today)
    # override of the system's grade
    g = credit.request_change(company=company, customer_id=customer.pk, kind="grade", reason="parent guarantee",
                              actor=sales, as_of=today, grade="A")
    credit.decide_request(company=company, request_id=g.pk, approve=True, actor=cm, as_of=today)
    # period close of last month (nothing after it is touched)
    periods.close_month(company=company, month=today.replace(day=1) - dt.timedelta(days=40), actor=finance,
                        today=today)
    return {"doc": doc, "current": current, "req": req}


def test_every_category_lists_its_real_events(company, users, world, client):
    f = _period(company)
    counts = {c.code: n for c, n in ar.category_counts(company=company, f=f)}
    # a refused page visit, recorded by the middleware
    client.force_login(users["sales_east"])
    assert client.get(reverse("insight:audit")).status_code == 403
    counts_after = {c.code: n for c, n in ar.category_counts(company=company, f=f)}
    for code in ("limits", "releases", "allocations", "writeoffs", "reversals", "plans", "backdated", "overrides",
                 "approvals", "periods"):
        assert counts[code] >= 1, code
    assert counts["denied"] == 0 and counts_after["denied"] == 1
    verbs = {code: set(ar.events(company=company, f=ar.Filters(**{**f.__dict__, "category": code}))
                       .values_list("verb", flat=True)) for code in ar.BY_CODE}
    assert verbs["allocations"] == {"ledger.credit.allocated"}  # the manual one only
    assert ar.events(company=company, f=ar.Filters(**{**f.__dict__, "category": "allocations"})).get().data["auto"] is False
    assert verbs["reversals"] == {"ledger.allocation.reversed"}
    assert {"ledger.write_off.requested", "ledger.write_off.approved"} <= verbs["writeoffs"]
    assert {"collections.plan.requested", "collections.plan.approved"} <= verbs["plans"]
    assert verbs["overrides"] >= {"credit.grade.overridden", "credit.order.released"}
    assert {"credit.request.approved", "collections.plan.approved", "ledger.write_off.approved"} <= verbs["approvals"]
    assert verbs["denied"] == {"accounts.permission.denied"}
    # back-dated: the old document only, not the one dated today nor the payment dated today
    back = list(ar.events(company=company, f=ar.Filters(**{**f.__dict__, "category": "backdated"})))
    assert [(e.verb, e.target_id) for e in back] == [("ledger.document.posted", world["doc"].pk)]


def test_failed_permission_attempts_are_recorded_once_per_window(company, users, client):
    client.force_login(users["collector"])
    for _ in range(5):
        assert client.get(reverse("insight:audit-search")).status_code == 403
    assert client.get(reverse("insight:audit")).status_code == 403
    denied = AuditEvent.objects.filter(verb="accounts.permission.denied", actor=users["collector"])
    assert sorted(e.data["path"] for e in denied) == ["/kpis/audit/", "/kpis/audit/events/"]
    e = denied.get(data__path="/kpis/audit/")
    assert e.data["method"] == "GET" and e.data["role"] == "collector" and e.company_id == company.pk
    # a 404 (out of scope) and a 200 are not recorded
    client.get("/customers/999999/")
    assert denied.count() == 2


def test_api_refusal_is_recorded(company, users, client):
    client.force_login(users["sales_east"])
    assert client.get("/api/v1/audit/events/").status_code == 403
    assert AuditEvent.objects.filter(verb="accounts.permission.denied", actor=users["sales_east"],
                                     data__path="/api/v1/audit/events/").exists()


def _same_person_accounts(company, users):
    """The credit manager and a second administrator account of the same employee number, spelt differently."""
    cm = users["credit_manager"]
    cm.employee_number = "E-1007"
    cm.save()
    twin = User.objects.create_user(username="zhang_admin", password="pw-123456", role=Role.ADMIN,
                                    employee_number="e1007", display_name="张三 (admin)")
    twin.companies.add(company)
    return cm, twin


def test_segregation_of_duties_findings(company, users, net30):
    today = _today(company)
    credit.policy_of(company)
    cm, twin = _same_person_accounts(company, users)
    # 1. the credit manager asks for a limit, the same person's admin account approves it
    c1 = cust.create_customer(company=company, actor=users["finance"], code="S001", name="一号客户", payment_term=net30)
    CreditProfile.objects.create(company=company, customer=c1, grade="B", limit_amount=D("1000"))
    r1 = credit.request_change(company=company, customer_id=c1.pk, kind="limit", reason="x", actor=cm, as_of=today,
                               limit_amount="3000")
    credit.decide_request(company=company, request_id=r1.pk, approve=True, actor=twin, as_of=today)
    # 2. the credit manager creates a customer and approves its limit (requested by a salesperson)
    c2 = cust.create_customer(company=company, actor=cm, code="S002", name="二号客户", payment_term=net30,
                              owner=users["sales_east"])
    CreditProfile.objects.create(company=company, customer=c2, grade="B", limit_amount=D("1000"))
    r2 = credit.request_change(company=company, customer_id=c2.pk, kind="limit", reason="y",
                               actor=users["sales_east"], as_of=today, limit_amount="2000")
    credit.decide_request(company=company, request_id=r2.pk, approve=True, actor=cm, as_of=today)
    # 3. a clean case: finance created, the credit manager approved someone else's request
    c3 = cust.create_customer(company=company, actor=users["finance"], code="S003", name="三号客户", payment_term=net30,
                              owner=users["sales_east"])
    CreditProfile.objects.create(company=company, customer=c3, grade="B", limit_amount=D("1000"))
    r3 = credit.request_change(company=company, customer_id=c3.pk, kind="limit", reason="z",
                               actor=users["sales_east"], as_of=today, limit_amount="2000")
    credit.decide_request(company=company, request_id=r3.pk, approve=True, actor=cm, as_of=today)

    found = ar.sod_findings(company=company, f=_period(company))
    got = sorted((x.rule, x.customer_id, x.same_account) for x in found)
    # c1: requested by the credit manager, approved by their admin account (finance created it: no rule 2);
    # c2: created and limit approved by the credit manager's own account; c3: nothing
    assert got == [("customer_limit", c2.pk, True), ("request_approval", c1.pk, False)]


def test_scoping_and_bad_filters(company, users, client, world):
    url = reverse("insight:audit")
    for role in ("admin", "auditor"):
        client.force_login(users[role])
        r = client.get(url, {"category": "limits"})
        assert r.status_code == 200
        assert b"credit.limit.changed" in r.content
    for role in ("finance", "credit_manager", "collector", "sales_east", "manager_east", "legal"):
        client.force_login(users[role])
        assert client.get(url).status_code == 403, role
        assert client.get(reverse("insight:audit-search")).status_code == 403, role
    client.force_login(users["auditor"])
    r = client.get(url, {"from": "2026-05-01", "to": "2026-04-01"})
    assert r.status_code == 422 and "期间的结束日期（2026-04-01）早于开始日期（2026-05-01）" in r.content.decode()
    client.cookies["django_language"] = "en"
    r = client.get(url, {"from": "2026-05-01", "to": "2026-04-01"})
    assert r.status_code == 422 and b"The period ends (2026-04-01) before it starts (2026-05-01)." in r.content
    assert client.get(url, {"from": "yesterday"}).status_code == 422
    assert client.get(url, {"category": "nope"}).status_code == 422
    assert client.get(reverse("insight:audit-search"), {"after": "%%%garbage"}).status_code == 422
    with pytest.raises(ar.AuditFilterError):
        ar.events(company=company, f=ar.Filters(since=dt.date(2026, 5, 1), until=dt.date(2026, 4, 1)))


def test_search_filters_text_and_keyset_paging(company, users, client, world, finance):
    client.force_login(users["auditor"])
    url = reverse("insight:audit-search")
    t = _today(company)
    base = {"from": (t - dt.timedelta(days=1)).isoformat(), "to": (t + dt.timedelta(days=1)).isoformat()}
    r = client.get(url, {**base, "verb": "ledger.document.posted"})
    assert r.content.count(b'id="event-') == 2
    r = client.get(url, {**base, "q": "INV-OLD"})
    ids = {e.pk for e in AuditEvent.objects.filter(summary__contains="INV-OLD")}
    assert ids and all(f'id="event-{i}"'.encode() in r.content for i in ids)
    # text in before/after: the grade override's before value "B"→"A" is data, the reason "parent guarantee" too
    r = client.get(url, {**base, "q": "parent guarantee"})
    assert b'muted">credit.request.created<' in r.content
    r = client.get(url, {**base, "user": users["collector"].pk})
    assert b'muted">ledger.write_off.requested<' in r.content and b'muted">credit.request.approved<' not in r.content
    # keyset: pages of 50 walk every event once
    for i in range(120):
        from huikuan.common import audit

        audit.record(actor=finance, verb="customers.customer.updated", company_id=company.pk, summary=f"bulk {i}")
    f = ar.Filters(since=t - dt.timedelta(days=1), until=t + dt.timedelta(days=1))
    seen, after = [], ""
    while True:
        rows, after = ar.page_after(ar.events(company=company, f=f), after=after, size=50)
        seen += [e.pk for e in rows]
        if not after:
            break
    assert len(seen) == len(set(seen)) == ar.events(company=company, f=f).count()
    r = client.get(url, base)
    assert b'id="next-page"' in r.content


def test_xlsx_of_a_category_of_the_search_and_of_the_findings(company, users, client, world):
    client.force_login(users["admin"])
    t = _today(company)
    base = {"from": (t - dt.timedelta(days=1)).isoformat(), "to": (t + dt.timedelta(days=1)).isoformat()}
    r = client.get(reverse("insight:audit"), {**base, "category": "limits", "format": "xlsx"})
    ws = openpyxl.load_workbook(io.BytesIO(b"".join(r.streaming_content))).active
    rows = list(ws.iter_rows(values_only=True))
    assert rows[0][0] == "时间" and any(row[3] == "credit.limit.changed" for row in rows[1:])
    limit_row = next(row for row in rows[1:] if row[3] == "credit.limit.changed")
    assert limit_row[7] == "1000.00" and limit_row[8] == "5000.00"  # before / after
    r = client.get(reverse("insight:audit-search"), {**base, "format": "xlsx"})
    ws = openpyxl.load_workbook(io.BytesIO(b"".join(r.streaming_content))).active
    assert ws.max_row - 1 == AuditEvent.objects.filter(at__gte=timezone.now() - dt.timedelta(days=2)).count()
    r = client.get(reverse("insight:audit"), {**base, "format": "xlsx"})
    assert r.status_code == 200


def test_api_events_and_report(company, users, client, world):
    t = _today(company)
    base = {"from": (t - dt.timedelta(days=1)).isoformat(), "to": (t + dt.timedelta(days=1)).isoformat()}
    client.force_login(users["auditor"])
    r = client.get("/api/v1/audit/events/", {**base, "category": "approvals", "page_size": 1})
    assert r.status_code == 200, r.content
    body = r.json()
    assert len(body["results"]) == 1 and body["next"]
    seen = [body["results"][0]["id"]]
    while body["next"]:
        body = client.get("/api/v1/audit/events/", {**base, "category": "approvals", "page_size": 1,
                                                   "after": body["next"]}).json()
        seen += [e["id"] for e in body["results"]]
    assert sorted(seen) == sorted(ar.events(company=company, f=ar.Filters(
        since=t - dt.timedelta(days=1), until=t + dt.timedelta(days=1), category="approvals")).values_list("pk", flat=True))
    r = client.get("/api/v1/audit/report/", base)
    assert r.status_code == 200
    cats = {c["code"]: c["events"] for c in r.json()["categories"]}
    assert cats["limits"] >= 1 and cats["backdated"] == 1
    r = client.get("/api/v1/audit/report/", {"from": "2026-05-01", "to": "2026-04-01"})
    assert r.status_code == 422 and r.json()["error"]["fields"].get("to")
    assert client.get("/api/v1/audit/events/", {"user": "x"}).status_code == 422
    assert client.get("/api/v1/audit/events/", {"after": "zz"}).status_code == 422
    client.force_login(users["finance"])
    assert client.get("/api/v1/audit/report/").status_code == 403


def test_command_report_and_search(company, users, world, tmp_path, capsys):
    from django.core.management import call_command
    from django.core.management.base import CommandError

    t = _today(company)
    period = ["--from", (t - dt.timedelta(days=1)).isoformat(), "--to", (t + dt.timedelta(days=1)).isoformat()]
    call_command("audit", "report", *period, "--language", "en")
    out = capsys.readouterr().out
    assert "Back-dated entries" in out and "segregation of duties: 0 finding(s)" in out
    path = tmp_path / "audit.xlsx"
    call_command("audit", "report", *period, "--format", "xlsx", "--output", str(path), "--language", "en")
    wb = openpyxl.load_workbook(path)
    events, findings = wb.worksheets
    rows = list(events.iter_rows(values_only=True))
    assert rows[0][:2] == ("Category", "When")
    assert ("Back-dated entries", "ledger.document.posted") in {(r[0], r[4]) for r in rows[1:]}
    assert findings.max_row == 1
    call_command("audit", "search", *period, "--verb", "ledger.period.*", "--format", "json")
    got = capsys.readouterr().out
    assert '"verb": "ledger.period.closed"' in got
    with pytest.raises(CommandError, match="before it starts"):
        call_command("audit", "report", "--from", "2026-05-01", "--to", "2026-04-01", "--language", "en")


def test_back_dated_is_read_from_the_event_and_the_counts_are_one_aggregate(company, users, world):
    """Each posting's event stores its business date when written, so "back-dated" compares two columns of the
    event: the report's counts are one grouped statement that never joins the documents or credits (at 100,000
    customers the join of a month's postings to 2 M documents and 1.5 M credits took 3.4 s)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    today = _today(company)
    posted = {e.target_id: e.business_date for e in AuditEvent.objects.filter(verb="ledger.document.posted")}
    assert posted == {world["doc"].pk: world["doc"].document_date, world["current"].pk: today}
    paid = AuditEvent.objects.get(verb="ledger.payment.recorded")
    assert paid.business_date == today
    f = _period(company)
    with CaptureQueriesContext(connection) as ctx:
        counts = {c.code: n for c, n in ar.category_counts(company=company, f=f)}
    assert len(ctx.captured_queries) == 1
    sql = ctx.captured_queries[0]["sql"]
    assert "ledger_receivabledocument" not in sql and "ledger_credit" not in sql and "business_date" in sql
    assert counts["backdated"] == 1
    # every category's count equals the length of its own list
    for cat in ar.CATEGORIES:
        assert counts[cat.code] == ar.events(company=company, f=ar.Filters(**{**f.__dict__, "category": cat.code})
                                             ).count(), cat.code


def test_migration_fills_the_business_date_of_earlier_postings_and_keeps_the_guard(company, customer, finance):
    """Events written before they carried the business date get it from their document or credit (ledger
    migration 0017), through the append-only guard lifted for that statement only."""
    import importlib

    from django.db import DatabaseError, connection, transaction

    from huikuan.common import audit

    fill = importlib.import_module("huikuan.ledger.migrations.0017_audit_business_date_fill")
    old = _today(company).replace(day=1) - dt.timedelta(days=40)
    doc = ls.post_document(company=company, customer_id=customer.pk, document_date=old, total=D("10.00"),
                           actor=finance)
    pay = ls.record_payment(company=company, customer_id=customer.pk, amount=D("4.00"), date=old, actor=finance,
                            auto_allocate=False)
    # as written before this change: the same events without the business date
    for verb, target in (("ledger.document.posted", doc), ("ledger.payment.recorded", pay)):
        audit.record(actor=finance, verb=verb, target=target, summary="before")
    audit.record(actor=finance, verb="customers.customer.updated", target=customer, summary="before")
    before = AuditEvent.objects.filter(summary="before")
    assert list(before.values_list("business_date", flat=True)) == [None, None, None]

    class Editor:
        pass

    editor = Editor()
    editor.connection = connection
    if connection.vendor == "postgresql":  # a migration starts with no deferred checks pending; this test does not
        with connection.cursor() as cur:
            cur.execute("SET CONSTRAINTS ALL IMMEDIATE")
    fill.forwards(None, editor)
    got = {e.verb: e.business_date for e in before}
    assert got == {"ledger.document.posted": old, "ledger.payment.recorded": old, "customers.customer.updated": None}
    # the guard is back: an event cannot be changed
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        with connection.cursor() as cur:
            cur.execute("UPDATE common_auditevent SET summary = 'x' WHERE summary = 'before'")
    assert before.count() == 3


def test_text_search_is_served_by_trigram_indexes_on_postgresql(company, world):
    """The search's text filter uses the very expressions the trigram indexes are built on (common 0007)."""
    from django.db import connection, transaction
    from django.db.models import TextField
    from django.db.models.functions import Cast

    if connection.vendor != "postgresql":
        pytest.skip("trigram indexes are PostgreSQL's")
    qs = AuditEvent.objects.annotate(data_text=Cast("data", TextField())).filter(ar._text_q("parent guarantee"))
    sql, params = qs.values("pk").query.sql_with_params()
    with transaction.atomic(), connection.cursor() as cur:
        cur.execute("SET LOCAL enable_seqscan = off")
        cur.execute("EXPLAIN " + sql, params)
        plan = "\n".join(r[0] for r in cur.fetchall())
    assert "audit_data_trgm" in plan and "audit_summary_trgm" in plan, plan
    assert qs.filter(verb="credit.request.created").exists()


def test_back_dated_by_the_month_recorded_in_the_company_zone(company, customer, finance, time_machine):
    """Around a month end: recorded at 23:30 on 31 October Beijing time (15:30 UTC) a posting dated 15 October is
    not back-dated; recorded at 00:30 on 1 November Beijing time (still 31 October in UTC) one dated 31 October
    is. The bounded period's constant months and the zone conversion agree."""
    from django.db.models import Q

    assert company.timezone == "Asia/Shanghai"
    time_machine.move_to(dt.datetime(2026, 10, 31, 15, 30, tzinfo=dt.UTC))
    same = ls.post_document(company=company, customer_id=customer.pk, document_date=dt.date(2026, 10, 15),
                            total=D("10.00"), actor=finance, number="INV-OCT")
    time_machine.move_to(dt.datetime(2026, 10, 31, 16, 30, tzinfo=dt.UTC))
    back = ls.post_document(company=company, customer_id=customer.pk, document_date=dt.date(2026, 10, 31),
                            total=D("10.00"), actor=finance, number="INV-NOV")
    time_machine.move_to(dt.datetime(2026, 12, 2, 2, 0, tzinfo=dt.UTC))
    ls.record_payment(company=company, customer_id=customer.pk, amount=D("1.00"), date=dt.date(2026, 12, 2),
                      actor=finance, auto_allocate=False)
    for since, until in ((dt.date(2026, 10, 1), dt.date(2026, 12, 31)), (dt.date(2026, 10, 31), dt.date(2026, 11, 1))):
        f = ar.Filters(since=since, until=until, category="backdated")
        listed = [(e.verb, e.target_id) for e in ar.events(company=company, f=f)]
        assert listed == [("ledger.document.posted", back.pk)], (since, until)
        counts = {c.code: n for c, n in ar.category_counts(company=company, f=f)}
        assert counts["backdated"] == 1
    # the unbounded form converts each instant to the zone: the same events
    zone = AuditEvent.objects.filter(ar._backdated_q(company)).values_list("target_id", flat=True)
    assert list(zone) == [back.pk]
    assert same.pk not in AuditEvent.objects.filter(Q(verb="ledger.document.posted")).filter(
        ar._backdated_q(company)).values_list("target_id", flat=True)
