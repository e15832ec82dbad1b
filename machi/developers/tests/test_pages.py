"""Developer pages: guide, sign-up, sign-in, keys shown once, usage, revoking; the back office."""

import re
from collections.abc import Callable

import pytest
from django.contrib.auth.models import User
from django.test import Client, override_settings

from machi.developers import services
from machi.developers.models import ApiKey, ApiKeyUsage

pytestmark = pytest.mark.django_db

MakeKey = Callable[..., tuple[ApiKey, str]]


@override_settings(MACHI_RATE_LIMIT_ANON=60, MACHI_RATE_LIMIT_KEY=600)
def test_guide_explains_the_api_and_its_limits(resident: Client) -> None:
    page = resident.get("/developers/").content.decode()
    assert "開発者" in page
    assert "http://testserver/api/v1/" in page and "X-API-Key" in page
    assert "<td>60</td>" in page and "<td>600</td>" in page
    assert 'href="/developers/signup/"' in page
    english = resident.get("/developers/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Rate limits" in english


def test_sign_up_with_email_and_password_then_create_a_key(resident: Client) -> None:
    response = resident.post(
        "/developers/signup/",
        {
            "email": "New@Example.jp",
            "password1": "a long pass phrase",
            "password2": "a long pass phrase",
        },
    )
    assert response.status_code == 302 and response["Location"] == "/developers/keys/"
    user = User.objects.get(email="new@example.jp")
    assert user.username == "new@example.jp" and not user.is_staff
    created = resident.post("/developers/keys/", {"name": "地図アプリ"})
    page = created.content.decode()
    [plaintext] = re.findall(r'id="new-key" class="hash" value="([^"]+)"', page)
    assert "no-store" in created["Cache-Control"]
    key = ApiKey.objects.get(owner=user)
    assert key.name == "地図アプリ" and services.find_key(plaintext) == key
    again = resident.get("/developers/keys/").content.decode()
    assert plaintext not in again  # shown only once
    assert f"{key.prefix}…" in again


def test_new_key_sits_in_a_field_and_its_copy_button_waits_for_javascript(
    client_for: Callable[[User], Client], developer: User
) -> None:
    page = client_for(developer).post("/developers/keys/", {"name": "地図アプリ"}).content.decode()
    # Without JavaScript the key is in a read-only field to select; the button stays hidden.
    assert re.search(r'<input id="new-key" class="hash" value="[^"]+" readonly', page)
    assert re.search(
        r'<button id="new-key-copy" type="button" hidden[^>]*>キーをコピー</button>', page
    )
    assert 'data-copied="コピーしました"' in page
    assert '<p id="new-key-copied" class="meta" role="status" aria-live="polite"></p>' in page
    assert '<script src="/static/developers/keys.js" defer></script>' in page


def test_sign_up_refuses_a_taken_email_and_a_weak_password(
    resident: Client, developer: User
) -> None:
    taken = resident.post(
        "/developers/signup/",
        {
            "email": "DEV@example.jp",
            "password1": "a long pass phrase",
            "password2": "a long pass phrase",
        },
    )
    assert taken.status_code == 200 and 'role="alert"' in taken.content.decode()
    weak = resident.post(
        "/developers/signup/",
        {"email": "x@example.jp", "password1": "12345678", "password2": "12345678"},
    )
    assert weak.status_code == 200 and 'aria-invalid="true"' in weak.content.decode()
    assert User.objects.filter(username__endswith="example.jp").count() == 1


def test_sign_in_with_email_in_any_case(resident: Client, developer: User) -> None:
    response = resident.post(
        "/developers/login/", {"username": "Dev@Example.jp", "password": "correct horse battery"}
    )
    assert response.status_code == 302 and response["Location"] == "/developers/keys/"
    assert resident.get("/developers/keys/").status_code == 200


def test_sign_in_page_names_the_site_not_the_host(resident: Client) -> None:
    page = resident.get("/developers/login/", HTTP_HOST="127.0.0.1:8765").content.decode()
    assert "<title>ログイン | 文京区オープンデータ</title>" in page
    assert '<a class="site-name" href="/">文京区オープンデータ</a>' in page
    assert "127.0.0.1:8765" not in page
    english = resident.get("/developers/login/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "| Bunkyo City Open Data</title>" in english and "testserver" not in english


def test_keys_page_needs_a_signed_in_user(resident: Client) -> None:
    response = resident.get("/developers/keys/")
    assert response.status_code == 302
    assert response["Location"].startswith("/developers/login/?next=")


def test_keys_page_lists_daily_use_and_revokes(
    client_for: Callable[[User], Client], developer: User, make_key: MakeKey
) -> None:
    key, _ = make_key("地図アプリ")
    services.record_use(key=key)
    client = client_for(developer)
    page = client.get("/developers/keys/").content.decode()
    assert "地図アプリ" in page and "<td>1</td>" in page
    response = client.post(f"/developers/keys/{key.pk}/revoke/")
    assert response.status_code == 302
    key.refresh_from_db()
    assert key.revoked is not None
    assert "取り消し済み" in client.get("/developers/keys/").content.decode()


def test_outsider_cannot_see_or_revoke_another_developers_key(
    client_for: Callable[[User], Client], other_developer: User, make_key: MakeKey
) -> None:
    key, _ = make_key("地図アプリ")
    client = client_for(other_developer)
    assert "地図アプリ" not in client.get("/developers/keys/").content.decode()
    assert client.post(f"/developers/keys/{key.pk}/revoke/").status_code == 404
    key.refresh_from_db()
    assert key.revoked is None


def test_site_admin_lists_keys_and_revokes_them_in_the_back_office(
    client_for: Callable[[User], Client], site_admin: User, make_key: MakeKey
) -> None:
    key, plaintext = make_key("地図アプリ")
    client = client_for(site_admin)
    listing = client.get("/admin/developers/apikey/").content.decode()
    assert key.prefix in listing and plaintext not in listing
    response = client.post(
        "/admin/developers/apikey/", {"action": "revoke", "_selected_action": [key.pk]}
    )
    assert response.status_code == 302
    key.refresh_from_db()
    assert key.revoked is not None
    assert client.get(f"/admin/developers/apikey/{key.pk}/change/").status_code == 200
    assert client.get("/admin/developers/apikey/add/").status_code == 403


def test_staff_other_than_the_site_admin_do_not_see_keys(
    client_for: Callable[[User], Client], editor: User, make_key: MakeKey
) -> None:
    make_key()
    assert client_for(editor).get("/admin/developers/apikey/").status_code == 403
    assert not ApiKeyUsage.objects.exists()


def test_developers_are_not_asked_for_a_second_factor(
    settings,  # type: ignore[no-untyped-def]
    client_for: Callable[[User], Client],
    developer: User,
) -> None:
    settings.MACHI_REQUIRE_2FA = True
    assert client_for(developer).get("/developers/keys/").status_code == 200
