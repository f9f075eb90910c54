"""Background commit of a large import (django.tasks; the django-tasks-db worker runs it)."""

from django.tasks import task


@task()
def commit_import(job_id: int) -> dict:
    from .services import commit_job

    job = commit_job(job_id=job_id)
    return {"status": job.status, "created": job.created_count, "updated": job.updated_count}
