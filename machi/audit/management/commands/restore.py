"""machi restore ARCHIVE [--yes]: put a backup's databases and files back."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _

from machi.audit.backup import BackupError
from machi.audit.restore import restore_backup


class Command(BaseCommand):
    help = (
        "Restore a backup made by `machi backup`: checks the archive whole, then replaces "
        "the databases and files (stop the site first; docs/operations.md)."
    )
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("archive", type=Path)
        parser.add_argument(
            "--yes", action="store_true", help="Replace a site that already holds data."
        )

    def handle(self, *args: Any, **opts: Any) -> None:
        try:
            result = restore_backup(
                archive=opts["archive"], replace=opts["yes"], say=self.stdout.write
            )
        except BackupError as error:
            raise CommandError(_("Nothing restored: %(error)s") % {"error": error}) from None
        manifest = result.manifest
        self.stdout.write(
            self.style.SUCCESS(
                _("Restored %(archive)s (made %(created)s by machi %(version)s).")
                % {
                    "archive": opts["archive"],
                    "created": manifest.get("created", "?"),
                    "version": manifest.get("machi_version", "?"),
                }
            )
        )
        self.stdout.write(
            _(
                "Datasets: %(datasets)s, resources: %(resources)s, tables: %(tables)s, "
                "files: %(files)s"
            )
            % {
                key: manifest.get("counts", {}).get(key, "?")
                for key in ("datasets", "resources", "tables", "files")
            }
        )
        if not result.files_restored:
            self.stdout.write(
                self.style.WARNING(
                    _(
                        "Files were not restored: they are not in this backup or storage is "
                        "not local (S3); restore them with that storage's own tools."
                    )
                )
            )
        if result.needs_migrate:
            self.stdout.write(
                _(
                    "The backup is from an older machi: running machi migrate to bring it "
                    "up to date."
                )
            )
            call_command("migrate", interactive=False, verbosity=0)
