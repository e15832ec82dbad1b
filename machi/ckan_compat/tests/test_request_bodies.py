"""How an action's parameters arrive: the bodies CKAN clients send."""

import json
from typing import Any

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db


def test_json_sent_as_a_form_is_read_as_json(catalog: Any) -> None:
    """`curl -d '{"id": "hoikuen"}'` sends JSON labelled as a form; read as a form, the
    parameters were lost (409 for a missing id, an unfiltered search)."""
    client = Client()
    form = "application/x-www-form-urlencoded"
    response = client.post("/api/3/action/package_show", '{"id": "hoikuen"}', content_type=form)
    assert response.status_code == 200 and response.json()["result"]["name"] == "hoikuen"
    body = json.dumps({"fq": "tags:保育", "rows": 1}, ensure_ascii=False)
    found = client.post("/api/3/action/package_search", body, content_type=form).json()
    everything = client.post("/api/3/action/package_search", "", content_type=form).json()
    assert found["result"]["count"] < everything["result"]["count"]
    assert len(found["result"]["results"]) == 1
    # A real form still reads as one.
    response = client.post("/api/3/action/package_show", {"id": "hoikuen"})
    assert response.status_code == 200
