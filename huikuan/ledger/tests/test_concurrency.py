"""Concurrency: ledger services called from several threads at once (PostgreSQL only).

Each thread has its own database connection (Django connections are per thread) and closes it
when done. A ``threading.Barrier`` lines the threads up so their transactions really overlap;
every scenario is repeated a few times. Losers must get a clean ``DomainError`` (never an
``IntegrityError``, a deadlock or a lost update) and ``check_ledger()`` must stay empty.

SQLite is skipped: its ``select_for_update`` is a no-op and IMMEDIATE transactions serialise every
writer on the database lock, so these races cannot happen there (and threads sharing an in-memory
test database do not see each other's tables).

The append-only guards (audit events, ledger entries, allocations) are tested in ``test_append_only``.
"""

from __future__ import annotations

import datetime as dt
import random
import threading
from decimal import Decimal as D

import pytest
from django.conf import settings
from django.db import connection
from django.db.models import Sum

from huikuan.accounts.models import Company
from huikuan.common.errors import DomainError
from huikuan.customers.models import Customer
from huikuan.ledger import services as s
from huikuan.ledger.checks import check_ledger
from huikuan.ledger.errors import AlreadyReversed, DuplicateSubmission, OverAllocation
from huikuan.ledger.models import Allocation, Credit, Instalment

ON_POSTGRES = settings.DATABASES["default"]["ENGINE"].endswith("postgresql")
postgres_only = [
    pytest.mark.postgres,
    pytest.mark.skipif(
        not ON_POSTGRES,
        reason="needs PostgreSQL: on SQLite select_for_update is a no-op and IMMEDIATE transactions "
        "serialise all writers, and threads cannot share the in-memory test database",
    ),
    pytest.mark.django_db(transaction=True),
]

N = 8
REPEAT = 3
DAY = dt.date(2026, 3, 2)


def run_threads(n: int, work) -> list:
    """Run ``work(i)`` in ``n`` threads released together; return each result or the exception raised."""
    barrier = threading.Barrier(n)
    results: list = [None] * n

    def target(i):
        try:
            barrier.wait(timeout=30)
            results[i] = work(i)
        except BaseException as exc:  # noqa: BLE001 - reported to the test below
            results[i] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=target, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not any(t.is_alive() for t in threads), "a thread hung (undetected deadlock?)"
    return results


def split(results):
    ok = [r for r in results if not isinstance(r, BaseException)]
    errors = [r for r in results if isinstance(r, BaseException)]
    return ok, errors


def _inv(company, customer, actor, total):
    return s.post_document(company=company, customer_id=customer.pk, document_date=DAY, total=D(total), actor=actor)


def _pay(company, customer, actor, amount, **kw):
    return s.record_payment(company=company, customer_id=customer.pk, amount=D(amount), date=DAY, actor=actor, **kw)


@pytest.mark.parametrize("rep", range(REPEAT))
class TestRaces:
    pytestmark = postgres_only

    def test_one_payment_many_instalments(self, company, customer, finance, rep):
        insts = [_inv(company, customer, finance, "100.00").instalments.get() for _ in range(N)]
        p = _pay(company, customer, finance, "100.00", auto_allocate=False)

        def work(i):
            return s.allocate(company=company, credit_id=p.pk, actor=finance, on=DAY,
                              plan=[s.AllocationInput(insts[i].pk, D("100.00"))])

        ok, errors = split(run_threads(N, work))
        assert len(ok) == 1
        assert all(type(e) is OverAllocation for e in errors), errors
        p.refresh_from_db()
        applied = Allocation.objects.filter(credit=p).aggregate(t=Sum("amount"))["t"]
        assert p.unapplied_amount == 0 and applied == D("100.00")
        assert sum(Instalment.objects.get(pk=i.pk).open_amount for i in insts) == D("700.00")
        assert check_ledger() == []

    def test_many_payments_one_instalment(self, company, customer, finance, rep):
        inst = _inv(company, customer, finance, "450.00").instalments.get()
        pays = [_pay(company, customer, finance, "100.00", auto_allocate=False) for _ in range(N)]

        def work(i):
            return s.allocate(company=company, credit_id=pays[i].pk, actor=finance, on=DAY,
                              plan=[s.AllocationInput(inst.pk, D("100.00"))])

        ok, errors = split(run_threads(N, work))
        assert len(ok) == 4
        assert all(type(e) is OverAllocation for e in errors), errors
        inst.refresh_from_db()
        applied = Allocation.objects.filter(instalment=inst).aggregate(t=Sum("amount"))["t"]
        assert inst.open_amount == D("50.00") and applied == inst.amount - inst.open_amount
        assert check_ledger() == []

    def test_concurrent_payments_same_customer(self, company, customer, finance, rep):
        _inv(company, customer, finance, "250.00")

        def work(i):
            return _pay(company, customer, finance, "100.00", auto_allocate=bool(i % 2))

        ok, errors = split(run_threads(N, work))
        assert errors == []
        customer.refresh_from_db()
        assert len({p.number for p in ok}) == N
        # every payment counted once: 800 received, 250 applied (only auto-allocated ones apply)
        assert customer.unapplied_amount == D("550.00")
        assert customer.open_amount == 0
        assert customer.unapplied_amount == Credit.objects.filter(customer=customer).aggregate(
            t=Sum("unapplied_amount"))["t"]
        assert check_ledger() == []

    def test_same_request_key(self, company, customer, finance, rep):
        key = f"form-token-{rep}"

        def work(i):
            return _pay(company, customer, finance, "100.00", request_key=key)

        ok, errors = split(run_threads(N, work))
        assert len(ok) == 1
        assert all(type(e) is DuplicateSubmission for e in errors), errors
        assert Credit.objects.filter(request_key=key).count() == 1
        customer.refresh_from_db()
        assert customer.unapplied_amount == D("100.00")
        assert check_ledger() == []

    def test_reverse_same_payment_twice(self, company, customer, finance, rep):
        _inv(company, customer, finance, "60.00")
        p = _pay(company, customer, finance, "100.00")

        def work(i):
            return s.reverse_credit(company=company, credit_id=p.pk, actor=finance, on=DAY, reason="退票")

        ok, errors = split(run_threads(2, work))
        assert len(ok) == 1
        assert [type(e) for e in errors] == [AlreadyReversed], errors
        customer.refresh_from_db()
        assert customer.open_amount == D("60.00") and customer.unapplied_amount == 0
        assert check_ledger() == []

    def test_two_approvers_one_write_off(self, company, customer, users, finance, rep):
        inst = _inv(company, customer, finance, "80.00").instalments.get()
        req = s.request_write_off(company=company, instalment_id=inst.pk, amount=D("80.00"), reason="破产",
                                  actor=users["sales_manager"])
        approvers = [users["finance"], users["finance2"]]

        def work(i):
            return s.decide_write_off(company=company, request_id=req.pk, approve=True, actor=approvers[i], on=DAY)

        ok, errors = split(run_threads(2, work))
        assert len(ok) == 1 and [type(e) for e in errors] == [AlreadyReversed], errors
        assert Credit.objects.filter(kind="write_off", customer=customer).count() == 1
        assert check_ledger() == []

    def test_first_numbers_of_a_new_company(self, company, users, net30, finance, rep):
        """Documents for different customers of a brand-new company: the number sequence row is
        created by whichever thread gets there first; the others must not see an IntegrityError."""
        fresh = Company.objects.create(code=f"NEW{rep}", name="新公司")
        custs = [Customer.objects.create(company=fresh, code=f"X{i}", name=f"客户{i}", owner=users["sales_east"],
                                         payment_term=net30) for i in range(N)]

        def work(i):
            return s.post_document(company=fresh, customer_id=custs[i].pk, document_date=DAY, total=D("10.00"),
                                   actor=finance)

        ok, errors = split(run_threads(N, work))
        assert errors == []
        assert sorted(d.number for d in ok) == [f"INV-2026-{k:06d}" for k in range(1, N + 1)]
        assert check_ledger() == []


@pytest.mark.parametrize("seed", range(REPEAT))
class TestMixedStorm:
    pytestmark = postgres_only

    def test_random_operations_never_deadlock_or_leak(self, company, customer, other_customer, users, finance, seed):
        """Threads fire random payments, allocations, credit notes, write-offs and reversals at two
        customers at once. Whatever wins, losers see only DomainErrors and the ledger stays consistent."""
        custs = [customer, other_customer]
        for c in custs:
            for total in ("120.00", "75.50", "300.00"):
                _inv(company, c, finance, total)
            _pay(company, c, finance, "90.00", auto_allocate=False)

        def work(i):
            rnd = random.Random(seed * 100 + i)
            outcomes = []
            for _ in range(6):
                c = rnd.choice(custs)
                op = rnd.choice(["pay", "alloc", "cn", "rev_credit", "rev_alloc", "rev_doc", "doc", "wo"])
                try:
                    if op == "pay":
                        _pay(company, c, finance, f"{rnd.randint(1, 20000) / 100:.2f}", auto_allocate=rnd.random() < .5)
                    elif op == "doc":
                        _inv(company, c, finance, f"{rnd.randint(1, 20000) / 100:.2f}")
                    elif op == "cn":
                        s.issue_credit_note(company=company, customer_id=c.pk, amount=D("10.00"), date=DAY,
                                            reason="折让", actor=finance)
                    elif op == "alloc":
                        credits = list(Credit.objects.filter(customer=c, kind="payment").values_list("pk", flat=True))
                        insts = list(Instalment.objects.filter(customer=c).values_list("pk", flat=True))
                        plan = [s.AllocationInput(pk, D("5.00")) for pk in rnd.sample(insts, min(2, len(insts)))]
                        s.allocate(company=company, credit_id=rnd.choice(credits), actor=finance, on=DAY,
                                   plan=plan if rnd.random() < .5 else None)
                    elif op == "rev_credit":
                        pk = rnd.choice(list(Credit.objects.filter(customer=c).values_list("pk", flat=True)))
                        s.reverse_credit(company=company, credit_id=pk, actor=finance, on=DAY, reason="r")
                    elif op == "rev_alloc":
                        pks = list(Allocation.objects.filter(customer=c).values_list("pk", flat=True))
                        if pks:
                            s.reverse_allocation(company=company, allocation_id=rnd.choice(pks), actor=finance, on=DAY)
                    elif op == "rev_doc":
                        pk = rnd.choice(list(c.documents.values_list("pk", flat=True)))
                        s.reverse_document(company=company, document_id=pk, actor=finance, on=DAY, reason="r")
                    elif op == "wo":
                        pk = rnd.choice(list(Instalment.objects.filter(customer=c).values_list("pk", flat=True)))
                        req = s.request_write_off(company=company, instalment_id=pk, amount=D("1.00"), reason="w",
                                                  actor=users["finance2"])
                        s.decide_write_off(company=company, request_id=req.pk, approve=True, actor=finance, on=DAY)
                    outcomes.append(op)
                except DomainError as exc:
                    outcomes.append(type(exc).__name__)
            return outcomes

        ok, errors = split(run_threads(N, work))
        assert errors == [], errors  # anything but a DomainError (IntegrityError, deadlock, …) fails
        assert check_ledger() == []
