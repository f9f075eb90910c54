"""KPIs read from the stored facts of the aging builds (insight.kpi_store) equal the live statements,
after postings, reversals and allocations made after the builds."""

import datetime as dt
from decimal import Decimal as D

import pytest
from django.db.models import F
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from huikuan.common import clock
from huikuan.insight import kpi_store, past
from huikuan.insight.kpi_calc import Period, parse_period
from huikuan.insight.kpis import kpi_report
from huikuan.insight.models import AgingBuild, KpiFact
from huikuan.ledger import plans
from huikuan.ledger import services as s
from huikuan.ledger.models import Instalment

# PostgreSQL: a build needs a transaction of its own (its snapshot), so these tests commit
pytestmark = pytest.mark.django_db(transaction=True)

FIELDS = ("ar_begin", "ar_end", "current_end", "billed", "due", "collected", "written_off", "on_time",
          "days_to_pay_weighted", "days_late_weighted", "months")


def _doc(company, customer, day, total, actor, days=30, salesperson=None):
    return s.post_document(company=company, customer_id=customer.pk, document_date=day, total=D(total), actor=actor,
                           salesperson_id=salesperson.pk if salesperson else None,
                           schedule=[s.ScheduleInput(due_date=day + dt.timedelta(days=days), amount=D(total))])


def _rows(rep):
    out = {r.key: tuple(getattr(r.sums, f) for f in FIELDS) for r in rep.rows if any(
        getattr(r.sums, f) for f in FIELDS[:-1]) or any(m for m, _d in r.sums.months)}
    return out, tuple(getattr(rep.total.sums, f) for f in FIELDS)


def _live(monkeypatch, **kw):
    def refuse(**_kw):
        raise kpi_store.Unavailable

    with monkeypatch.context() as m:
        m.setattr(kpi_store, "read", refuse)
        return kpi_report(**kw)


def _stored(**kw):
    # the stored path must serve it (no silent fallback to the live statements)
    got = kpi_store.read(user=kw["user"], company=kw["company"], period=kw["period"], group_by=kw.get("group_by", "none"),
                         countback_months=kw.get("countback_months", 12))
    assert got is not None
    return kpi_report(**kw)


def _same(monkeypatch, users, company, periods, groups=("none", "salesperson", "team", "region", "customer")):
    for user in users:
        for period in periods:
            for group in groups:
                kw = {"user": user, "company": company, "period": period, "group_by": group}
                assert _rows(_stored(**kw)) == _rows(_live(monkeypatch, **kw)), (user.username, period, group)


@pytest.fixture
def book(company, customer, other_customer, finance, users):
    _doc(company, customer, dt.date(2026, 1, 5), "1000.00", finance)
    _doc(company, customer, dt.date(2026, 5, 20), "250.50", finance, salesperson=users["sales_west"])
    _doc(company, other_customer, dt.date(2026, 3, 1), "300.00", finance, days=90)
    _doc(company, other_customer, dt.date(2026, 6, 25), "80.00", finance)
    s.record_payment(company=company, customer_id=customer.pk, amount=D("400"), date=dt.date(2026, 3, 10), actor=finance)


PERIODS = [parse_period("2026-06"), parse_period("2026-Q2"), Period(dt.date(2026, 3, 5), dt.date(2026, 6, 17)),
           Period(dt.date(2026, 1, 1), dt.date(2026, 11, 30))]


def test_stored_facts_are_read_and_equal_the_live_statements(monkeypatch, book, company, finance, users):
    _same(monkeypatch, [finance, users["sales_east"]], company, PERIODS[:2])
    june = AgingBuild.objects.get(company=company, as_of=dt.date(2026, 6, 30))
    assert june.kpi_facts and KpiFact.objects.filter(build=june, customer__isnull=True).exists()
    before = kpi_report(user=finance, company=company, period=PERIODS[0]).total.sums.billed
    # the stored sums per salesperson are what is read (tampering shows)
    KpiFact.objects.filter(build=june, customer__isnull=True, billed__gt=0).update(billed=F("billed") + 1)
    assert kpi_report(user=finance, company=company, period=PERIODS[0]).total.sums.billed == before + D("0.01")


def test_exact_after_postings_reversals_and_allocations_made_after_the_builds(monkeypatch, book, company, customer,
                                                                             other_customer, finance, users):
    everyone = [finance, users["sales_west"]]
    _same(monkeypatch, everyone, company, PERIODS)
    n_builds = AgingBuild.objects.filter(company=company).count()
    # after the builds: a back-dated invoice, a back-dated payment, a reversed invoice, a reversed payment,
    # a write-off, an instalment due before its document date, a payment plan
    _doc(company, customer, dt.date(2026, 6, 3), "70.00", finance, salesperson=users["sales_west"])
    pay = s.record_payment(company=company, customer_id=other_customer.pk, amount=D("120"), date=dt.date(2026, 6, 5),
                           actor=finance)
    doc = customer.documents.filter(document_date=dt.date(2026, 5, 20)).get()
    s.reverse_document(company=company, document_id=doc.pk, actor=finance, on=dt.date(2026, 6, 10), reason="r")
    s.reverse_credit(company=company, credit_id=pay.pk, actor=finance, on=dt.date(2026, 6, 12), reason="r")
    inst = Instalment.objects.filter(customer=other_customer, open_amount__gt=0).order_by("pk").first()
    req = s.request_write_off(company=company, instalment_id=inst.pk, amount=D("10"), reason="w", actor=finance)
    s.decide_write_off(company=company, request_id=req.pk, approve=True, actor=users["finance2"], on=dt.date(2026, 4, 2))
    s.post_document(company=company, customer_id=other_customer.pk, document_date=dt.date(2026, 5, 10), total=D("33"),
                    actor=finance, schedule=[s.ScheduleInput(due_date=dt.date(2026, 4, 20), amount=D("33"))])
    open_one = Instalment.objects.filter(customer=customer, open_amount__gt=0).order_by("pk").first()
    plans.replace_instalments(company=company, instalment_ids=[open_one.pk], on=dt.date(2026, 6, 14), actor=finance,
                              plan_id=1, lines=[(dt.date(2026, 6, 20), open_one.open_amount - 100),
                                                (dt.date(2026, 7, 20), D(100))])
    _same(monkeypatch, everyone, company, PERIODS)
    assert AgingBuild.objects.filter(company=company).count() == n_builds  # read through the marks, not rebuilt
    # after a rebuild of every date, the same again
    for b in AgingBuild.objects.filter(company=company):
        past.build(company=company, as_of=b.as_of, replace=True)
    _same(monkeypatch, everyone, company, PERIODS)


def test_this_month_to_date_is_served_by_a_build_of_today(monkeypatch, company, customer, finance):
    today = clock.today(company)
    _doc(company, customer, today.replace(day=1), "500.00", finance)
    period = parse_period(f"{today:%Y-%m}").until(today)
    _same(monkeypatch, [finance], company, [period], groups=("none", "salesperson"))
    assert AgingBuild.objects.filter(company=company, as_of=today, kpi_facts=True).exists()
    s.record_payment(company=company, customer_id=customer.pk, amount=D("120"), date=today, actor=finance)
    _doc(company, customer, today, "80.00", finance)
    _same(monkeypatch, [finance], company, [period], groups=("none", "salesperson"))
    assert kpi_report(user=finance, company=company, period=period).total.sums.collected == D("120.00")


def test_a_build_stored_before_the_facts_existed_is_built_again(monkeypatch, book, company, finance):
    kpi_report(user=finance, company=company, period=PERIODS[0])
    AgingBuild.objects.filter(company=company).update(kpi_facts=False)
    KpiFact.objects.all().delete()
    _same(monkeypatch, [finance], company, PERIODS[:1], groups=("none",))
    assert AgingBuild.objects.get(company=company, as_of=dt.date(2026, 6, 30)).kpi_facts


def test_a_date_first_viewed_on_the_aging_page_is_stored_without_facts_until_the_kpis_need_them(
        monkeypatch, settings, django_capture_on_commit_callbacks, book, company, finance):
    settings.TASKS = {"default": {"BACKEND": "django.tasks.backends.immediate.ImmediateBackend"}}
    june = dt.date(2026, 6, 30)
    # the aging page's first view (one page of rows) answers live and queues the date's build (run here as the
    # worker would); the full report of a date not stored (limit None) is the caller's live statement: None
    with django_capture_on_commit_callbacks(execute=True):
        assert past.aging_report(user=finance, company=company, as_of=june, limit=50) is not None
    b = AgingBuild.objects.get(company=company, as_of=june)
    assert not b.kpi_facts and not KpiFact.objects.filter(build=b).exists()  # the page did not wait for the facts
    _same(monkeypatch, [finance], company, PERIODS[:1], groups=("none", "salesperson"))
    assert AgingBuild.objects.get(company=company, as_of=june).kpi_facts


def test_a_future_period_is_computed_live(company, finance):
    later = clock.today(company) + dt.timedelta(days=40)
    with pytest.raises(kpi_store.Unavailable):
        kpi_store.read(user=finance, company=company, period=parse_period(f"{later:%Y-%m}"), group_by="none",
                       countback_months=12)


ACTIONS = st.lists(st.tuples(st.sampled_from(["doc", "pay", "reverse_pay", "reverse_doc", "writeoff"]),
                             st.integers(0, 1), st.integers(0, 150), st.integers(1, 5000)), min_size=3, max_size=10)


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(actions=ACTIONS, start_offset=st.integers(0, 90), length=st.integers(0, 70))
def test_stored_equals_live_on_random_ledgers_changed_between_reads(
        monkeypatch, company, customer, other_customer, finance, users, actions, start_offset, length):
    """Examples share the database: each one's postings land after the previous ones' builds."""
    base = dt.date(2026, 1, 1)
    customers = [customer, other_customer]
    for kind, who, offset, amount in actions:
        c = customers[who]
        day = base + dt.timedelta(days=offset)
        if kind == "doc":
            _doc(company, c, day, str(amount), finance, days=offset % 45 - 5)
        elif kind == "pay":
            s.record_payment(company=company, customer_id=c.pk, amount=D(amount), date=day, actor=finance)
        elif kind == "reverse_pay":
            pay = c.credits.filter(kind="payment", status="posted", date__lte=day).first()
            if pay:
                s.reverse_credit(company=company, credit_id=pay.pk, actor=finance, on=day, reason="r")
        elif kind == "reverse_doc":
            doc = c.documents.filter(status="posted", document_date__lte=day).first()
            if doc:
                s.reverse_document(company=company, document_id=doc.pk, actor=finance, on=day, reason="r")
        else:
            inst = Instalment.objects.filter(customer=c, open_amount__gt=0, document_date__lte=day).first()
            if inst:
                req = s.request_write_off(company=company, instalment_id=inst.pk, amount=inst.open_amount, reason="w",
                                          actor=finance)
                s.decide_write_off(company=company, request_id=req.pk, approve=True, actor=users["finance2"], on=day)
    start = base + dt.timedelta(days=start_offset)
    _same(monkeypatch, [finance, users["sales_west"]], company, [Period(start, start + dt.timedelta(days=length))],
          groups=("none", "salesperson", "customer"))


def test_cash_applied_before_the_invoice_date_after_the_build(monkeypatch, company, customer, finance):
    """An allocation dated before its instalment's document date moves an earlier month than the instalment's
    mark says: the allocation trigger marks the customer from the allocation's date."""
    _doc(company, customer, dt.date(2026, 6, 20), "500.00", finance)
    april = parse_period("2026-04")
    _same(monkeypatch, [finance], company, [april], groups=("none", "customer"))
    s.record_payment(company=company, customer_id=customer.pk, amount=D("200"), date=dt.date(2026, 4, 10), actor=finance)
    _same(monkeypatch, [finance], company, [april], groups=("none", "customer"))
    assert kpi_report(user=finance, company=company, period=april).total.sums.collected == D("200.00")


def _trend(points):
    return [(p.start, p.end, p.ar_end, p.current_end, p.billed, p.collected, p.dso, p.best_dso, p.collection_rate,
             p.overdue_rate) for p in points]


def test_the_trend_is_read_from_the_stored_month_ends_and_equals_the_live_one(
        monkeypatch, book, company, customer, other_customer, finance, users):
    from huikuan.insight import kpis

    def refuse(**_kw):
        raise AssertionError("the trend was computed live")

    def unavailable(**_kw):
        raise kpi_store.Unavailable

    def stored(user, end, months):
        with monkeypatch.context() as m:
            m.setattr(kpis, "_trend_live", refuse)
            return _trend(kpis.kpi_trend(user=user, company=company, end=end, months=months))

    def both(user, end, months):
        got = stored(user, end, months)
        with monkeypatch.context() as m:
            m.setattr(kpi_store, "trend", unavailable)
            assert got == _trend(kpis.kpi_trend(user=user, company=company, end=end, months=months)), user.username
        return got

    ends = [dt.date(2026, 11, 30), dt.date(2026, 6, 17)]
    first = both(finance, ends[0], 12)
    assert any(p[4] for p in first) and any(p[5] for p in first)  # credit sales and collections in the months
    # every month end of the trend is stored, with its facts (built on the first view when missing)
    assert AgingBuild.objects.filter(company=company, kpi_facts=True,
                                     as_of__in=[b for _a, b in kpis.kpi_calc.months_back(ends[0], 13)]).count() == 13
    both(finance, ends[1], 12)
    n_builds = AgingBuild.objects.filter(company=company).count()
    # after the builds: a back-dated invoice and payment, a reversed invoice, a reversed payment, a write-off
    _doc(company, customer, dt.date(2026, 6, 3), "70.00", finance, salesperson=users["sales_west"])
    pay = s.record_payment(company=company, customer_id=other_customer.pk, amount=D("120"), date=dt.date(2026, 6, 5),
                           actor=finance)
    doc = customer.documents.filter(document_date=dt.date(2026, 5, 20)).get()
    s.reverse_document(company=company, document_id=doc.pk, actor=finance, on=dt.date(2026, 6, 10), reason="r")
    s.reverse_credit(company=company, credit_id=pay.pk, actor=finance, on=dt.date(2026, 8, 12), reason="r")
    inst = Instalment.objects.filter(customer=other_customer, open_amount__gt=0).order_by("pk").first()
    req = s.request_write_off(company=company, instalment_id=inst.pk, amount=D("10"), reason="w", actor=finance)
    s.decide_write_off(company=company, request_id=req.pk, approve=True, actor=users["finance2"], on=dt.date(2026, 4, 2))
    for user in (finance, users["sales_west"], users["sales_east"]):
        for end in ends:
            both(user, end, 12)
    assert AgingBuild.objects.filter(company=company).count() == n_builds  # read through the marks, not rebuilt
    older = {b for _a, b in kpis.kpi_calc.months_back(ends[0], 25)} - set(
        AgingBuild.objects.filter(company=company).values_list("as_of", flat=True))
    both(finance, ends[0], 24)
    assert len(older) == 7 and AgingBuild.objects.filter(company=company, as_of__in=older).count() == 7
    # the stored facts are what is read (tampering shows)
    march = dt.date(2026, 3, 31)
    before = {p[1]: p[5] for p in stored(finance, ends[0], 12)}[march]
    assert before == D("400.00")
    KpiFact.objects.filter(build__as_of=march, customer__isnull=True, collected__gt=0).update(collected=F("collected") + 1)
    assert {p[1]: p[5] for p in stored(finance, ends[0], 12)}[march] == before + D("0.01")
