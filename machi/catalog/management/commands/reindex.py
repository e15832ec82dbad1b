from typing import Any

from django.core.management.base import BaseCommand
from django.db import transaction

from machi.catalog.models import Dataset
from machi.catalog.search import index_dataset


class Command(BaseCommand):
    help = "Re-analyze every dataset for search (after an analyzer or dictionary upgrade)."

    def handle(self, *args: Any, **options: Any) -> None:
        datasets = Dataset.objects.select_related("department").prefetch_related(
            "tags", "categories"
        )
        count = 0
        for dataset in datasets.iterator(chunk_size=500):
            with transaction.atomic():
                index_dataset(dataset)
            count += 1
        self.stdout.write(f"Re-indexed {count} datasets.")
