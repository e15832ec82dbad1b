"""The committed OpenAPI document (docs/api/openapi.json) matches the API.

When the API changes on purpose, regenerate it:
    .venv/bin/python manage.py export_openapi > docs/api/openapi.json
"""

import json
from pathlib import Path

from machi.api import api

SNAPSHOT = Path(__file__).resolve().parents[2] / "docs" / "api" / "openapi.json"


def test_openapi_snapshot_is_current() -> None:
    current = api.get_openapi_schema(path_prefix="/api/v1/")
    committed = json.loads(SNAPSHOT.read_text(encoding="utf-8"))
    assert json.loads(json.dumps(current)) == committed, (
        "The API changed: regenerate docs/api/openapi.json (see this test's docstring)"
    )
