"""Rate limits and API keys on every path under /api/ (machi API and CKAN API alike).

Other code reads the key of the current request with `request_api_key(request)`.
"""

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import reverse
from django.utils.translation import gettext as _

from machi.developers import limits, services
from machi.developers.models import ApiKey

API_PREFIX = "/api/"
KEY_HEADER = "X-API-Key"
KEY_PARAMETER = "api_key"


def request_api_key(request: HttpRequest) -> ApiKey | None:
    """The valid API key the request came with, or None (anonymous, or not an API path)."""
    return getattr(request, "api_key", None)


def presented_key(request: HttpRequest) -> str | None:
    # Only our own header and parameter: `Authorization` is left for staff
    # tokens of the CKAN API.
    value = request.headers.get(KEY_HEADER) or request.GET.get(KEY_PARAMETER) or ""
    return value.strip() or None


class RateLimitMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        limits.trusted_proxies()  # a bad MACHI_TRUSTED_PROXIES fails at start

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not request.path.startswith(API_PREFIX):
            return self.get_response(request)
        request.api_key = None  # type: ignore[attr-defined]
        plaintext = presented_key(request)
        key = services.find_key(plaintext) if plaintext else None
        working = key if key is not None and services.key_works(key) else None
        if working is not None:
            window = limits.hit(f"key:{working.pk}", settings.MACHI_RATE_LIMIT_KEY)
        else:
            # Wrong keys count against the address, like anonymous requests.
            window = limits.hit(
                f"ip:{limits.client_address(request)}", settings.MACHI_RATE_LIMIT_ANON
            )
        if not window.allowed:
            response = self._too_many(request, window, keyed=working is not None)
        elif plaintext and key is None:
            response = self._unauthorized(request, _("This API key is not valid."))
        elif key is not None and working is None:
            response = self._unauthorized(
                request, _("This API key no longer works: it was revoked or its account closed.")
            )
        else:
            if working is not None:
                request.api_key = working  # type: ignore[attr-defined]
                services.record_use(key=working)
            response = self.get_response(request)
        response["X-RateLimit-Limit"] = str(window.limit)
        response["X-RateLimit-Remaining"] = str(window.remaining)
        return response

    def _too_many(
        self, request: HttpRequest, window: limits.Window, *, keyed: bool
    ) -> HttpResponse:
        seconds = window.retry_after()
        message = _("Too many requests. Try again in %(seconds)s seconds.") % {"seconds": seconds}
        if not keyed:
            message += " " + _("An API key raises the limit: %(url)s") % {
                "url": request.build_absolute_uri(reverse("developers:guide"))
            }
        response = _json({"detail": message}, status=429)
        response["Retry-After"] = str(seconds)
        return response

    def _unauthorized(self, request: HttpRequest, reason: str) -> HttpResponse:
        message = (
            reason
            + " "
            + _("Send a working key, or none to read with the anonymous limit. Keys: %(url)s")
            % {"url": request.build_absolute_uri(reverse("developers:keys"))}
        )
        response = _json({"detail": message}, status=401)
        response["WWW-Authenticate"] = f'ApiKey header="{KEY_HEADER}"'
        return response


def _json(data: dict[str, str], *, status: int) -> JsonResponse:
    return JsonResponse(data, status=status, json_dumps_params={"ensure_ascii": False})
