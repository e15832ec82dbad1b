"""Every write path refuses the outsider (an editor of another department)."""

from collections.abc import Callable

import pytest
from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from machi.accounts.models import Department
from machi.catalog import services
from machi.catalog.models import Category, Dataset, News, Resource, Showcase, Tag

pytestmark = pytest.mark.django_db


@pytest.fixture
def dataset(kikaku: Department, make_dataset: Callable[..., Dataset]) -> Dataset:
    return make_dataset(kikaku, "hoikuen", "認可保育園一覧", csv="名称\n本郷保育園\n")


@pytest.fixture
def resource(dataset: Dataset) -> Resource:
    return dataset.resources.get()


def upload() -> SimpleUploadedFile:
    return SimpleUploadedFile("new.csv", "名称\n春日保育園\n".encode())


WRITES: dict[str, Callable[..., object]] = {
    "create_dataset": lambda actor, dataset, resource, dept: services.create_dataset(
        actor=actor, department=dept, name="new-one", title="新しいデータ"
    ),
    "update_dataset": lambda actor, dataset, resource, dept: services.update_dataset(
        actor=actor, dataset=dataset, title="書き換え"
    ),
    "delete_dataset": lambda actor, dataset, resource, dept: services.delete_dataset(
        actor=actor, dataset=dataset
    ),
    "add_resource": lambda actor, dataset, resource, dept: services.add_resource(
        actor=actor, dataset=dataset, name="追加", upload=upload()
    ),
    "replace_resource": lambda actor, dataset, resource, dept: services.replace_resource(
        actor=actor, resource=resource, upload=upload()
    ),
    "update_resource": lambda actor, dataset, resource, dept: services.update_resource(
        actor=actor, resource=resource, name="書き換え"
    ),
    "delete_resource": lambda actor, dataset, resource, dept: services.delete_resource(
        actor=actor, resource=resource
    ),
    "save_news": lambda actor, dataset, resource, dept: services.save_news(
        actor=actor, news=News(title="お知らせ", department=dept)
    ),
    "save_showcase": lambda actor, dataset, resource, dept: services.save_showcase(
        actor=actor, showcase=Showcase(name="app", title="アプリ", department=dept)
    ),
    "save_vocabulary": lambda actor, dataset, resource, dept: services.save_vocabulary(
        actor=actor, obj=Category(slug="new-category", name="新分類")
    ),
}


@pytest.mark.parametrize("write", WRITES)
def test_outsider_cannot_write(
    write: str, outsider: User, dataset: Dataset, resource: Resource, kikaku: Department
) -> None:
    before = (Dataset.objects.count(), Resource.objects.count(), News.objects.count())
    with pytest.raises(PermissionDenied):
        WRITES[write](outsider, dataset, resource, kikaku)
    assert (Dataset.objects.count(), Resource.objects.count(), News.objects.count()) == before
    dataset.refresh_from_db()
    assert dataset.title == "認可保育園一覧"


@pytest.mark.parametrize(
    "write", [w for w in WRITES if w not in {"delete_dataset", "save_vocabulary"}]
)
def test_editor_of_the_department_can_write(
    write: str, editor: User, dataset: Dataset, resource: Resource, kikaku: Department
) -> None:
    WRITES[write](editor, dataset, resource, kikaku)


def test_only_department_admins_delete_datasets(
    editor: User, department_admin: User, dataset: Dataset
) -> None:
    with pytest.raises(PermissionDenied):
        services.delete_dataset(actor=editor, dataset=dataset)
    services.delete_dataset(actor=department_admin, dataset=dataset)
    assert not Dataset.objects.exists()


def test_viewer_cannot_edit(viewer: User, dataset: Dataset) -> None:
    with pytest.raises(PermissionDenied):
        services.update_dataset(actor=viewer, dataset=dataset, title="書き換え")


def test_moving_a_dataset_needs_rights_in_both_departments(
    editor: User, dataset: Dataset, bousai: Department
) -> None:
    with pytest.raises(PermissionDenied):
        services.update_dataset(actor=editor, dataset=dataset, department=bousai)


def test_outsider_is_refused_in_the_back_office(
    client_for: Callable[[User], Client], outsider: User, dataset: Dataset, resource: Resource
) -> None:
    client = client_for(outsider)
    assert client.get(f"/admin/catalog/dataset/{dataset.pk}/change/").status_code in {302, 403, 404}
    response = client.post(
        f"/admin/catalog/dataset/{dataset.pk}/change/",
        {
            "title": "乗っ取り",
            "name": "hoikuen",
            "department": dataset.department_id,
            "license": dataset.license_id,
            "update_frequency": "IRREG",
        },
    )
    assert response.status_code in {302, 403, 404}
    assert client.post(
        f"/admin/catalog/dataset/{dataset.pk}/delete/", {"post": "yes"}
    ).status_code in {302, 403, 404}
    assert client.post(
        f"/admin/catalog/resource/{resource.pk}/change/", {"name": "x"}
    ).status_code in {302, 403, 404}
    dataset.refresh_from_db()
    assert dataset.title == "認可保育園一覧"
    assert Dataset.objects.filter(pk=dataset.pk).exists()
    listing = client.get("/admin/catalog/dataset/").content.decode()
    assert "認可保育園一覧" not in listing


def test_editor_edits_through_the_back_office(
    client_for: Callable[[User], Client], editor: User, dataset: Dataset
) -> None:
    client = client_for(editor)
    response = client.post(
        f"/admin/catalog/dataset/{dataset.pk}/change/",
        {
            "title": "区立・私立認可保育園一覧",
            "name": "hoikuen",
            "department": dataset.department_id,
            "license": dataset.license_id,
            "update_frequency": "MONTHLY",
            "tags_text": "子育て・教育\n人口（町丁別）、防災/避難所",
            "spatial": "文京区",
            "is_public": "on",
            "resources-TOTAL_FORMS": "1",
            "resources-INITIAL_FORMS": "1",
            "resources-MIN_NUM_FORMS": "0",
            "resources-MAX_NUM_FORMS": "1000",
            "resources-0-id": dataset.resources.get().pk,
            "resources-0-dataset": dataset.pk,
        },
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    dataset.refresh_from_db()
    assert dataset.title == "区立・私立認可保育園一覧"
    assert sorted(dataset.tags.values_list("name", flat=True)) == sorted(
        ["子育て・教育", "人口（町丁別）", "防災/避難所"]
    )
    assert Tag.objects.filter(name="防災/避難所").exists()


def test_a_tag_too_long_is_an_error_on_the_field_not_a_server_error(
    client_for: Callable[[User], Client], editor: User, dataset: Dataset
) -> None:
    response = client_for(editor).post(
        f"/admin/catalog/dataset/{dataset.pk}/change/",
        {
            "title": "区立・私立認可保育園一覧",
            "name": "hoikuen",
            "department": dataset.department_id,
            "license": dataset.license_id,
            "update_frequency": "MONTHLY",
            "tags_text": "子育て\n" + "長" * 101,
            "resources-TOTAL_FORMS": "1",
            "resources-INITIAL_FORMS": "1",
            "resources-MIN_NUM_FORMS": "0",
            "resources-MAX_NUM_FORMS": "1000",
            "resources-0-id": dataset.resources.get().pk,
            "resources-0-dataset": dataset.pk,
        },
    )
    assert response.status_code == 200
    assert "100文字を超えています" in response.content.decode()
    dataset.refresh_from_db()
    assert dataset.title == "認可保育園一覧"  # nothing saved


def test_editor_cannot_create_datasets_in_another_department(
    client_for: Callable[[User], Client], editor: User, bousai: Department, dataset: Dataset
) -> None:
    response = client_for(editor).post(
        "/admin/catalog/dataset/add/",
        {
            "title": "他部署",
            "name": "other",
            "department": bousai.pk,
            "license": dataset.license_id,
            "update_frequency": "IRREG",
        },
    )
    assert response.status_code == 200  # form shown again with an error
    assert not Dataset.objects.filter(name="other").exists()


def test_form_errors_are_per_field_in_japanese(
    client_for: Callable[[User], Client], editor: User, kikaku: Department, dataset: Dataset
) -> None:
    response = client_for(editor).post(
        "/admin/catalog/dataset/add/",
        {
            "title": "",
            "name": "Bad Name!",
            "department": kikaku.pk,
            "license": dataset.license_id,
            "update_frequency": "IRREG",
        },
    )
    page = response.content.decode()
    assert response.status_code == 200
    assert "この項目は必須です。" in page
    assert "小文字" in page  # the name rule, explained
    assert Dataset.objects.count() == 1


def test_oversized_upload_is_refused_before_it_is_stored(
    settings,
    editor: User,
    dataset: Dataset,  # type: ignore[no-untyped-def]
) -> None:
    from django.core.exceptions import ValidationError

    settings.MACHI_MAX_UPLOAD_BYTES = 10
    with pytest.raises(ValidationError) as error:
        services.add_resource(actor=editor, dataset=dataset, name="大きい", upload=upload())
    assert "new.csv" in str(error.value)
    assert dataset.resources.count() == 1
    assert not list((settings.MEDIA_ROOT / "resources").rglob("new*.csv"))


def test_oversized_request_is_refused_before_reading_the_body(
    settings,
    client_for: Callable[[User], Client],
    editor: User,
    dataset: Dataset,  # type: ignore[no-untyped-def]
) -> None:
    settings.MACHI_MAX_UPLOAD_BYTES = 1024
    body = b"x" * (3 * 1024 * 1024)
    response = client_for(editor).generic(
        "POST", "/admin/catalog/resource/add/", body, content_type="multipart/form-data; boundary=x"
    )
    assert response.status_code == 413
    assert "MB" in response.content.decode()
    assert dataset.resources.count() == 1
