"""The table view on a resource page."""

from typing import Any
from urllib.parse import urlsplit

import pytest
from django.test import Client

from machi.datastore.models import Table

pytestmark = pytest.mark.django_db(databases=["default", "datastore"])


def page_url(table: Table) -> str:
    return table.resource.get_absolute_url()


def test_resource_page_shows_the_table_with_counts(resident: Client, nurseries: Table) -> None:
    html = resident.get(page_url(nurseries)).content.decode()
    assert 'id="table-heading"' in html
    assert "本駒込保育園" in html and "小石川学童クラブ" in html
    assert "1–6" in html and "6" in html


def test_sort_links_toggle_and_announce_order(resident: Client, nurseries: Table) -> None:
    html = resident.get(page_url(nurseries), {"sort": "-定員"}).content.decode()
    assert 'aria-sort="descending"' in html
    assert html.index("白山ひまわり幼稚園") < html.index("目白台保育室")


def test_filter_form_redirects_to_api_style_parameters(resident: Client, nurseries: Table) -> None:
    response = resident.get(
        page_url(nurseries),
        {"filter_column": "定員", "filter_op": "gte", "filter_value": "120", "q": ""},
    )
    assert response.status_code == 302
    location = response["Location"]
    html = resident.get(location).content.decode()
    assert "千石こども園" in html and "目白台保育室" not in html
    assert "定員 ≥ 120" in html  # the active filter, removable
    # It lands on the rows' count, not the top of the page (a screen away on a phone); so
    # do the sort links and the filter's ×.
    assert location.endswith("#table-results")
    assert '<p class="table-count" id="table-results" tabindex="-1"' in html
    assert html.count("#table-results") >= 3


def test_the_page_shows_the_api_url_that_returns_the_same_rows(
    resident: Client, nurseries: Table
) -> None:
    response = resident.get(page_url(nurseries), {"q": "保育", "size": "20", "sort": "定員"})
    api_url = response.context["table"]["api_url"]
    parts = urlsplit(api_url)
    data = resident.get(f"{parts.path}?{parts.query}").json()
    shown = response.context["table"]["rows"]
    assert [r["名称"] for r in data["records"]] == [row[0] for row in shown]
    assert "curl" in response.content.decode()


def test_bad_filters_are_explained_on_the_page(resident: Client, nurseries: Table) -> None:
    html = resident.get(page_url(nurseries), {"定員": "たくさん"}).content.decode()
    assert 'role="alert"' in html and "たくさん" in html


def test_picked_columns_and_pages(resident: Client, nurseries: Table) -> None:
    response = resident.get(page_url(nurseries), {"pick": ["名称", "定員"]})
    assert response.status_code == 302
    html = resident.get(response["Location"]).content.decode()
    assert "認可保育所" not in html  # 種別 is not shown
    second = resident.get(page_url(nurseries), {"size": "20", "page": "2"})
    assert second.context["table"]["rows"] == []


def test_columns_without_any_value_are_left_out_of_the_page_not_the_api(
    resident: Client, load_csv: Any, kikaku: Any
) -> None:
    """A standard's columns the file lacked: on a phone they filled the screen with dashes."""
    table = load_csv(kikaku, "aeds", "都道府県名,名称,方書\n,本郷図書館,\n,小石川図書館,\n")
    response = resident.get(page_url(table))
    assert [f.name for f in response.context["table"]["fields"]] == ["名称"]
    assert "2 列は値がないため表示していません" in response.content.decode()
    picked = resident.get(page_url(table), {"fields": "都道府県名,名称"})
    assert [f.name for f in picked.context["table"]["fields"]] == ["都道府県名", "名称"]
    api = resident.get(f"/api/v1/datastore/{table.resource.uid}/rows").json()
    assert set(api["records"][0]) == {"_id", "都道府県名", "名称", "方書"}


HOURS = "名称,開始時間\n本郷保育園,07:00:00\n白山保育園,07:30:00\n千石保育園,09:00:00\n"


def test_a_time_filter_takes_hours_and_minutes_as_the_standards_write_them(
    resident: Client, load_csv: Any, kikaku: Any
) -> None:
    table = load_csv(kikaku, "hours", HOURS)
    assert table.column_list[1].type == "time"
    rows = f"/api/v1/datastore/{table.resource.uid}/rows"
    response = resident.get(rows, {"開始時間__lte": "7:30"})
    assert response.status_code == 200, response.content.decode()
    found = response.json()["records"]
    assert [r["名称"] for r in found] == ["本郷保育園", "白山保育園"]
    ckan = resident.get(
        "/api/3/action/datastore_search",
        {"resource_id": str(table.resource.uid), "filters": '{"開始時間": "09:00"}'},
    ).json()
    assert ckan["success"] and [r["名称"] for r in ckan["result"]["records"]] == ["千石保育園"]


def test_a_bad_filter_on_the_page_names_it_as_shown_and_can_be_removed(
    resident: Client, load_csv: Any, kikaku: Any
) -> None:
    table = load_csv(kikaku, "hours", HOURS)
    html = resident.get(page_url(table), {"開始時間__lte": "朝"}).content.decode()
    alert = html[html.index('role="alert"') : html.index("</p>", html.index('role="alert"'))]
    assert "開始時間 ≤: " in alert and "__lte" not in alert
    assert 'aria-label="条件「開始時間 ≤ 朝」を解除">×</a>' in html


def test_an_english_reader_sees_the_schema_s_english_titles_beside_the_names(
    resident: Client, load_csv: Any, kikaku: Any
) -> None:
    table = load_csv(kikaku, "hours", HOURS)
    table.schema["fields"][1]["title"] = "Opening time"  # as a national standard's field has
    table.save()
    english = resident.get(page_url(table), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert 'Opening time<br><span class="meta" lang="ja">開始時間</span>' in english
    assert '<option value="開始時間">Opening time (開始時間)</option>' in english
    japanese = resident.get(page_url(table)).content.decode()
    assert "Opening time" not in japanese


def test_a_page_past_the_last_row_says_so_and_links_the_last(
    resident: Client, nurseries: Table
) -> None:
    """?page=999 said 「全 6 行中 0–1,996 行目」 with only a 前へ link."""
    html = resident.get(page_url(nurseries), {"page": "999"}).content.decode()
    assert "6 行の最後より後のページです。" in html
    assert "0–" not in html
    last = html[html.index("最後のページへ") - 200 : html.index("最後のページへ")]
    assert "?page=1" in last  # six rows: one page
