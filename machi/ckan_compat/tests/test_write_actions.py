"""Write actions with staff tokens: the same department permissions as the back office."""

from collections.abc import Callable
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from machi.audit.models import AuditEvent
from machi.catalog.models import Dataset
from machi.ckan_compat import tokens

pytestmark = pytest.mark.django_db

NEW = {
    "name": "gomi-shushu",
    "title": "ごみ収集日",
    "owner_org": "kikaku",
    "notes": "地区別の収集曜日",
    "license_id": "cc-by-4.0",
    "tags": [{"name": "ごみ"}, {"name": "環境"}],
    "groups": [{"name": "kankyo"}],
    "extras": [{"key": "title_en", "value": "Garbage collection days"}],
    "resources": [{"url": "https://example.jp/gomi.csv", "name": "収集日CSV", "format": "CSV"}],
}


def test_writes_need_a_token(call: Callable[..., Any], kikaku: Any) -> None:
    status, body = call("package_create", **NEW)
    assert status == 403
    assert body["error"]["__type"] == "Authorization Error"
    assert not Dataset.objects.filter(name="gomi-shushu").exists()


def test_a_revoked_or_unknown_token_is_refused(
    call: Callable[..., Any], editor: Any, token_for: Callable[..., str]
) -> None:
    token = token_for(editor)
    tokens.revoke_token(actor=editor, token=tokens.ApiToken.objects.get(owner=editor))
    assert call("package_create", token=token, **NEW)[0] == 403
    assert call("package_list", token="not-a-token")[0] == 403


def test_editor_creates_updates_patches_a_dataset(
    call: Callable[..., Any], editor: Any, token_for: Callable[..., str]
) -> None:
    token = token_for(editor)
    status, body = call("package_create", token=token, **NEW)
    assert status == 200, body
    created = body["result"]
    assert created["organization"]["name"] == "kikaku"
    assert [t["name"] for t in created["tags"]] == ["ごみ", "環境"]
    assert created["resources"][0]["url"] == "https://example.jp/gomi.csv"
    dataset = Dataset.objects.get(name="gomi-shushu")
    assert dataset.title_en == "Garbage collection days"
    assert AuditEvent.objects.filter(actor=editor, action="create").exists()

    changed = {**created, "title": "ごみ・資源の収集日"}
    status, body = call("package_update", token=token, **changed)
    assert status == 200 and body["result"]["title"] == "ごみ・資源の収集日"
    assert body["result"]["id"] == created["id"]

    status, body = call("package_patch", token=token, id=created["id"], notes="更新しました")
    assert body["result"]["notes"] == "更新しました"
    assert body["result"]["title"] == "ごみ・資源の収集日"  # untouched by the patch
    assert len(body["result"]["resources"]) == 1


def test_update_without_a_listed_resource_removes_it(
    call: Callable[..., Any], editor: Any, token_for: Callable[..., str]
) -> None:
    token = token_for(editor)
    created = call("package_create", token=token, **NEW)[1]["result"]
    status, body = call("package_update", token=token, **{**created, "resources": []})
    assert status == 200 and body["result"]["num_resources"] == 0


def test_outsider_cannot_write_to_another_department(
    call: Callable[..., Any], editor: Any, outsider: Any, token_for: Callable[..., str]
) -> None:
    created = call("package_create", token=token_for(editor), **NEW)[1]["result"]
    other = token_for(outsider)
    assert call("package_create", token=other, **NEW | {"name": "x-data"})[0] == 403
    status, body = call("package_patch", token=other, id=created["id"], title="乗っ取り")
    assert status == 403 and body["error"]["__type"] == "Authorization Error"
    assert call("package_delete", token=other, id=created["id"])[0] == 403
    assert Dataset.objects.get(name="gomi-shushu").title == "ごみ収集日"


def test_only_a_department_admin_deletes(
    call: Callable[..., Any],
    editor: Any,
    department_admin: Any,
    token_for: Callable[..., str],
) -> None:
    created = call("package_create", token=token_for(editor), **NEW)[1]["result"]
    assert call("package_delete", token=token_for(editor), id=created["id"])[0] == 403
    status, body = call("package_delete", token=token_for(department_admin), id="gomi-shushu")
    assert status == 200 and body["result"] is None
    assert call("package_show", id=created["id"])[0] == 404


def test_validation_errors_name_the_ckan_field(
    call: Callable[..., Any], editor: Any, token_for: Callable[..., str]
) -> None:
    token = token_for(editor)
    status, body = call("package_create", token=token, **NEW | {"name": "Bad Name!"})
    assert status == 409
    assert body["error"]["__type"] == "Validation Error"
    assert body["error"]["name"]
    status, body = call("package_create", token=token, **NEW | {"license_id": "mit-ish"})
    assert status == 409 and "license_id" in body["error"]
    status, body = call("package_create", token=token, **NEW | {"owner_org": ""})
    assert status == 409 and "owner_org" in body["error"]
    # Nothing half-written: the failed creations left no dataset.
    assert not Dataset.objects.exists()


def test_a_bad_resource_rolls_the_whole_package_back(
    call: Callable[..., Any], editor: Any, token_for: Callable[..., str]
) -> None:
    bad = NEW | {"resources": [{"name": "URLなし"}]}
    status, body = call("package_create", token=token_for(editor), **bad)
    assert status == 409 and "url" in body["error"]
    assert not Dataset.objects.filter(name="gomi-shushu").exists()


def test_resource_create_with_an_upload_then_update_and_delete(
    editor: Any, token_for: Callable[..., str], call: Callable[..., Any]
) -> None:
    token = token_for(editor)
    created = call("package_create", token=token, **NEW | {"resources": []})[1]["result"]
    client = Client()
    upload = SimpleUploadedFile("hoiku.csv", "名称,定員\nさくら,60\n".encode())
    response = client.post(
        "/api/3/action/resource_create",
        {"package_id": created["id"], "name": "保育園CSV", "upload": upload},
        HTTP_AUTHORIZATION=token,
    )
    assert response.status_code == 200, response.content
    resource = response.json()["result"]
    assert resource["url_type"] == "upload" and resource["format"] == "CSV"
    assert resource["size"] == len("名称,定員\nさくら,60\n".encode())
    assert client.get(resource["url"].replace("http://testserver", "")).status_code == 200

    status, body = call("resource_update", token=token, id=resource["id"], name="保育園一覧CSV")
    assert status == 200 and body["result"]["name"] == "保育園一覧CSV"
    status, body = call("resource_delete", token=token, id=resource["id"])
    assert status == 200
    assert call("resource_show", id=resource["id"])[0] == 404


def test_x_ckan_api_key_header_and_form_posts_work(
    editor: Any, token_for: Callable[..., str]
) -> None:
    response = Client().post(
        "/api/action/package_create",
        {"name": "form-data", "title": "フォーム", "owner_org": "kikaku"},
        HTTP_X_CKAN_API_KEY=token_for(editor),
    )
    assert response.status_code == 200, response.content
    assert response.json()["result"]["name"] == "form-data"


def test_get_cannot_write(
    editor: Any, token_for: Callable[..., str], call: Callable[..., Any]
) -> None:
    status, body = call("package_create", http="get", token=token_for(editor), name="x")
    assert status == 400


def test_site_admin_creates_organizations(
    call: Callable[..., Any], site_admin: Any, editor: Any, token_for: Callable[..., str]
) -> None:
    status, body = call(
        "organization_create", token=token_for(site_admin), name="hoiku", title="保育課"
    )
    assert status == 200 and body["result"]["name"] == "hoiku"
    assert call("organization_show", id="hoiku")[1]["result"]["title"] == "保育課"
    assert call("organization_create", token=token_for(editor), name="other")[0] == 403
