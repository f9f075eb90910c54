"""Non-money numbers shown to people."""

from decimal import ROUND_HALF_UP, Decimal


def whole_percent(ratio) -> int:
    """A ratio (0.955) as a whole percentage (96), rounded half up — the one rounding of match confidence
    on every page (Python's round() and Django's widthratio round half to even; int() truncates)."""
    return int((Decimal(str(ratio)) * 100).quantize(Decimal(1), rounding=ROUND_HALF_UP))
