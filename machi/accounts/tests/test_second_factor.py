"""Staff sign-in needs a TOTP code when MACHI_REQUIRE_2FA is on."""

from collections.abc import Callable

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

pytestmark = pytest.mark.django_db


def code(device: TOTPDevice) -> str:
    return f"{totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits):06d}"


@pytest.fixture
def required(settings) -> None:  # type: ignore[no-untyped-def]
    settings.MACHI_REQUIRE_2FA = True


def sign_in(username: str) -> Client:
    client = Client()
    response = client.post(
        "/admin/login/?next=/admin/",
        {"username": username, "password": "correct horse battery", "next": "/admin/"},
    )
    assert response.status_code == 302
    return client


def test_back_office_asks_for_enrolment_then_a_code(
    required: None,
    editor: User,
    settings,  # type: ignore[no-untyped-def]
) -> None:
    # After a wrong code django-otp makes the next try wait a second; the
    # test does not want to wait.
    settings.OTP_TOTP_THROTTLE_FACTOR = 0
    client = sign_in("editor")
    response = client.get("/admin/")
    assert response.status_code == 302
    assert response["Location"].startswith("/staff/2fa/")
    page = client.get(response["Location"]).content.decode()
    assert "<svg" in page  # QR code to scan
    device = TOTPDevice.objects.get(user=editor, confirmed=False)
    wrong = client.post("/staff/2fa/", {"token": "000000", "next": "/admin/"})
    assert wrong.status_code == 200 and 'role="alert"' in wrong.content.decode()
    right = client.post("/staff/2fa/", {"token": code(device), "next": "/admin/"})
    assert right.status_code == 302 and right["Location"] == "/admin/"
    assert client.get("/admin/").status_code == 200
    device.refresh_from_db()
    assert device.confirmed


def test_enrolled_staff_are_asked_for_a_code_only(required: None, editor: User) -> None:
    device = TOTPDevice.objects.create(user=editor, name="phone", confirmed=True)
    client = sign_in("editor")
    page = client.get("/staff/2fa/?next=/admin/").content.decode()
    assert "<svg" not in page
    assert client.post("/staff/2fa/", {"token": code(device), "next": "/admin/"}).status_code == 302
    assert client.get("/admin/").status_code == 200


def test_half_signed_in_staff_see_only_public_data(
    required: None,
    editor: User,
    kikaku,
    make_dataset: Callable,  # type: ignore[no-untyped-def]
) -> None:
    make_dataset(kikaku, "draft", "準備中", is_public=False)
    client = sign_in("editor")
    assert client.get("/dataset/draft/").status_code == 404


def test_off_in_the_demo_and_development(editor: User, settings) -> None:  # type: ignore[no-untyped-def]
    settings.MACHI_REQUIRE_2FA = False
    client = sign_in("editor")
    assert client.get("/admin/").status_code == 200


def test_next_cannot_send_staff_to_another_site(required: None, editor: User) -> None:
    device = TOTPDevice.objects.create(user=editor, name="phone", confirmed=True)
    client = sign_in("editor")
    response = client.post("/staff/2fa/", {"token": code(device), "next": "https://evil.example/"})
    assert response["Location"] == "/admin/"


def test_the_back_office_names_authenticator_apps_in_japanese(
    client_for,  # type: ignore[no-untyped-def]
    site_admin: User,
) -> None:
    page = client_for(site_admin).get("/admin/").content.decode()
    assert "認証アプリ" in page and "TOTP devices" not in page


def test_after_wrong_codes_the_page_says_to_wait_not_to_check_the_clock(
    required: None, editor: User
) -> None:
    """The right code, refused by django-otp's throttle, was answered 「コードが正しくあり
    ません。スマートフォンの時刻設定を確認して…」."""
    device = TOTPDevice.objects.create(user=editor, name="phone", confirmed=True)
    client = sign_in("editor")
    for _attempt in range(5):
        client.post("/staff/2fa/", {"token": "000000", "next": "/admin/"})
    page = client.post("/staff/2fa/", {"token": code(device), "next": "/admin/"})
    text = page.content.decode()
    assert page.status_code == 200
    assert "待ってから" in text and "時刻設定" not in text
    assert client.get("/admin/").status_code == 302  # still not signed in
