"""Page numbers past the end of a listing."""

from collections.abc import Callable

import pytest
from django.test import Client

from machi.accounts.models import Department
from machi.catalog.models import Dataset

pytestmark = pytest.mark.django_db


def test_a_page_past_the_last_goes_to_the_last(
    resident: Client, kikaku: Department, make_dataset: Callable[..., Dataset]
) -> None:
    """/dataset/?page=5 of 4 said 「72 件」 over 「該当するデータセットはありません」."""
    for n in range(3):
        make_dataset(kikaku, f"set-{n}", f"データ{n}", categories=["kosodate"])
    response = resident.get("/dataset/", {"page": "99", "q": "データ"})
    assert response.status_code == 302
    assert "page=1" in response["Location"] and "q=" in response["Location"]
    response = resident.get("/category/kosodate/", {"page": "7"})
    assert response.status_code == 302 and response["Location"].endswith("?page=1")
    assert resident.get("/dataset/", {"page": "1"}).status_code == 200
