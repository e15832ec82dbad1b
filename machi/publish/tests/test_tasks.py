"""The real queue: an upload waits in the database until `machi worker` converts it."""

from collections.abc import Callable
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command

from machi.accounts.models import Department
from machi.catalog.models import Dataset
from machi.publish import services, tasks
from machi.publish.models import RunStatus

pytestmark = pytest.mark.django_db(
    databases=["default", "datastore"], transaction=True, serialized_rollback=True
)


def test_the_database_queue_converts_and_publishes(
    editor: User,
    make_dataset: Callable[..., Dataset],
    kikaku: Department,
    aed_upload: Callable,
    settings: Any,
) -> None:
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    dataset = make_dataset(kikaku, "aed", "AED")
    run = services.start_run(actor=editor, dataset=dataset, upload=aed_upload())
    tasks.queue_conversion(run)
    run.refresh_from_db()
    assert run.status == RunStatus.QUEUED
    call_command("db_worker", batch=True, startup_delay=False, reload=False, interval=0.1)
    run.refresh_from_db()
    assert run.status == RunStatus.REVIEW and run.row_count == 3
    run = services.request_publication(actor=editor, run=run)
    tasks.queue_publication(run)
    call_command("db_worker", batch=True, startup_delay=False, reload=False, interval=0.1)
    run.refresh_from_db()
    assert run.status == RunStatus.PUBLISHED
    assert dataset.resources.get().current == run.version
