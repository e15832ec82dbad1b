"""Background work of the pipeline: Django tasks (the database backend unless configured).

Conversions and loads are queued after the request's transaction commits, so the
worker always finds the run it is given.
"""

import datetime
import logging

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django_tasks import task

from machi.publish.models import Refresh, Run, RunStatus

logger = logging.getLogger(__name__)

REFRESH_CHECK = datetime.timedelta(minutes=10)


@task()
def convert(run_id: int) -> str:
    from machi.publish import services

    run = Run.objects.get(pk=run_id)
    if run.status != RunStatus.QUEUED:
        return run.status
    return services.convert_run(run).status


@task()
def publish(run_id: int) -> str:
    from machi.publish import services

    run = Run.objects.get(pk=run_id)
    if run.status != RunStatus.PUBLISHING:
        return run.status
    services.complete_publication(run)
    return RunStatus.PUBLISHED


@task()
def refresh_due() -> int:
    """Pull every scheduled source that is due, then check again in REFRESH_CHECK.
    Runs whose worker stopped are recovered here too (services.recover_stopped_runs)."""
    from machi.publish import refresh, services

    services.recover_stopped_runs()
    done = 0
    try:
        for item in refresh.due_refreshes():
            _check(item)
            done += 1
    finally:
        schedule_refreshes(force=True)
    return done


@task()
def refresh_now(refresh_id: int) -> str:
    """One source checked at staff's request (the back office's "check now")."""
    item = (
        Refresh.objects.select_related("resource__dataset", "actor", "template")
        .filter(pk=refresh_id)
        .first()
    )
    return "" if item is None else _check(item)  # removed meanwhile


def _check(item: Refresh) -> str:
    from machi.publish import refresh

    try:
        return refresh.run_refresh(item)
    except Exception:  # one source's failure must not stop the others' checks
        logger.exception("refresh of %s stopped", item.resource)
        return refresh.record_failure(item)


def queue_conversion(run: Run) -> None:
    transaction.on_commit(lambda: convert.enqueue(run.pk))


def queue_publication(run: Run) -> None:
    transaction.on_commit(lambda: publish.enqueue(run.pk))


def queue_refresh(refresh: Refresh) -> None:
    transaction.on_commit(lambda: refresh_now.enqueue(refresh.pk))


def schedule_refreshes(*, force: bool = False) -> None:
    """Keep one refresh check queued (the database backend; `machi serve` calls this)."""
    if "django_tasks_db" not in settings.TASKS["default"]["BACKEND"]:
        return
    from django_tasks_db.models import DBTaskResult

    waiting = DBTaskResult.objects.filter(
        task_path=refresh_due.module_path, status="READY"
    ).exists()
    if force or not waiting:
        refresh_due.using(run_after=timezone.now() + REFRESH_CHECK).enqueue()
