"""machi ingest FILE --dataset NAME: convert a staff file and publish it, with a report."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files import File
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db.models import Q
from django.urls import reverse

from machi.accounts.models import Department
from machi.catalog import services as catalog
from machi.catalog.demo import ADMIN_USERNAME
from machi.catalog.models import Dataset
from machi.datastore.errors import LoadError
from machi.publish import reports, services
from machi.publish.models import Run, RunStatus


class Command(BaseCommand):
    help = (
        "Convert an Excel or CSV file to clean, standard open data and publish it as a "
        "new version of a dataset's resource. Exits non-zero when nothing was published "
        "(with --dry-run: when it would not be published as it is)."
    )
    # No system checks: importing every view, admin and API schema to check them held
    # 34 MB for the whole run, shared with the conversion workers (`machi check` runs them).
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", type=Path)
        parser.add_argument("--dataset", required=True, help="URL name of the dataset.")
        parser.add_argument(
            "--department", help="Department (ID or name) of a dataset that is created."
        )
        parser.add_argument("--title", help="Title of a dataset that is created.")
        parser.add_argument("--resource", help="Name of the resource to replace or create.")
        parser.add_argument(
            "--standard", help="Standard dataset slug (e.g. aed); 'none' for no standard."
        )
        parser.add_argument("--sheet", help="Sheet number (1 = first) or name.")
        parser.add_argument("--header-rows", help="Header row numbers, e.g. 3 or 3,4.")
        parser.add_argument("--sections", choices=["column", "drop"], default="column")
        parser.add_argument("--user", default=ADMIN_USERNAME, help="Staff account acting.")
        parser.add_argument(
            "--confirm-public",
            action="append",
            default=[],
            metavar="COLUMN",
            help="A column flagged as personal data that is public on purpose.",
        )
        parser.add_argument(
            "--drop-column", action="append", default=[], metavar="COLUMN", help="Leave out."
        )
        parser.add_argument("--override", default="", help="Reason to publish despite errors.")
        parser.add_argument("--dry-run", action="store_true", help="Convert and report only.")

    def handle(self, *args: Any, **opts: Any) -> None:
        path: Path = opts["file"]
        if not path.is_file():
            raise CommandError(f"{path}: ファイルがありません。 (no such file)")
        actor = self._actor(opts["user"])
        dataset, created = self._dataset(actor, opts, path)
        resource = None
        if opts["resource"]:
            resource = dataset.resources.filter(name=opts["resource"]).first()
        else:
            resource = services.only_table(dataset)
        options = self._options(path, opts)
        awaiting = created or _awaits_its_first_table(dataset)
        if awaiting:
            options[_PUBLIC_WHEN_PUBLISHED] = True
        try:
            with path.open("rb") as stream:
                run = services.start_run(
                    actor=actor,
                    dataset=dataset,
                    upload=File(stream, name=path.name),
                    resource=resource,
                    resource_name=opts["resource"] or "",
                    options=options,
                )
        except (ValidationError, PermissionDenied) as error:
            self._forget(dataset, created)
            raise CommandError(
                f"公開しませんでした (nothing published): {_message(error)}"
            ) from None
        run = services.convert_run(run, progress=self._progress)
        self._end_progress()
        self.stdout.write(reports.as_text(run))
        if run.status != RunStatus.REVIEW:
            self._forget(dataset, created)
            raise CommandError("公開しませんでした: ファイルを読めません。 (nothing published)")
        unknown = _unknown_columns(run, opts["drop_column"] + opts["confirm_public"])
        if unknown:
            # A misspelt --drop-column would publish the very column meant to stay out.
            raise CommandError(
                f"公開しませんでした: 列 {'、'.join(unknown)} はファイルにありません。"
                f"列: {'、'.join(_source_columns(run))} "
                f"(nothing published: no such column)"
            )
        # The run waits for review on the site: staff can fix the guesses there and publish.
        page = settings.SITE_URL + reverse("publish:run", args=[run.uid])
        if opts["dry_run"]:
            self.stdout.write(
                f"--dry-run: 公開していません。確認して公開するには: {page} "
                "(not published; review and publish it there)"
            )
            try:  # a script wants to know: would it be published as it is?
                services.check_publishable(actor, run, opts["override"].strip())
            except (services.PublishError, PermissionDenied) as error:
                raise CommandError(
                    f"このままでは公開できません (it would not be published as it is): "
                    f"{_message(error)}"
                ) from None
            return
        try:
            version = services.publish_run(actor=actor, run=run, override_reason=opts["override"])
        except (services.PublishError, PermissionDenied, LoadError, ValidationError) as error:
            raise CommandError(
                f"公開しませんでした (nothing published): {_message(error)}\n"
                f"直して公開するには (fix and publish it at): {page}"
            ) from None
        if awaiting:  # made public with its first table, not before
            dataset.refresh_from_db()  # publishing set its standard
            catalog.update_dataset(actor=actor, dataset=dataset, is_public=True)
        self.stdout.write(
            self.style.SUCCESS(
                f"公開しました (published): {dataset.name} / {version.resource.name} "
                f"v{version.number}, {run.row_count:,} 行 (rows)"
            )
        )
        if not version.table.search_ready:
            self.stdout.write(
                "全文検索の索引はバックグラウンドで作成します (machi worker)。 "
                "(the full-text index is being written by the task worker)"
            )

    def _actor(self, username: str) -> Any:
        user = get_user_model().objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"利用者 {username} がいません。 (no such user)")
        return user

    def _dataset(self, actor: Any, opts: dict[str, Any], path: Path) -> tuple[Dataset, bool]:
        """The dataset, and whether it was created now: then it stays private until its
        table is published, so a failed run leaves no empty dataset on the site."""
        dataset = Dataset.objects.filter(name=opts["dataset"]).first()
        if dataset is not None:
            return dataset, False
        department = self._department(opts["department"])
        try:
            dataset = catalog.create_dataset(
                actor=actor,
                department=department,
                name=opts["dataset"],
                title=opts["title"] or path.stem,
                is_public=False,
            )
            self.stdout.write(
                f"データセット {dataset.name} を作りました（公開するまで非公開）。 "
                "(dataset created, private until published)"
            )
            return dataset, True
        except (ValidationError, PermissionDenied) as error:
            raise CommandError(
                f"データセットを作れません (cannot create the dataset): {_message(error)}"
            ) from None

    def _forget(self, dataset: Dataset, created: bool) -> None:
        """A dataset this command made for a file that gave nothing to review goes again:
        it would stay behind empty (a --dry-run's stays, with the run staff continue)."""
        if created:
            dataset.delete()
            self.stdout.write(
                f"データセット {dataset.name} は作りませんでした。 (dataset not created)"
            )

    def _department(self, name: str | None) -> Department:
        if not name:
            raise CommandError(
                "データセットがないので --department で部署を指定してください。 "
                "(the dataset does not exist: give --department)"
            )
        by_name = Q(slug=name) | Q(name=name) | Q(name_en__iexact=name)
        if name.isdigit():
            by_name |= Q(pk=int(name))
        found = list(Department.objects.filter(by_name)[:2])
        if not found:  # a section's short name: 子育て支援課 for 子ども家庭部 子育て支援課
            found = list(Department.objects.filter(name__endswith=f" {name}")[:2])
        if len(found) == 1:
            return found[0]
        known = "、".join(f"{d.slug} ({d.name})" for d in Department.objects.order_by("slug"))
        problem = "がありません" if not found else "が複数あります"
        raise CommandError(f"部署 {name} {problem}。部署: {known} (no such department)")

    def _options(self, path: Path, opts: dict[str, Any]) -> dict[str, Any]:
        options: dict[str, Any] = {"section_mode": opts["sections"]}
        if opts["standard"]:
            options["standard"] = "" if opts["standard"] == "none" else opts["standard"]
        if opts["sheet"]:
            options["sheet"] = self._sheet(path, opts["sheet"])
        if opts["header_rows"]:
            try:
                options["header_rows"] = [int(n) for n in opts["header_rows"].split(",")]
            except ValueError:
                raise CommandError(
                    "--header-rows は 3 や 3,4 のように行番号で。 (row numbers)"
                ) from None
        if opts["confirm_public"]:
            options["privacy_confirmed"] = opts["confirm_public"]
        if opts["drop_column"]:
            options["drop_columns"] = opts["drop_column"]
        return options

    def _sheet(self, path: Path, sheet: str) -> int:
        if sheet.isdigit():
            return int(sheet) - 1
        from machi.publish import reading

        with reading.open_source(path) as source:
            for info in source.sheets:
                if info.name == sheet:
                    return info.index
            names = ", ".join(info.name for info in source.sheets)
        raise CommandError(f"シート {sheet} がありません (no such sheet): {names}")

    def _progress(self, stage: str, fraction: float) -> None:
        if not sys.stderr.isatty():
            return
        width = 30
        filled = int(width * fraction)
        sys.stderr.write(
            f"\r[{'#' * filled}{'.' * (width - filled)}] {fraction:4.0%} {stage[:40]:<40}"
        )
        sys.stderr.flush()

    def _end_progress(self) -> None:
        if sys.stderr.isatty():
            sys.stderr.write("\n")


def _source_columns(run: Run) -> list[str]:
    return list((run.report or {}).get("source_columns", []))


def _unknown_columns(run: Run, names: list[str]) -> list[str]:
    """Names given for --drop-column or --confirm-public that are no column of the file
    (nor of the converted table, which a standard may have renamed)."""
    known = set(_source_columns(run)) | {c["name"] for c in (run.report or {}).get("columns", [])}
    return [name for name in names if name not in known]


def _message(error: Exception) -> str:
    if isinstance(error, ValidationError):
        return "; ".join(error.messages)
    return str(error)


# A run's option: its dataset, which this command made, goes public with the table. Runs
# keep it, so a later run (after staff mended what stopped the first) knows it too.
_PUBLIC_WHEN_PUBLISHED = "public_when_published"


def _awaits_its_first_table(dataset: Dataset) -> bool:
    """Whether this command made `dataset` and none of its tables has been published: a
    dataset made private on purpose, or published once and hidden since, stays so."""
    if dataset.is_public:
        return False
    runs = Run.objects.filter(dataset=dataset)
    return (
        runs.filter(**{f"options__{_PUBLIC_WHEN_PUBLISHED}": True}).exists()
        and not runs.filter(status=RunStatus.PUBLISHED).exists()
    )
