"""Exactly once under concurrency (PostgreSQL): two runs at the same time, repeated, zero duplicates."""

import datetime as dt
import threading

import pytest
from django.db import connection
from django.db.models import Count

from huikuan.customers.models import Contact, Customer
from huikuan.dunning import services
from huikuan.dunning.models import Delivery, Notice, NoticeItem

from .conftest import post

ITERATIONS = 10
DUE = dt.date(2026, 2, 4)


def _world(company, users, finance, net30, n=8):
    for i in range(n):
        c = Customer.objects.create(company=company, code=f"R{i}", name=f"并发客户{i}", owner=users["sales_east"], payment_term=net30)
        Contact.objects.create(customer=c, name="x", email=f"r{i}@example.cn", phone="+8613900000000")
        post(company, c, finance, "1000.00")
        post(company, c, finance, "2000.00")


def _clear():
    Delivery.objects.all().delete()
    NoticeItem.objects.all().delete()
    Notice.objects.all().delete()


def _concurrently(company, days: list[dt.date]) -> list:
    barrier = threading.Barrier(len(days))
    errors = []

    def worker(day):
        from django.db import connection as conn

        try:
            barrier.wait()
            services.run_dunning(company=company, as_of=day, enqueue=False)
        except Exception as exc:  # noqa: BLE001
            errors.append(exc)
        finally:
            conn.close()

    threads = [threading.Thread(target=worker, args=(d,)) for d in days]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return errors


def _assert_exactly_once(n_customers: int):
    assert Notice.objects.count() == n_customers
    assert not Notice.objects.values("customer_id", "offset_days").annotate(n=Count("pk")).filter(n__gt=1).exists()
    assert NoticeItem.objects.count() == 2 * n_customers
    assert all(n.items.count() == 2 for n in Notice.objects.all())
    assert not Delivery.objects.values("notice_id", "channel").annotate(n=Count("pk")).filter(n__gt=1).exists()


@pytest.mark.django_db(transaction=True)
def test_two_runs_at_once_same_day_zero_duplicates(company, users, finance, net30, monkeypatch):
    if connection.vendor != "postgresql":
        pytest.skip("row-level concurrency needs PostgreSQL")
    monkeypatch.setattr(services, "CHUNK_CUSTOMERS", 3)
    _world(company, users, finance, net30)
    services.ensure_defaults(company)
    for _ in range(ITERATIONS):
        _clear()
        errors = _concurrently(company, [DUE + dt.timedelta(days=8)] * 2)
        assert errors == []
        _assert_exactly_once(8)


@pytest.mark.django_db(transaction=True)
def test_two_runs_at_once_different_days_zero_duplicates(company, users, finance, net30, monkeypatch):
    """Different cycles reaching the same step: the item constraint keeps one notice per customer."""
    if connection.vendor != "postgresql":
        pytest.skip("row-level concurrency needs PostgreSQL")
    monkeypatch.setattr(services, "CHUNK_CUSTOMERS", 3)
    _world(company, users, finance, net30)
    services.ensure_defaults(company)
    for _ in range(ITERATIONS // 2):
        _clear()
        errors = _concurrently(company, [DUE + dt.timedelta(days=8), DUE + dt.timedelta(days=9)])
        assert errors == []
        _assert_exactly_once(8)


@pytest.mark.django_db(transaction=True)
def test_two_outbox_workers_never_send_twice(company, users, finance, net30, settings):
    """Two workers claiming the same due rows at once: every email goes out exactly once (SKIP LOCKED + sending)."""
    if connection.vendor != "postgresql":
        pytest.skip("row-level concurrency needs PostgreSQL")
    from zoneinfo import ZoneInfo

    from django.core import mail

    from huikuan.dunning import outbox

    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    _world(company, users, finance, net30, n=6)
    services.run_dunning(company=company, as_of=DUE + dt.timedelta(days=8), enqueue=False)
    mail.outbox = []
    office = dt.datetime(2026, 2, 12, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
    barrier = threading.Barrier(2)

    def worker():
        from django.db import connection as conn

        try:
            barrier.wait()
            outbox.process(now=office, limit=2)
        finally:
            conn.close()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    keys = [m.extra_headers["X-Huikuan-Delivery"] for m in mail.outbox]
    assert len(keys) == 6 and len(set(keys)) == 6
    assert Delivery.objects.filter(channel="email", status="sent").count() == 6
