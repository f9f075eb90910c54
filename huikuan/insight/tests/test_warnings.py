"""Early warnings: each rule's trigger and non-trigger, one warning per cause across reruns, routing by
severity, acknowledge / resolve, rules validation (nothing changed on bad input), scoping, API, CLI, digest."""

import datetime as dt
import io
from decimal import Decimal as D

import openpyxl
import pytest
from django.core import mail
from django.core.management import call_command
from django.db import IntegrityError, transaction
from django.urls import reverse

from huikuan.accounts.models import Team
from huikuan.collections.models import Promise, WrittenDemand
from huikuan.common.models import AuditEvent
from huikuan.credit.models import CreditProfile, ScorecardVersion, ScoreSnapshot
from huikuan.customers.models import Customer
from huikuan.insight import early_warnings as ew
from huikuan.insight.models import EarlyWarning, WarningDigest, WarningKind, WarningRule
from huikuan.insight.services import take_snapshot
from huikuan.ledger import services as s

pytestmark = pytest.mark.django_db

AS_OF = dt.date(2026, 11, 16)


def _doc(company, customer, day, total, actor, due):
    return s.post_document(company=company, customer_id=customer.pk, document_date=day, total=D(total), actor=actor,
                           schedule=[s.ScheduleInput(due_date=due, amount=D(total))])


def _only(company, finance, kind, threshold=None, severity="medium"):
    """Switch every rule off except ``kind`` (with ``threshold``)."""
    rows = [ew.RuleInput(kind=k, enabled=(k == kind),
                         threshold=(D(threshold) if (k == kind and threshold is not None) else ew.SPECS[k].default),
                         severity=(severity if k == kind else ew.SPECS[k].severity)) for k in ew.KINDS]
    ew.save_rules(company=company, rows=rows, actor=finance)


def _run(company, as_of=AS_OF):
    return ew.run_warnings(company=company, as_of=as_of)


def _kinds(company):
    return sorted(EarlyWarning.objects.filter(company=company).values_list("kind", flat=True))


@pytest.fixture
def managed(users):
    east = Team.objects.get(name="East")
    east.manager = users["manager_east"]
    east.save()
    return users


# ---------------------------------------------------------------- once per cause


def test_one_warning_per_cause_across_reruns(company, customer, finance):
    _only(company, finance, WarningKind.OVERDUE_DAYS, "30")
    _doc(company, customer, dt.date(2026, 8, 1), "1000", finance, due=dt.date(2026, 9, 1))
    assert _run(company) == {"overdue_days": 1}
    assert _run(company) == {"overdue_days": 0}
    assert _run(company, AS_OF + dt.timedelta(days=1)) == {"overdue_days": 0}  # the same cause, a later day
    w = EarlyWarning.objects.get()
    assert (w.customer_id, w.figure, w.ref, w.amount) == (customer.pk, D("76"), "2026-09-01", D("1000.00"))
    # the database refuses a second warning for the same cause, whatever code tries
    with pytest.raises(IntegrityError), transaction.atomic():
        EarlyWarning.objects.create(company=company, kind=w.kind, severity="low", key=w.key, raised_on=AS_OF,
                                    created_at=w.created_at)
    # once paid, the next oldest overdue instalment is a new cause
    _doc(company, customer, dt.date(2026, 9, 1), "500", finance, due=dt.date(2026, 10, 1))
    s.record_payment(company=company, customer_id=customer.pk, amount=D("1000"), date=AS_OF, actor=finance)
    assert _run(company) == {"overdue_days": 1}
    assert EarlyWarning.objects.count() == 2


# ---------------------------------------------------------------- each rule: trigger and non-trigger


def test_overdue_amount(company, customer, other_customer, finance):
    _only(company, finance, WarningKind.OVERDUE_AMOUNT, "1000")
    _doc(company, customer, dt.date(2026, 9, 1), "1000", finance, due=dt.date(2026, 10, 1))
    _doc(company, other_customer, dt.date(2026, 9, 1), "999.99", finance, due=dt.date(2026, 10, 1))
    _doc(company, other_customer, dt.date(2026, 11, 1), "5000", finance, due=dt.date(2026, 12, 1))  # not yet due
    _run(company)
    w = EarlyWarning.objects.get()
    assert (w.customer_id, w.amount, w.key) == (customer.pk, D("1000.00"), f"c{customer.pk}:2026-11")
    assert "1,000.00" in ew.describe(w)
    assert _run(company, dt.date(2026, 12, 2)) == {"overdue_amount": 2}  # next month: both, the cause period moved


def test_overdue_days_not_yet(company, customer, finance):
    _only(company, finance, WarningKind.OVERDUE_DAYS, "60")
    _doc(company, customer, dt.date(2026, 8, 1), "1000", finance, due=dt.date(2026, 9, 17))  # 60 days on 11-16
    _doc(company, customer, dt.date(2026, 8, 1), "700", finance, due=dt.date(2026, 9, 18))
    assert _run(company, dt.date(2026, 11, 15)) == {"overdue_days": 0}
    assert _run(company) == {"overdue_days": 1}


def test_limit_use(company, customer, other_customer, finance):
    _only(company, finance, WarningKind.LIMIT_USE, "90")
    CreditProfile.objects.create(company=company, customer=customer, limit_amount=D("1000"))
    CreditProfile.objects.create(company=company, customer=other_customer, limit_amount=D("1000"))
    _doc(company, customer, dt.date(2026, 11, 1), "900", finance, due=dt.date(2026, 12, 1))
    _doc(company, other_customer, dt.date(2026, 11, 1), "899.99", finance, due=dt.date(2026, 12, 1))
    _run(company)
    w = EarlyWarning.objects.get()
    assert w.customer_id == customer.pk and w.figure == D("90.00")
    assert "90.00%" in ew.describe(w) and "1,000.00" in ew.describe(w)


def test_broken_promise(company, customer, other_customer, finance):
    _only(company, finance, WarningKind.BROKEN_PROMISE, "3")
    broken = Promise.objects.create(company=company, customer=customer, amount=D("500"), promised_date=dt.date(2026, 11, 10),
                                    made_on=dt.date(2026, 11, 1), status="broken")
    Promise.objects.create(company=company, customer=other_customer, amount=D("500"), promised_date=dt.date(2026, 11, 14),
                           made_on=dt.date(2026, 11, 1), status="open")  # within the grace days
    Promise.objects.create(company=company, customer=other_customer, amount=D("500"), promised_date=dt.date(2026, 11, 5),
                           made_on=dt.date(2026, 11, 1), status="kept", paid_amount=D("500"))
    _run(company)
    w = EarlyWarning.objects.get()
    assert (w.key, w.amount, w.figure) == (f"p{broken.pk}", D("500.00"), D("6"))
    assert _run(company, dt.date(2026, 11, 18)) == {"broken_promise": 1}  # the open one is now 4 days past
    assert _run(company, dt.date(2026, 11, 20)) == {"broken_promise": 0}


def test_paying_later_than_its_habit(company, customer, other_customer, finance):
    _only(company, finance, WarningKind.PAYING_LATER, "15")
    for cust in (customer, other_customer):  # both usually pay 5 days late (three payments this year)
        for m in (3, 4, 5):
            _doc(company, cust, dt.date(2026, m, 1), "100", finance, due=dt.date(2026, m, 10))
            s.record_payment(company=company, customer_id=cust.pk, amount=D("100"), date=dt.date(2026, m, 15),
                             actor=finance)
    _doc(company, customer, dt.date(2026, 10, 1), "300", finance, due=dt.date(2026, 10, 25))  # 22 days late
    _doc(company, other_customer, dt.date(2026, 10, 1), "300", finance, due=dt.date(2026, 10, 28))  # 19 days late
    _run(company)
    w = EarlyWarning.objects.get()
    assert (w.customer_id, w.figure, w.ref) == (customer.pk, D("22"), "5")
    assert "5" in ew.describe(w)


def test_concentration(company, customer, other_customer, finance):
    _only(company, finance, WarningKind.CONCENTRATION, "60")
    _doc(company, customer, dt.date(2026, 11, 1), "600", finance, due=dt.date(2026, 12, 1))
    _doc(company, other_customer, dt.date(2026, 11, 1), "400.01", finance, due=dt.date(2026, 12, 1))
    _run(company)
    assert list(EarlyWarning.objects.values_list("customer_id", flat=True)) == []  # 599.99‰ < 60 %
    s.record_payment(company=company, customer_id=other_customer.pk, amount=D("0.01"), date=AS_OF, actor=finance)
    _run(company)
    w = EarlyWarning.objects.get()
    assert w.customer_id == customer.pk and w.figure == D("60.00")


def test_score_drop_and_grade_change(company, customer, other_customer, finance):
    _only(company, finance, WarningKind.SCORE_DROP, "10")
    version = ScorecardVersion.objects.create(company=company, number=1, config={})
    for cust, old, new, og, ng in ((customer, 80, 70, "A", "B"), (other_customer, 80, 71, "A", "A")):
        ScoreSnapshot.objects.create(company=company, customer=cust, as_of=dt.date(2026, 10, 1), version=version,
                                     score=old, grade=og)
        ScoreSnapshot.objects.create(company=company, customer=cust, as_of=dt.date(2026, 11, 1), version=version,
                                     score=new, grade=ng)
    _run(company)
    w = EarlyWarning.objects.get()
    assert (w.customer_id, w.figure) == (customer.pk, D("10"))
    assert "80 → 70" in ew.describe(w)
    _only(company, finance, WarningKind.GRADE_CHANGE)
    _run(company)
    g = EarlyWarning.objects.get(kind=WarningKind.GRADE_CHANGE)
    assert g.customer_id == customer.pk and "A → B" in ew.describe(g)
    # a score older than the window raises nothing
    assert _run(company, dt.date(2027, 1, 15)) == {"grade_change": 0}


def test_dso_trend(company, customer, finance, users):
    _only(company, finance, WarningKind.DSO_TREND, "10")
    _doc(company, customer, dt.date(2026, 9, 10), "1000", finance, due=dt.date(2026, 12, 31))
    _doc(company, customer, dt.date(2026, 10, 10), "100", finance, due=dt.date(2026, 12, 31))
    assert _run(company) == {"dso_trend": 0}  # no month-end snapshots yet: nothing to compare
    take_snapshot(company=company, as_of=dt.date(2026, 9, 30))
    take_snapshot(company=company, as_of=dt.date(2026, 10, 31))
    counts = _run(company)
    assert counts == {"dso_trend": 2}  # the company and sales_east
    keys = set(EarlyWarning.objects.values_list("key", flat=True))
    assert keys == {"co:2026-10", f"u{users['sales_east'].pk}:2026-10"}
    w = EarlyWarning.objects.get(owner=users["sales_east"])
    # September: 1,000 ÷ 1,000 × 30 = 30 days; October: 1,100 ÷ 100 × 31 = 341 days
    assert w.customer_id is None and w.figure == D("311.00") and w.ref == "30.00|341.00"
    assert "30.00 → 341.00" in ew.describe(w)
    assert _run(company) == {"dso_trend": 0}
    _only(company, finance, WarningKind.DSO_TREND, "365")
    EarlyWarning.objects.all().delete()
    assert _run(company) == {"dso_trend": 0}


def test_bill_maturity(company, customer, other_customer, finance):
    _only(company, finance, WarningKind.BILL_MATURITY, "15")
    _doc(company, customer, dt.date(2026, 9, 1), "1000", finance, due=dt.date(2026, 10, 1))
    _doc(company, other_customer, dt.date(2026, 9, 1), "1000", finance, due=dt.date(2026, 10, 1))
    near = s.record_payment(company=company, customer_id=customer.pk, amount=D("1000"), date=dt.date(2026, 10, 1),
                            actor=finance, method="bank_acceptance", bill_number="130000000000000000000000000001",
                            bill_acceptor="工商银行", bill_maturity_date=dt.date(2026, 12, 1))
    s.record_payment(company=company, customer_id=other_customer.pk, amount=D("1000"), date=dt.date(2026, 10, 1),
                     actor=finance, method="bank_acceptance", bill_number="130000000000000000000000000002",
                     bill_acceptor="工商银行", bill_maturity_date=dt.date(2026, 12, 2))
    _run(company)
    w = EarlyWarning.objects.get()
    assert (w.key, w.figure, w.amount) == (f"b{near.pk}", D("15"), D("1000.00"))
    assert "130000000000000000000000000001" in ew.describe(w) and "2026-12-01" in ew.describe(w)


def test_limitation_date_near(company, customer, other_customer, finance):
    _only(company, finance, WarningKind.LIMITATION, "90")
    # horizon 2027-02-14: a debt due 2024-02-10 reaches its limitation date 2027-02-10
    _doc(company, customer, dt.date(2024, 1, 10), "800", finance, due=dt.date(2024, 2, 10))
    _doc(company, other_customer, dt.date(2024, 1, 10), "800", finance, due=dt.date(2024, 2, 10))
    WrittenDemand.objects.create(company=company, customer=other_customer, date=dt.date(2025, 6, 1), reference="L-1")
    _doc(company, other_customer, dt.date(2024, 1, 20), "50", finance, due=dt.date(2024, 2, 20))
    _run(company)
    w = EarlyWarning.objects.get()
    assert w.customer_id == customer.pk and w.amount == D("800.00")
    assert ew.limitation_date(w) == dt.date(2027, 2, 10)
    assert "2027-02-10" in ew.describe(w)
    # a payment on the item restarts its period: nothing new to raise for it
    s.record_payment(company=company, customer_id=customer.pk, amount=D("100"), date=AS_OF, actor=finance)
    assert _run(company) == {"limitation": 0}


def test_review_overdue(company, customer, other_customer, finance):
    _only(company, finance, WarningKind.REVIEW_OVERDUE, "0")
    p = CreditProfile.objects.create(company=company, customer=customer, next_review_date=dt.date(2026, 11, 15))
    CreditProfile.objects.create(company=company, customer=other_customer, next_review_date=AS_OF)
    _run(company)
    w = EarlyWarning.objects.get()
    assert (w.key, w.figure) == (f"r{p.pk}:2026-11-15", D("1"))
    # a new review date that passes again is a new cause
    CreditProfile.objects.filter(pk=p.pk).update(next_review_date=dt.date(2027, 1, 1))
    assert _run(company, dt.date(2027, 1, 5)) == {"review_overdue": 2}


def test_disabled_rule_raises_nothing(company, customer, finance):
    _only(company, finance, WarningKind.OVERDUE_DAYS, "1")
    WarningRule.objects.filter(company=company).update(enabled=False)
    _doc(company, customer, dt.date(2026, 8, 1), "1000", finance, due=dt.date(2026, 9, 1))
    assert _run(company) == {}
    assert EarlyWarning.objects.count() == 0


# ---------------------------------------------------------------- routing


def test_routing_owner_and_manager_by_severity(company, customer, finance, managed):
    _only(company, finance, WarningKind.OVERDUE_DAYS, "30", severity="high")
    _doc(company, customer, dt.date(2026, 8, 1), "1000", finance, due=dt.date(2026, 9, 1))
    _run(company)
    w = EarlyWarning.objects.get()
    assert (w.owner_id, w.manager_id, w.severity) == (managed["sales_east"].pk, managed["manager_east"].pk, "high")
    EarlyWarning.objects.all().delete()
    _only(company, finance, WarningKind.OVERDUE_DAYS, "30", severity="medium")
    _run(company)
    w = EarlyWarning.objects.get()
    assert (w.owner_id, w.manager_id) == (managed["sales_east"].pk, None)


def test_personal_manager_wins_over_team_manager(company, customer, finance, managed):
    managed["sales_east"].manager = managed["credit_manager"]
    managed["sales_east"].save()
    _only(company, finance, WarningKind.OVERDUE_DAYS, "30", severity="high")
    _doc(company, customer, dt.date(2026, 8, 1), "1000", finance, due=dt.date(2026, 9, 1))
    _run(company)
    assert EarlyWarning.objects.get().manager_id == managed["credit_manager"].pk


# ---------------------------------------------------------------- rules: bad input


@pytest.mark.parametrize("kind,value", [(WarningKind.LIMIT_USE, "0"), (WarningKind.CONCENTRATION, "101"),
                                        (WarningKind.OVERDUE_DAYS, "10.5"), (WarningKind.OVERDUE_AMOUNT, "-1"),
                                        (WarningKind.OVERDUE_AMOUNT, "1.005"), (WarningKind.SCORE_DROP, "101")])
def test_bad_thresholds_change_nothing(company, finance, kind, value):
    _only(company, finance, WarningKind.OVERDUE_DAYS, "30")
    before = list(WarningRule.objects.order_by("kind").values_list("kind", "enabled", "threshold", "severity"))
    rows = [ew.RuleInput(kind=k, enabled=True, threshold=D(value) if k == kind else ew.SPECS[k].default,
                         severity="high") for k in ew.KINDS]
    with pytest.raises(ew.WarningRuleError) as exc:
        ew.save_rules(company=company, rows=rows, actor=finance)
    assert kind in exc.value.errors
    assert list(WarningRule.objects.order_by("kind").values_list("kind", "enabled", "threshold", "severity")) == before


def test_rules_page_validates_and_saves(client, company, finance, users):
    client.force_login(finance)
    r = client.get(reverse("insight:warning-rules"))
    assert r.status_code == 200 and "limit_use-threshold" in r.text
    data = {f"{k}-enabled": "on" for k in ew.KINDS}
    data.update({f"{k}-severity": "medium" for k in ew.KINDS})
    data.update({f"{k}-threshold": str(ew.SPECS[k].default) for k in ew.KINDS if ew.SPECS[k].unit})
    bad = {**data, "limit_use-threshold": "abc", "concentration-threshold": "150"}
    r = client.post(reverse("insight:warning-rules"), bad)
    assert r.status_code == 422 and WarningRule.objects.count() == 0
    assert "Enter a number" in r.text or "输入" in r.text
    ok = {**data, "limit_use-threshold": "８５%", "overdue_amount-threshold": "50,000"}
    ok.pop("score_drop-enabled")
    r = client.post(reverse("insight:warning-rules"), ok)
    assert r.status_code == 302
    rules = {w.kind: w for w in WarningRule.objects.all()}
    assert rules["limit_use"].threshold == D("85") and rules["overdue_amount"].threshold == D("50000")
    assert not rules["score_drop"].enabled
    assert AuditEvent.objects.filter(verb="insight.warning.rules_saved").count() == 1
    client.force_login(users["sales_east"])
    assert client.get(reverse("insight:warning-rules")).status_code == 403


# ---------------------------------------------------------------- acknowledge / resolve, pages, scoping


@pytest.fixture
def raised(company, customer, other_customer, finance, managed):
    other_customer.owner = managed["sales_west"]
    other_customer.save()
    _only(company, finance, WarningKind.OVERDUE_DAYS, "30", severity="high")
    _doc(company, customer, dt.date(2026, 8, 1), "1000", finance, due=dt.date(2026, 9, 1))
    _doc(company, other_customer, dt.date(2026, 8, 1), "2000", finance, due=dt.date(2026, 9, 1))
    _run(company)
    return {w.customer_id: w for w in EarlyWarning.objects.all()}


def test_acknowledge_then_resolve_with_note(company, customer, finance, raised):
    w = raised[customer.pk]
    with pytest.raises(ew.WarningActionError):
        ew.act(company=company, warning_id=w.pk, action="resolve", note="  ", actor=finance)
    ew.act(company=company, warning_id=w.pk, action="acknowledge", note="", actor=finance)
    with pytest.raises(ew.WarningStateError):
        ew.act(company=company, warning_id=w.pk, action="acknowledge", note="", actor=finance)
    ew.act(company=company, warning_id=w.pk, action="resolve", note="客户已安排付款", actor=finance)
    w.refresh_from_db()
    assert (w.status, w.note, w.acted_by_id) == ("resolved", "客户已安排付款", finance.pk)
    with pytest.raises(ew.WarningStateError):
        ew.act(company=company, warning_id=w.pk, action="resolve", note="again", actor=finance)
    verbs = list(AuditEvent.objects.filter(verb__startswith="insight.warning.").values_list("verb", flat=True))
    assert "insight.warning.acknowledged" in verbs and "insight.warning.resolved" in verbs
    # a resolved cause is not raised again by a rerun
    assert _run(company) == {"overdue_days": 0}


def test_list_scoped_filtered_sorted_and_exported(client, company, customer, other_customer, users, raised):
    client.force_login(users["sales_east"])
    r = client.get(reverse("insight:warnings"))
    assert r.status_code == 200 and customer.name in r.text and other_customer.name not in r.text
    client.force_login(users["manager_east"])
    assert customer.name in client.get(reverse("insight:warnings")).text
    client.force_login(users["finance"])
    r = client.get(reverse("insight:warnings"), {"sort": "-amount"})
    assert r.text.index(other_customer.name) < r.text.index(customer.name)
    r = client.get(reverse("insight:warnings"), {"q": "C001"})
    assert customer.name in r.text and other_customer.name not in r.text
    r = client.get(reverse("insight:warnings"), {"format": "xlsx", "sort": "amount"})
    ws = openpyxl.load_workbook(io.BytesIO(b"".join(r.streaming_content))).active
    assert ws.max_row == 3 and ws.cell(2, 6).value == 1000


def test_out_of_scope_is_404(client, company, customer, users, raised):
    w = raised[customer.pk]
    client.force_login(users["sales_west"])
    assert client.post(reverse("insight:warning-act", args=[w.pk]), {"action": "acknowledge"}).status_code == 404
    assert client.get(reverse("insight:customer-warnings", args=[customer.pk])).status_code == 404
    client.force_login(users["auditor"])
    assert client.post(reverse("insight:warning-act", args=[w.pk]), {"action": "acknowledge"}).status_code == 403
    client.force_login(users["sales_east"])
    r = client.post(reverse("insight:warning-act", args=[w.pk]), {"action": "resolve", "note": "paid",
                                                                  "next": "https://evil.example/"})
    assert r.status_code == 302 and r.url == reverse("insight:warnings")
    w.refresh_from_db()
    assert w.status == "resolved"


def test_customer_panel_and_dashboard(client, company, customer, other_customer, users, raised, time_machine):
    time_machine.move_to(dt.datetime(2026, 11, 16, 10, 0))
    client.force_login(users["sales_east"])
    r = client.get(reverse("insight:customer-warnings", args=[customer.pk]))
    assert r.status_code == 200 and "76" in r.text
    r = client.get(reverse("insight:dashboard-warnings"))
    assert r.status_code == 200 and customer.name in r.text and other_customer.name not in r.text
    assert "dashboard-warnings" in client.get(reverse("web:dashboard")).text


# ---------------------------------------------------------------- API, CLI, digest


def test_api_list_and_resolve(client, company, customer, other_customer, users, raised):
    client.force_login(users["sales_east"])
    r = client.get("/api/v1/warnings/")
    assert r.status_code == 200
    assert [x["customer"] for x in r.json()["results"]] == [customer.pk]
    assert r.json()["results"][0]["amount"] == "1000.00"
    w_other = raised[other_customer.pk]
    assert client.post(f"/api/v1/warnings/{w_other.pk}/resolve/", {"note": "x"},
                       content_type="application/json").status_code == 404
    w = raised[customer.pk]
    r = client.post(f"/api/v1/warnings/{w.pk}/resolve/", {}, content_type="application/json")
    assert r.status_code == 422
    r = client.post(f"/api/v1/warnings/{w.pk}/acknowledge/", {}, content_type="application/json")
    assert r.status_code == 200 and r.json()["status"] == "acknowledged"
    r = client.post(f"/api/v1/warnings/{w.pk}/resolve/", {"note": "已回款"}, content_type="application/json")
    assert r.status_code == 200 and r.json()["status"] == "resolved"
    assert client.post(f"/api/v1/warnings/{w.pk}/resolve/", {"note": "again"},
                       content_type="application/json").status_code == 409
    assert client.get("/api/v1/warnings/", {"status": "bogus"}).status_code == 422


def test_cli_run_is_idempotent(company, customer, finance):
    _only(company, finance, WarningKind.OVERDUE_DAYS, "30")
    _doc(company, customer, dt.date(2026, 8, 1), "1000", finance, due=dt.date(2026, 9, 1))
    out = io.StringIO()
    call_command("warnings", "run", "--as-of", "2026-11-16", "--no-digest", stdout=out)
    call_command("warnings", "run", "--as-of", "2026-11-16", "--no-digest", stdout=out)
    assert EarlyWarning.objects.count() == 1
    assert "1 warnings raised" in out.getvalue() and "0 warnings raised" in out.getvalue()
    out = io.StringIO()
    call_command("warnings", "list", stdout=out)
    assert customer.code in out.getvalue()


def test_digest_by_email_and_robot_once(company, customer, finance, managed, monkeypatch):
    from huikuan.dunning import channels
    from huikuan.dunning.context import settings_of

    conf = settings_of(company)
    conf.wecom_webhook = "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=test"
    conf.save()
    posted = []
    monkeypatch.setattr(channels, "send_robot", lambda url, text: posted.append((url, text)) or
                        channels.Result(channels.SENT, provider_id="robot"))
    Customer.objects.filter(pk=customer.pk).update(owner=managed["sales_east"])
    managed["sales_east"].email, managed["sales_east"].language = "east@example.com", "en"
    managed["sales_east"].save()
    managed["manager_east"].email = "mgr@example.com"
    managed["manager_east"].save()
    _only(company, finance, WarningKind.OVERDUE_DAYS, "30", severity="high")
    _doc(company, customer, dt.date(2026, 8, 1), "1000", finance, due=dt.date(2026, 9, 1))
    _run(company)
    assert ew.send_digests(company=company, day=AS_OF) == {"sent": 3, "failed": 0, "skipped": 0}
    assert sorted(m.to[0] for m in mail.outbox) == ["east@example.com", "mgr@example.com"]
    east = next(m for m in mail.outbox if m.to[0] == "east@example.com")
    assert "Overdue longer than" in east.body and customer.name in east.body
    assert len(posted) == 1 and customer.name in posted[0][1]
    assert ew.send_digests(company=company, day=AS_OF) == {"sent": 0, "failed": 0, "skipped": 0}
    assert len(mail.outbox) == 2 and len(posted) == 1
    assert WarningDigest.objects.filter(status="sent").count() == 3


def test_daily_job_runs_warnings(company, customer, finance):
    from huikuan.common.jobs import daily_jobs

    _only(company, finance, WarningKind.OVERDUE_DAYS, "30")
    _doc(company, customer, dt.date(2026, 8, 1), "1000", finance, due=dt.date(2026, 9, 1))
    job = dict(daily_jobs(company, AS_OF))[f"warnings:{company.pk}"]
    assert job().startswith("1 warnings")
    assert EarlyWarning.objects.count() == 1
