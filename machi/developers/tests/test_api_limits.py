"""Every /api/ response carries its limit; over it, 429 says when to retry; keys raise it."""

from collections.abc import Callable

import pytest
from django.contrib.auth.models import User
from django.http import HttpRequest, HttpResponse
from django.test import Client, RequestFactory, override_settings

from machi.developers import services
from machi.developers.middleware import RateLimitMiddleware, request_api_key
from machi.developers.models import ApiKey, ApiKeyUsage

pytestmark = pytest.mark.django_db

API = "/api/v1/datasets"
MakeKey = Callable[..., tuple[ApiKey, str]]


@override_settings(MACHI_RATE_LIMIT_ANON=2)
def test_anonymous_client_gets_429_with_retry_after_over_the_limit(resident: Client) -> None:
    first, second, third = (resident.get(API) for _ in range(3))
    assert (first.status_code, second.status_code, third.status_code) == (200, 200, 429)
    assert (first["X-RateLimit-Limit"], first["X-RateLimit-Remaining"]) == ("2", "1")
    assert second["X-RateLimit-Remaining"] == "0"
    seconds = int(third["Retry-After"])
    assert 1 <= seconds <= 60
    detail = third.json()["detail"]
    assert f"{seconds} 秒後" in detail
    assert "http://testserver/developers/" in detail  # where to get a key


@override_settings(MACHI_RATE_LIMIT_ANON=1)
def test_429_is_in_english_when_the_client_asks_for_english(resident: Client) -> None:
    resident.get(API)
    response = resident.get(API, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 429
    assert f"Try again in {response['Retry-After']} seconds" in response.json()["detail"]


@override_settings(MACHI_RATE_LIMIT_ANON=1)
def test_each_address_has_its_own_limit(resident: Client) -> None:
    assert resident.get(API, REMOTE_ADDR="192.0.2.1").status_code == 200
    assert resident.get(API, REMOTE_ADDR="192.0.2.1").status_code == 429
    assert resident.get(API, REMOTE_ADDR="192.0.2.2").status_code == 200


@override_settings(MACHI_RATE_LIMIT_ANON=1)
def test_every_api_path_is_limited_and_site_pages_are_not(resident: Client) -> None:
    resident.get(API)
    assert resident.get("/api/3/action/package_list").status_code == 429  # CKAN API, later
    page = resident.get("/")
    assert page.status_code == 200 and "X-RateLimit-Limit" not in page


@override_settings(MACHI_RATE_LIMIT_ANON=1, MACHI_RATE_LIMIT_KEY=3)
def test_an_api_key_raises_the_limit(resident: Client, make_key: MakeKey) -> None:
    _, plaintext = make_key()
    resident.get(API)
    assert resident.get(API).status_code == 429
    keyed = [resident.get(API, HTTP_X_API_KEY=plaintext) for _ in range(4)]
    assert [r.status_code for r in keyed] == [200, 200, 200, 429]
    assert keyed[0]["X-RateLimit-Limit"] == "3"
    assert "/developers/" not in keyed[-1].json()["detail"]  # they have a key already


def test_the_key_may_come_as_a_query_parameter(resident: Client, make_key: MakeKey) -> None:
    _, plaintext = make_key()
    response = resident.get(API, {"api_key": plaintext})
    assert response.status_code == 200
    assert response["X-RateLimit-Limit"] == "1200"


def test_authorization_header_is_not_taken_for_an_api_key(
    resident: Client, make_key: MakeKey
) -> None:
    # Authorization is kept for staff tokens of the CKAN API.
    _, plaintext = make_key()
    response = resident.get(API, HTTP_AUTHORIZATION=f"Bearer {plaintext}")
    assert response.status_code == 200 and response["X-RateLimit-Limit"] == "120"
    assert not ApiKeyUsage.objects.exists()


def test_a_wrong_key_is_refused_not_taken_as_anonymous(resident: Client) -> None:
    response = resident.get(API, HTTP_X_API_KEY="not-a-key")
    assert response.status_code == 401
    assert "APIキー" in response.json()["detail"]
    assert response["WWW-Authenticate"] == 'ApiKey header="X-API-Key"'
    assert response["X-RateLimit-Limit"] == "120"


def test_a_revoked_key_is_refused(resident: Client, developer: User, make_key: MakeKey) -> None:
    key, plaintext = make_key()
    assert resident.get(API, HTTP_X_API_KEY=plaintext).status_code == 200
    services.revoke_key(user=developer, key=key)
    response = resident.get(API, HTTP_X_API_KEY=plaintext, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 401
    assert "revoked" in response.json()["detail"]


def test_keys_of_a_deactivated_account_stop_working(
    resident: Client, developer: User, make_key: MakeKey
) -> None:
    _, plaintext = make_key()
    developer.is_active = False
    developer.save()
    assert resident.get(API, HTTP_X_API_KEY=plaintext).status_code == 401


def test_use_is_counted_per_key_and_day(resident: Client, make_key: MakeKey) -> None:
    key, plaintext = make_key()
    other, _ = make_key("other app")
    for _ in range(3):
        resident.get(API, HTTP_X_API_KEY=plaintext)
    usage = ApiKeyUsage.objects.get(key=key)
    assert usage.count == 3
    key.refresh_from_db()
    assert key.last_used is not None
    assert not ApiKeyUsage.objects.filter(key=other).exists()


def test_views_can_read_the_key_of_the_request(make_key: MakeKey) -> None:
    key, plaintext = make_key()
    seen: list[ApiKey | None] = []

    def view(request: HttpRequest) -> HttpResponse:
        seen.append(request_api_key(request))
        return HttpResponse("ok")

    middleware = RateLimitMiddleware(view)
    middleware(RequestFactory().get(API, HTTP_X_API_KEY=plaintext))
    middleware(RequestFactory().get(API))
    assert seen == [key, None]
    assert request_api_key(RequestFactory().get("/")) is None
