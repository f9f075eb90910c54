from decimal import Decimal as D

import pytest
from hypothesis import given
from hypothesis import strategies as st

from huikuan.credit import calculations as calc

ANCHORS = [(-30, 100), (-20, 90), (0, 80), (15, 70), (22, 60), (30, 50), (60, 40), (90, 30), (120, 20)]


@pytest.mark.parametrize(("days", "index"), ANCHORS)
def test_every_anchor_maps_exactly(days, index):
    assert calc.paydex(days) == index
    assert calc.paydex(D(days)) == index


def test_beyond_the_table():
    assert calc.paydex(-400) == 100
    assert 1 <= calc.paydex(121) <= 19
    assert calc.paydex(1000) == 1
    assert calc.paydex(D("7.5")) == 75  # halfway between 0 → 80 and 15 → 70


days = st.decimals(min_value=-500, max_value=2000, places=2, allow_nan=False, allow_infinity=False)


@given(days, days)
def test_monotone_non_increasing_and_in_range(a, b):
    lo, hi = min(a, b), max(a, b)
    assert 1 <= calc.paydex(hi) <= calc.paydex(lo) <= 100


@given(st.integers(min_value=-30, max_value=119))
def test_strictly_falls_between_anchors(d):
    assert calc.paydex(d + 1) <= calc.paydex(d)
    assert calc.paydex(d + 5) < calc.paydex(d)


def test_weighted_days():
    assert calc.weighted_days(0, 0) is None
    assert calc.weighted_days(100 * 10 + 300 * 30, 400) == D("25.00")


def test_bands_valid_overlap_gap():
    ok = [calc.Band("A", 50, 100), calc.Band("B", 0, 49)]
    assert calc.validate_bands(ok) == []
    assert calc.validate_bands([calc.Band("A", 50, 100), calc.Band("B", 0, 50)]) == ["overlap:B/A"]
    assert calc.validate_bands([calc.Band("A", 51, 100), calc.Band("B", 0, 49)]) == ["gap:50-50"]
    assert calc.validate_bands([calc.Band("A", 50, 90), calc.Band("B", 0, 49)]) == ["gap:91-100"]
    assert calc.validate_bands([calc.Band("A", 50, 100), calc.Band("B", 10, 49)]) == ["gap:0-9"]
    assert calc.validate_bands([]) == ["empty"]
    assert calc.grade_for(ok, 50) == "A" and calc.grade_for(ok, 49) == "B" and calc.grade_for(ok, None) == ""


@pytest.mark.parametrize(("days", "amount", "hold_days", "hold_amount", "expected"), [
    (30, D("0"), 30, None, False),       # exactly N days: not more than N
    (31, D("0"), 30, None, True),
    (0, D("5000.00"), None, D("5000.00"), False),  # exactly X: does not exceed
    (0, D("5000.01"), None, D("5000.00"), True),
    (100, D("1e6"), None, None, False),  # no rule
    (1, D("0.01"), 0, None, True),       # zero tolerance
    (0, D("0"), 0, D("0"), False),
])
def test_hold_rule_edges(days, amount, hold_days, hold_amount, expected):
    assert calc.hold_rule_triggered(max_days_overdue=days, overdue_amount=amount, hold_days=hold_days,
                                    hold_amount=hold_amount) is expected


def test_default_scorecard_is_valid_and_scores_add_up():
    calc.validate_scorecard(calc.DEFAULT_SCORECARD)
    best = {"paydex": 95, "paydex_trend": 10, "overdue_ratio": 0, "max_days_overdue": 0, "broken_promises": 0,
            "disputes": 0, "utilisation": 10, "relationship_months": 48, "third_party_score": 90}
    total, points = calc.score(calc.DEFAULT_SCORECARD, best)
    assert total == 100 and sum(points.values()) == 100
    worst = {"paydex": 5, "paydex_trend": -50, "overdue_ratio": 100, "max_days_overdue": 400, "broken_promises": 9,
             "disputes": 9, "utilisation": 300, "relationship_months": 0, "third_party_score": 5}
    assert calc.score(calc.DEFAULT_SCORECARD, worst)[0] == 1


def test_scorecard_validation_refuses_bad_configs():
    bad = {"factors": {"paydex": {"direction": "ge", "bands": [[50, 10], [80, 20]], "missing": 0}}}
    with pytest.raises(calc.ConfigError):
        calc.validate_scorecard(bad)
    with pytest.raises(calc.ConfigError):
        calc.validate_scorecard({"factors": {"paydex": {"direction": "ge", "bands": [[0, 101]], "missing": 0}}})
    with pytest.raises(calc.ConfigError):
        calc.validate_scorecard({"factors": {"colour": {"direction": "ge", "bands": [[0, 1]]}}})


@given(st.integers(min_value=1, max_value=100), st.integers(min_value=1, max_value=100))
def test_score_monotone_in_paydex(a, b):
    base = {"paydex_trend": 0, "overdue_ratio": 0, "max_days_overdue": 0}
    lo, hi = min(a, b), max(a, b)
    assert calc.score(calc.DEFAULT_SCORECARD, {**base, "paydex": lo})[0] <= calc.score(
        calc.DEFAULT_SCORECARD, {**base, "paydex": hi})[0]
