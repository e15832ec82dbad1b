"""HTTP helpers shared by every app."""

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

# Everything the site uses is served by the app itself (no CDN), so the
# policy can stay strict. The admin needs inline styles.
_POLICY = (
    "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
    "script-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; "
    "frame-ancestors 'none'"
)


class ContentSecurityPolicyMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        response.headers.setdefault("Content-Security-Policy", _POLICY)
        return response


def client_wants_english(request: HttpRequest) -> bool:
    return (getattr(request, "LANGUAGE_CODE", "ja") or "ja").startswith("en")
