import json
from typing import Any

from django.core.management.base import BaseCommand

from machi.api import api


class Command(BaseCommand):
    help = "Print the OpenAPI document of /api/v1/ (committed as docs/api/openapi.json)."

    def handle(self, *args: Any, **options: Any) -> None:
        schema = api.get_openapi_schema(path_prefix="/api/v1/")
        self.stdout.write(json.dumps(schema, ensure_ascii=False, indent=2, sort_keys=True))
