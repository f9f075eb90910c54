import datetime as dt
from decimal import Decimal as D

import pytest

from huikuan.common.models import AuditEvent
from huikuan.credit import calculations as calc
from huikuan.credit import jobs, scoring, services, signals
from huikuan.credit.models import CreditProfile, ScorecardVersion, ScoreSnapshot, VersionStatus

from .conftest import invoice, pay

pytestmark = pytest.mark.django_db


def _history(company, customer, actor, *, late_days):
    """Three invoices of 1,000 each paid ``late_days`` after their due date, a year before 2026-03-02."""
    start = dt.date(2025, 6, 1)
    for k in range(3):
        d = start + dt.timedelta(days=30 * k)
        invoice(company, customer, actor, amount="1000.00", date=d)
        pay(company, customer, actor, amount="1000.00", date=d + dt.timedelta(days=30 + late_days))


def test_factors_from_ledger(company, finance, customer, other_customer):
    _history(company, customer, finance, late_days=15)
    as_of = dt.date(2026, 3, 2)
    # an open invoice 60 days overdue on the other customer, 2,000 of 4,000 open
    invoice(company, other_customer, finance, amount="2000.00", date=dt.date(2025, 12, 2), due=dt.date(2026, 1, 1))
    invoice(company, other_customer, finance, amount="2000.00", date=dt.date(2026, 2, 20))
    f = scoring.compute_factors(company=company, as_of=as_of)
    assert f[customer.pk]["paydex"] == 70  # 15 days beyond terms
    assert f[customer.pk]["max_days_overdue"] == 0
    assert f[customer.pk]["overdue_ratio"] is None  # nothing open
    assert f[customer.pk]["relationship_months"] == 9
    o = f[other_customer.pk]
    assert o["paydex"] is None  # 1 experience < 3: insufficient history
    assert o["max_days_overdue"] == 60
    assert o["overdue_ratio"] == "50.00"


def test_factors_as_of_a_past_date_count_later_payments_as_open(company, finance, customer):
    invoice(company, customer, finance, amount="1000.00", date=dt.date(2026, 1, 1), due=dt.date(2026, 1, 31))
    pay(company, customer, finance, amount="1000.00", date=dt.date(2026, 3, 1))
    f = scoring.compute_factors(company=company, as_of=dt.date(2026, 2, 20))[customer.pk]
    assert f["max_days_overdue"] == 20 and f["overdue_ratio"] == "100.00"
    f = scoring.compute_factors(company=company, as_of=dt.date(2026, 3, 2))[customer.pk]
    assert f["max_days_overdue"] == 0


def test_rescore_writes_snapshots_grades_events_and_is_reproducible(company, finance, customer, other_customer):
    _history(company, customer, finance, late_days=0)
    as_of = dt.date(2026, 3, 2)
    result = scoring.rescore(company=company, as_of=as_of)
    assert result["customers"] == 2
    snap = ScoreSnapshot.objects.get(customer=customer, as_of=as_of)
    prof = CreditProfile.objects.get(customer=customer)
    assert prof.score == snap.score and prof.grade == snap.grade != ""
    assert AuditEvent.objects.filter(customer_id=customer.pk, verb="credit.grade.changed").count() == 1
    # a new scorecard version does not change what the old snapshot says
    v1 = snap.version
    config = {"factors": {**calc.DEFAULT_SCORECARD["factors"],
                          "paydex": {"direction": "ge", "bands": [[90, 10], [0, 0]], "missing": 0}}}
    ScorecardVersion.objects.filter(pk=v1.pk).update(status=VersionStatus.RETIRED)
    ScorecardVersion.objects.create(company=company, number=2, config=config, status=VersionStatus.ACTIVE)
    scoring.rescore(company=company, as_of=as_of + dt.timedelta(days=1))
    snap.refresh_from_db()
    total, points = calc.score(snap.version.config, snap.factors)
    assert (total, points) == (snap.score, snap.points)
    assert snap.version == v1
    newer = ScoreSnapshot.objects.get(customer=customer, as_of=as_of + dt.timedelta(days=1))
    assert newer.version.number == 2 and newer.score != snap.score
    # re-running the same date replaces, never duplicates
    scoring.rescore(company=company, as_of=as_of)
    assert ScoreSnapshot.objects.filter(customer=customer, as_of=as_of).count() == 1


def test_a_second_run_on_the_same_date_rewrites_only_what_changed_and_writes_set_wise(company, finance, customer,
                                                                                     other_customer):
    """Issue 19: re-scoring is set-wise on both databases (no per-row CASE of bulk_update) and a second run on
    the same date leaves unchanged snapshots and profiles as they are."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    _history(company, customer, finance, late_days=15)
    invoice(company, other_customer, finance, amount="2000.00", date=dt.date(2025, 12, 2), due=dt.date(2026, 1, 1))
    as_of = dt.date(2026, 3, 2)
    first = scoring.rescore(company=company, as_of=as_of)
    assert (first["customers"], first["unchanged"], first["grade_changes"]) == (2, 0, 2)
    rows = {p.customer_id: (p.score, p.grade, p.scored_on, p.next_review_date, p.updated_at)
            for p in CreditProfile.objects.all()}
    snaps = {s.customer_id: (s.pk, s.created_at, s.score, s.grade, s.factors, s.points) for s in ScoreSnapshot.objects.all()}
    assert rows[customer.pk][:3] == (snaps[customer.pk][2], snaps[customer.pk][3], as_of)
    assert rows[customer.pk][3] is not None  # next review set from the grade's interval

    with CaptureQueriesContext(connection) as ctx:
        second = scoring.rescore(company=company, as_of=as_of)
    assert (second["customers"], second["unchanged"], second["grade_changes"]) == (2, 2, 0)
    writes = [q["sql"] for q in ctx.captured_queries if q["sql"].lstrip().upper().startswith(("INSERT", "UPDATE", "DELETE"))]
    assert writes == []  # nothing changed: nothing written
    assert {s.customer_id: (s.pk, s.created_at, s.score, s.grade, s.factors, s.points)
            for s in ScoreSnapshot.objects.all()} == snaps
    assert {p.customer_id: (p.score, p.grade, p.scored_on, p.next_review_date, p.updated_at)
            for p in CreditProfile.objects.all()} == rows

    # the next day: every profile and a new snapshot each are written, in set-wise statements
    invoice(company, customer, finance, amount="500.00", date=dt.date(2026, 1, 2), due=dt.date(2026, 2, 1))
    with CaptureQueriesContext(connection) as ctx:
        third = scoring.rescore(company=company, as_of=as_of + dt.timedelta(days=1))
    assert third["unchanged"] == 0
    assert not [q for q in ctx.captured_queries if " CASE WHEN " in q["sql"]]
    assert ScoreSnapshot.objects.filter(as_of=as_of + dt.timedelta(days=1)).count() == 2
    for p in CreditProfile.objects.all():
        snap = ScoreSnapshot.objects.get(customer_id=p.customer_id, as_of=as_of + dt.timedelta(days=1))
        assert (p.score, p.grade, p.scored_on) == (snap.score, snap.grade, as_of + dt.timedelta(days=1))
        assert p.updated_at != rows[p.customer_id][4]  # written (PostgreSQL: now() of the test's transaction)
        assert (snap.score, snap.points) == calc.score(snap.version.config, snap.factors)
    assert ScoreSnapshot.objects.get(customer=customer, as_of=as_of).score == snaps[customer.pk][2]  # the day before kept


def test_overridden_grade_is_kept(company, finance, customer):
    services.policy_of(company)
    CreditProfile.objects.create(company=company, customer=customer, grade="C", grade_override=True)
    scoring.rescore(company=company, as_of=dt.date(2026, 3, 2))
    assert CreditProfile.objects.get(customer=customer).grade == "C"


def test_behaviour_source_changes_points(company, customer):
    day = dt.date(2026, 3, 2)

    def src(company, ids, as_of):
        return {customer.pk: {"broken_promises": 4, "disputes": 2}}

    scoring.rescore(company=company, as_of=day)
    before = ScoreSnapshot.objects.get(customer=customer).points
    signals.register_behaviour_source(src)
    try:
        scoring.rescore(company=company, as_of=day)
    finally:
        signals.unregister_behaviour_source(src)
    after = ScoreSnapshot.objects.get(customer=customer)
    assert after.factors["broken_promises"] == 4 and after.points["broken_promises"] == 0
    assert before["broken_promises"] == 5 and after.points["disputes"] == 1


def test_daily_places_and_lifts_automatic_holds(company, finance, customer):
    services.policy_of(company)
    CreditProfile.objects.create(company=company, customer=customer, grade="B", grade_override=True)  # hold > 15 days
    invoice(company, customer, finance, amount="500.00", date=dt.date(2026, 1, 2), due=dt.date(2026, 2, 1))  # 30 days: grade B allows 30
    assert jobs.apply_hold_rules(company=company, as_of=dt.date(2026, 2, 16)) == {"placed": 0, "lifted": 0}  # 15 days
    assert jobs.apply_hold_rules(company=company, as_of=dt.date(2026, 2, 17)) == {"placed": 1, "lifted": 0}
    p = CreditProfile.objects.get(customer=customer)
    assert p.on_hold and p.hold_source == "automatic"
    pay(company, customer, finance, amount="500.00", date=dt.date(2026, 2, 18))
    assert jobs.apply_hold_rules(company=company, as_of=dt.date(2026, 2, 18)) == {"placed": 0, "lifted": 1}
    assert not CreditProfile.objects.get(customer=customer).on_hold


def test_daily_leaves_manual_holds(company, finance, users, customer):
    services.policy_of(company)
    CreditProfile.objects.create(company=company, customer=customer, grade="B", grade_override=True)
    services.place_hold(company=company, customer_id=customer.pk, reason="fraud check", source="manual", actor=users["admin"])
    jobs.apply_hold_rules(company=company, as_of=dt.date(2026, 2, 18))
    assert CreditProfile.objects.get(customer=customer).hold_source == "manual"


def test_daily_job_is_registered_and_runs(company, customer):
    from huikuan.common.jobs import daily_jobs

    names = [n for n, _fn in daily_jobs(company, dt.date(2026, 3, 2))]
    assert f"credit-daily:{company.pk}" in names
    text = jobs.run_daily(company, dt.date(2026, 3, 2))
    assert "scored 1" in text
    assert D(CreditProfile.objects.get(customer=customer).limit_amount) == D(0)


def test_reversed_payment_is_not_an_experience(company, finance, customer):
    from huikuan.ledger import services as ledger

    for k in range(3):
        invoice(company, customer, finance, amount="100.00", date=dt.date(2025, 9, 1) + dt.timedelta(days=k))
    p = pay(company, customer, finance, amount="300.00", date=dt.date(2025, 10, 1))
    as_of = dt.date(2026, 3, 2)
    assert scoring.compute_factors(company=company, as_of=as_of)[customer.pk]["paydex"] == 81  # paid a day early on average
    ledger.reverse_credit(company=company, credit_id=p.pk, actor=finance, on=dt.date(2025, 12, 1), reason="bounced")
    f = scoring.compute_factors(company=company, as_of=as_of)[customer.pk]
    # the three items are now open and ~152 days overdue; the reversed payment no longer counts as on time
    assert f["paydex"] < 20 and f["max_days_overdue"] == (as_of - dt.date(2025, 10, 1)).days


def test_proposed_version_needs_acceptance(company, users):
    from huikuan.common.errors import NotAllowed
    from huikuan.credit.model_fit import weights_to_config

    services.policy_of(company)
    coefficients = dict.fromkeys(calc.FACTORS, 0.1) | {"paydex": -2.0}
    config = weights_to_config(calc.DEFAULT_SCORECARD, coefficients)
    calc.validate_scorecard(config)
    best = max(b[1] for b in config["factors"]["paydex"]["bands"])
    assert best > 35  # the strongest coefficient gets more of the 100 points
    with pytest.raises(NotAllowed):
        services.propose_scorecard(company=company, config=config, actor=users["finance"])
    v = services.propose_scorecard(company=company, config=config, actor=users["credit_manager"])
    assert v.status == "proposed" and services.active_scorecard(company).number == 1
    services.decide_scorecard(company=company, version_id=v.pk, accept=True, actor=users["admin"])
    assert services.active_scorecard(company).pk == v.pk
    assert ScorecardVersion.objects.get(number=1).status == "retired"


def test_fit_refuses_without_enough_history(company, customer):
    from huikuan.credit.errors import CreditError
    from huikuan.credit.model_fit import fit

    with pytest.raises(CreditError, match="Not enough history"):
        fit(company=company, as_of=dt.date(2026, 3, 2))


def test_fit_on_a_small_history(company, finance, users):
    """Twenty customers: half pay on time, half pay 90 days late; the fitted model separates them."""
    from huikuan.credit.model_fit import fit, propose_fitted_version
    from huikuan.customers.models import Customer

    as_of = dt.date(2026, 3, 2)
    for i in range(20):
        c = Customer.objects.create(company=company, code=f"F{i:02}", name=f"客户{i}")
        late = 90 if i % 2 else 0
        for k in range(8):
            d = dt.date(2024, 10, 1) + dt.timedelta(days=45 * k)
            invoice(company, c, finance, amount="1000.00", date=d)
            if d + dt.timedelta(days=30 + late) <= as_of:
                pay(company, c, finance, amount="1000.00", date=d + dt.timedelta(days=30 + late))
    res = fit(company=company, as_of=as_of)
    assert res["train_late"] == 10 and res["auc"] is not None and res["auc"] >= 0.9
    v = propose_fitted_version(company=company, as_of=as_of, actor=users["credit_manager"])
    assert v.status == "proposed" and v.metrics["auc"] == res["auc"]
