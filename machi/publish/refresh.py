"""Scheduled refresh: a resource pulls its file from a URL or a drop folder and republishes.

This is the routine conversion staff repeat by hand today: the same export, every
month, through the same choices (sheet, header, mapping) as the run it was set up from.
"""

from __future__ import annotations

import datetime
import hashlib
import shutil
import tempfile
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import BinaryIO

from django.conf import settings
from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied
from django.core.files import File
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from machi.audit import services as audit
from machi.catalog import permissions
from machi.publish import tasks
from machi.publish.models import Refresh, Run, RunStatus, drop_folder
from machi.publish.services import (
    convert_run,
    open_findings,
    publish_run,
    replacement,
    start_run,
)


def save_refresh(*, actor: User, refresh: Refresh) -> Refresh:
    """Schedule a resource to pull its file from a URL or a drop folder."""
    dataset = refresh.resource.dataset
    if not permissions.can_edit_dataset(actor, dataset):
        raise PermissionDenied(_("You cannot edit this dataset."))
    before = audit.snapshot(Refresh.objects.get(pk=refresh.pk)) if refresh.pk else {}
    refresh.full_clean()
    with transaction.atomic():
        refresh.save()
        audit.record_saved(
            actor=actor, obj=refresh, before=before, department_id=dataset.department_id
        )
    return refresh


REPEATED_OPTIONS = (
    "sheet",
    "header_rows",
    "body_start",
    "section_mode",
    "standard",
    "mapping",
    "types",
    "drop_columns",
    "privacy_confirmed",
)


def run_refresh(refresh: Refresh, *, now: datetime.datetime | None = None) -> str:
    """Pull the source once; convert and publish when its content changed. Returns what happened.

    The staff choices of the template run (sheet, header, mapping ...) repeat. A new file
    is published only when it converted without errors or personal data to confirm, and
    has the published table's columns; otherwise it waits for staff, and `last_result`
    says why for as long as that file stays the source's.
    """
    now = now or timezone.now()
    with tempfile.TemporaryDirectory(prefix="machi-refresh-") as folder:
        try:
            path = fetch_source(refresh, Path(folder))
        except OSError as error:
            return _refreshed(
                refresh, now, _("Could not get the file: %(error)s") % {"error": _reason(error)}
            )
        digest = _sha256(path)
        if digest == (refresh.last_sha256 or _published_sha256(refresh)):
            return _refreshed(refresh, now, _unchanged(refresh), digest)
        # Claim the file: a second check of the same source meanwhile (the schedule and
        # staff's "check now", or two clicks) finds it taken instead of publishing it twice.
        claimed = Refresh.objects.filter(pk=refresh.pk, last_sha256=refresh.last_sha256).update(
            last_sha256=digest
        )
        if not claimed:
            return _("Another check of this source is already publishing its new file.")
        try:
            return _publish_new(refresh, path, digest, now)
        except BaseException:
            _release(refresh, digest)  # checked again next time
            raise


def _publish_new(refresh: Refresh, path: Path, digest: str, now: datetime.datetime) -> str:
    template = refresh.template.options if refresh.template else {}
    options = {k: template[k] for k in REPEATED_OPTIONS if k in template}
    try:
        with path.open("rb") as stream:
            run = start_run(
                actor=refresh.actor,
                dataset=refresh.resource.dataset,
                upload=File(stream, name=path.name),
                resource=refresh.resource,
                options=options,
            )
    except PermissionDenied:
        _release(refresh, digest)  # to be said again until someone may publish it
        return _refreshed(
            refresh,
            now,
            _("%(user)s may no longer publish this dataset: choose who publishes.")
            % {"user": refresh.actor.get_username()},
        )
    run = convert_run(run)
    held = _held_because(refresh, run)
    if held:
        return _refreshed(
            refresh, now, _("New file not published: %(why)s") % {"why": held}, digest, run
        )
    try:
        version = publish_run(actor=refresh.actor, run=run)
    except Exception as error:  # noqa: BLE001 - the reason goes to the staff page
        return _refreshed(
            refresh, now, _("Publishing failed: %(error)s") % {"error": error}, digest, run
        )
    result = _("Published version %(n)d.") % {"n": version.number}
    return _refreshed(refresh, now, result, digest, run)


def _release(refresh: Refresh, digest: str) -> None:
    """Give back a claimed file that was not converted, so that a later check tries it."""
    Refresh.objects.filter(pk=refresh.pk, last_sha256=digest).update(
        last_sha256=refresh.last_sha256
    )


def _held_because(refresh: Refresh, run: Run) -> str:
    """Why a new file waits for staff instead of being published ("" when it need not)."""
    if run.status != RunStatus.REVIEW or run.error_count:
        errors = max(run.error_count, 1)
        return ngettext(
            "%(errors)d error (see the report).", "%(errors)d errors (see the report).", errors
        ) % {"errors": errors}
    findings = open_findings(run)
    if findings:
        columns = "、".join(sorted({f["column"] for f in findings}))
        return _("possible personal data in %(columns)s to confirm (see the report).") % {
            "columns": columns
        }
    published = _published_columns(refresh)
    columns = [f["name"] for f in (run.schema or {}).get("fields", [])]
    if published is not None and columns != published:
        # Another export, or the wrong file in the folder: a person should look first.
        return _(
            "its columns differ from the published table's (added: %(added)s; missing: "
            "%(missing)s). Publish it on the site if it is right."
        ) % {
            "added": "、".join(c for c in columns if c not in published) or "-",
            "missing": "、".join(c for c in published if c not in columns) or "-",
        }
    warnings = replacement(run).warnings
    if warnings:  # a part of the table, or another municipality's file
        return " ".join([*warnings, _("Publish it on the site if it is right.")])
    return ""


def _unchanged(refresh: Refresh) -> str:
    """Unchanged, and still not published when the last new file was held."""
    held = refresh.last_run
    if held is not None and held.status != RunStatus.PUBLISHED:
        return _("Unchanged; the file is still not published (see its report).")
    return _("Unchanged.")


def _published_run(refresh: Refresh) -> Run | None:
    current = refresh.resource.current
    return getattr(current, "run", None) if current is not None else None


def _published_sha256(refresh: Refresh) -> str:
    """The SHA-256 of the file the served version was made from: a first check of the
    same file is no change."""
    current = refresh.resource.current
    run = _published_run(refresh)
    if run is None or not run.original:
        return current.sha256 if current is not None else ""
    with run.original.open("rb") as stream:
        return _digest(stream)


def _published_columns(refresh: Refresh) -> list[str] | None:
    run = _published_run(refresh)
    if run is None or not run.schema:
        return None
    return [f["name"] for f in run.schema.get("fields", [])]


def _reason(error: OSError) -> str:
    """Why a source could not be read, in the staff's language."""
    if isinstance(error, urllib.error.HTTPError):
        return _("the server answered HTTP %(code)d") % {"code": error.code}
    if isinstance(error, urllib.error.URLError):
        return _("the server could not be reached (%(reason)s)") % {"reason": error.reason}
    if isinstance(error, FileNotFoundError):
        return _("%(path)s does not exist") % {"path": error.filename}
    return str(error)


def request_check(*, actor: User, refresh: Refresh) -> None:
    """Check the source now, in the background (staff dropped a new file and want it out)."""
    dataset = refresh.resource.dataset
    if not permissions.can_edit_dataset(actor, dataset):
        raise PermissionDenied(_("You cannot edit this dataset."))
    with transaction.atomic():
        audit.record(
            actor=actor,
            action="update",
            obj=refresh,
            changes={"check_requested": [None, True]},
            department_id=dataset.department_id,
        )
        tasks.queue_refresh(refresh)


def record_failure(refresh: Refresh) -> str:
    """A check that stopped unexpectedly: said on the staff page, retried when next due."""
    return _refreshed(
        refresh,
        timezone.now(),
        _("The check stopped unexpectedly; the administrators have the details in the log."),
    )


def _refreshed(
    refresh: Refresh,
    now: datetime.datetime,
    result: str,
    digest: str = "",
    run: Run | None = None,
) -> str:
    fields: dict[str, object] = {"last_checked": now, "last_result": result[:500]}
    if digest:
        fields["last_sha256"] = digest
    if run is not None:
        fields["last_run"] = run
    Refresh.objects.filter(pk=refresh.pk).update(**fields)
    return result


def fetch_source(refresh: Refresh, folder: Path) -> Path:
    """The current file of a refresh's source, copied into `folder`."""
    limit = settings.PUBLISH_MAX_FILE_BYTES
    if refresh.folder:
        where = drop_folder(refresh.folder)  # checked again: a link may have changed since
        if where is None:
            raise OSError(
                _("the drop folder %(folder)s is outside %(root)s")
                % {"folder": refresh.folder, "root": settings.PUBLISH_DROP_ROOT}
            )
        candidates = [p for p in where.iterdir() if p.is_file() and not p.name.startswith(".")]
        if not candidates:
            raise OSError(_("the drop folder %(folder)s is empty") % {"folder": refresh.folder})
        newest = max(candidates, key=lambda p: p.stat().st_mtime)
        target = folder / newest.name
        shutil.copyfile(newest, target)
        return target
    name = Path(urllib.parse.urlsplit(refresh.url).path).name or "download.csv"
    target = folder / name
    request = urllib.request.Request(refresh.url, headers={"User-Agent": "machi-refresh"})
    with urllib.request.urlopen(request, timeout=60) as response, target.open("wb") as out:  # noqa: S310 - staff-configured http(s) source
        copied = 0
        for chunk in iter(lambda: response.read(1 << 20), b""):
            copied += len(chunk)
            if copied > limit:
                raise OSError(_("the file is larger than %(mb)d MB") % {"mb": limit >> 20})
            out.write(chunk)
    return target


def _sha256(path: Path) -> str:
    with path.open("rb") as stream:
        return _digest(stream)


def _digest(stream: BinaryIO) -> str:
    digest = hashlib.sha256()
    for chunk in iter(lambda: stream.read(1 << 20), b""):
        digest.update(chunk)
    return digest.hexdigest()


def due_refreshes(now: datetime.datetime | None = None) -> list[Refresh]:
    now = now or timezone.now()
    due = []
    for refresh in Refresh.objects.filter(enabled=True).select_related(
        "resource__dataset", "actor", "template"
    ):
        if (
            refresh.last_checked is None
            or refresh.last_checked + datetime.timedelta(hours=refresh.every_hours) <= now
        ):
            due.append(refresh)
    return due
