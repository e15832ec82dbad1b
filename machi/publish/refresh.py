"""Scheduled refresh: a resource pulls its file from a URL or a drop folder and republishes.

This is the routine conversion staff repeat by hand today: the same export, every
month, through the same choices (sheet, header, mapping) as the run it was set up from.
"""

from __future__ import annotations

import datetime
import hashlib
import shutil
import tempfile
import urllib.parse
import urllib.request
from pathlib import Path

from django.conf import settings
from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied
from django.core.files import File
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from machi.audit import services as audit
from machi.catalog import permissions
from machi.publish.models import Refresh, RunStatus, drop_folder
from machi.publish.services import convert_run, open_findings, publish_run, start_run


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

    The staff choices of the template run (sheet, header, mapping ...) repeat; a new file
    with errors is converted but not published, and says so in `last_result`.
    """
    now = now or timezone.now()
    with tempfile.TemporaryDirectory(prefix="machi-refresh-") as folder:
        try:
            path = fetch_source(refresh, Path(folder))
        except OSError as error:
            return _refreshed(
                refresh, now, _("Could not get the file: %(error)s") % {"error": error}
            )
        digest = _sha256(path)
        if digest == refresh.last_sha256:
            return _refreshed(refresh, now, _("Unchanged."))
        template = refresh.template.options if refresh.template else {}
        options = {k: template[k] for k in REPEATED_OPTIONS if k in template}
        with path.open("rb") as stream:
            run = start_run(
                actor=refresh.actor,
                dataset=refresh.resource.dataset,
                upload=File(stream, name=path.name),
                resource=refresh.resource,
                options=options,
            )
    run = convert_run(run)
    if run.status != RunStatus.REVIEW or run.error_count or open_findings(run):
        return _refreshed(
            refresh,
            now,
            _("New file not published: %(errors)d errors (see the report).")
            % {"errors": run.error_count},
            digest,
        )
    try:
        version = publish_run(actor=refresh.actor, run=run)
    except Exception as error:  # noqa: BLE001 - the reason goes to the staff page
        return _refreshed(
            refresh, now, _("Publishing failed: %(error)s") % {"error": error}, digest
        )
    return _refreshed(refresh, now, _("Published version %(n)d.") % {"n": version.number}, digest)


def _refreshed(refresh: Refresh, now: datetime.datetime, result: str, digest: str = "") -> str:
    fields = {"last_checked": now, "last_result": result[:500]}
    if digest:
        fields["last_sha256"] = digest
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
    digest = hashlib.sha256()
    with path.open("rb") as stream:
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
