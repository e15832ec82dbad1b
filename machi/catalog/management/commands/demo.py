from typing import Any

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandParser

from machi.catalog import demo


class Command(BaseCommand):
    help = "Load the demo Bunkyo catalog (50+ datasets) into the database."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--if-empty",
            action="store_true",
            help="Do nothing when the catalog already has datasets.",
        )

    def handle(self, *args: Any, if_empty: bool, **options: Any) -> None:
        # A new data directory has no tables yet: `machi demo` alone makes them first.
        call_command("migrate", interactive=False, verbosity=0)
        if demo.is_loaded():
            if if_empty:
                self.stdout.write("The catalog already has datasets; demo not loaded.")
                return
            self.stderr.write("The catalog already has datasets. Use an empty database.")
            raise SystemExit(1)
        from machi.publish.demo import publish_checked  # builds on the catalog

        counts = demo.load_demo(publish_checked)
        # The datastore builds on the catalog; its tables follow the catalog's files.
        from machi.datastore.demo import load_demo_tables

        counts["tables"] = load_demo_tables()
        from machi.geo.demo import load_demo as load_map_demo

        load_map_demo()  # gazetteer, ward boundary, a map layer per table with coordinates
        from machi.ask.demo import load_demo as load_demo_faq  # the chatbot's FAQ

        counts.update(load_demo_faq())
        self.stdout.write(
            self.style.SUCCESS(
                "Demo loaded: {datasets} datasets, {departments} departments, {news} news, "
                "{showcases} showcases, {tables} datastore tables. "
                "Staff sign-in: admin (see docs/configuration.md).".format(**counts)
            )
        )
