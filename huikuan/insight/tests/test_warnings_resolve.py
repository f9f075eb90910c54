"""Warnings resolve themselves in the daily run when their cause ends (set-wise, audited, shown as such)."""

import datetime as dt
from decimal import Decimal as D

import pytest
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from huikuan.common.models import AuditEvent
from huikuan.credit.models import CreditProfile
from huikuan.insight import early_warnings as ew
from huikuan.insight.models import EarlyWarning, WarningKind
from huikuan.ledger import services as s

pytestmark = pytest.mark.django_db

AS_OF = dt.date(2026, 11, 16)


def _doc(company, customer, day, total, actor, due):
    return s.post_document(company=company, customer_id=customer.pk, document_date=day, total=D(total), actor=actor,
                           schedule=[s.ScheduleInput(due_date=due, amount=D(total))])


def _only(company, finance, *kinds, threshold=None):
    rows = [ew.RuleInput(kind=k, enabled=(k in kinds),
                         threshold=(D(threshold) if (k in kinds and threshold is not None) else ew.SPECS[k].default),
                         severity=ew.SPECS[k].severity) for k in ew.KINDS]
    ew.save_rules(company=company, rows=rows, actor=finance)


def test_overdue_paid_resolves_the_warning_automatically(client, company, customer, other_customer, finance, users):
    _only(company, finance, WarningKind.OVERDUE_AMOUNT, threshold="1000")
    _doc(company, customer, dt.date(2026, 9, 1), "1500", finance, due=dt.date(2026, 10, 1))
    _doc(company, other_customer, dt.date(2026, 9, 1), "2000", finance, due=dt.date(2026, 10, 1))
    assert ew.run_warnings(company=company, as_of=AS_OF) == {"overdue_amount": 2}
    mine, theirs = (EarlyWarning.objects.get(customer=c) for c in (customer, other_customer))
    ew.act(company=company, warning_id=theirs.pk, action="acknowledge", note="", actor=finance)
    # the customer pays down to 600 overdue (under the amount); the other pays 1,000 of 2,000 (still at it)
    s.record_payment(company=company, customer_id=customer.pk, amount=D("900"), date=AS_OF, actor=finance)
    s.record_payment(company=company, customer_id=other_customer.pk, amount=D("1000"), date=AS_OF, actor=finance)
    assert ew.run_warnings(company=company, as_of=AS_OF + dt.timedelta(days=1)) == {"overdue_amount": 0}
    mine.refresh_from_db()
    theirs.refresh_from_db()
    assert (mine.status, mine.resolved_automatically, mine.acted_by_id) == ("resolved", True, None)
    assert mine.acted_at is not None
    assert (theirs.status, theirs.resolved_automatically) == ("acknowledged", False)
    ev = AuditEvent.objects.get(verb="insight.warning.auto_resolved")
    assert ev.data["resolved"] == {"overdue_amount": [mine.pk]}
    # a rerun resolves nothing more and raises nothing again
    assert ew.run_warnings(company=company, as_of=AS_OF + dt.timedelta(days=1)) == {"overdue_amount": 0}
    assert AuditEvent.objects.filter(verb="insight.warning.auto_resolved").count() == 1
    # the acknowledged one ends too once it is paid
    s.record_payment(company=company, customer_id=other_customer.pk, amount=D("1000"), date=AS_OF, actor=finance)
    ew.run_warnings(company=company, as_of=AS_OF + dt.timedelta(days=2))
    theirs.refresh_from_db()
    assert (theirs.status, theirs.resolved_automatically) == ("resolved", True)
    # shown as resolved automatically, in both languages
    client.force_login(finance)
    for lang, text in (("en", "Resolved automatically: the cause ended"), ("zh-hans", "已自动解除：原因已消失")):
        r = client.get(reverse("insight:warnings"), {"status": "resolved"}, HTTP_ACCEPT_LANGUAGE=lang)
        assert r.status_code == 200 and text in r.content.decode(), lang
    r = client.get("/api/v1/warnings/", {"status": "resolved"})
    if r.status_code == 200:
        assert {w["resolved_automatically"] for w in r.json()["results"]} == {True}


def test_limit_use_back_under_the_share_resolves_and_a_manual_resolution_is_kept(company, customer, other_customer,
                                                                                  finance):
    _only(company, finance, WarningKind.LIMIT_USE, threshold="90")
    CreditProfile.objects.create(company=company, customer=customer, limit_amount=D("1000"))
    CreditProfile.objects.create(company=company, customer=other_customer, limit_amount=D("1000"))
    _doc(company, customer, dt.date(2026, 11, 1), "950", finance, due=dt.date(2026, 12, 1))
    _doc(company, other_customer, dt.date(2026, 11, 1), "990", finance, due=dt.date(2026, 12, 1))
    ew.run_warnings(company=company, as_of=AS_OF)
    mine, theirs = (EarlyWarning.objects.get(customer=c) for c in (customer, other_customer))
    ew.act(company=company, warning_id=theirs.pk, action="resolve", note="额度已上调", actor=finance)
    CreditProfile.objects.filter(customer=customer).update(limit_amount=D("2000"))  # 47.5 % now
    CreditProfile.objects.filter(customer=other_customer).update(limit_amount=D("2000"))
    ew.run_warnings(company=company, as_of=AS_OF)
    mine.refresh_from_db()
    theirs.refresh_from_db()
    assert (mine.status, mine.resolved_automatically) == ("resolved", True)
    assert (theirs.status, theirs.resolved_automatically, theirs.note) == ("resolved", False, "额度已上调")


def test_still_there_stays_open_and_a_switched_off_rule_resolves_nothing(company, customer, finance):
    _only(company, finance, WarningKind.OVERDUE_DAYS, threshold="30")
    _doc(company, customer, dt.date(2026, 8, 1), "1000", finance, due=dt.date(2026, 9, 1))
    ew.run_warnings(company=company, as_of=AS_OF)
    w = EarlyWarning.objects.get()
    ew.run_warnings(company=company, as_of=AS_OF + dt.timedelta(days=3))
    w.refresh_from_db()
    assert w.status == "open"
    s.record_payment(company=company, customer_id=customer.pk, amount=D("1000"), date=AS_OF, actor=finance)
    _only(company, finance, WarningKind.OVERDUE_AMOUNT)  # overdue days switched off: its causes are not computed
    ew.run_warnings(company=company, as_of=AS_OF + dt.timedelta(days=4))
    w.refresh_from_db()
    assert w.status == "open"
    _only(company, finance, WarningKind.OVERDUE_DAYS, threshold="30")
    ew.run_warnings(company=company, as_of=AS_OF + dt.timedelta(days=4))
    w.refresh_from_db()
    assert (w.status, w.resolved_automatically) == ("resolved", True)


def test_each_rule_computes_its_causes_once_per_run_and_resolves_by_an_anti_join(company, customer, other_customer,
                                                                                  finance):
    """A rerun used to compute each rule's causes twice (once inside a NOT IN to resolve, once to raise): at
    100,000 customers the NOT IN over a set larger than work_mem was rescanned per warning (166 s a rerun).
    Now each rule's SELECT runs in exactly one statement per run, into the staged causes, and the resolving
    UPDATE is an anti-join on them (a hash anti-join on PostgreSQL, the staged index on SQLite)."""
    from django.db import connection

    rows = [ew.RuleInput(kind=k, enabled=True, threshold=ew.SPECS[k].default, severity=ew.SPECS[k].severity)
            for k in ew.KINDS]
    ew.save_rules(company=company, rows=rows, actor=finance)
    CreditProfile.objects.create(company=company, customer=customer, limit_amount=D("1000"))
    _doc(company, customer, dt.date(2026, 6, 1), "200000", finance, due=dt.date(2026, 7, 1))
    _doc(company, other_customer, dt.date(2026, 8, 1), "5000", finance, due=dt.date(2026, 9, 1))
    ctx = ew.Ctx(company_id=company.pk, as_of=AS_OF, month=f"{AS_OF:%Y-%m}")
    selects = {r.kind: ew.SQL_RULES[r.kind](ctx, r.threshold)[0] for r in ew.rules_of(company)
               if r.kind in ew.SQL_RULES}
    seen: list[str] = []

    def spy(execute, sql, params, many, context):
        seen.append(sql)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(spy):
        first = ew.run_warnings(company=company, as_of=AS_OF)
        again = ew.run_warnings(company=company, as_of=AS_OF)
    assert first["overdue_amount"] == 1 and first["limit_use"] == 1 and sum(first.values()) >= 5
    assert sum(again.values()) == 0
    assert {kind: sum(sql in q for q in seen) for kind, sql in selects.items()} == {kind: 2 for kind in selects}

    # the resolving UPDATE's plan: an anti-join on the staged causes, no subplan run per warning
    with transaction.atomic():
        ew._create_causes()
        ew.stage_causes(*ew.SQL_RULES[WarningKind.OVERDUE_AMOUNT](ctx, D("1000")))
        sql, params = ew.resolve_sql(ctx, WarningKind.OVERDUE_AMOUNT, timezone.now())
        with connection.cursor() as cur:
            if connection.vendor == "postgresql":
                cur.execute("EXPLAIN " + sql, params)
                plan = "\n".join(r[0] for r in cur.fetchall())
                assert "Anti Join" in plan and "SubPlan" not in plan, plan
            else:
                cur.execute("EXPLAIN QUERY PLAN " + sql, params)
                plan = "\n".join(str(r[-1]) for r in cur.fetchall())
                assert "INDEX hk_warning_cause_customer" in plan, plan
        ew._drop_causes()
