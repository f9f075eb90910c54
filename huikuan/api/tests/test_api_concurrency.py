"""Concurrent duplicates of one Idempotency-Key on PostgreSQL: exactly one payment is recorded."""

import threading

import pytest
from django.db import connection
from rest_framework.test import APIClient

from huikuan.ledger.models import Credit


@pytest.mark.django_db(transaction=True)
def test_concurrent_idempotent_posts_execute_once(company, customer, make_key):
    if connection.vendor != "postgresql":
        pytest.skip("row-level concurrency needs PostgreSQL")
    _, raw = make_key()
    n = 6
    barrier = threading.Barrier(n)
    codes: list[int] = []
    lock = threading.Lock()

    def worker():
        from django.db import connection as conn

        c = APIClient()
        c.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
        try:
            barrier.wait()
            r = c.post("/api/v1/payments/", {"customer": customer.pk, "amount": "10.00", "date": "2026-02-01"},
                       format="json", HTTP_IDEMPOTENCY_KEY="same-key")
            with lock:
                codes.append(r.status_code)
        finally:
            conn.close()

    for _ in range(3):
        codes.clear()
        threads = [threading.Thread(target=worker) for _ in range(n)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert Credit.objects.filter(customer=customer).count() == 1
        assert set(codes) <= {201, 409} and 201 in codes, codes
