"""The KPI arithmetic against the vectors of shared/DOMAIN.md, and period parsing."""

import datetime as dt
from decimal import Decimal as D

import pytest
from hypothesis import given
from hypothesis import strategies as st

from huikuan.insight import kpi_calc as k
from huikuan.insight.kpi_calc import Period, PeriodError, Sums, parse_period


def test_dso_vector():
    # AR 15,000, current 4,000, credit sales in 30 days 10,000 → DSO 45, BPDSO 12, ADD 33
    assert k.dso(D("15000"), D("10000"), 30) == D("45.00")
    assert k.best_possible_dso(D("4000"), D("10000"), 30) == D("12.00")
    assert k.add(D("45.00"), D("12.00")) == D("33.00")


def test_countback_vector():
    # AR 212,000; months (latest first) 100,000 / 80,000 / 70,000, 30 days each → 73.71 days
    cb = k.dso_countback(D("212000"), [(D("100000"), 30), (D("80000"), 30), (D("70000"), 30)])
    assert cb.days == D("73.71") and cb.complete
    # AR beyond every month given: a lower bound, flagged
    short = k.dso_countback(D("300000"), [(D("100000"), 30), (D("80000"), 30), (D("70000"), 30)])
    assert short.days == D("90.00") and not short.complete
    # a month without sales counts its days whole
    assert k.dso_countback(D("50"), [(D("0"), 31), (D("100"), 30)]).days == D("46.00")
    assert k.dso_countback(D("0"), [(D("10"), 30)]).days == D("0.00")


def test_cei_vector_divides_sales_by_months():
    # beginning 6,200, sales over 3 months 10,890, ending total 6,340, ending current 3,590 → 55.9 %
    got = k.cei(D("6200"), D("10890"), D(3), D("6340"), D("3590"))
    assert got == D("55.93") and got.quantize(D("0.1")) == D("55.9")
    # the wrong variant (sales not divided by N) gives 79.63 %: not what the product computes
    assert k.cei(D("6200"), D("10890"), D(1), D("6340"), D("3590")) == D("79.63")


def test_rates_turnover_and_empty_denominators():
    assert k.percent(D("1"), D("3")) == D("33.33")
    assert k.percent(D("1"), D("0")) is None
    assert k.dso(D("100"), D("0"), 30) is None
    # a year: sales 3,600 on average AR 600 → turnover 6, days 60 (360-day year)
    assert k.turnover(D("3600"), D("500"), D("700"), D(1)) == (D("6.00"), D("60.00"))
    # a month (1/12 year): sales 300 on average AR 600 → 6 per year, 60 days
    assert k.turnover(D("300"), D("600"), D("600"), D(1) / 12) == (D("6.00"), D("60.00"))
    assert k.turnover(D("300"), D("0"), D("0"), D(1)) == (None, None)
    assert k.weighted_days(150000, D("1000.00")) == D("1.50")


def test_compute_all_from_sums():
    s = Sums(ar_begin=D("6200"), ar_end=D("6340"), current_end=D("3590"), billed=D("10890"), due=D("10000"),
             collected=D("10750"), written_off=D("108.90"), on_time=D("5375"), days_to_pay_weighted=107500000,
             days_late_weighted=21500000, months=((D("3590"), 30), (D("4300"), 31), (D("3000"), 31)))
    p = parse_period("2026-Q3")
    out = k.compute(s, days=p.days, months=p.months, years=p.years)
    assert out.cei == D("55.93")
    assert out.collection_rate_opening == D("62.90")  # 10,750 ÷ (6,200 + 10,890)
    assert out.collection_rate_due == D("107.50")
    assert out.overdue_rate == D("43.38")            # 2,750 ÷ 6,340
    assert out.bad_debt_rate == D("1.00")
    assert out.on_time_share == D("50.00") and out.days_to_pay == D("100.00") and out.days_late == D("20.00")
    assert out.dso == D("53.56")                      # 6,340 ÷ 10,890 × 92
    # 6,340 − 3,590 (September, 30 days) = 2,750 of August's 4,300 (31 days) → 30 + 19.83
    assert out.dso_countback == D("49.83") and out.countback_complete


@pytest.mark.parametrize("text,start,end,kind", [
    ("2026-11", dt.date(2026, 11, 1), dt.date(2026, 11, 30), "month"),
    ("2026年2月", dt.date(2026, 2, 1), dt.date(2026, 2, 28), "month"),
    ("２０２６－１１", dt.date(2026, 11, 1), dt.date(2026, 11, 30), "month"),
    ("2026-Q4", dt.date(2026, 10, 1), dt.date(2026, 12, 31), "quarter"),
    ("2026年第1季度", dt.date(2026, 1, 1), dt.date(2026, 3, 31), "quarter"),
    ("2026", dt.date(2026, 1, 1), dt.date(2026, 12, 31), "year"),
    ("2026-11-03..2026-11-20", dt.date(2026, 11, 3), dt.date(2026, 11, 20), "custom"),
    ("2026-11-03 至 2026-11-20", dt.date(2026, 11, 3), dt.date(2026, 11, 20), "custom"),
])
def test_parse_period(text, start, end, kind):
    p = parse_period(text)
    assert (p.start, p.end, p.kind) == (start, end, kind)


@pytest.mark.parametrize("text", ["", "2026-13", "2026-Q5", "next month", "2026-11-20..2026-11-03", "2026-02-30..2026-03-01"])
def test_bad_periods_refused(text):
    with pytest.raises(PeriodError):
        parse_period(text)


def test_period_lengths_and_comparisons():
    nov = parse_period("2026-11")
    assert (nov.days, nov.months, nov.years) == (30, D(1), D(1) / 12)
    assert nov.previous() == Period(dt.date(2026, 10, 1), dt.date(2026, 10, 31), "month")
    assert nov.year_before() == Period(dt.date(2025, 11, 1), dt.date(2025, 11, 30), "month")
    q = parse_period("2026-Q1")
    assert q.previous() == Period(dt.date(2025, 10, 1), dt.date(2025, 12, 31), "quarter") and q.months == 3
    c = parse_period("2026-11-11..2026-11-20")
    assert c.previous() == Period(dt.date(2026, 11, 1), dt.date(2026, 11, 10), "custom") and c.months == D(10) / 30
    assert nov.until(dt.date(2026, 11, 15)) == Period(dt.date(2026, 11, 1), dt.date(2026, 11, 15), "month")
    with pytest.raises(PeriodError):
        nov.until(dt.date(2026, 10, 31))
    assert k.months_back(dt.date(2026, 3, 15), 3) == [
        (dt.date(2026, 3, 1), dt.date(2026, 3, 15)), (dt.date(2026, 2, 1), dt.date(2026, 2, 28)),
        (dt.date(2026, 1, 1), dt.date(2026, 1, 31))]


@given(st.lists(st.tuples(st.integers(0, 10**8), st.integers(28, 31)), min_size=1, max_size=12),
       st.integers(0, 10**9))
def test_countback_bounds(months, ar_fen):
    ms = [(D(s) / 100, d) for s, d in months]
    cb = k.dso_countback(D(ar_fen) / 100, ms)
    assert D(0) <= cb.days <= sum(d for _s, d in ms)
    if not cb.complete:
        assert D(ar_fen) / 100 > sum(s for s, _d in ms)


def test_cut_periods_compare_with_the_same_stretch():
    cut = parse_period("2026-11").until(dt.date(2026, 11, 15))
    assert cut.previous() == Period(dt.date(2026, 10, 1), dt.date(2026, 10, 15), "month")
    assert cut.year_before() == Period(dt.date(2025, 11, 1), dt.date(2025, 11, 15), "month")
    q = parse_period("2026-Q4").until(dt.date(2026, 12, 6))
    assert q.previous() == Period(dt.date(2026, 7, 1), dt.date(2026, 9, 6), "quarter")
