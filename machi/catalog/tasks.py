"""Background harvesting: Django tasks (the database backend unless configured).

A run is queued after the transaction that created its job commits, so the worker
always finds the job. A check for due sources re-queues itself every HARVEST_CHECK.
"""

import datetime

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django_tasks import task

from machi.catalog.models import HarvestJob, HarvestSource

HARVEST_CHECK = datetime.timedelta(minutes=10)


@task()
def harvest(job_id: int) -> str:
    from machi.catalog.harvest import run_job

    job = HarvestJob.objects.select_related("source__actor").get(pk=job_id)
    return run_job(job).status


@task()
def harvest_due() -> int:
    """Queue a run of every source that is due, then check again in HARVEST_CHECK."""
    from machi.catalog.harvest import due_sources, next_mode

    queued = 0
    try:
        for source in due_sources():
            queue_harvest(source, mode=next_mode(source), trigger="schedule")
            queued += 1
    finally:
        schedule_harvests(force=True)
    return queued


def queue_harvest(source: HarvestSource, *, mode: str, trigger: str) -> HarvestJob:
    """A queued job for `source`; the worker runs it (inline with the immediate backend)."""
    from machi.catalog.harvest import new_job

    job = new_job(source=source, mode=mode, trigger=trigger)
    transaction.on_commit(lambda: harvest.enqueue(job.pk))
    return job


def schedule_harvests(*, force: bool = False) -> None:
    """Keep one check for due sources queued (the database backend; `machi serve` calls this)."""
    if "django_tasks_db" not in settings.TASKS["default"]["BACKEND"]:
        return
    from django_tasks_db.models import DBTaskResult

    waiting = DBTaskResult.objects.filter(
        task_path=harvest_due.module_path, status="READY"
    ).exists()
    if force or not waiting:
        harvest_due.using(run_after=timezone.now() + HARVEST_CHECK).enqueue()
