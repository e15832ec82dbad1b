"""`machi faq import FILE.csv [--replace]` and `machi faq export`."""

import sys
from pathlib import Path
from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.core.management.base import BaseCommand, CommandError, CommandParser

from machi.ask import services
from machi.ask.faqcsv import FaqFileError
from machi.catalog.demo import ADMIN_USERNAME


class Command(BaseCommand):
    help = "Import the FAQ from a CSV file, or export it as CSV (docs/ask.md)."

    def add_arguments(self, parser: CommandParser) -> None:
        actions = parser.add_subparsers(dest="action", required=True)
        importing = actions.add_parser("import", help="Add and update entries from a CSV file.")
        importing.add_argument("file", type=Path)
        importing.add_argument(
            "--replace", action="store_true", help="The file becomes the whole FAQ."
        )
        importing.add_argument("--user", default=ADMIN_USERNAME, help="Staff account acting.")
        exporting = actions.add_parser("export", help="Write the FAQ as CSV to standard output.")
        exporting.add_argument("--output", type=Path, help="Write to this file instead.")

    def handle(self, *args: Any, action: str, **options: Any) -> None:
        if action == "export":
            text = services.export_faq()
            if options.get("output"):
                options["output"].write_text(text, encoding="utf-8")
            else:
                sys.stdout.write(text)
            return
        path: Path = options["file"]
        if not path.is_file():
            raise CommandError(f"ファイル {path} がありません。 (no such file)")
        actor = get_user_model().objects.filter(username=options["user"]).first()
        if actor is None:
            raise CommandError(f"利用者 {options['user']} がいません。 (no such user)")
        try:
            result = services.import_faq(
                actor=actor, data=path.read_bytes(), replace=options["replace"]
            )
        except FaqFileError as error:
            for problem in error.problems:
                self.stderr.write(f"{path}: {problem}")
            raise CommandError(
                f"{len(error.problems)} 件の問題があるため、何も変更していません。"
                f" ({len(error.problems)} problem(s); nothing was changed)"
            ) from None
        except PermissionDenied as error:
            raise CommandError(str(error)) from None
        self.stdout.write(
            self.style.SUCCESS(
                f"FAQ: {result.created} 件追加, {result.updated} 件更新, "
                f"{result.unchanged} 件変更なし, {result.deleted} 件削除"
                f" (created {result.created}, updated {result.updated}, "
                f"unchanged {result.unchanged}, deleted {result.deleted})"
            )
        )
