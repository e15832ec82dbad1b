"""Pages every site has: its own error pages, in the visitor's language and readable on a
phone, and its icon."""

from collections.abc import Callable

from django.contrib.auth.models import User
from django.test import Client, RequestFactory
from django.views.defaults import server_error


def test_a_missing_page_has_the_site_around_it_in_japanese(db: None, resident: Client) -> None:
    response = resident.get("/dataset/does-not-exist/")
    assert response.status_code == 404
    page = response.content.decode()
    assert "<h1>ページが見つかりません</h1>" in page
    assert "文京区オープンデータ" in page  # the site's header, not Django's bare page
    assert 'name="viewport"' in page
    assert 'action="/dataset/"' in page  # a search box to find what was meant


def test_a_missing_page_in_english(db: None, resident: Client) -> None:
    response = resident.get("/dataset/does-not-exist/", HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 404
    page = response.content.decode()
    assert "<h1>Page not found</h1>" in page and "Bunkyo City Open Data" in page


def test_a_server_error_page_needs_neither_request_context_nor_database() -> None:
    # Django renders 500.html without context processors; the database may be what failed.
    response = server_error(RequestFactory().get("/"))
    assert response.status_code == 500
    page = response.content.decode()
    assert "エラーが発生しました" in page and "Server error" in page
    assert 'name="viewport"' in page


def test_the_site_has_an_icon(db: None, resident: Client) -> None:
    page = resident.get("/").content.decode()
    assert 'rel="icon" href="/static/machi/favicon.svg"' in page
    response = resident.get("/favicon.ico")
    assert response.status_code == 301 and response["Location"] == "/static/machi/favicon.svg"


def test_the_admin_names_third_party_apps_in_japanese(
    client_for: Callable[[User], Client],
    site_admin: User,
) -> None:
    page = client_for(site_admin).get("/admin/").content.decode()
    assert "二段階認証（認証アプリ）" in page and "バックグラウンド処理" in page
    assert "Otp_Totp" not in page and "Tasks Database Backend" not in page


def test_the_api_says_not_found_in_json_in_the_reader_s_language(
    db: None, resident: Client
) -> None:
    """/api/v1/datastore/not-a-uuid/rows gave the site's HTML page, and a missing dataset
    Django's English "Not Found"."""
    for path in ["/api/v1/datastore/not-a-uuid/rows", "/api/v1/datasets/nothing", "/api/v9/x"]:
        response = resident.get(path)
        assert response.status_code == 404, path
        assert response["Content-Type"].startswith("application/json"), path
        assert "見つかりません" in response.json()["detail"], path
    english = resident.get("/api/v1/datasets/nothing", HTTP_ACCEPT_LANGUAGE="en").json()
    assert english["detail"].startswith("Not found")
    assert "ページが見つかりません" in resident.get("/dataset/nothing/").content.decode()
