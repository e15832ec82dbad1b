"""Harvesting: other catalogs (CKAN, machi, DCAT) mirrored here as read-only datasets.

A run reads the source page by page (machi.catalog.harvest_clients) and applies each
remote record in a transaction of its own, so a record that fails, or a source that
fails half-way, leaves everything harvested before as it was. Only a full run that read
the whole source notices datasets that are gone (deleted or made private upstream): they
are withdrawn (made private here) once missing for the source's grace period, and come
back if the source lists them again. The job log (`HarvestJob`, `HarvestRecord`) says what
happened to each record.
"""

import datetime
import json
import logging
import traceback
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from machi.accounts.models import Department
from machi.accounts.permissions import User, is_site_admin
from machi.accounts.services import save_department
from machi.audit import services as audit
from machi.catalog.harvest_clients import (
    RecordProblem,
    RemoteDataset,
    SourceError,
    client_for,
    wished_name,
)
from machi.catalog.harvest_writes import save_harvested_dataset, withdraw_harvested_dataset
from machi.catalog.models import Dataset, HarvestJob, HarvestRecord, HarvestSource

log = logging.getLogger(__name__)

Action = HarvestRecord.Action
# A job still "running" after this long died with its worker; another may start.
STALE_RUN = datetime.timedelta(hours=6)


def can_manage_harvest(user: User) -> bool:
    """Harvest sources bring outside data under the ward's name: site administrators only."""
    return is_site_admin(user)


@transaction.atomic
def save_source(*, actor: User, source: HarvestSource) -> HarvestSource:
    """Create or change a harvest source; without a department, one named after it is made."""
    if not can_manage_harvest(actor):
        raise PermissionDenied(_("Only site administrators can manage harvest sources."))
    if source.actor_id is None:
        source.actor = actor
    if not can_manage_harvest(source.actor):
        raise ValidationError({"actor": _("Harvests must run as a site administrator.")})
    before = audit.snapshot(HarvestSource.objects.get(pk=source.pk)) if source.pk else {}
    source.full_clean(exclude=["department"])
    if source.department_id is None:
        slug = wished_name(f"harvest-{source.name}")[:100]
        source.department = Department.objects.filter(slug=slug).first() or save_department(
            actor=actor,
            department=Department(slug=slug, name=source.title, name_en=source.title),
        )
    source.save()
    audit.record_saved(actor=actor, obj=source, before=before)
    return source


@transaction.atomic
def delete_source(*, actor: User, source: HarvestSource) -> None:
    """Remove a source together with every dataset harvested from it."""
    if not can_manage_harvest(actor):
        raise PermissionDenied(_("Only site administrators can manage harvest sources."))
    from machi.catalog.search import bump_version

    for dataset in source.datasets.all():
        audit.record_deleted(actor=actor, obj=dataset, department_id=dataset.department_id)
        dataset.delete()
    audit.record_deleted(actor=actor, obj=source)
    source.delete()
    bump_version()


def new_job(*, source: HarvestSource, mode: str, trigger: str) -> HarvestJob:
    return HarvestJob.objects.create(source=source, mode=mode, trigger=trigger[:100])


def next_mode(source: HarvestSource, now: datetime.datetime | None = None) -> str:
    """Full when a full run is due (only full runs notice deletions), else changes only."""
    now = now or timezone.now()
    if source.last_full_run is None or source.harvested_until is None:
        return HarvestJob.Mode.FULL
    if source.last_full_run + datetime.timedelta(hours=source.full_every_hours) <= now:
        return HarvestJob.Mode.FULL
    return HarvestJob.Mode.INCREMENTAL


def due_sources(now: datetime.datetime | None = None) -> list[HarvestSource]:
    """Enabled sources whose last run is older than their interval and none waiting."""
    now = now or timezone.now()
    due = []
    for source in HarvestSource.objects.filter(enabled=True):
        jobs = source.jobs.order_by("-queued_at")
        if jobs.filter(status=HarvestJob.Status.QUEUED).exists() or _running(source, now):
            continue
        last = jobs.first()
        if last is None or last.queued_at + datetime.timedelta(hours=source.every_hours) <= now:
            due.append(source)
    return due


def _running(source: HarvestSource, now: datetime.datetime) -> bool:
    return source.jobs.filter(
        status=HarvestJob.Status.RUNNING, started_at__gt=now - STALE_RUN
    ).exists()


def _start(job: HarvestJob) -> bool:
    """Mark the job running unless another run of its source is under way."""
    with transaction.atomic():
        source = HarvestSource.objects.select_for_update().get(pk=job.source_id)
        if _running(source, timezone.now()):
            _finish(job, HarvestJob.Status.FAILED, _("Another run of this source is in progress."))
            return False
        job.status = HarvestJob.Status.RUNNING
        job.started_at = timezone.now()
        job.save(update_fields=["status", "started_at"])
    return True


def _finish(job: HarvestJob, status: str, message: str = "") -> None:
    job.status = status
    job.message = message
    job.finished_at = timezone.now()
    job.save()


def run_job(job: HarvestJob) -> HarvestJob:
    """Harvest the job's source once; the job and its records are the log."""
    if job.status != HarvestJob.Status.QUEUED or not _start(job):
        return job
    source = job.source
    full = job.mode == HarvestJob.Mode.FULL
    seen: set[str] = set()
    newest = source.harvested_until
    try:
        client = client_for(source.kind, source.url)
        for page in client.pages(None if full else source.harvested_until):
            for record in page.records:
                seen.add(record.remote_id)
                _apply(job, source, record)
            if page.newest and (newest is None or page.newest > newest):
                newest = page.newest
            job.save(update_fields=["created", "updated", "unchanged", "errors"])
    except SourceError as error:
        # Records applied so far stay; nothing is withdrawn after an incomplete listing.
        _finish(job, HarvestJob.Status.FAILED, str(error))
        return job
    except Exception as error:  # noqa: BLE001 - the job must end failed, not stay "running"
        log.exception("harvest job %s failed", job.pk)
        _finish(job, HarvestJob.Status.FAILED, f"{type(error).__name__}: {error}")
        return job
    now = timezone.now()
    if full:
        _withdraw_missing(job, source, seen, now)
    source.harvested_until = newest
    fields = ["harvested_until"]
    if full:
        source.last_full_run = now
        fields.append("last_full_run")
    source.save(update_fields=fields)
    _finish(job, HarvestJob.Status.DONE)
    return job


def _apply(job: HarvestJob, source: HarvestSource, record: RemoteDataset | RecordProblem) -> None:
    if isinstance(record, RecordProblem):
        _log_error(job, record.remote_id, record.title, record.message, record.raw)
        return
    try:
        with transaction.atomic():
            dataset = (
                Dataset.objects.select_for_update()
                .filter(harvest_source=source, remote_id=record.remote_id)
                .first()
            )
            action, dataset, note = save_harvested_dataset(
                source=source, record=record, dataset=dataset
            )
    except ValidationError as error:
        _log_error(job, record.remote_id, record.title, _validation_text(error), record.raw)
        return
    except Exception as error:  # noqa: BLE001 - one bad record must not stop the run
        log.warning("harvest record %s of %s failed", record.remote_id, source, exc_info=True)
        detail = traceback.format_exception_only(error)[-1].strip()
        _log_error(job, record.remote_id, record.title, detail, record.raw)
        return
    if action == Action.UNCHANGED:
        job.unchanged += 1
        return  # not logged one by one: a large source is mostly unchanged
    if action == Action.CREATED:
        job.created += 1
    else:
        job.updated += 1
    HarvestRecord.objects.create(
        job=job,
        action=action,
        remote_id=record.remote_id[:300],
        title=record.title[:300],
        dataset=dataset,
        message=note,
    )


def _validation_text(error: ValidationError) -> str:
    if hasattr(error, "error_dict"):
        return "; ".join(
            f"{field}: {' '.join(str(m) for m in messages)}"
            for field, messages in error.message_dict.items()
        )
    return " ".join(error.messages)


def _log_error(job: HarvestJob, remote_id: str, title: str, message: str, raw: Any) -> None:
    job.errors += 1
    HarvestRecord.objects.create(
        job=job,
        action=Action.ERROR,
        remote_id=_no_nul(remote_id)[:300],
        title=_no_nul(title)[:300],
        message=_no_nul(message),
        remote_record=json.loads(_no_nul(json.dumps(raw, default=str))),
    )


def _no_nul(text: str) -> str:
    # PostgreSQL refuses NUL in text and JSON; a record may well be refused for having one.
    return text.replace("\x00", "").replace("\\u0000", "")


def _withdraw_missing(
    job: HarvestJob, source: HarvestSource, seen: set[str], now: datetime.datetime
) -> None:
    grace = datetime.timedelta(days=source.grace_days)
    present = Dataset.objects.filter(harvest_source=source, harvest_withdrawn_at__isnull=True)
    for pk, remote_id, missing_since in present.values_list(
        "pk", "remote_id", "harvest_missing_since"
    ):
        if remote_id in seen:
            continue
        dataset = Dataset.objects.get(pk=pk)
        if missing_since is None:
            missing_since = now
            Dataset.objects.filter(pk=pk).update(harvest_missing_since=now)
            HarvestRecord.objects.create(
                job=job,
                action=Action.MISSING,
                remote_id=remote_id,
                title=dataset.title[:300],
                dataset=dataset,
                message=_("Not listed by the source; withdrawn unless it returns by %(date)s.")
                % {"date": timezone.localtime(now + grace).strftime("%Y-%m-%d %H:%M")},
            )
        if missing_since + grace <= now:
            withdraw_harvested_dataset(source=source, dataset=dataset, when=now)
            job.withdrawn += 1
            HarvestRecord.objects.create(
                job=job,
                action=Action.WITHDRAWN,
                remote_id=remote_id,
                title=dataset.title[:300],
                dataset=dataset,
                message=_("Deleted or made private at the source; made private here."),
            )
