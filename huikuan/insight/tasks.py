"""Background builds of stored aging dates (django.tasks; the django-tasks-db worker runs them)."""

import datetime as dt

from django.tasks import task


@task()
def build_aging_date(company_id: int, as_of: str) -> str:
    """Store the aging of ``as_of`` (``insight.past``) unless stored meanwhile; the aging page's first view of a
    date answered live and queued this, so the views after it read stored rows."""
    from huikuan.accounts.models import Company

    from . import past

    company = Company.objects.get(pk=company_id)
    b = past.current_build(company=company, as_of=dt.date.fromisoformat(as_of), kpi=False)
    return f"{as_of}: {b.rows if b is not None else 0} customers"
