"""Every write of the publish pipeline: upload, convert, publish, roll back.

A run is a draft: converting it writes only its own files and report. Publishing
adds a version that is not yet current, loads its table, and only then makes it
the resource's current version (catalog.services.make_current), so residents and
the API see the old version until the new one is complete.
"""

from __future__ import annotations

import datetime
import json
import logging
import shutil
import tempfile
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files import File
from django.core.files.uploadedfile import UploadedFile
from django.db import DatabaseError, connection, transaction
from django.db.models import F, Q
from django.utils import timezone, translation
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from machi.accounts.models import Role
from machi.accounts.permissions import has_role
from machi.audit import services as audit
from machi.catalog import permissions
from machi.catalog import services as catalog
from machi.catalog.models import Dataset, Resource, ResourceVersion
from machi.datastore import services as datastore
from machi.datastore import tasks as datastore_tasks
from machi.datastore.models import Table
from machi.lib import files
from machi.publish import pipeline, standards
from machi.publish.models import Run, RunStatus

# Larger tables are public as soon as their rows are in; the full-text index follows.
SEARCH_LATER_ROWS = 50_000
# A converting or publishing run shows it is alive this often; one silent for
# STOPPED_AFTER lost its worker (killed, restarted, out of memory).
HEARTBEAT = datetime.timedelta(seconds=15)
STOPPED_AFTER = datetime.timedelta(minutes=2)

logger = logging.getLogger(__name__)


class PublishError(Exception):
    """A run cannot be published as it is; the message says why and what to do, and
    `field` names the form field to correct, when there is one."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


def can_override(user: User, dataset: Dataset) -> bool:
    """Department admins (and site admins) may publish a version that still has errors."""
    return has_role(user, dataset.department, Role.ADMIN)


@transaction.atomic
def start_run(
    *,
    actor: User,
    dataset: Dataset,
    upload: UploadedFile | File,
    resource: Resource | None = None,
    resource_name: str = "",
    options: dict[str, Any] | None = None,
) -> Run:
    """Keep the uploaded file as a new draft run; the caller queues its conversion."""
    if not permissions.can_edit_dataset(actor, dataset):
        raise PermissionDenied(_("You cannot edit this dataset."))
    if resource is not None and resource.dataset_id != dataset.pk:
        raise ValidationError({"resource": _("This resource belongs to another dataset.")})
    _check_replaces_a_table(resource)
    name = Path(upload.name or "upload").name
    # The report is written in the language of whoever uploaded (the worker has none).
    language = get_language() or settings.LANGUAGE_CODE
    run = Run(
        dataset=dataset,
        resource=resource,
        resource_name=resource_name
        or (resource.name if resource else _new_table_name(dataset, name)),
        filename=name,
        options={**(options or {}), "language": language},
        created_by=actor,
    )
    _check_options(run.options)
    run.original.save(name, upload, save=False)
    run.save()
    audit.record(
        actor=actor,
        action="create",
        obj=run,
        department_id=dataset.department_id,
        changes={"file": [None, name]},
    )
    return run


# What a published table may replace: a table, or a file of rows such as staff uploaded
# before the pipeline. Not a PDF map or a web page, which residents would lose.
_TABLE_FORMATS = frozenset({"CSV", "TSV", "TXT", "XLS", "XLSX", "XLSM", "ODS", "JSON"})


def _check_replaces_a_table(resource: Resource | None) -> None:
    current = resource.current if resource is not None else None
    if current is None or (current.format or "").upper() in _TABLE_FORMATS:
        return
    raise ValidationError(
        {
            "resource_name": _(
                "“%(name)s” is a %(format)s file: a table published under its name would "
                "replace it, and residents would lose it. Give the table another name."
            )
            % {"name": resource.name, "format": current.format or _("link")}
        }
    )


def set_options(*, actor: User, run: Run, options: dict[str, Any]) -> Run:
    """Staff corrected a guess (sheet, header, mapping ...): the run converts again."""
    if not permissions.can_edit_dataset(actor, run.dataset):
        raise PermissionDenied(_("You cannot edit this dataset."))
    if run.status in {RunStatus.PUBLISHING, RunStatus.PUBLISHED}:
        raise PublishError(_("This version is already published; upload the file again."))
    merged = {**run.options, **options}
    _check_options(merged)
    with transaction.atomic():
        Run.objects.filter(pk=run.pk).update(
            options=merged, status=RunStatus.QUEUED, progress=0.0, stage=""
        )
        audit.record(
            actor=actor,
            action="update",
            obj=run,
            department_id=run.dataset.department_id,
            changes={"options": [run.options, merged]},
        )
    run.refresh_from_db()
    return run


def confirm_public(*, actor: User, run: Run, columns: list[str]) -> None:
    """Staff confirm that columns flagged as personal data are public on purpose (audited)."""
    if not permissions.can_edit_dataset(actor, run.dataset):
        raise PermissionDenied(_("You cannot edit this dataset."))
    before = run.options.get("privacy_confirmed", [])
    if sorted(before) == sorted(columns):
        return
    with transaction.atomic():
        run.options = {**run.options, "privacy_confirmed": columns}
        run.save(update_fields=["options"])
        audit.record(
            actor=actor,
            action="update",
            obj=run,
            department_id=run.dataset.department_id,
            changes={"privacy_confirmed": [before, columns]},
        )


def _check_options(options: dict[str, Any]) -> None:
    try:
        parsed = pipeline.Options.from_json(options)
        if parsed.sheet is not None:
            parsed.sheet = int(parsed.sheet)
    except TypeError as error:
        raise ValidationError(_("Unknown option: %(error)s") % {"error": error}) from None
    if parsed.standard:
        try:
            standards.get(parsed.standard)
        except KeyError:
            raise ValidationError(
                _("There is no standard dataset called “%(name)s”. Known: %(known)s.")
                % {
                    "name": parsed.standard,
                    "known": ", ".join(s.slug for s in standards.all_standards()),
                }
            ) from None
    if parsed.section_mode not in {"column", "drop"}:
        raise ValidationError(_("Section rows are either kept as a column or dropped."))
    rows = sorted(parsed.header_rows or [])
    if parsed.header_rows is not None and (
        not rows or rows[0] < 1 or rows != list(range(rows[0], rows[-1] + 1))
    ):
        # Rows 4 and 6 would take the data row between them into the column names.
        raise ValidationError(
            _("A header over several rows is rows next to each other, such as 3,4.")
        )


def convert_run(run: Run, progress: Callable[[str, float], None] | None = None) -> Run:
    """Convert a queued run (the task body): its clean CSV, schema and report."""

    def report_progress(stage: str, fraction: float) -> None:
        Run.objects.filter(pk=run.pk).update(stage=stage[:100], progress=round(fraction, 3))
        if progress is not None:
            progress(stage, fraction)

    Run.objects.filter(pk=run.pk).update(
        status=RunStatus.RUNNING, stage="", progress=0.0, heartbeat=timezone.now()
    )
    options = pipeline.Options.from_json(run.options)
    with _working(run), tempfile.TemporaryDirectory(prefix="machi-publish-") as folder:
        original = _local_copy(run, Path(folder))
        output = Path(folder) / "converted.csv"
        try:
            with translation.override(run.options.get("language") or settings.LANGUAGE_CODE):
                result = pipeline.convert(original, run.filename, output, options, report_progress)
        except Exception as error:
            Run.objects.filter(pk=run.pk).update(
                status=RunStatus.FAILED,
                finished=timezone.now(),
                error_count=1,
                report={
                    "problems": [
                        {
                            "code": "internal",
                            "message": _("The conversion stopped unexpectedly: %(error)s")
                            % {"error": error},
                        }
                    ]
                },
            )
            raise
        run.refresh_from_db()
        if run.output:
            run.output.delete(save=False)
        if result.readable:
            with output.open("rb") as stream:
                run.output.save(Path(run.filename).stem + ".csv", File(stream), save=False)
    if "sheet" not in run.options and "sheet" in result.report.get("file", {}):
        # The sheet the pipeline found holds the table: staff's corrections start there.
        run.options = {**run.options, "sheet": result.report["file"]["sheet"]}
    run.report = result.report
    run.schema = result.schema
    run.row_count = result.row_count
    run.error_count = result.error_count
    run.warning_count = result.warning_count
    run.status = RunStatus.REVIEW if result.readable else RunStatus.FAILED
    run.stage = ""
    run.progress = 1.0
    run.finished = timezone.now()
    run.save()
    return run


def _local_copy(run: Run, folder: Path) -> Path:
    """The original as a local file (storage may be remote; readers need a path)."""
    target = folder / ("original" + Path(run.filename).suffix.lower())
    with run.original.open("rb") as source, target.open("wb") as copy:
        shutil.copyfileobj(source, copy, 1 << 20)
    return target


def _new_table_name(dataset: Dataset, filename: str) -> str:
    """A new table's name when staff gave none: the dataset's title for its first table
    (residents read it; a staff file's name may carry a person's name or a working note),
    else the file's name, the one thing that tells it from the others."""
    if dataset.resources.filter(current__table__isnull=False).exists():
        return Path(filename).stem
    return dataset.title


def only_table(dataset: Dataset) -> Resource | None:
    """The resource an upload without a resource name replaces: the dataset's one table
    (its PDFs and links are not tables), or none when it has several or none."""
    tables = list(dataset.resources.filter(current__table__isnull=False)[:2])
    return tables[0] if len(tables) == 1 else None


@dataclass(frozen=True)
class Replacement:
    """What publishing a run would replace, and what in it deserves a second look."""

    served: ResourceVersion | None  # the version residents get now
    served_rows: int | None
    warnings: list[str]


# A new version with fewer than this share of the served rows is probably part of the
# file, or another one: a person should look before residents get it.
SHRINK_WARNING = 0.5
SHRINK_MIN_ROWS = 10  # small tables change by a few rows without meaning anything


def replacement(run: Run) -> Replacement:
    """The version a run would replace, with warnings: far fewer rows than are served, or
    the local government code of another municipality (a file from elsewhere)."""
    served = run.resource.current if run.resource is not None else None
    table = getattr(served, "table", None) if served is not None else None
    rows = table.row_count if table is not None else None
    warnings = []
    if rows and rows >= SHRINK_MIN_ROWS and run.row_count < rows * SHRINK_WARNING:
        warnings.append(
            _(
                "Version %(n)d, served now, has %(served)s rows; this file has %(rows)s. "
                "Check that it is the whole table."
            )
            % {"n": served.number, "served": f"{rows:,}", "rows": f"{run.row_count:,}"}
        )
    if table is not None:
        # Columns with data on both sides: a standard's columns are there, empty or not.
        before = [c.name for c in table.column_list if not c.empty]
        after = {c["name"] for c in (run.report or {}).get("columns", []) if c.get("source")}
        shared = sum(name in after for name in before)
        if before and shared * 2 < len(before):  # another table under this one's name
            message = (
                _(
                    "Only %(shared)d of the %(columns)d columns served now are in this "
                    "file. If it is another table, upload it under a new resource name."
                )
                if shared
                else _(
                    "None of the %(columns)d columns served now is in this file. If it is "
                    "another table, upload it under a new resource name."
                )
            )
            warnings.append(message % {"shared": shared, "columns": len(before)})
    foreign = _foreign_codes(run)
    if foreign:
        warnings.append(
            _(
                "The local government code in this file is %(codes)s, not this "
                "municipality's (%(own)s). Check that it is the right file."
            )
            % {"codes": _(", ").join(foreign), "own": settings.MACHI_MUNICIPALITY_CODE}
        )
    return Replacement(served=served, served_rows=rows, warnings=warnings)


def _foreign_codes(run: Run) -> list[str]:
    """Codes of other municipalities in the first rows' publisher code column (the
    standard's first `lg-code` field), as the report previews them."""
    slug = (run.schema or {}).get("x-standard")
    try:
        standard = standards.get(slug) if slug else None
    except KeyError:
        return []
    if standard is None:
        return []
    fields = [f["name"] for f in standard.schema["fields"] if f.get("check") == "lg-code"]
    preview = (run.report or {}).get("preview") or []
    if not fields or not preview or fields[0] not in preview[0]:
        return []
    column = preview[0].index(fields[0])
    own = settings.MACHI_MUNICIPALITY_CODE
    codes = {row[column] for row in preview[1:] if len(row) > column and row[column]}
    # The prefecture's code (13 for 東京都, 130001) is not another municipality's.
    return sorted(
        c for c in codes if c != own and c[:5] != own[:5] and len(c) >= 5 and c[2:5] != "000"
    )


def open_findings(run: Run) -> list[dict[str, Any]]:
    """Personal-data findings staff have neither confirmed nor removed."""
    confirmed = set(run.options.get("privacy_confirmed", []))
    dropped = set(run.options.get("drop_columns", []))
    return [
        f
        for f in run.report.get("privacy", [])
        if f["column"] not in confirmed and f["column"] not in dropped
    ]


def publish_run(*, actor: User, run: Run, override_reason: str = "") -> ResourceVersion:
    """Publish now, in this process (CLI, scripts); the site queues `complete_publication`."""
    run = request_publication(actor=actor, run=run, override_reason=override_reason)
    return complete_publication(run)


def request_publication(*, actor: User, run: Run, override_reason: str = "") -> Run:
    """Check that the run may be published and claim it; loading follows in the background."""
    if not permissions.can_edit_dataset(actor, run.dataset):
        raise PermissionDenied(_("You cannot edit this dataset."))
    reason = override_reason.strip()
    check_publishable(actor, run, reason)
    claimed = Run.objects.filter(pk=run.pk, status=RunStatus.REVIEW).update(
        status=RunStatus.PUBLISHING,
        stage=_("Loading the table"),
        progress=0.0,
        published_by=actor,
        override_reason=reason if run.error_count else "",
        heartbeat=None,  # its conversion's is old: none until a worker starts loading it
    )
    if not claimed:
        raise PublishError(_("This version is already being published."))
    run.refresh_from_db()
    return run


def complete_publication(run: Run) -> ResourceVersion:
    """Load the run's clean table as a new version and switch to it when it is complete.

    On failure the run returns to review with the reason in its report, and the
    resource keeps serving what it served before.
    """
    actor = run.published_by
    dataset = run.dataset
    version = None
    try:
        with _working(run):
            with run.output.open("rb") as stream:
                upload = File(stream, name=published_name(run))
                version = catalog.add_draft_version(
                    actor=actor,
                    dataset=dataset,
                    upload=upload,
                    resource=run.resource,
                    name=run.resource_name,
                )
            # Kept so that a publication whose worker stops can be undone (recover).
            run.report[_DRAFT] = version.pk
            Run.objects.filter(pk=run.pk).update(report=run.report)
            _load(actor, run, version)
    except Exception as error:
        if version is not None:
            _discard_draft(run, version)
        run.report.pop(_DRAFT, None)
        report = {**run.report, "publish_error": str(error)}
        Run.objects.filter(pk=run.pk).update(
            status=RunStatus.REVIEW, stage="", progress=1.0, report=report
        )
        raise
    run.report.pop(_DRAFT, None)
    with transaction.atomic():
        catalog.make_current(actor=actor, version=version)
        datastore.point_view(version.resource)
        run.version = version
        run.resource = version.resource
        run.status = RunStatus.PUBLISHED
        run.stage = ""
        run.progress = 1.0
        run.report.pop("publish_error", None)
        run.save()
        _sync_standard(actor, dataset)  # reads the run of the version now served
        table = Table.objects.filter(version=version).first()
        if table is not None and not table.search_ready:
            transaction.on_commit(lambda: datastore_tasks.build_search.enqueue(table.pk))
        audit.record(
            actor=actor,
            action="publish",
            obj=run,
            department_id=dataset.department_id,
            changes={
                "version": [None, version.number],
                "rows": [None, run.row_count],
                "errors": [None, run.error_count],
                **({"override_reason": [None, run.override_reason]} if run.error_count else {}),
            },
        )
    return version


_DRAFT = "draft_version"  # the run's report while publishing: the version being loaded


def published_name(run: Run) -> str:
    """The name residents download the clean table by: the national standards' own
    (<municipality code>_<name>.csv, as their format files are named: xxxxxx_aed.csv) for
    a table that follows one, else the table's (resource's) name. Never the staff file's,
    which may carry a person's name or a working note (施設一覧_最終_田中.xlsx)."""
    slug = (run.schema or {}).get("x-standard")
    try:
        stem = standards.get(slug).file_stem if slug else ""
    except KeyError:  # a standard machi no longer has
        stem = ""
    if stem:
        if "yyyymmdd" in stem:
            day = _data_date(run, standards.get(slug)) or timezone.localdate().isoformat()
            stem = stem.replace("yyyymmdd", day.replace("-", ""))
        stem = f"{settings.MACHI_MUNICIPALITY_CODE}_{stem}"
    else:
        stem = files.safe_stem(run.resource_name, run.dataset.name)
    # Another table of the dataset served under the name gets it; this one a number.
    taken = set(
        ResourceVersion.objects.filter(resource__dataset=run.dataset, resource__current=F("pk"))
        .exclude(resource_id=run.resource_id)
        .values_list("filename", flat=True)
    )
    name, n = f"{stem}.csv", 1
    while name in taken:
        n += 1
        name = f"{stem}_{n}.csv"
    return name


def _data_date(run: Run, standard: standards.Standard) -> str | None:
    """The day a dated standard's table describes (地域・年齢別人口: its latest 調査年月日),
    from the clean CSV: a republication of the same figures keeps its name."""
    fields = [f["name"] for f in standard.schema["fields"] if f.get("type") == "date"]
    if not fields or not run.output:
        return None
    header, rows, stream = pipeline.read_output(Path(run.output.path))
    with stream:
        if fields[0] not in header:
            return None
        column = header.index(fields[0])
        days = [row[column] for row in rows if len(row) > column]
    # ISO dates sort as text; a cell left as written (over errors) is not one.
    return max((d for d in days if len(d) == 10 and d[4] == "-"), default=None)


def _discard_draft(run: Run, version: ResourceVersion) -> None:
    """Remove the version a failed publication added (and the resource it added)."""
    if run.resource_id is None:
        catalog.drop_draft_resource(actor=run.published_by, resource=version.resource)
    else:
        version.delete()


@contextmanager
def _working(run: Run) -> Iterator[None]:
    """Write the run's heartbeat now and every HEARTBEAT while the block runs."""
    stop = threading.Event()

    def beat() -> None:
        try:
            while not stop.wait(HEARTBEAT.total_seconds()):
                try:
                    Run.objects.filter(pk=run.pk).update(heartbeat=timezone.now())
                except DatabaseError:  # a busy database: the next beat tries again
                    logger.warning("run %s: heartbeat not written", run.pk, exc_info=True)
        finally:
            connection.close()  # this thread's own connection

    Run.objects.filter(pk=run.pk).update(heartbeat=timezone.now())
    beating = threading.Thread(target=beat, name=f"run {run.pk} heartbeat", daemon=True)
    beating.start()
    try:
        yield
    finally:
        stop.set()
        beating.join()


def recover_stopped_runs(now: datetime.datetime | None = None) -> int:
    """Runs whose worker stopped midway (no heartbeat for STOPPED_AFTER): a conversion
    fails with the reason, to be converted again; a publication returns to review, its
    half-made version removed. Nothing published changed: a load commits only at its
    end. `machi worker` calls this when it starts and the refresh check every ten
    minutes. Returns how many runs it recovered."""
    cutoff = (now or timezone.now()) - STOPPED_AFTER
    # A publication without a heartbeat is still waiting in the queue for a worker.
    stopped = Run.objects.filter(
        Q(status=RunStatus.RUNNING, heartbeat__isnull=True) | Q(heartbeat__lt=cutoff),
        status__in=[RunStatus.RUNNING, RunStatus.PUBLISHING],
    )
    recovered = 0
    for run in stopped:
        with transaction.atomic():
            if run.status == RunStatus.RUNNING:
                message = _(
                    "The conversion stopped midway (%(stage)s): the worker converting it "
                    "stopped. Nothing was published. Convert the file again."
                ) % {"stage": run.stage or _("starting")}
                changed = Run.objects.filter(pk=run.pk, status=RunStatus.RUNNING).update(
                    status=RunStatus.FAILED,
                    finished=timezone.now(),
                    error_count=1,
                    report={"problems": [{"code": "stopped", "message": message}]},
                )
            else:
                report = {k: v for k, v in run.report.items() if k != _DRAFT}
                report["publish_error"] = _(
                    "Publishing stopped midway: the worker loading the table stopped. The "
                    "published version did not change. Publish again."
                )
                changed = Run.objects.filter(pk=run.pk, status=RunStatus.PUBLISHING).update(
                    status=RunStatus.REVIEW, stage="", progress=1.0, report=report
                )
                draft = ResourceVersion.objects.filter(pk=run.report.get(_DRAFT)).first()
                if changed and draft is not None and draft.resource.current_id != draft.pk:
                    _discard_draft(run, draft)
            if changed:
                recovered += 1
                logger.warning("run %s stopped while %s: recovered", run.pk, run.status)
    return recovered


def check_publishable(actor: User, run: Run, reason: str) -> None:
    """PublishError (or PermissionDenied) saying why `actor` may not publish `run` now."""
    if run.status != RunStatus.REVIEW:
        raise PublishError(
            _("Only a converted version can be published (this one is: %(status)s).")
            % {"status": run.get_status_display()}
        )
    if run.row_count == 0:  # not even with a reason: it would empty the table residents use
        raise PublishError(
            _("This version has no data rows. Upload a file with the rows to publish them.")
        )
    if run.error_count:
        if not can_override(actor, run.dataset):
            raise PublishError(
                _(
                    "This version has %(n)d errors. Fix them in the file and upload it again, "
                    "or ask a department administrator to publish it with a reason."
                )
                % {"n": run.error_count}
            )
        if not reason:
            raise PublishError(
                _("This version has %(n)d errors: write why it is published anyway.")
                % {"n": run.error_count},
                field="override_reason",
            )
    pending = open_findings(run)
    if pending:
        raise PublishError(
            _(
                "Columns that look like personal data must be confirmed as public or removed "
                "first: %(columns)s."
            )
            % {"columns": "、".join(sorted({f["column"] for f in pending}))}
        )


def _load(actor: User, run: Run, version: ResourceVersion) -> None:
    schema = load_schema(run)
    header, rows, stream = pipeline.read_output(Path(version.file.path))
    with stream:
        datastore.load_table(
            actor=actor,
            version=version,
            schema=schema,
            rows=rows,
            source=version.filename,
            canonical=True,
            search_later=run.row_count > SEARCH_LATER_ROWS,
        )


def published_schema(run: Run) -> dict[str, Any]:
    """The Table Schema published with a run's file: the standard's, but a column whose
    cells could not all be converted (published over those errors by an administrator)
    is text, as the file holds it, keeping only the standard's `required`."""
    schema = json.loads(json.dumps(run.schema))
    loose = set(run.report.get("loose_columns", []))
    for spec in schema["fields"]:
        if spec["name"] in loose:
            spec["type"] = "string"
            spec.pop("format", None)
            required = spec.pop("constraints", {}).get("required")
            if required:
                spec["constraints"] = {"required": True}
    return schema


def load_schema(run: Run) -> dict[str, Any]:
    """The schema the rows are loaded with: the published one without constraints.

    Constraints are the standard's promise and are reported per cell while converting;
    loading must not refuse a version an administrator chose to publish.
    """
    schema = published_schema(run)
    for spec in schema["fields"]:
        spec.pop("constraints", None)
    return schema


def _sync_standard(actor: User, dataset: Dataset) -> None:
    """The dataset claims the standard its served tables were published following (tags
    harvesters look for included), and stops claiming one none of them follows any more.

    Only tables from this pipeline say which standard they follow: a claim staff made for
    a dataset of plain uploads is left alone.
    """
    runs = [
        getattr(resource.current, "run", None)
        for resource in dataset.resources.filter(current__isnull=False).select_related(
            "current__run"
        )
    ]
    followed = [(run.schema or {}).get("x-standard") for run in runs if run is not None]
    if not followed:
        return
    current = set(dataset.tags.values_list("name", flat=True))
    slug = dataset.standard if dataset.standard in followed else next(filter(None, followed), "")
    wanted = _standard_tags(slug)
    unwanted = _standard_tags(dataset.standard) - wanted if dataset.standard != slug else set()
    if dataset.standard == slug and wanted <= current and not unwanted & current:
        return
    catalog.update_dataset(
        actor=actor, dataset=dataset, standard=slug, tags=sorted((current - unwanted) | wanted)
    )


def _standard_tags(slug: str) -> set[str]:
    try:
        return set(standards.tags_for(standards.get(slug))) if slug else set()
    except KeyError:  # a slug staff typed that machi does not know
        return set()


def rollback(*, actor: User, version: ResourceVersion) -> None:
    """Serve an earlier version again (its table, when it has one, answers the API)."""
    with transaction.atomic():
        catalog.make_current(actor=actor, version=version)
        datastore.point_view(version.resource)
        _sync_standard(actor, version.resource.dataset)
