"""Go-live without a storm (issue 11 point 8): a policy start date; the first run sends each customer at most
one notice, at the step its items reached; holds and cases of a customer's first run under a policy are
proposed for approval (also in the dry-run preview); a real run cannot be dated in the future."""

import datetime as dt

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from huikuan.common.models import AuditEvent
from huikuan.credit.models import CreditProfile
from huikuan.dunning import outbox, services
from huikuan.dunning.models import Delivery, DeliveryStatus, DunningPolicy, Notice, NoticeItem

from .conftest import post

pytestmark = pytest.mark.django_db
DUE = dt.date(2026, 2, 4)


def _run(company, day, **kw):
    return services.run_dunning(company=company, as_of=day, enqueue=False, **kw)


def _hold_deliveries():
    return Delivery.objects.filter(channel="hold")


def test_first_run_one_notice_at_the_reached_step_and_hold_only_proposed(company, customer, finance, invoice):
    post(company, customer, finance, "800.00", doc_date=dt.date(2025, 12, 1))  # an older item, further along
    _run(company, DUE + dt.timedelta(days=70))  # past +0, +7, +15, +30 and +60
    notices = list(Notice.objects.values_list("offset_days", flat=True))
    assert notices == [60]  # one notice, the step reached: not one per step passed
    assert NoticeItem.objects.count() == 2
    case = Delivery.objects.get(channel="case")
    assert case.status == DeliveryStatus.PROPOSED
    outbox.process()
    case.refresh_from_db()
    assert case.status == DeliveryStatus.PROPOSED  # the outbox leaves proposals alone
    assert not Delivery.objects.filter(channel="email", status=DeliveryStatus.PROPOSED).exists()


def test_approved_hold_is_applied_rejected_is_not(company, customer, finance, invoice, other_customer):
    post(company, other_customer, finance, "900.00")
    _run(company, DUE + dt.timedelta(days=31))
    holds = list(_hold_deliveries().order_by("notice__customer_id"))
    assert len(holds) == 2 and {h.status for h in holds} == {DeliveryStatus.PROPOSED}
    assert {d.pk for d in services.proposals(company)} == {h.pk for h in holds}
    mine = next(h for h in holds if h.notice.customer_id == customer.pk)
    other = next(h for h in holds if h.notice.customer_id == other_customer.pk)
    assert services.decide_proposals(company=company, actor=finance, delivery_ids=[mine.pk], approve=True) == 1
    assert services.decide_proposals(company=company, actor=finance, delivery_ids=[other.pk], approve=False) == 1
    assert services.decide_proposals(company=company, actor=finance, delivery_ids=[other.pk], approve=True) == 0
    outbox.process()
    mine.refresh_from_db()
    other.refresh_from_db()
    assert mine.status == DeliveryStatus.SENT and other.status == DeliveryStatus.SKIPPED
    assert CreditProfile.objects.get(customer=customer).on_hold
    assert not CreditProfile.objects.filter(customer=other_customer, on_hold=True).exists()
    assert set(AuditEvent.objects.filter(verb__startswith="dunning.action.").values_list("verb", "customer_id")) == {
        ("dunning.action.approved", customer.pk), ("dunning.action.rejected", other_customer.pk)}


def test_after_the_first_run_actions_apply_directly(company, customer, finance, invoice):
    _run(company, DUE + dt.timedelta(days=8))  # the customer's first notice under the policy (+7)
    _run(company, DUE + dt.timedelta(days=31))  # +30 reached later: business as usual
    assert _hold_deliveries().get().status == DeliveryStatus.PENDING


def test_policy_start_date_holds_everything_back_until_go_live(company, customer, finance, invoice):
    policy = services.ensure_defaults(company)
    DunningPolicy.objects.filter(pk=policy.pk).update(start_date=DUE + dt.timedelta(days=20))
    assert _run(company, DUE + dt.timedelta(days=10)).notices == 0
    assert not Notice.objects.exists()
    run = _run(company, DUE + dt.timedelta(days=20))
    assert run.notices == 1 and Notice.objects.get().offset_days == 15


def test_start_date_is_saved_with_the_policy(company, finance):
    policy = services.ensure_defaults(company)
    steps = [{"offset_days": s.offset_days, "channels": s.channels, "tone": s.tone, "action": s.action,
              "min_amount": s.min_amount, "template_key": s.template_key} for s in policy.steps.all()]
    services.save_policy(company=company, actor=finance, name=policy.name, steps=steps, policy_id=policy.pk,
                         start_date=dt.date(2027, 1, 4))
    policy.refresh_from_db()
    assert policy.start_date == dt.date(2027, 1, 4)


def test_dry_run_preview_shows_what_would_be_proposed(company, customer, finance, invoice):
    run = _run(company, DUE + dt.timedelta(days=31), dry_run=True)
    assert run.counts["proposed:hold"] == 1
    assert run.preview[0]["proposed"] == ["hold"] and run.preview[0]["step"] == 30
    assert not Delivery.objects.exists()


def test_future_as_of_refused_for_real_runs_allowed_for_dry_runs(company, customer, finance, invoice):
    today = dt.date(2026, 3, 1)
    with pytest.raises(services.DunningError):
        services.check_as_of(as_of=today + dt.timedelta(days=1), today=today, dry_run=False)
    services.check_as_of(as_of=today + dt.timedelta(days=1), today=today, dry_run=True)
    services.check_as_of(as_of=today, today=today, dry_run=False)
    future = (dt.date.today() + dt.timedelta(days=400)).isoformat()
    with pytest.raises(CommandError, match=future):  # the message names the date (in the active language)
        call_command("dunning", "run", "--as-of", future, "--no-send")
    assert not Notice.objects.exists()
    call_command("dunning", "run", "--as-of", future, "--dry-run")


def test_cli_lists_and_approves_proposals(company, customer, finance, invoice, capsys):
    _run(company, DUE + dt.timedelta(days=31))
    call_command("dunning", "proposals")
    assert "1 awaiting approval" in capsys.readouterr().out
    with pytest.raises(CommandError):
        call_command("dunning", "approve")
    call_command("dunning", "approve", "--all")
    assert _hold_deliveries().get().status == DeliveryStatus.PENDING
