"""A developer at a hackathon on a phone: filter a table, then take its API URL."""

from collections.abc import Callable

import pytest

from machi.accounts.models import Department
from machi.conftest import RESULTS
from machi.datastore.models import Table
from machi.datastore.tests.conftest import NURSERIES

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(
        transaction=True, serialized_rollback=True, databases=["default", "datastore"]
    ),
]


@pytest.fixture
def table(load_csv: Callable[..., Table], kikaku: Department) -> Table:
    return load_csv(kikaku, "nurseries", NURSERIES)


def test_filter_sort_and_copy_the_api_url(
    live_server,  # type: ignore[no-untyped-def]
    table: Table,  # before the browser: Playwright's loop forbids database calls after it
    browser_page,  # type: ignore[no-untyped-def]
) -> None:
    page = browser_page
    page.goto(live_server.url + table.resource.get_absolute_url())
    assert page.get_by_role("heading", name="表").is_visible()
    assert page.get_by_text("全 6 行中 1–6 行目").is_visible()

    page.get_by_label("行を検索").fill("保育")
    page.get_by_role("button", name="検索").last.click()
    page.wait_for_url("**q=*")
    # The filter form folds once a search or filter is active.
    page.locator("summary", has_text="条件を追加").click()
    page.get_by_label("列", exact=True).select_option("定員")
    page.get_by_label("条件", exact=True).select_option("gte")
    page.get_by_label("値", exact=True).fill("40")
    page.get_by_role("button", name="追加").click()
    page.wait_for_url("**__gte=40*")
    page.get_by_role("columnheader", name="定員").get_by_role("link").click()
    page.wait_for_url("**sort=*")

    cells = page.locator("tbody tr td:first-child").all_inner_texts()
    assert cells == ["小石川学童クラブ", "湯島あおぞら保育園", "本駒込保育園"]
    assert page.get_by_text("定員 ≥ 40").is_visible()
    api_link = page.get_by_role("link", name="/api/v1/datastore/")
    assert api_link.is_visible()
    page.screenshot(path=str(RESULTS / "datastore-table.png"), full_page=True)

    page.goto(api_link.get_attribute("href"))
    assert "小石川学童クラブ" in page.content()
