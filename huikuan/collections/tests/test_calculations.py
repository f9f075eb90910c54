"""Penalty interest golden vectors (DOMAIN.md) and the plan-line checks — pure, no database."""

import datetime as dt
from decimal import Decimal as D

import pytest
from hypothesis import given
from hypothesis import strategies as st

from huikuan.collections import calculations as calc

DAILY = calc.PRESETS["statutory"]  # 日万分之五


def interest(principal, due, as_of, rule=DAILY, payments=(), start_after=None):
    return calc.interest_for(principal=D(principal), due_date=due, payments=[(d, D(a)) for d, a in payments],
                             as_of=as_of, rule=rule, start_after=start_after)


def test_domain_vector_10000_for_30_days_is_150():
    r = interest("10000.00", dt.date(2026, 3, 1), dt.date(2026, 3, 31))
    assert (r.days, r.amount) == (30, D("150.00"))


def test_nothing_on_or_before_the_due_date():
    assert interest("10000.00", dt.date(2026, 3, 1), dt.date(2026, 3, 1)).amount == 0
    assert interest("10000.00", dt.date(2026, 3, 1), dt.date(2026, 2, 1)).amount == 0


def test_partial_payment_mid_period_reduces_the_base_from_the_next_day():
    # 10,000 due 1 Mar; 4,000 paid on 11 Mar: 10 days on 10,000 (2–11 Mar), 20 days on 6,000 (12–31 Mar)
    r = interest("10000.00", dt.date(2026, 3, 1), dt.date(2026, 3, 31), payments=[(dt.date(2026, 3, 11), "4000.00")])
    assert r.amount == D("50.00") + D("60.00")
    # a payment before interest starts reduces the base from day one; one on as_of changes nothing
    r = interest("10000.00", dt.date(2026, 3, 1), dt.date(2026, 3, 31),
                 payments=[(dt.date(2026, 2, 20), "2000.00"), (dt.date(2026, 3, 31), "8000.00")])
    assert r.amount == D("120.00")


def test_reversed_payment_restores_the_base():
    r = interest("10000.00", dt.date(2026, 3, 1), dt.date(2026, 3, 31),
                 payments=[(dt.date(2026, 3, 11), "4000.00"), (dt.date(2026, 3, 21), "-4000.00")])
    # 10 days 10,000 + 10 days 6,000 + 10 days 10,000
    assert r.amount == D("50.00") + D("30.00") + D("50.00")


def test_fully_paid_stops_interest():
    r = interest("10000.00", dt.date(2026, 3, 1), dt.date(2026, 12, 31), payments=[(dt.date(2026, 3, 5), "10000.00")])
    assert (r.days, r.amount) == (4, D("20.00"))


def test_month_end_due_date():
    # due 31 Jan 2026, as of 28 Feb: 28 days; monthly 1% = 12% a year / 365
    r = interest("36500.00", dt.date(2026, 1, 31), dt.date(2026, 2, 28), rule=calc.PRESETS["monthly1"])
    assert r.days == 28
    assert r.amount == D("336.00")  # 36,500 × 0.12 / 365 × 28


def test_leap_day_counts_as_a_day():
    r2028 = interest("10000.00", dt.date(2028, 2, 28), dt.date(2028, 3, 1))
    r2027 = interest("10000.00", dt.date(2027, 2, 28), dt.date(2027, 3, 1))
    assert (r2028.days, r2028.amount) == (2, D("10.00"))
    assert (r2027.days, r2027.amount) == (1, D("5.00"))


def test_midnight_in_shanghai_is_the_next_business_day():
    # 16:00 UTC on 30 Mar is 00:00 on 31 Mar in Shanghai: the 30th day of interest already counts
    at = dt.datetime(2026, 3, 30, 16, 0, tzinfo=dt.UTC)
    assert calc.business_date(at) == dt.date(2026, 3, 31)
    assert calc.business_date(at - dt.timedelta(seconds=1)) == dt.date(2026, 3, 30)
    assert interest("10000.00", dt.date(2026, 3, 1), calc.business_date(at)).amount == D("150.00")
    with pytest.raises(ValueError):
        calc.business_date(dt.datetime(2026, 3, 30, 16, 0))


def test_cap_absolute_and_percent():
    capped = calc.Rule(basis="daily", rate=D("0.05"), cap_kind="percent", cap_value=D("1"))
    r = interest("10000.00", dt.date(2026, 3, 1), dt.date(2026, 12, 31), rule=capped)
    assert (r.amount, r.capped) == (D("100.00"), True)
    absolute = calc.Rule(basis="daily", rate=D("0.05"), cap_kind="absolute", cap_value=D("120"))
    assert interest("10000.00", dt.date(2026, 3, 1), dt.date(2026, 3, 31), rule=absolute).amount == D("120.00")
    assert interest("10000.00", dt.date(2026, 3, 1), dt.date(2026, 3, 11), rule=absolute).capped is False


def test_grace_days_and_lpr_multiple_and_none():
    grace = calc.Rule(basis="daily", rate=D("0.05"), grace_days=10)
    assert interest("10000.00", dt.date(2026, 3, 1), dt.date(2026, 3, 31), rule=grace).amount == D("100.00")
    lpr = calc.PRESETS["lpr15"]  # 1.5 × 3.0 % = 4.5 % a year
    assert interest("365000.00", dt.date(2026, 3, 1), dt.date(2026, 3, 11), rule=lpr).amount == D("450.00")
    assert interest("10000.00", dt.date(2026, 3, 1), dt.date(2026, 3, 31), rule=calc.PRESETS["none"]).amount == 0


def test_rounds_half_up_once_per_instalment():
    # 333.33 × 0.0005 × 3 = 0.499995 → 0.50 (not 3 × 0.17 = 0.51)
    assert interest("333.33", dt.date(2026, 3, 1), dt.date(2026, 3, 4)).amount == D("0.50")


def test_interest_already_charged_is_not_counted_again():
    r = interest("10000.00", dt.date(2026, 3, 1), dt.date(2026, 3, 31), start_after=dt.date(2026, 3, 21))
    assert r.amount == D("50.00")


@given(st.integers(min_value=1, max_value=10**9), st.integers(min_value=0, max_value=400), st.integers(min_value=0, max_value=400))
def test_interest_is_monotone_in_time(fen, a, b):
    principal = D(fen) / 100
    due = dt.date(2026, 1, 1)
    lo, hi = sorted((a, b))
    x = interest(principal, due, due + dt.timedelta(days=lo)).amount
    y = interest(principal, due, due + dt.timedelta(days=hi)).amount
    assert 0 <= x <= y


def test_plan_lines_must_sum_and_be_dated_from_today():
    on = dt.date(2026, 3, 1)
    calc.check_plan_lines(lines=[(on, D("10.00")), (dt.date(2026, 4, 1), D("5.00"))], replaced_open=D("15.00"), on=on)
    for lines, code in (([(on, D("10.00"))], "sum"), ([(dt.date(2026, 2, 1), D("15.00"))], "past_date"),
                        ([(on, D("0"))], "not_positive"), ([], "empty")):
        with pytest.raises(calc.PlanLinesError) as e:
            calc.check_plan_lines(lines=lines, replaced_open=D("15.00"), on=on)
        assert e.value.code == code


def test_risk_factor_is_bounded():
    assert calc.risk_factor(broken_promises=0, broken_plans=0) == 1
    assert calc.risk_factor(broken_promises=9, broken_plans=9) == D("3.00")
