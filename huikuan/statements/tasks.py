"""Background work: bulk statement generation with progress stored on the batch."""

from django.db.models import Q
from django.tasks import task
from django.utils import timezone, translation

from huikuan.common import clock
from huikuan.common.errors import DomainError

from .models import BatchStatus, StatementBatch


def batch_customers(batch: StatementBatch):
    from huikuan.customers.selectors import customer_list

    sel = batch.selection or {}
    return customer_list(user=batch.created_by, company=batch.company, owner_id=sel.get("owner_id") or None,
                         group_id=sel.get("group_id") or None, with_balance=bool(sel.get("with_balance")))


def _claim(batch: StatementBatch) -> bool:
    """Take the batch for this worker: a queued or failed one, or a running one whose worker went silent
    (``StatementBatch.STALE_AFTER``). One conditional UPDATE, so two workers never both take it."""
    now = timezone.now()
    stale = now - StatementBatch.STALE_AFTER
    takeable = (Q(status__in=[BatchStatus.QUEUED, BatchStatus.FAILED])
                | Q(status=BatchStatus.RUNNING) & (Q(heartbeat_at__lt=stale) | Q(heartbeat_at=None, created_at__lt=stale)))
    return bool(StatementBatch.objects.filter(takeable, pk=batch.pk)
                .update(status=BatchStatus.RUNNING, heartbeat_at=now, error=""))


@task
def run_statement_batch(batch_id: int) -> dict:
    """Issue (and e-mail) the batch's statements. Resumable: a batch cut off by a killed worker is taken
    again once its heartbeat is stale, and the customers that already have their statement in this batch
    are not issued twice (nor e-mailed twice)."""
    from .models import Statement
    from .services import email_statement, issue_statement

    batch = StatementBatch.objects.select_related("company", "created_by").get(pk=batch_id)
    if batch.status == BatchStatus.DONE or not _claim(batch):
        return {"status": batch.status}
    translation.activate(batch.created_by.language or "zh-hans")
    customers = list(batch_customers(batch).values_list("pk", flat=True))
    StatementBatch.objects.filter(pk=batch.pk).update(total=len(customers))
    issued = dict(Statement.objects.filter(batch=batch).values_list("customer_id", "sent_at"))
    skipped = list(batch.skipped or [])
    skipped_codes = {s.get("customer") for s in skipped}
    emailed = sum(1 for sent in issued.values() if sent is not None)
    done = 0
    from huikuan.customers.models import Customer

    today = clock.today(batch.company)
    try:
        for pk in customers:
            if pk in issued and (not batch.send_email or issued[pk] is not None):
                done += 1  # issued (and sent) before the batch was cut off
                continue
            customer = Customer.objects.select_related("company").get(pk=pk)
            st = (Statement.objects.filter(batch=batch, customer=customer).first() if pk in issued else None) or \
                issue_statement(user=batch.created_by, customer=customer, period_from=batch.period_from,
                                period_to=batch.period_to, today=today, batch=batch)
            if batch.send_email:
                try:
                    email_statement(statement=st, user=batch.created_by)
                    emailed += 1
                except DomainError as exc:
                    if customer.code not in skipped_codes:  # not twice when a cut-off batch is resumed
                        skipped.append({"customer": customer.code, "reason": str(exc)})
            done += 1
            if done % 10 == 0 or done == len(customers):
                StatementBatch.objects.filter(pk=batch.pk).update(done=done, emailed=emailed, heartbeat_at=timezone.now())
    except Exception as exc:
        StatementBatch.objects.filter(pk=batch.pk).update(status=BatchStatus.FAILED, error=str(exc)[:500], done=done,
                                                          emailed=emailed, skipped=skipped, finished_at=timezone.now())
        raise
    StatementBatch.objects.filter(pk=batch.pk).update(status=BatchStatus.DONE, done=done, emailed=emailed, skipped=skipped,
                                                      finished_at=timezone.now(), heartbeat_at=timezone.now())
    return {"done": done, "emailed": emailed, "skipped": len(skipped)}
