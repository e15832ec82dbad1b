"""machi backup [--output PATH]: both databases and the files in one archive."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext as _

from machi.audit.backup import BackupError, make_backup


class Command(BaseCommand):
    help = (
        "Write one archive (.tar.gz) with the main database, the datastore, the uploaded "
        "files and a manifest, consistent while the site runs (docs/operations.md)."
    )
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--output",
            type=Path,
            help="Archive file or folder (default: MACHI_DATA_DIR/backups/"
            "machi-backup-YYYYmmdd-HHMMSS.tar.gz).",
        )

    def handle(self, *args: Any, **opts: Any) -> None:
        try:
            result = make_backup(output=opts["output"])
        except BackupError as error:
            raise CommandError(_("No backup written: %(error)s") % {"error": error}) from None
        self.stdout.write(
            self.style.SUCCESS(
                _("Backup written: %(path)s (%(size)s)")
                % {"path": result.path, "size": filesizeformat(result.size)}
            )
        )
        self.stdout.write(
            _(
                "Datasets: %(datasets)s, resources: %(resources)s, tables: %(tables)s, "
                "files: %(files)s"
            )
            % result.counts
        )
        if not result.files_included:
            self.stdout.write(
                self.style.WARNING(
                    _(
                        "Files are kept in %(storage)s, not on this machine, and are not in "
                        "this backup: back them up with that storage's own tools."
                    )
                    % {"storage": result.storage}
                )
            )
