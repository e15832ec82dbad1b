"""Harvests as background tasks: the database queue, the schedule, and what is due."""

import datetime
import json
from collections.abc import Iterator
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from django.utils import timezone, translation
from django_tasks_db.models import DBTaskResult

from machi.catalog import tasks
from machi.catalog.harvest import due_sources, next_mode
from machi.catalog.models import Dataset, HarvestJob
from machi.catalog.tests.harvest_helpers import make_source, serve

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

DATABASE_QUEUE = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
# One CKAN package as package_search lists it (the keys a harvester reads).
PACKAGE = {
    "id": "0b7c6f0e-1d2a-4c55-9f6e-3d2b1a000001",
    "name": "aed",
    "title": "AED設置箇所",
    "notes": "",
    "metadata_modified": "2026-10-01T00:00:00.000000",
    "license_id": "cc-by",
    "organization": {"title": "文京区"},
    "tags": [{"display_name": "防災", "name": "防災"}],
    "resources": [{"id": "r1", "name": "CSV", "url": "https://example.jp/aed.csv"}],
    "state": "active",
    "private": False,
}


def ckan(path: str, params: dict[str, str]) -> tuple[int, str, bytes]:
    results = [PACKAGE] if params.get("start") == "0" else []
    body = {"help": "", "success": True, "result": {"count": 1, "results": results}}
    return 200, "application/json", json.dumps(body).encode()


@pytest.fixture(autouse=True)
def _english() -> Iterator[None]:
    with translation.override("en"):
        yield


def work() -> None:
    call_command("db_worker", batch=True, startup_delay=False, reload=False, interval=0.1)


def test_a_queued_harvest_waits_for_the_worker(site_admin: User, settings: Any) -> None:
    settings.TASKS = DATABASE_QUEUE
    with serve(ckan) as (url, _requests):
        source = make_source(site_admin, url)
        job = tasks.queue_harvest(source, mode=HarvestJob.Mode.FULL, trigger="test")
        job.refresh_from_db()
        assert job.status == HarvestJob.Status.QUEUED
        assert not Dataset.objects.filter(harvest_source=source).exists()
        work()
    job.refresh_from_db()
    assert job.status == HarvestJob.Status.DONE and job.created == 1
    assert Dataset.objects.get(harvest_source=source).title == "AED設置箇所"


def test_the_schedule_queues_due_sources_and_checks_again(site_admin: User, settings: Any) -> None:
    settings.TASKS = DATABASE_QUEUE
    source = make_source(site_admin, "http://127.0.0.1:9/", name="due")
    make_source(site_admin, "http://127.0.0.1:9/", name="off", enabled=False)
    tasks.schedule_harvests()
    tasks.schedule_harvests()  # `machi serve` on every start: still one check waiting
    checks = DBTaskResult.objects.filter(task_path=tasks.harvest_due.module_path)
    assert checks.filter(status="READY").count() == 1
    assert checks.get().run_after > timezone.now() + datetime.timedelta(minutes=9)

    assert tasks.harvest_due.call() == 1
    job = source.jobs.get()
    assert (job.status, job.mode, job.trigger) == ("queued", "full", "schedule")
    assert not HarvestJob.objects.filter(source__name="off").exists()
    assert checks.filter(status="READY").count() == 2  # the next check is queued again
    assert tasks.harvest_due.call() == 0  # a queued job is not queued twice


def test_due_sources_follow_their_intervals(site_admin: User) -> None:
    source = make_source(site_admin, "http://127.0.0.1:9/", every_hours=6, full_every_hours=24)
    assert due_sources() == [source] and next_mode(source) == "full"
    now = timezone.now()
    HarvestJob.objects.create(source=source, mode="full", status="done")
    source.last_full_run = now
    source.harvested_until = now
    source.save()
    assert due_sources() == []
    assert due_sources(now + datetime.timedelta(hours=6, minutes=1)) == [source]
    assert next_mode(source, now + datetime.timedelta(hours=7)) == "incremental"
    assert next_mode(source, now + datetime.timedelta(hours=25)) == "full"
