"""Bad-debt provision (坏账准备) arithmetic — pure: no ORM, no clock, Decimal in and out.

* A matrix is a list of age bands by months since the receivable arose (the document date):
  ``[from_months, to_months)``, the first from 0, each starting where the previous one ends, the last
  open-ended; each with a rate in percent, 0–100, at most two decimals. ``check_bands`` refuses gaps,
  overlaps and rates outside 0–100 with a ``MatrixError`` naming the band.
* The preset (shared/DOMAIN.md): 1年以内 5 %, 1–2年 10 %, 2–3年 30 %, 3–4年 50 %, 4–5年 80 %, 5年以上 100 %.
* Movement of a month (备抵法, the allowance method): a write-off is charged against the provision
  (write-off use), then the provision is brought to the required closing balance:
  ``opening − write-off use + charge − release = closing``, with charge = max(net, 0), release =
  max(−net, 0), net = closing − opening + write-off use.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

HUNDRED = Decimal(100)
ZERO = Decimal("0.00")


@dataclass(frozen=True)
class Band:
    from_months: int
    to_months: int | None
    rate: Decimal


PRESET: tuple[Band, ...] = (
    Band(0, 12, Decimal("5.00")),
    Band(12, 24, Decimal("10.00")),
    Band(24, 36, Decimal("30.00")),
    Band(36, 48, Decimal("50.00")),
    Band(48, 60, Decimal("80.00")),
    Band(60, None, Decimal("100.00")),
)


class MatrixError(ValueError):
    """``code``: empty, start, gap, overlap, order, open_end, rate; ``index``: the band (0-based) at fault."""

    def __init__(self, code: str, index: int | None = None, **params):
        super().__init__(code)
        self.code = code
        self.index = index
        self.params = params


def parse_rate(value) -> Decimal:
    """A percentage 0–100 with at most two decimals (MatrixError "rate" otherwise)."""
    if isinstance(value, float):
        raise TypeError("float is not accepted for rates")
    try:
        d = Decimal(str(value).strip().rstrip("%").strip())
    except (InvalidOperation, ValueError) as exc:
        raise MatrixError("rate") from exc
    if not d.is_finite() or d < 0 or d > HUNDRED or d != d.quantize(Decimal("0.01")):
        raise MatrixError("rate")
    return d.quantize(Decimal("0.01"))


def check_bands(bands: Sequence[Band]) -> list[Band]:
    """The bands sorted by start, or MatrixError: none; the first not from 0; a gap or an overlap between
    neighbours; a band ending where it starts or before; an upper end missing before the last band or present
    on it; a rate outside 0–100 %."""
    if not bands:
        raise MatrixError("empty")
    ordered = sorted(enumerate(bands), key=lambda ib: ib[1].from_months)
    for index, b in ordered:
        try:
            parse_rate(b.rate)
        except MatrixError as exc:
            raise MatrixError("rate", index) from exc
        if b.to_months is not None and b.to_months <= b.from_months:
            raise MatrixError("order", index)
    first_index, first = ordered[0]
    if first.from_months != 0:
        raise MatrixError("start", first_index)
    for (_i, prev), (index, cur) in zip(ordered, ordered[1:], strict=False):
        if prev.to_months is None:
            raise MatrixError("open_end", _i)
        if cur.from_months > prev.to_months:
            raise MatrixError("gap", index, after=prev.to_months, start=cur.from_months)
        if cur.from_months < prev.to_months:
            raise MatrixError("overlap", index, after=prev.to_months, start=cur.from_months)
    last_index, last = ordered[-1]
    if last.to_months is not None:
        raise MatrixError("open_end", last_index)
    return [Band(b.from_months, b.to_months, parse_rate(b.rate)) for _i, b in ordered]


def provision_of(balance: Decimal, rate: Decimal) -> Decimal:
    """balance × rate %, unrounded (the caller rounds once with ``common.money.round_money``)."""
    return balance * rate / HUNDRED


@dataclass(frozen=True)
class Movement:
    opening: Decimal
    charge: Decimal
    release: Decimal
    write_off_use: Decimal
    closing: Decimal


def movement(*, opening: Decimal, closing: Decimal, write_off_use: Decimal) -> Movement:
    """One month's movement; ``opening − write_off_use + charge − release == closing`` always holds."""
    net = closing - opening + write_off_use
    return Movement(opening=opening, charge=max(net, ZERO), release=max(-net, ZERO), write_off_use=write_off_use,
                    closing=closing)
