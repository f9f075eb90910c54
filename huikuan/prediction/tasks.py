"""Training on demand in the worker (django.tasks; the django-tasks-db worker of ``huikuan serve`` runs it)."""

from django.tasks import task


@task()
def train_on_demand(company_id: int, as_of: str, actor_id: int | None = None) -> dict:
    """Train a new version on what was known on ``as_of`` (ISO date) and make it live — the models page's
    "Train now"; the same service as the weekly job and ``huikuan predict train``."""
    import datetime as dt

    from huikuan.accounts.models import Company, User

    from .services import NothingToTrain, train_model

    company = Company.objects.get(pk=company_id)
    actor = User.objects.filter(pk=actor_id).first() if actor_id else None
    try:
        v = train_model(company=company, as_of=dt.date.fromisoformat(as_of), actor=actor)
    except NothingToTrain as exc:
        return {"status": "nothing to train", "message": str(exc)}
    return {"status": "trained", "version": v.version, "live": v.live, "seconds": str(v.seconds)}
