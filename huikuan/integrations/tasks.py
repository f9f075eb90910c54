"""Background task (django-tasks-db worker started by ``huikuan serve``)."""

from django.tasks import task


@task()
def deliver_webhooks() -> dict:
    """Send the due webhook deliveries, then schedule itself again for the earliest retry still waiting."""
    from django.db.models import Min
    from django.utils import timezone

    from .delivery import process
    from .models import Delivery, DeliveryStatus

    counts = process()
    nxt = (Delivery.objects.filter(status=DeliveryStatus.PENDING, endpoint__is_active=True)
           .aggregate(m=Min("next_attempt_at"))["m"])
    if nxt is not None and nxt > timezone.now():
        deliver_webhooks.using(run_after=nxt).enqueue()
    return counts
