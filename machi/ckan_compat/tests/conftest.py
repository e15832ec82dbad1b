from collections.abc import Callable
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client

from machi.accounts.models import Department
from machi.catalog.models import Dataset
from machi.ckan_compat import tokens

CSV = "名称,定員,区分\nさくら保育園,60,公立\nひまわり保育園,45,私立\n"


@pytest.fixture
def token_for(db: None) -> Callable[[User], str]:
    def make(user: User) -> str:
        return tokens.create_token(actor=user, owner=user, name="test")[1]

    return make


@pytest.fixture
def call() -> Callable[..., Any]:
    """Call an action as a client would: GET with a query string, or POST with JSON."""

    def run(
        name: str,
        /,
        *,
        token: str | None = None,
        http: str = "post",
        language: str = "ja",
        **data: Any,
    ) -> tuple[int, dict[str, Any]]:
        headers = {"HTTP_ACCEPT_LANGUAGE": language}
        if token:
            headers["HTTP_AUTHORIZATION"] = token
        client = Client()
        if http == "get":
            response = client.get(f"/api/3/action/{name}", data, **headers)
        else:
            response = client.post(
                f"/api/3/action/{name}", data, content_type="application/json", **headers
            )
        return response.status_code, response.json()

    return run


@pytest.fixture
def catalog(
    kikaku: Department, bousai: Department, make_dataset: Callable[..., Dataset]
) -> dict[str, Dataset]:
    """Three public datasets of two departments and one private one."""
    return {
        "hoikuen": make_dataset(
            kikaku,
            "hoikuen",
            "保育園一覧",
            description="区内の認可保育園の所在地と定員",
            tags=["子育て", "保育"],
            categories=["kosodate"],
            csv=CSV,
        ),
        "aed": make_dataset(bousai, "aed", "AED設置箇所一覧", tags=["防災"], categories=["bousai"]),
        "hinanjo": make_dataset(bousai, "hinanjo", "避難所一覧", tags=["防災"]),
        "draft": make_dataset(kikaku, "draft-budget", "予算案（非公開）", is_public=False),
    }


@pytest.fixture
def table_id(catalog: dict[str, Dataset], site_admin: Any) -> str:
    """The nursery list's table, loaded into the datastore: its resource id."""
    from machi.datastore import services as datastore

    resource = catalog["hoikuen"].resources.get()
    datastore.load_version_file(actor=site_admin, version=resource.current)
    return str(resource.uid)
