"""Background tasks (django-tasks-db worker started by ``huikuan serve``)."""

from django.tasks import task


@task()
def process_outbox() -> dict:
    """Send the due dunning deliveries (sent only after the run committed), then schedule itself again for
    the earliest retry or end of quiet hours still waiting."""
    from django.db.models import Min
    from django.utils import timezone

    from .models import Delivery, DeliveryStatus
    from .outbox import process

    counts = process()
    nxt = (Delivery.objects.filter(status__in=[DeliveryStatus.PENDING, DeliveryStatus.DEFERRED])
           .aggregate(m=Min("next_attempt_at"))["m"])
    if nxt is not None and nxt > timezone.now():
        process_outbox.using(run_after=max(nxt, timezone.now())).enqueue()
    return counts
