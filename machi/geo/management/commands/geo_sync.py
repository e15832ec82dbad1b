from typing import Any

from django.core.management.base import BaseCommand

from machi.geo import services
from machi.geo.models import Layer, LayerKind


class Command(BaseCommand):
    help = "Give every datastore table with coordinates a map layer and re-index changed ones."

    def handle(self, *args: Any, **options: Any) -> None:
        services.sync_point_layers()
        count = Layer.objects.filter(kind=LayerKind.POINT).count()
        self.stdout.write(self.style.SUCCESS(f"{count} point layers up to date."))
