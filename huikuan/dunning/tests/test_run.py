import datetime as dt
from decimal import Decimal as D

import pytest

from huikuan.dunning import outbox, services
from huikuan.dunning.models import Delivery, DeliveryStatus, Notice, NoticeItem
from huikuan.ledger import services as ls

from .conftest import post

pytestmark = pytest.mark.django_db
DUE = dt.date(2026, 2, 4)


def _run(company, day, **kw):
    return services.run_dunning(company=company, as_of=day, enqueue=False, **kw)


def test_step_reached_once_and_consolidated(company, customer, finance, invoice):
    post(company, customer, finance, "500.00")  # same due date: same notice
    run = _run(company, DUE + dt.timedelta(days=8))
    n = Notice.objects.get()
    assert (n.offset_days, n.total, n.items.count(), n.tone) == (7, D("10500.00"), 2, "demand")
    assert run.notices == 1 and run.items == 2
    assert run.counts["step:+7"] == 1
    # the same day again, and the next day: nothing new
    assert _run(company, DUE + dt.timedelta(days=8)).notices == 0
    assert _run(company, DUE + dt.timedelta(days=9)).notices == 0
    # +15 reached: one more notice
    assert _run(company, DUE + dt.timedelta(days=15)).notices == 1
    assert NoticeItem.objects.filter(offset_days=15).count() == 2
    assert set(Delivery.objects.filter(notice__offset_days=15).values_list("channel", flat=True)) == {"email", "sms", "phone"}


def test_late_first_run_sends_only_latest_step(company, customer, finance, invoice):
    _run(company, DUE + dt.timedelta(days=40))
    assert list(Notice.objects.values_list("offset_days", flat=True)) == [30]


def test_paid_disputed_paused_excluded(company, customer, finance, invoice, other_customer):
    inst = invoice.instalments.get()
    d2 = post(company, customer, finance, "300.00")
    d3 = post(company, customer, finance, "400.00")
    d4 = post(company, other_customer, finance, "900.00")
    d5 = post(company, customer, finance, "600.00")
    ls.record_payment(company=company, customer_id=customer.pk, amount=D("10000.00"), date=DUE, actor=finance)
    inst.refresh_from_db()
    assert inst.open_amount == 0
    ls.set_instalment_dispute(company=company, instalment_id=d2.instalments.get().pk, amount=D("300"), actor=finance)
    ls.pause_instalment_dunning(company=company, instalment_id=d3.instalments.get().pk, until=DUE + dt.timedelta(days=20),
                                actor=finance)
    services.set_customer_dunning(company=company, customer_id=other_customer.pk, actor=finance,
                                  paused_until=DUE + dt.timedelta(days=20), reason="谈判中")
    _run(company, DUE + dt.timedelta(days=8))
    ids = set(NoticeItem.objects.values_list("instalment_id", flat=True))
    assert ids == {d5.instalments.get().pk}
    # after the pause: the paused ones come back
    _run(company, DUE + dt.timedelta(days=21))
    ids = set(NoticeItem.objects.filter(offset_days=15).values_list("instalment_id", flat=True))
    assert ids == {d3.instalments.get().pk, d4.instalments.get().pk, d5.instalments.get().pk}


def test_min_amount_and_skipped_channel_reason(company, customer, finance):
    post(company, customer, finance, "50.00")  # below the 100 minimum of +7, no contact at all
    _run(company, DUE + dt.timedelta(days=8))
    assert not Notice.objects.exists()
    _run(company, DUE)  # step 0 has no minimum
    d = Delivery.objects.get(channel="email")
    assert d.status == DeliveryStatus.SKIPPED and "email" in d.last_error


def test_dry_run_writes_no_notice(company, customer, finance, invoice):
    run = _run(company, DUE + dt.timedelta(days=8), dry_run=True)
    assert run.dry_run and run.notices == 1 and run.preview[0]["step"] == 7
    assert not Notice.objects.exists()


def test_crash_then_rerun_no_duplicates_no_loss(company, users, finance, net30, monkeypatch):
    from huikuan.customers.models import Contact, Customer

    monkeypatch.setattr(services, "CHUNK_CUSTOMERS", 2)
    custs = []
    for i in range(7):
        c = Customer.objects.create(company=company, code=f"K{i}", name=f"客户{i}", owner=users["sales_east"], payment_term=net30)
        Contact.objects.create(customer=c, name="x", email=f"k{i}@example.cn")
        post(company, c, finance, "1000.00")
        custs.append(c)

    def boom(run, n):
        if n == 1:
            raise RuntimeError("injected crash")

    monkeypatch.setattr(services, "_after_chunk", boom)
    with pytest.raises(RuntimeError):
        _run(company, DUE + dt.timedelta(days=8))
    assert Notice.objects.count() == 4  # two chunks committed
    monkeypatch.setattr(services, "_after_chunk", lambda run, n: None)
    run = _run(company, DUE + dt.timedelta(days=8))
    assert run.notices == 3
    assert Notice.objects.count() == 7 and NoticeItem.objects.count() == 7
    assert Delivery.objects.filter(channel="email").count() == 7


def test_a_run_left_running_by_a_killed_process_is_closed_as_interrupted_by_the_next_run(company, users, finance, net30,
                                                                                         monkeypatch):
    """SIGKILL cannot be caught: the run stays "running" with the chunks it committed. The next run closes it
    (once its heartbeat is stale) with the counts of what it did, and creates the rest."""
    from django.utils import timezone

    from huikuan.common.models import AuditEvent
    from huikuan.customers.models import Contact, Customer
    from huikuan.dunning.models import DunningRun, RunStatus

    monkeypatch.setattr(services, "CHUNK_CUSTOMERS", 2)
    for i in range(5):
        c = Customer.objects.create(company=company, code=f"K{i}", name=f"客户{i}", owner=users["sales_east"], payment_term=net30)
        Contact.objects.create(customer=c, name="x", email=f"k{i}@example.cn")
        post(company, c, finance, "1000.00")

    class Killed(BaseException):  # not an Exception: like a kill, nothing in the run gets to record a failure
        pass

    def kill(run, n):
        if n == 1:
            raise Killed

    monkeypatch.setattr(services, "_after_chunk", kill)
    with pytest.raises(Killed):
        _run(company, DUE + dt.timedelta(days=8))
    dead = DunningRun.objects.get()
    assert dead.status == RunStatus.RUNNING and Notice.objects.count() == 4
    monkeypatch.setattr(services, "_after_chunk", lambda run, n: None)

    # its heartbeat is fresh: it may still be working, so a run now leaves it alone (runs may overlap safely)
    dead.heartbeat_at = timezone.now() - services.STALE_RUN + dt.timedelta(minutes=1)
    dead.save(update_fields=["heartbeat_at"])
    assert services.close_interrupted(company) == []
    # stale: its process is gone
    DunningRun.objects.filter(pk=dead.pk).update(heartbeat_at=timezone.now() - services.STALE_RUN - dt.timedelta(seconds=1))
    run = _run(company, DUE + dt.timedelta(days=8))
    dead.refresh_from_db()
    assert (dead.status, dead.notices, dead.items, dead.counts["channel:email"]) == (RunStatus.INTERRUPTED, 4, 4, 4)
    assert dead.finished_at is not None
    assert (run.status, run.notices) == (RunStatus.DONE, 1)
    assert Notice.objects.count() == 5 and NoticeItem.objects.count() == 5
    assert Delivery.objects.filter(channel="email").count() == 5
    ev = AuditEvent.objects.get(verb="dunning.run.interrupted")
    assert (ev.target_id, ev.company_id) == (dead.pk, company.pk)
    assert services.close_interrupted(company) == []  # once


def test_a_worker_killed_in_the_middle_of_a_batch_leaves_the_rest_of_it_to_the_next_worker(company, users, finance,
                                                                                          net30, mailoutbox):
    """The claimed batch is leased, not marked "sending": a worker that dies after claiming (and after sending
    some) leaves only the row it was sending in doubt; the others are sent once the lease ends."""
    from django.utils import timezone

    from huikuan.customers.models import Contact, Customer
    from huikuan.dunning.models import DunningSettings

    DunningSettings.objects.create(company=company, quiet_start=dt.time(0, 0), quiet_end=dt.time(0, 0),
                                   working_days_only=False)
    for i in range(4):
        c = Customer.objects.create(company=company, code=f"K{i}", name=f"客户{i}", owner=users["sales_east"], payment_term=net30)
        Contact.objects.create(customer=c, name="x", email=f"k{i}@example.cn")
        post(company, c, finance, "1000.00")
    _run(company, DUE + dt.timedelta(days=8))
    now = timezone.now()
    claimed = outbox._claim(now)  # the worker claims its batch …
    assert len(claimed) == 4
    first = Delivery.objects.get(pk=min(claimed))
    assert outbox._start(first, now)  # … starts the first row's call, and is killed
    assert Delivery.objects.filter(status=DeliveryStatus.SENDING).count() == 1
    assert Delivery.objects.filter(status=DeliveryStatus.PENDING).count() == 3
    assert outbox.process(now=now + dt.timedelta(minutes=1)) == {}  # the lease holds: no other worker takes them yet
    counts = outbox.process(now=now + outbox.LEASE + dt.timedelta(minutes=1))
    assert counts == {"sent": 3}
    assert sorted(m.to[0] for m in mailoutbox) == sorted({f"k{i}@example.cn" for i in range(4)} - {first.address})
    # the row in flight is never resent: once stale it is failed for a person to check with the provider
    assert outbox.process(now=now + outbox.STALE + outbox.LEASE) == {}
    first.refresh_from_db()
    assert first.status == DeliveryStatus.FAILED and "Interrupted" in first.last_error and len(mailoutbox) == 3


def test_outbox_sends_only_after_commit(company, customer, finance, invoice, mailoutbox):
    from django.db import transaction

    with pytest.raises(RuntimeError), transaction.atomic():
        services._write_chunk  # noqa: B018
        run = services.DunningRun.objects.create(company=company, as_of=DUE)
        groups, steps = services.select(company, DUE + dt.timedelta(days=8))
        by = {}
        for (cid, sid), items in groups.items():
            by.setdefault(cid, []).append((sid, items))
        services._write_chunk(run, company, DUE + dt.timedelta(days=8), list(by), by, steps)
        assert Delivery.objects.exists()
        raise RuntimeError("rollback")
    assert outbox.process() == {}
    assert mailoutbox == [] and not Delivery.objects.exists()


def test_cli_run_dry_then_real_and_daily_job_registered(company, customer, finance, invoice, mailoutbox):
    import io

    from django.core.management import call_command

    from huikuan.common.jobs import daily_jobs

    out = io.StringIO()
    call_command("dunning", "run", "--as-of", "2026-02-12", "--dry-run", stdout=out)
    assert "dry run" in out.getvalue() and "1 notices" in out.getvalue()
    assert not Notice.objects.exists()
    call_command("dunning", "run", "--as-of", "2026-02-12", "--no-send", stdout=out)
    assert Notice.objects.count() == 1
    assert any(name.startswith("dunning-run:") for name, _fn in daily_jobs(company, DUE))
