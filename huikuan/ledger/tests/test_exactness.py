"""Proof that money sums are exact on every backend (DESIGN §4: SQLite stores DecimalField as float).

A million amounts go into a ``MoneyField`` column (integer fen) and the ORM's ``Sum()`` must equal,
to the fen, the sum computed with ``Decimal`` in Python. The same values summed as binary floats —
what a ``DecimalField`` on SQLite (a REAL column) or a Python float accumulator gives — do not,
which shows the assertion can fail.
"""

from __future__ import annotations

import functools
import operator
import random
from decimal import Decimal

import pytest
from django.apps.registry import Apps
from django.db import connection, models
from django.db.models import Count, Q, Sum

from huikuan.common.money import MoneyField

ROWS = 1_000_000
NASTY = [10, 20, 30, 1, 7, 115, 9_999_999]  # 0.10 0.20 0.30 0.01 0.07 1.15 99,999.99 (in fen)


class ExactnessAmount(models.Model):
    """A scratch table (created per test, outside migrations and the app registry)."""

    amount = MoneyField()

    class Meta:
        apps = Apps()  # kept out of the project's registry: migrations and model checks never see it
        app_label = "exactness"
        managed = False
        db_table = "test_exactness_amount"


def _values() -> list[int]:
    rng = random.Random(20261130)
    values = [rng.randint(1, 9_999_999) for _ in range(ROWS - 100 * len(NASTY))]
    values += NASTY * 100
    rng.shuffle(values)
    return values


def _load(values: list[int]) -> None:
    with connection.cursor() as cur:
        if connection.vendor == "postgresql":
            cur.execute("CREATE TEMPORARY TABLE test_exactness_amount (id bigserial PRIMARY KEY, amount bigint NOT NULL, "
                        "as_float double precision NOT NULL)")
            with cur.cursor.copy("COPY test_exactness_amount (amount, as_float) FROM STDIN") as copy:
                for v in values:
                    copy.write_row((v, v / 100))
        else:
            cur.execute("CREATE TEMPORARY TABLE test_exactness_amount (id integer PRIMARY KEY, amount bigint NOT NULL, "
                        "as_float real NOT NULL)")
            cur.executemany("INSERT INTO test_exactness_amount (amount, as_float) VALUES (%s, %s)",
                            ((v, v / 100) for v in values))


@pytest.mark.django_db
def test_sum_of_a_million_amounts_is_exact_to_the_fen():
    values = _values()
    _load(values)
    expected = Decimal(sum(values)).scaleb(-2)  # exact: integers, then shifted
    assert expected == sum((Decimal(v).scaleb(-2) for v in values), Decimal(0))

    agg = ExactnessAmount.objects.aggregate(total=Sum("amount"), n=Count("id"))
    assert agg["n"] == ROWS
    assert isinstance(agg["total"], Decimal)
    assert agg["total"] == expected
    assert agg["total"].as_tuple().exponent == -2

    # the nasty ones on their own: 0.10 + 0.20 + 0.30 … summed a hundred times each
    nasty = ExactnessAmount.objects.aggregate(
        tenths=Sum("amount", filter=Q(amount__in=[Decimal("0.10"), Decimal("0.20"), Decimal("0.30")])),
    )
    assert nasty["tenths"] == Decimal(sum(v for v in values if v in (10, 20, 30))).scaleb(-2) >= Decimal("60.00")

    # the same values as binary floats drift: a plain float accumulator, and SUM over a float column
    floats = [v / 100 for v in values]
    float_sum = functools.reduce(operator.add, floats)
    assert Decimal(repr(float_sum)) != expected
    with connection.cursor() as cur:
        cur.execute("SELECT SUM(as_float) FROM test_exactness_amount")
        column_sum = cur.fetchone()[0]
    assert Decimal(repr(float(column_sum))) != expected
    assert functools.reduce(operator.add, [0.10, 0.20]) != 0.30  # the textbook case, for the reader

