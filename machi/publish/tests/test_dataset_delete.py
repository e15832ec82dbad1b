"""A dataset published through the pipeline can be deleted in the back office."""

from collections.abc import Callable
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client

from machi.accounts.models import Department
from machi.catalog.models import Dataset
from machi.datastore.models import Table
from machi.publish import services
from machi.publish.models import Run

pytestmark = pytest.mark.django_db(databases=["default", "datastore"])


def test_a_department_admin_deletes_a_published_dataset_with_its_uploads(
    client_for: Callable[[User], Client],
    department_admin: User,
    editor: User,
    kikaku: Department,
    make_dataset: Callable[..., Dataset],
    aed_upload: Callable[..., Any],
) -> None:
    """Its publish runs, which nobody may delete alone, refused the delete (403), for the
    site admin too."""
    dataset = make_dataset(kikaku, "aed", "AED設置場所一覧")
    run = services.start_run(actor=editor, dataset=dataset, upload=aed_upload())
    services.publish_run(actor=editor, run=services.convert_run(run))
    assert Table.objects.filter(resource__dataset=dataset).exists()
    client = client_for(department_admin)
    page = client.get(f"/admin/catalog/dataset/{dataset.pk}/delete/")
    assert page.status_code == 200 and "パーミッションがありません" not in page.content.decode()
    response = client.post(f"/admin/catalog/dataset/{dataset.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302
    assert not Dataset.objects.filter(pk=dataset.pk).exists()
    assert not Run.objects.filter(dataset_id=dataset.pk).exists()
    assert not Table.objects.filter(resource__dataset_id=dataset.pk).exists()
    # An editor still may not.
    other = make_dataset(kikaku, "toilets", "公衆トイレ一覧")
    refused = client_for(editor).post(f"/admin/catalog/dataset/{other.pk}/delete/", {"post": "yes"})
    assert refused.status_code == 403 and Dataset.objects.filter(pk=other.pk).exists()
