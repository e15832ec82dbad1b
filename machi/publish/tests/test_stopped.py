"""Runs whose worker stopped midway (killed, restarted): not stuck, and nothing published changes.

A conversion or a publication writes a heartbeat while it works; one that has gone quiet
is recovered by `recover_stopped_runs` (`machi worker` at start, the refresh check every
ten minutes): a conversion fails with the reason, a publication returns to review and
its half-made version is removed.
"""

import datetime
import time
from collections.abc import Callable
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.utils import timezone, translation

from machi.accounts.models import Department
from machi.catalog.models import Dataset, ResourceVersion
from machi.datastore.models import Table
from machi.publish import services
from machi.publish.models import Run, RunStatus
from machi.publish.tests.conftest import AED_CSV
from machi.publish.tests.test_services import converted, rows_of

pytestmark = pytest.mark.django_db(databases=["default", "datastore"])

LONG_AGO = datetime.timedelta(minutes=5)


@pytest.fixture
def aeds(make_dataset: Callable[..., Dataset], kikaku: Department) -> Dataset:
    return make_dataset(kikaku, "aed", "AED設置箇所一覧")


def _stop_at(run: Run, status: str, **fields: Any) -> None:
    Run.objects.filter(pk=run.pk).update(status=status, **fields)


def test_a_conversion_whose_worker_stopped_fails_saying_why_and_converts_again(
    editor: User, aeds: Dataset, aed_upload: Callable
) -> None:
    stopped, alive, waiting = (
        services.start_run(actor=editor, dataset=aeds, upload=aed_upload()) for _ in range(3)
    )
    now = timezone.now()
    _stop_at(stopped, RunStatus.RUNNING, stage="Converting row 1,000", heartbeat=now - LONG_AGO)
    _stop_at(alive, RunStatus.RUNNING, heartbeat=now - datetime.timedelta(seconds=20))
    _stop_at(waiting, RunStatus.QUEUED)

    assert services.recover_stopped_runs() == 1
    assert services.recover_stopped_runs() == 0
    for run in (stopped, alive, waiting):
        run.refresh_from_db()
    assert (alive.status, waiting.status) == (RunStatus.RUNNING, RunStatus.QUEUED)
    assert stopped.status == RunStatus.FAILED and stopped.error_count == 1
    (problem,) = stopped.report["problems"]
    assert problem["code"] == "stopped"
    assert "Converting row 1,000" in problem["message"] and "again" in problem["message"]

    services.set_options(actor=editor, run=stopped, options={})
    assert services.convert_run(stopped).status == RunStatus.REVIEW
    assert stopped.heartbeat is not None


def test_staff_read_the_reason_in_japanese_on_the_runs_page(
    editor: User, aeds: Dataset, aed_upload: Callable, client_for: Callable[[User], Client]
) -> None:
    run = services.start_run(actor=editor, dataset=aeds, upload=aed_upload())
    _stop_at(run, RunStatus.RUNNING, heartbeat=timezone.now() - LONG_AGO)
    with translation.override("ja"):
        services.recover_stopped_runs()
    run.refresh_from_db()
    message = run.report["problems"][0]["message"]
    assert "止まりました" in message
    page = client_for(editor).get(f"/staff/publish/{run.uid}/", HTTP_ACCEPT_LANGUAGE="ja")
    assert message in page.content.decode()


class Stopped(BaseException):
    """What a killed worker does to complete_publication: nothing after this line runs."""


@pytest.mark.parametrize("first", [True, False], ids=["new resource", "new version"])
def test_a_publication_whose_worker_stopped_returns_to_review_and_nothing_changes(
    editor: User,
    aeds: Dataset,
    aed_upload: Callable,
    resident: Client,
    monkeypatch: pytest.MonkeyPatch,
    client_for: Callable[[User], Client],
    first: bool,
) -> None:
    resource = None
    if not first:
        resource = services.publish_run(actor=editor, run=converted(editor, aeds, aed_upload()))
        resource = resource.resource
    more = AED_CSV + "131059,４,東京都,文京区,追加の施設,ツイカノシセツ,東京都文京区春日1-1-1,"
    more += "35.70807,139.75222,受付,03-3812-7111,有\n"
    run = services.start_run(actor=editor, dataset=aeds, upload=aed_upload(more), resource=resource)
    run = services.convert_run(run)
    run = services.request_publication(actor=editor, run=run)
    versions = set(ResourceVersion.objects.values_list("pk", flat=True))
    tables = set(Table.objects.values_list("name", flat=True))

    def killed(*args: Any) -> None:
        raise Stopped

    monkeypatch.setattr(services, "_load", killed)
    with pytest.raises(Stopped):
        services.complete_publication(run)
    monkeypatch.undo()
    run.refresh_from_db()
    assert run.status == RunStatus.PUBLISHING
    assert set(ResourceVersion.objects.values_list("pk", flat=True)) > versions  # half-made

    assert services.recover_stopped_runs() == 0  # its heartbeat is recent
    assert services.recover_stopped_runs(now=timezone.now() + LONG_AGO) == 1
    run.refresh_from_db()
    assert run.status == RunStatus.REVIEW
    assert "Publish again" in run.report["publish_error"]
    assert "draft_version" not in run.report
    assert set(ResourceVersion.objects.values_list("pk", flat=True)) == versions
    assert set(Table.objects.values_list("name", flat=True)) == tables
    if first:
        assert not aeds.resources.exists()
    else:
        assert rows_of(resident, aeds)["total"] == 3  # the published version still serves
    page = client_for(editor).get(f"/staff/publish/{run.uid}/").content.decode()
    assert "Publish again" in page

    version = services.publish_run(actor=editor, run=run)
    assert version.resource.current == version
    assert rows_of(resident, aeds)["total"] == 4


def test_a_publication_waiting_for_a_worker_is_left_alone(
    editor: User, aeds: Dataset, aed_upload: Callable
) -> None:
    run = converted(editor, aeds, aed_upload())
    assert run.heartbeat is not None  # from its conversion, now old
    run = services.request_publication(actor=editor, run=run)
    assert services.recover_stopped_runs(now=timezone.now() + LONG_AGO) == 0
    run.refresh_from_db()
    assert run.status == RunStatus.PUBLISHING


@pytest.mark.django_db(
    databases=["default", "datastore"], transaction=True, serialized_rollback=True
)
def test_the_heartbeat_is_written_while_the_work_runs(
    editor: User, aeds: Dataset, aed_upload: Callable, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(services, "HEARTBEAT", datetime.timedelta(seconds=0.05))
    run = services.start_run(actor=editor, dataset=aeds, upload=aed_upload())
    with services._working(run):
        run.refresh_from_db()
        first = run.heartbeat
        assert first is not None
        time.sleep(0.5)
        run.refresh_from_db()
        assert run.heartbeat > first
    run.refresh_from_db()
    stopped = run.heartbeat
    time.sleep(0.2)
    run.refresh_from_db()
    assert run.heartbeat == stopped  # the beat ends with the work
