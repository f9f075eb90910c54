"""Money: Decimal in Python, integer minor units in the database.

SQLite stores DecimalField as floating point and its sums drift, so every money column is a
``MoneyField``: a BIGINT holding hundredths (fen, cents). Python code only ever sees ``Decimal``
quantized to two places; ``Sum()`` over a MoneyField is exact on every backend.

Currencies with more than two minor digits are not supported (see docs/ARCHITECTURE.md).
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _

SCALE = 2
QUANT = Decimal("0.01")
_FACTOR = Decimal(100)

# ISO 4217 minor units for the currencies offered in the UI.
MINOR_UNITS = {"CNY": 2, "USD": 2, "EUR": 2, "HKD": 2, "GBP": 2, "JPY": 0, "KRW": 0, "SGD": 2, "TWD": 2}
CURRENCY_CHOICES = [(c, c) for c in MINOR_UNITS]


def to_decimal(value) -> Decimal:
    """Parse user/input value into Decimal without rounding. Rejects float to keep exactness."""
    if isinstance(value, Decimal):
        return value
    if isinstance(value, float):
        raise TypeError("float is not accepted for money; pass str or Decimal")
    if isinstance(value, int):
        return Decimal(value)
    text = str(value).strip().replace(",", "").replace("，", "").replace("¥", "").replace("￥", "")
    # full-width digits and signs
    text = text.translate(str.maketrans("０１２３４５６７８９．－＋", "0123456789.-+"))
    try:
        return Decimal(text)
    except InvalidOperation as exc:
        raise ValueError(f"not a number: {value!r}") from exc


def round_money(value, currency: str = "CNY") -> Decimal:
    """The one rounding function: ROUND_HALF_UP to the currency's minor unit, returned at scale 2."""
    minor = MINOR_UNITS.get(currency, 2)
    d = to_decimal(value)
    return d.quantize(Decimal(1).scaleb(-minor), rounding=ROUND_HALF_UP).quantize(QUANT)


def money(value, currency: str = "CNY") -> Decimal:
    """Strict constructor: the value must already be representable in the currency's minor unit."""
    d = to_decimal(value)
    if not d.is_finite():
        raise ValueError("not a finite amount")
    if d != round_money(d, currency):
        raise ValueError(f"{value} has more decimals than {currency} allows")
    return d.quantize(QUANT)


def has_valid_scale(value: Decimal, currency: str = "CNY") -> bool:
    return value == round_money(value, currency)


ZERO = Decimal("0.00")


def to_minor(value: Decimal) -> int:
    q = to_decimal(value).quantize(QUANT)
    if q != to_decimal(value):
        raise ValueError(f"{value} has more than {SCALE} decimals")
    return int(q * _FACTOR)


def from_minor(value: int | None) -> Decimal | None:
    """Hundredths (an integer) as Decimal at scale 2: the same value as ``Decimal(n) / 100`` quantized, made
    by moving the exponent (exact for any integer below 28 digits) — a third of the cost, which counts when
    a report turns a million stored integers into Decimal (``ZERO`` for 0: the most common value)."""
    if value is None:
        return None
    if not value:
        return ZERO
    return Decimal(int(value)).scaleb(-SCALE)


def from_minor_each(values) -> tuple[Decimal, ...]:
    """``from_minor`` of each of ``values`` (None and 0 as ``ZERO``), for reports that turn rows of integers into
    Decimal: one multiplication by 0.01 per non-zero value, exact below 26 digits (a BIGINT has 19), the same
    value, scale and ``str`` as ``from_minor`` (test) — without a Python call per value, a third less CPU than
    ``from_minor`` one by one at a million values (docs/PERFORMANCE.md, issue 19). ``QUANT * v`` converts the integer
    inside the multiplication: the same exact product as ``Decimal(v) * QUANT`` (test) without making the
    intermediate Decimal in Python (−25 % CPU per value)."""
    return tuple([QUANT * v if v else ZERO for v in values])


class MoneyField(models.BigIntegerField):
    """Exact money column: stores hundredths as BIGINT, exposes Decimal('…00')."""

    description = _("Money amount (stored in minor units)")

    def from_db_value(self, value, expression, connection):
        return from_minor(value)

    def to_python(self, value):
        if value is None or isinstance(value, Decimal):
            return value
        try:
            return to_decimal(value).quantize(QUANT)
        except (ValueError, TypeError) as exc:
            raise ValidationError(_("Enter a valid amount.")) from exc

    def get_prep_value(self, value):
        if value is None:
            return None
        if hasattr(value, "resolve_expression"):
            return value
        if isinstance(value, int) and not isinstance(value, bool):
            # ints are interpreted as whole currency units, never as raw minor units
            value = Decimal(value)
        return to_minor(to_decimal(value))

    def formfield(self, **kwargs):
        from django import forms

        defaults = {"form_class": forms.DecimalField, "decimal_places": 2, "max_digits": 17}
        defaults.update(kwargs)
        return models.Field.formfield(self, **defaults)


def money_value(amount):
    """Wrap a Decimal for use inside F() arithmetic on MoneyField columns."""
    from django.db.models import Value

    return Value(to_decimal(amount), output_field=MoneyField())
