from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from machi.geo import gazetteer
from machi.geo.geometry import GeoError


class Command(BaseCommand):
    help = (
        "Load towns and stations into the gazetteer from a CSV: the team's layout, the address "
        "base registry town file (mt_town_pos), or town,chome,lat,lon. Without a file, the "
        "team's Bunkyo gazetteer."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", nargs="?", help="CSV file (UTF-8)")
        parser.add_argument("--replace", action="store_true", help="Empty the gazetteer first.")

    def handle(self, *args: Any, file: str | None, replace: bool, **options: Any) -> None:
        path = Path(file) if file else gazetteer.TEAM_FILE
        try:
            count = gazetteer.save(gazetteer.read_csv(path.read_bytes(), path.name), replace)
        except (OSError, GeoError) as error:
            raise CommandError(str(error)) from None
        self.stdout.write(self.style.SUCCESS(f"{count} places loaded from {path}."))
