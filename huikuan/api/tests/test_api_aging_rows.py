"""The aging API's rows, written without a serializer per row, are exactly what ``AgingRowOut`` writes."""

import datetime as dt
from decimal import Decimal as D

import pytest

from huikuan.api import serializers as s
from huikuan.ledger import services as ledger
from huikuan.ledger.aging import aging_report

pytestmark = pytest.mark.django_db


def test_aging_rows_are_written_as_the_declared_serializer_writes_them(
    company, customer, other_customer, finance, api
):
    for cust, total, day in (
        (customer, "1000.10", dt.date(2026, 1, 5)),
        (other_customer, "5.00", dt.date(2026, 4, 1)),
        (customer, "0.07", dt.date(2026, 4, 20)),
    ):
        ledger.post_document(
            company=company, customer_id=cust.pk, document_date=day, total=D(total), actor=finance
        )
    ledger.set_instalment_dispute(
        company=company,
        instalment_id=customer.instalments.order_by("pk").first().pk,
        amount=D("3.50"),
        actor=finance,
        reason="质量",
    )
    c = api()
    for query in (
        "group_by=customer",
        "group_by=none",
        "group_by=salesperson",
        "group_by=customer&page_size=1&page=2",
    ):
        got = c.get(f"/api/v1/aging/?as_of=2026-04-30&{query}").json()
        opts = dict(p.split("=") for p in query.split("&"))
        size = int(opts.get("page_size", 0))
        rep = aging_report(
            user=finance,
            company=company,
            as_of=dt.date(2026, 4, 30),
            group_by=opts["group_by"],
            offset=(int(opts.get("page", 1)) - 1) * size,
            limit=size or None,
        )
        want = s.AgingRowOut(
            [
                {
                    "key": None if r.key is None else str(r.key),
                    "label": r.label,
                    "buckets": r.buckets,
                    "total": r.total,
                    "disputed": r.disputed,
                }
                for r in rep.rows
            ],
            many=True,
        ).data
        assert got["rows"] == [dict(r) for r in want] and got["rows"], query
    whole = c.get("/api/v1/aging/?as_of=2026-04-30").json()["rows"]
    assert {r["total"] for r in whole} == {"1000.17", "5.00"} and all(
        len(v.split(".")[1]) == 2 for r in whole for v in r["buckets"]
    )
