"""Pure credit arithmetic: the payment behaviour index, scorecard points, grade bands, check outcome.

No ORM, no clock. Days are integers or Decimals; scores are integers 0–100.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

# Days beyond terms → index, from DOMAIN.md. Below −30 days the index stays 100; beyond 120 days it
# falls linearly from 20 to 1 at 300 days and stays 1 (the table's "1–19" region).
PAYDEX_ANCHORS: tuple[tuple[int, int], ...] = (
    (-30, 100), (-20, 90), (0, 80), (15, 70), (22, 60), (30, 50), (60, 40), (90, 30), (120, 20), (300, 1),
)


def paydex(days_beyond_terms: Decimal | int) -> int:
    """Amount-weighted days beyond terms → index 1–100 (piecewise linear through the anchors, half-up)."""
    d = Decimal(days_beyond_terms)
    if d <= PAYDEX_ANCHORS[0][0]:
        return PAYDEX_ANCHORS[0][1]
    if d >= PAYDEX_ANCHORS[-1][0]:
        return PAYDEX_ANCHORS[-1][1]
    for (x0, y0), (x1, y1) in zip(PAYDEX_ANCHORS, PAYDEX_ANCHORS[1:], strict=False):
        if x0 <= d <= x1:
            value = Decimal(y0) + (Decimal(y1) - Decimal(y0)) * (d - x0) / Decimal(x1 - x0)
            index = int(value.quantize(Decimal(1), rounding=ROUND_HALF_UP))
            return min(index, 19) if d > 120 else index
    raise AssertionError("unreachable")  # pragma: no cover


def weighted_days(weighted_sum: int | Decimal, weight: int | Decimal) -> Decimal | None:
    """Σ(amount × days) / Σ amount, or None without weight."""
    if not weight:
        return None
    return (Decimal(weighted_sum) / Decimal(weight)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


# ---------------------------------------------------------------- scorecard

FACTORS = (
    "paydex", "paydex_trend", "overdue_ratio", "max_days_overdue", "broken_promises", "disputes",
    "utilisation", "relationship_months", "third_party_score",
)

# Each factor: direction "ge" (points of the first band whose threshold the value reaches, bands
# sorted high→low) or "le" (first band whose threshold the value does not exceed, low→high);
# "missing" points when the factor has no value (e.g. insufficient history). Max points sum to 100.
DEFAULT_SCORECARD: dict = {
    "factors": {
        "paydex": {"direction": "ge", "bands": [[80, 35], [70, 28], [60, 20], [50, 12], [40, 6], [0, 0]], "missing": 18},
        "paydex_trend": {"direction": "ge", "bands": [[5, 8], [0, 6], [-5, 3], [-1000, 0]], "missing": 4},
        "overdue_ratio": {"direction": "le", "bands": [[0, 15], [10, 12], [25, 8], [50, 4], [100, 0]], "missing": 15},
        "max_days_overdue": {"direction": "le", "bands": [[0, 12], [15, 10], [30, 7], [60, 4], [90, 2], [100000, 0]],
                             "missing": 12},
        "broken_promises": {"direction": "le", "bands": [[0, 5], [1, 3], [3, 1], [100000, 0]], "missing": 5},
        "disputes": {"direction": "le", "bands": [[0, 5], [1, 3], [3, 1], [100000, 0]], "missing": 5},
        "utilisation": {"direction": "le", "bands": [[50, 5], [80, 4], [100, 2], [1000000, 0]], "missing": 3},
        "relationship_months": {"direction": "ge", "bands": [[36, 5], [12, 3], [3, 1], [0, 0]], "missing": 0},
        "third_party_score": {"direction": "ge", "bands": [[80, 10], [60, 7], [40, 4], [0, 1]], "missing": 5},
    }
}


class ConfigError(ValueError):
    """A scorecard or grade configuration that cannot be used; the message says why."""


def validate_scorecard(config: Mapping) -> None:
    factors = config.get("factors") if isinstance(config, Mapping) else None
    if not isinstance(factors, Mapping) or not factors:
        raise ConfigError("no factors")
    total = 0
    for name, spec in factors.items():
        if name not in FACTORS:
            raise ConfigError(f"unknown factor {name}")
        bands = spec.get("bands")
        if spec.get("direction") not in ("ge", "le") or not bands:
            raise ConfigError(f"{name}: direction and bands are required")
        thresholds = [Decimal(str(b[0])) for b in bands]
        ordered = sorted(thresholds, reverse=spec["direction"] == "ge")
        if thresholds != ordered or len(set(thresholds)) != len(thresholds):
            raise ConfigError(f"{name}: band thresholds overlap or are out of order")
        points = [int(b[1]) for b in bands] + [int(spec.get("missing", 0))]
        if min(points) < 0:
            raise ConfigError(f"{name}: negative points")
        total += max(points)
    if total > 100:
        raise ConfigError("the maximum points add up to more than 100")


def factor_points(spec: Mapping, value) -> int:
    return _points(_compile_factor(spec), value)


def _compile_factor(spec: Mapping) -> tuple[bool, tuple[tuple[Decimal, int], ...], int]:
    return (spec["direction"] == "ge", tuple((Decimal(str(t)), int(p)) for t, p in spec["bands"]),
            int(spec.get("missing", 0)))


def _points(compiled, value) -> int:
    ge, bands, missing = compiled
    if value is None:
        return missing
    v = value if isinstance(value, int) else Decimal(str(value))
    for t, p in bands:
        if (v >= t) if ge else (v <= t):
            return p
    return 0


_COMPILED: dict[int, tuple] = {}


def score(config: Mapping, factors: Mapping[str, object]) -> tuple[int, dict[str, int]]:
    """Total score (0–100) and each factor's points for factor values (None = missing).

    The configuration's thresholds are converted to Decimal once per configuration object (re-scoring
    100,000 customers otherwise spends seconds building the same Decimals)."""
    key = id(config)
    cached = _COMPILED.get(key)
    if cached is None or cached[0] is not config:
        cached = (config, [(name, _compile_factor(spec)) for name, spec in config["factors"].items()])
        if len(_COMPILED) > 64:
            _COMPILED.clear()
        _COMPILED[key] = cached
    points = {name: _points(compiled, factors.get(name)) for name, compiled in cached[1]}
    return min(100, max(0, sum(points.values()))), points


# ---------------------------------------------------------------- grades


@dataclass(frozen=True)
class Band:
    code: str
    min_score: int
    max_score: int


def validate_bands(bands: Sequence[Band]) -> list[str]:
    """Problems with grade score bands: each band min ≤ max, no overlap, no gap, together 0–100."""
    problems: list[str] = []
    if not bands:
        return ["empty"]
    ordered = sorted(bands, key=lambda b: b.min_score)
    codes = [b.code for b in bands]
    if len(set(codes)) != len(codes):
        problems.append("duplicate")
    for b in ordered:
        if b.min_score > b.max_score or b.min_score < 0 or b.max_score > 100:
            problems.append(f"invalid:{b.code}")
    if ordered[0].min_score != 0:
        problems.append(f"gap:0-{ordered[0].min_score - 1}")
    if ordered[-1].max_score != 100 and ordered[-1].max_score < 100:
        problems.append(f"gap:{ordered[-1].max_score + 1}-100")
    for a, b in zip(ordered, ordered[1:], strict=False):
        if b.min_score <= a.max_score:
            problems.append(f"overlap:{a.code}/{b.code}")
        elif b.min_score > a.max_score + 1:
            problems.append(f"gap:{a.max_score + 1}-{b.min_score - 1}")
    return problems


def grade_for(bands: Sequence[Band], value: int | None) -> str:
    if value is None:
        return ""
    for b in bands:
        if b.min_score <= value <= b.max_score:
            return b.code
    return ""


# ---------------------------------------------------------------- hold rule


def hold_rule_triggered(*, max_days_overdue: int, overdue_amount: Decimal, hold_days: int | None,
                        hold_amount: Decimal | None) -> bool:
    """True when anything is more than ``hold_days`` overdue or the overdue total exceeds ``hold_amount``.

    Both limits are strict ("more than"): exactly N days or exactly X does not hold. A rule without
    either limit never holds.
    """
    if hold_days is not None and max_days_overdue > hold_days:
        return True
    return hold_amount is not None and overdue_amount > hold_amount


def outcome(reasons: Sequence[tuple[str, str]]) -> str:
    """approve / warn / hold from (severity, code) pairs."""
    severities = {s for s, _ in reasons}
    if "hold" in severities:
        return "hold"
    if "warn" in severities:
        return "warn"
    return "approve"
