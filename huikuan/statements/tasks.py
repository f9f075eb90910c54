"""Background work: bulk statement generation with progress stored on the batch."""

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


@task
def run_statement_batch(batch_id: int) -> dict:
    from .services import email_statement, issue_statement

    batch = StatementBatch.objects.select_related("company", "created_by").get(pk=batch_id)
    if batch.status in (BatchStatus.DONE, BatchStatus.RUNNING):
        return {"status": batch.status}
    translation.activate(batch.created_by.language or "zh-hans")
    customers = list(batch_customers(batch).values_list("pk", flat=True))
    StatementBatch.objects.filter(pk=batch.pk).update(status=BatchStatus.RUNNING, total=len(customers))
    skipped, emailed, done = [], 0, 0
    from huikuan.customers.models import Customer

    today = clock.today(batch.company)
    try:
        for pk in customers:
            customer = Customer.objects.select_related("company").get(pk=pk)
            st = issue_statement(user=batch.created_by, customer=customer, period_from=batch.period_from,
                                 period_to=batch.period_to, today=today, batch=batch)
            if batch.send_email:
                try:
                    email_statement(statement=st, user=batch.created_by)
                    emailed += 1
                except DomainError as exc:
                    skipped.append({"customer": customer.code, "reason": str(exc)})
            done += 1
            if done % 10 == 0 or done == len(customers):
                StatementBatch.objects.filter(pk=batch.pk).update(done=done, emailed=emailed)
    except Exception as exc:
        StatementBatch.objects.filter(pk=batch.pk).update(status=BatchStatus.FAILED, error=str(exc)[:500], done=done,
                                                          emailed=emailed, skipped=skipped, finished_at=timezone.now())
        raise
    StatementBatch.objects.filter(pk=batch.pk).update(status=BatchStatus.DONE, done=done, emailed=emailed, skipped=skipped,
                                                      finished_at=timezone.now())
    return {"done": done, "emailed": emailed, "skipped": len(skipped)}
