"""Staff load resources into the datastore from the back office."""

from collections.abc import Callable
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client

from machi.accounts.models import Department
from machi.catalog.models import Dataset
from machi.datastore.models import Table

pytestmark = pytest.mark.django_db(databases=["default", "datastore"])


def run_action(client: Client, dataset: Dataset) -> str:
    resource = dataset.resources.get()
    response = client.post(
        "/admin/catalog/resource/",
        {"action": "load_into_datastore", "_selected_action": [resource.pk]},
        follow=True,
    )
    assert response.status_code == 200
    return response.content.decode()


def test_an_editor_loads_a_csv_and_sees_the_row_count(
    client_for: Callable[[User], Client],
    editor: User,
    kikaku: Department,
    make_dataset: Callable[..., Dataset],
) -> None:
    dataset = make_dataset(kikaku, "parks", "公園", csv="名称,面積\n須藤公園,9000\n元町公園,3700\n")
    html = run_action(client_for(editor), dataset)
    assert Table.objects.get(resource__dataset=dataset).row_count == 2
    assert "2" in html and "須藤公園" not in html  # a count, not the data


def test_a_bad_file_is_reported_with_its_line(
    client_for: Callable[[User], Client],
    editor: User,
    kikaku: Department,
    make_dataset: Callable[..., Dataset],
) -> None:
    rows = "名称,面積\n" + "".join(f"公園{n},{n}\n" for n in range(30)) + "壊れた行\n"
    dataset = make_dataset(kikaku, "broken", "壊れたCSV", csv=rows)
    html = run_action(client_for(editor), dataset)
    assert not Table.objects.filter(resource__dataset=dataset).exists()
    assert "32" in html  # the file line of the short row


def test_outsiders_cannot_load_other_departments_resources(
    client_for: Callable[[User], Client],
    outsider: User,
    kikaku: Department,
    make_dataset: Callable[..., Dataset],
) -> None:
    dataset = make_dataset(kikaku, "parks", "公園", csv="名称\n須藤公園\n")
    client: Any = client_for(outsider)
    client.post(
        "/admin/catalog/resource/",
        {"action": "load_into_datastore", "_selected_action": [dataset.resources.get().pk]},
    )
    assert not Table.objects.exists()
