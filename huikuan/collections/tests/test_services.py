"""Collections services against the database (SQLite and PostgreSQL); the ledger check runs after each test."""

import datetime as dt
from decimal import Decimal as D

import pytest

from huikuan.collections import services as svc
from huikuan.collections.interest import instalment_interest, interest_to_date
from huikuan.collections.models import (
    Dispute,
    PaymentPlan,
    PlanStatus,
    Promise,
    PromiseStatus,
    QueueEntry,
    Task,
)
from huikuan.collections.worklist import queue, refresh_queue
from huikuan.common.errors import NotAllowed
from huikuan.ledger import services as ls
from huikuan.ledger.checks import check_ledger
from huikuan.ledger.errors import InvalidSchedule, LedgerError
from huikuan.ledger.models import Instalment
from huikuan.ledger.plans import replace_instalments
from huikuan.statements.selectors import limitation, statement_data

pytestmark = pytest.mark.django_db
TODAY = dt.date(2026, 3, 2)


@pytest.fixture
def inv(company, customer, finance):
    """10,000 invoiced 2026-01-05, net 30 → due 2026-02-04 (overdue on TODAY)."""
    return ls.post_document(company=company, customer_id=customer.pk, document_date=dt.date(2026, 1, 5),
                            total=D("10000.00"), actor=finance)


def _inst(doc):
    return doc.instalments.get()


# ---------------------------------------------------------------- promises


def test_promise_refuses_past_date_and_more_than_open(company, customer, inv, users):
    collector = users["collector"]
    with pytest.raises(svc.InvalidPromise):
        svc.record_promise(company=company, customer_id=customer.pk, amount="100", promised_date=TODAY - dt.timedelta(days=1),
                           today=TODAY, actor=collector)
    with pytest.raises(svc.InvalidPromise):
        svc.record_promise(company=company, customer_id=customer.pk, amount="10000.01", promised_date=TODAY, today=TODAY,
                           actor=collector, instalment_ids=[_inst(inv).pk])
    svc.record_promise(company=company, customer_id=customer.pk, amount="6000", promised_date=TODAY, today=TODAY, actor=collector)
    with pytest.raises(svc.InvalidPromise):  # 6,000 already promised of 10,000
        svc.record_promise(company=company, customer_id=customer.pk, amount="4000.01", promised_date=TODAY, today=TODAY,
                           actor=collector)
    with pytest.raises(NotAllowed):
        svc.record_promise(company=company, customer_id=customer.pk, amount="1", promised_date=TODAY, today=TODAY,
                           actor=users["auditor"])
    assert Promise.objects.count() == 1


def test_promise_kept_when_money_arrives_by_the_date(company, customer, inv, users, finance):
    p = svc.record_promise(company=company, customer_id=customer.pk, amount="4000", promised_date=TODAY + dt.timedelta(days=5),
                           today=TODAY, actor=users["collector"], instalment_ids=[_inst(inv).pk], pause_dunning=True)
    assert _inst(inv).dunning_paused_until == TODAY + dt.timedelta(days=5)
    assert QueueEntry.objects.get(customer=customer).promise_date == TODAY + dt.timedelta(days=5)
    ls.record_payment(company=company, customer_id=customer.pk, amount=D("2500.00"), date=TODAY + dt.timedelta(days=1), actor=finance)
    assert svc.review_promises(company=company, as_of=TODAY + dt.timedelta(days=2)) == {"kept": 0, "broken": 0}
    ls.record_payment(company=company, customer_id=customer.pk, amount=D("1500.00"), date=TODAY + dt.timedelta(days=3), actor=finance)
    assert svc.review_promises(company=company, as_of=TODAY + dt.timedelta(days=3)) == {"kept": 1, "broken": 0}
    p.refresh_from_db()
    assert (p.status, p.paid_amount) == (PromiseStatus.KEPT, D("4000.00"))
    assert QueueEntry.objects.get(customer=customer).promise_date is None
    assert svc.review_promises(company=company, as_of=TODAY + dt.timedelta(days=9)) == {"kept": 0, "broken": 0}


def test_promise_broken_alerts_the_owner_and_counts(company, customer, inv, users, finance):
    p = svc.record_promise(company=company, customer_id=customer.pk, amount="4000", promised_date=TODAY, today=TODAY,
                           actor=users["collector"])
    # money after the date does not keep it; money before the promise was made does not either
    ls.record_payment(company=company, customer_id=customer.pk, amount=D("4000.00"), date=TODAY + dt.timedelta(days=1), actor=finance)
    assert svc.review_promises(company=company, as_of=TODAY) == {"kept": 0, "broken": 0}  # still due today
    assert svc.review_promises(company=company, as_of=TODAY + dt.timedelta(days=1)) == {"kept": 0, "broken": 1}
    p.refresh_from_db()
    assert (p.status, p.paid_amount) == (PromiseStatus.BROKEN, D("0.00"))
    task = Task.objects.get(source="promise")
    assert task.owner == customer.owner and task.due == TODAY + dt.timedelta(days=1)
    assert QueueEntry.objects.get(customer=customer).broken_promise_on == TODAY + dt.timedelta(days=1)
    counts = svc.behaviour_counts(company, [customer.pk], TODAY + dt.timedelta(days=2))
    assert counts[customer.pk] == {"broken_promises": 1, "disputes": 0}
    # a follow-up call clears the broken flag of the worklist
    svc.log_activity(company=company, customer_id=customer.pk, kind="call", outcome="reached", actor=users["collector"])
    assert QueueEntry.objects.get(customer=customer).broken_promise_on is None


# ---------------------------------------------------------------- disputes


def test_dispute_sets_and_clears_disputed_amount(company, customer, inv, users, finance):
    inst = _inst(inv)
    d = svc.open_dispute(company=company, customer_id=customer.pk, reason="quality", amount="3000", actor=users["collector"],
                         today=TODAY, instalment_id=inst.pk)
    inst.refresh_from_db()
    assert inst.disputed_amount == D("3000.00")
    with pytest.raises(svc.CollectionsError):  # 3,000 disputed already, only 7,000 left
        svc.open_dispute(company=company, customer_id=customer.pk, reason="price", amount="7000.01", actor=finance,
                         today=TODAY, document_id=inv.pk)
    d2 = svc.open_dispute(company=company, customer_id=customer.pk, reason="price", amount="1000", actor=finance, today=TODAY,
                          document_id=inv.pk)
    inst.refresh_from_db()
    assert inst.disputed_amount == D("4000.00")
    with pytest.raises(NotAllowed):
        svc.resolve_dispute(company=company, dispute_id=d.pk, resolution="rejected", actor=users["collector"], today=TODAY)
    svc.resolve_dispute(company=company, dispute_id=d.pk, resolution="rejected", actor=finance, today=TODAY)
    inst.refresh_from_db()
    assert inst.disputed_amount == D("1000.00")
    d2 = svc.resolve_dispute(company=company, dispute_id=d2.pk, resolution="credit_note", actor=finance, today=TODAY)
    inst.refresh_from_db()
    assert (inst.disputed_amount, inst.open_amount) == (D("0.00"), D("9000.00"))
    assert d2.credit.amount == D("1000.00") and d2.credit.kind == "credit_note"
    with pytest.raises(svc.CollectionsError):
        svc.resolve_dispute(company=company, dispute_id=d2.pk, resolution="rejected", actor=finance, today=TODAY)
    assert svc.behaviour_counts(company, [customer.pk], TODAY)[customer.pk]["disputes"] == 1  # the rejected one does not count


def test_sync_repairs_a_missed_ledger_update(company, customer, inv, finance):
    d = svc._open_dispute(company=company, customer_id=customer.pk, reason="other", amount="500", actor=finance, today=TODAY,
                          document_id=inv.pk, instalment_id=None, owner=None, note="")
    assert _inst(inv).disputed_amount == 0  # the crash between the two steps
    assert svc.sync_all_disputed(company=company) == 1
    assert _inst(inv).disputed_amount == D("500.00")
    assert svc.sync_all_disputed(company=company) == 0
    assert d.lines.get().amount == D("500.00")


# ---------------------------------------------------------------- payment plans


def test_replace_instalments_validates_and_keeps_the_ledger(company, customer, inv, finance):
    ls.record_payment(company=company, customer_id=customer.pk, amount=D("1000.00"), date=TODAY, actor=finance)
    inst = _inst(inv)
    with pytest.raises(InvalidSchedule):
        replace_instalments(company=company, instalment_ids=[inst.pk], lines=[(TODAY, D("4000.00")), (TODAY, D("4999.99"))],
                            on=TODAY, actor=finance, plan_id=1)
    with pytest.raises(InvalidSchedule):
        replace_instalments(company=company, instalment_ids=[inst.pk], lines=[(TODAY - dt.timedelta(days=1), D("9000.00"))],
                            on=TODAY, actor=finance, plan_id=1)
    new = replace_instalments(company=company, instalment_ids=[inst.pk], on=TODAY, actor=finance, plan_id=7,
                              lines=[(dt.date(2026, 4, 1), D("4500.00")), (dt.date(2026, 5, 1), D("4500.00"))])
    inst.refresh_from_db()
    assert (inst.amount, inst.open_amount, inst.replaced_on) == (D("1000.00"), D("0.00"), TODAY)
    assert [(n.seq, n.amount, n.plan_id) for n in new] == [(2, D("4500.00"), 7), (3, D("4500.00"), 7)]
    assert check_ledger() == []
    customer.refresh_from_db()
    assert customer.open_amount == D("9000.00")
    with pytest.raises(LedgerError):  # already replaced
        replace_instalments(company=company, instalment_ids=[inst.pk], lines=[(TODAY, D("1.00"))], on=TODAY, actor=finance, plan_id=8)


def test_replace_fully_open_instalment_to_zero_and_across_documents(company, customer, inv, finance):
    inv2 = ls.post_document(company=company, customer_id=customer.pk, document_date=dt.date(2026, 1, 20), total=D("500.00"),
                            actor=finance)
    ids = [_inst(inv).pk, _inst(inv2).pk]
    new = replace_instalments(company=company, instalment_ids=ids, on=TODAY, actor=finance, plan_id=9,
                              lines=[(dt.date(2026, 4, 1), D("5250.00")), (dt.date(2026, 5, 1), D("5250.00"))])
    assert sorted((n.document_id, n.due_date, n.amount) for n in new) == sorted([
        (inv.pk, dt.date(2026, 4, 1), D("5250.00")), (inv.pk, dt.date(2026, 5, 1), D("4750.00")),
        (inv2.pk, dt.date(2026, 5, 1), D("500.00"))])
    assert Instalment.objects.get(pk=ids[0]).amount == 0
    assert check_ledger() == []


def test_plan_needs_a_second_person_and_breaks_with_an_alert(company, customer, inv, users, finance):
    inst = _inst(inv)
    with pytest.raises(svc.InvalidPlan):
        svc.request_plan(company=company, customer_id=customer.pk, instalment_ids=[inst.pk], today=TODAY,
                         actor=users["collector"], lines=[("2026-04-01", "5000"), ("2026-05-01", "4999")])
    plan = svc.request_plan(company=company, customer_id=customer.pk, instalment_ids=[inst.pk], today=TODAY,
                            actor=users["credit_manager"], lines=[("2026-04-01", "5000"), ("2026-05-01", "5000")])
    assert Instalment.objects.get(pk=inst.pk).replaced_on is None  # nothing changes before approval
    with pytest.raises(NotAllowed):
        svc.decide_plan(company=company, plan_id=plan.pk, approve=True, actor=users["credit_manager"], today=TODAY)
    with pytest.raises(NotAllowed):
        svc.decide_plan(company=company, plan_id=plan.pk, approve=True, actor=users["collector"], today=TODAY)
    plan = svc.decide_plan(company=company, plan_id=plan.pk, approve=True, actor=finance, today=TODAY)
    assert plan.status == PlanStatus.ACTIVE
    assert Instalment.objects.filter(plan_id=plan.pk).count() == 2
    with pytest.raises(svc.InvalidPlan):
        svc.decide_plan(company=company, plan_id=plan.pk, approve=False, actor=users["admin"], today=TODAY)
    assert svc.review_plans(company=company, as_of=dt.date(2026, 4, 6)) == {"completed": 0, "broken": 0}  # grace 5 days
    assert svc.review_plans(company=company, as_of=dt.date(2026, 4, 7)) == {"completed": 0, "broken": 1}
    assert PaymentPlan.objects.get(pk=plan.pk).status == PlanStatus.BROKEN
    assert Task.objects.filter(source="plan", owner=customer.owner).count() == 1


def test_plan_refused_when_the_open_amount_changed_since_proposed(company, customer, inv, users, finance):
    plan = svc.request_plan(company=company, customer_id=customer.pk, instalment_ids=[_inst(inv).pk], today=TODAY,
                            actor=users["collector"], lines=[("2026-04-01", "10000")])
    ls.record_payment(company=company, customer_id=customer.pk, amount=D("100.00"), date=TODAY, actor=finance)
    with pytest.raises(svc.InvalidPlan, match=r"10000\.00\D+9900\.00"):
        svc.decide_plan(company=company, plan_id=plan.pk, approve=True, actor=finance, today=TODAY)
    assert PaymentPlan.objects.get().status == PlanStatus.PENDING
    svc.decide_plan(company=company, plan_id=plan.pk, approve=False, actor=finance, today=TODAY)


def test_plan_completed_when_paid(company, customer, inv, users, finance):
    plan = svc.request_plan(company=company, customer_id=customer.pk, instalment_ids=[_inst(inv).pk], today=TODAY,
                            actor=users["collector"], lines=[("2026-04-01", "10000")])
    svc.decide_plan(company=company, plan_id=plan.pk, approve=True, actor=finance, today=TODAY)
    ls.record_payment(company=company, customer_id=customer.pk, amount=D("10000.00"), date=TODAY, actor=finance)
    assert svc.review_plans(company=company, as_of=TODAY) == {"completed": 1, "broken": 0}


# ---------------------------------------------------------------- interest, demands, cases


def test_interest_to_date_uses_the_most_specific_rule_and_statements_show_it(company, customer, inv, users, finance):
    as_of = dt.date(2026, 3, 6)  # due 2026-02-04 → 30 days
    assert interest_to_date(customer=customer, as_of=as_of) == 0  # no rule: nothing
    svc.save_interest_rule(company=company, actor=finance, basis="daily", rate="0.05")
    assert interest_to_date(customer=customer, as_of=as_of) == D("150.00")
    svc.save_interest_rule(company=company, actor=finance, basis="daily", rate="0.05", grace_days=10, customer_id=customer.pk)
    assert interest_to_date(customer=customer, as_of=as_of) == D("100.00")
    svc.save_interest_rule(company=company, actor=finance, basis="none", rate="0", document_id=inv.pk)
    assert interest_to_date(customer=customer, as_of=as_of) == 0
    svc.save_interest_rule(company=company, actor=finance, basis="daily", rate="0.05", document_id=inv.pk)
    # partial payment on 2026-02-14: 10 days on 10,000, 20 days on 6,000
    ls.record_payment(company=company, customer_id=customer.pk, amount=D("4000.00"), date=dt.date(2026, 2, 14), actor=finance)
    rows = instalment_interest(customer=customer, as_of=as_of)
    assert [(r.days, r.amount) for r in rows] == [(30, D("110.00"))]
    data = statement_data(user=finance, customer=customer, period_from=dt.date(2026, 1, 1), period_to=as_of)
    assert [x.amount for x in data.extra_lines] == [D("110.00")]
    with pytest.raises(NotAllowed):
        svc.post_interest_charge(company=company, customer_id=customer.pk, as_of=as_of, actor=users["collector"])
    charge = svc.post_interest_charge(company=company, customer_id=customer.pk, as_of=as_of, actor=finance)
    assert charge.document.kind == "charge" and charge.document.total_amount == D("110.00")
    assert interest_to_date(customer=customer, as_of=as_of) == 0  # charged up to as_of; none on the charge itself
    assert interest_to_date(customer=customer, as_of=as_of + dt.timedelta(days=10)) == D("30.00")


def test_written_demand_restarts_limitation(company, customer, inv, finance):
    assert limitation(customer=customer).limitation_date == dt.date(2029, 2, 4)  # the item's due date + 3 years
    svc.record_written_demand(company=company, customer_id=customer.pk, date=dt.date(2026, 3, 2), reference="DL-1", actor=None)
    svc.record_written_demand(company=company, customer_id=customer.pk, date=dt.date(2026, 3, 2), reference="DL-1", actor=None)
    lim = limitation(customer=customer)
    assert (lim.last_event, lim.limitation_date) == (dt.date(2026, 3, 2), dt.date(2029, 3, 2))


def test_open_case_returns_the_open_one_and_tracks_status(company, customer, inv, users):
    legal = users["legal"]
    c1 = svc.open_case(company=company, customer_id=customer.pk, actor=legal, today=TODAY)
    c2 = svc.open_case(company=company, customer_id=customer.pk, instalment_ids=[_inst(inv).pk], actor=legal, today=TODAY)
    assert c1.pk == c2.pk and c2.claim_amount == D("10000.00")
    with pytest.raises(NotAllowed):
        svc.open_case(company=company, customer_id=customer.pk, actor=users["sales_east"])
    c = svc.update_case(company=company, case_id=c1.pk, actor=legal, status="filed", firm="金杜", fee_amount="5000",
                        commission_percent="10", today=TODAY)
    assert (c.status, c.fee_amount, c.commission_percent) == ("filed", D("5000.00"), D("10"))
    with pytest.raises(svc.CollectionsError):
        svc.update_case(company=company, case_id=c1.pk, actor=legal, status="filed", commission_percent="101", today=TODAY)
    svc.update_case(company=company, case_id=c1.pk, actor=legal, status="closed", today=TODAY)
    assert svc.open_case(company=company, customer_id=customer.pk, actor=legal, today=TODAY).pk != c1.pk


def test_create_task_defaults_to_the_owner(company, customer, inv):
    t = svc.create_task(company=company, customer_id=customer.pk, kind="visit", due=TODAY, actor=None, source="dunning",
                        instalment_ids=[_inst(inv).pk])
    assert t.owner == customer.owner and t.instalment_ids == [_inst(inv).pk]
    with pytest.raises(svc.CollectionsError):
        svc.create_task(company=company, customer_id=customer.pk, kind="fax", due=TODAY, actor=None)


# ---------------------------------------------------------------- worklist


def test_queue_ranks_promises_then_next_actions_then_priority(company, customer, other_customer, inv, users, finance):
    small = ls.post_document(company=company, customer_id=other_customer.pk, document_date=dt.date(2026, 1, 5),
                             total=D("100.00"), actor=finance)
    assert refresh_queue(company=company, as_of=TODAY) == 2
    rows = list(queue(user=finance, company=company, today=TODAY))
    assert [r.customer_id for r in rows] == [customer.pk, other_customer.pk]
    assert rows[0].priority == 10000 * 26  # 26 days overdue, risk 1
    svc.set_next_action(company=company, customer_id=other_customer.pk, on=TODAY, actor=finance)
    assert [r.customer_id for r in queue(user=finance, company=company, today=TODAY)] == [other_customer.pk, customer.pk]
    svc.set_next_action(company=company, customer_id=customer.pk, on=TODAY + dt.timedelta(days=3), actor=finance)
    svc.set_next_action(company=company, customer_id=other_customer.pk, on=None, actor=finance)
    assert [r.tier for r in queue(user=finance, company=company, today=TODAY)] == [2, 3]
    svc.record_promise(company=company, customer_id=other_customer.pk, amount="50", promised_date=TODAY, today=TODAY, actor=finance)
    assert [r.tier for r in queue(user=finance, company=company, today=TODAY)] == [0, 3]
    # a salesperson sees their own customers only; disputed parts are excluded from the amount
    assert [r.customer_id for r in queue(user=users["sales_east"], company=company, today=TODAY)] == [customer.pk]
    # the customer moves to sales_west during the day: sales_east's page no longer shows it (checked on the customer)
    from huikuan.collections.worklist import in_scope
    from huikuan.customers.models import Customer

    Customer.objects.filter(pk=customer.pk).update(owner=users["sales_west"])
    rows = list(queue(user=users["sales_east"], company=company, today=TODAY))
    assert in_scope(user=users["sales_east"], company=company, rows=rows) == []
    refresh_queue(company=company, as_of=TODAY)
    assert {r.customer_id for r in queue(user=users["sales_west"], company=company, today=TODAY)} == {customer.pk, other_customer.pk}
    Customer.objects.filter(pk=customer.pk).update(owner=users["sales_east"])
    refresh_queue(company=company, as_of=TODAY)
    svc.open_dispute(company=company, customer_id=other_customer.pk, reason="price", amount="100", actor=finance, today=TODAY,
                     instalment_id=small.instalments.get().pk)
    refresh_queue(company=company, as_of=TODAY, customer_ids=[other_customer.pk])
    assert QueueEntry.objects.get(customer=other_customer).overdue_amount == 0
    ls.record_payment(company=company, customer_id=customer.pk, amount=D("10000.00"), date=TODAY, actor=finance)
    refresh_queue(company=company, as_of=TODAY)
    assert list(queue(user=users["sales_east"], company=company, today=TODAY)) == []
    assert Dispute.objects.count() == 1


def test_queue_page_reads_the_same_order_as_the_full_sort(company, users, finance, net30):
    from huikuan.collections.worklist import Filters, queue_page
    from huikuan.customers.models import Customer

    cids = []
    for n in range(12):
        c = Customer.objects.create(company=company, code=f"Q{n:02d}", name=f"客户{n}", owner=users["sales_east"], payment_term=net30)
        ls.post_document(company=company, customer_id=c.pk, document_date=dt.date(2026, 1, 1) + dt.timedelta(days=n),
                         total=D(100 * (n + 1)), actor=finance)
        cids.append(c.pk)
    refresh_queue(company=company, as_of=TODAY)
    svc.set_next_action(company=company, customer_id=cids[0], on=TODAY, actor=finance)
    svc.set_next_action(company=company, customer_id=cids[1], on=TODAY + dt.timedelta(days=2), actor=finance)
    svc.record_promise(company=company, customer_id=cids[2], amount="1", promised_date=TODAY, today=TODAY, actor=finance)
    svc.record_promise(company=company, customer_id=cids[3], amount="1", promised_date=TODAY + dt.timedelta(days=1),
                       today=TODAY, actor=finance)
    for user in (finance, users["sales_east"]):
        for tier in (None, 0, 1, 2, 3):
            f = Filters(tier=tier)
            full = [e.customer_id for e in queue(user=user, company=company, today=TODAY, filters=f)]
            for offset in range(0, 14):
                for limit in (1, 3, 5, 20):
                    got = [e.customer_id for e in queue_page(user=user, company=company, today=TODAY, filters=f,
                                                             offset=offset, limit=limit)]
                    assert got == full[offset:offset + limit], (tier, offset, limit)
    assert [e.customer_id for e in queue(user=finance, company=company, today=TODAY)][:2] == [cids[2], cids[0]]
