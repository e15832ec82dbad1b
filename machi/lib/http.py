"""HTTP helpers shared by every app."""

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _


def content_security_policy(*, img_src: tuple[str, ...] = ()) -> str:
    """The site's policy. Everything it uses is served by the app itself (no CDN), so it
    stays strict; the admin needs inline styles. A page that shows images from another
    origin (the map's tile server) names that origin in `img_src`."""
    images = " ".join(("'self'", "data:", *img_src))
    return (
        f"default-src 'self'; img-src {images}; style-src 'self' 'unsafe-inline'; "
        "script-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; "
        "frame-ancestors 'none'"
    )


_POLICY = content_security_policy()


class ContentSecurityPolicyMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        response.headers.setdefault("Content-Security-Policy", _POLICY)
        return response


class UploadLimitMiddleware:
    """Refuse request bodies over the upload limit before reading them."""

    # Room for the form fields sent along with the file.
    MARGIN = 1024 * 1024

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        limit = settings.MACHI_MAX_UPLOAD_BYTES
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        if length > limit + self.MARGIN:
            message = _("The upload is %(size)s MB; files may be at most %(limit)s MB.") % {
                "size": f"{length / 1048576:.1f}",
                "limit": limit // 1048576,
            }
            return HttpResponse(message, status=413, content_type="text/plain; charset=utf-8")
        return self.get_response(request)


class PublicReadCorsMiddleware:
    """Let any web page use the API (/api/): `Access-Control-Allow-Origin: *` on its answers,
    the POST ones too (datastore SQL, spatial queries, CKAN actions take POST bodies).

    Browsers send no cookies with a cross-origin request whose answer says `*`
    (and this never sends Allow-Credentials), so other sites read what an
    anonymous visitor may, or what the key or token the page itself sends may.
    Preflights (OPTIONS with Access-Control-Request-Method) are answered here with
    204, before rate limits; placed first among the middlewares that answer /api/,
    it also marks their refusals (429, 401), so pages can read why.
    """

    PREFIX = "/api/"
    ALLOW_METHODS = "GET, HEAD, POST, OPTIONS"
    # A machi key, or a CKAN API token as CKAN clients send it.
    ALLOW_HEADERS = "X-API-Key, Authorization, X-CKAN-API-Key, Content-Type"
    EXPOSE_HEADERS = (
        "Content-Disposition, ETag, Retry-After, X-RateLimit-Limit, X-RateLimit-Remaining"
    )
    MAX_AGE = 86400

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not request.path.startswith(self.PREFIX):
            return self.get_response(request)
        if request.method == "OPTIONS" and "Access-Control-Request-Method" in request.headers:
            response = HttpResponse(status=204)
            response["Access-Control-Allow-Origin"] = "*"
            response["Access-Control-Allow-Methods"] = self.ALLOW_METHODS
            response["Access-Control-Allow-Headers"] = self.ALLOW_HEADERS
            response["Access-Control-Max-Age"] = str(self.MAX_AGE)
            return response
        response = self.get_response(request)
        if request.method in {"GET", "HEAD", "POST"}:
            response["Access-Control-Allow-Origin"] = "*"
            response["Access-Control-Expose-Headers"] = self.EXPOSE_HEADERS
        return response


class HeadAsGetMiddleware:
    """HEAD on machi's API (/api/v1/) answers as GET would, without the body: its routes
    name GET only, so HEAD got 405 though CORS and the docs offer it (a client checking a
    download's size or ETag first)."""

    PREFIX = "/api/v1/"

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.method != "HEAD" or not request.path.startswith(self.PREFIX):
            return self.get_response(request)
        request.method = "GET"
        try:
            response = self.get_response(request)
        finally:
            request.method = "HEAD"
        if response.streaming:  # an export's rows are never read; its generator is dropped
            response.streaming_content = iter(())
        else:
            length = len(response.content)
            response.content = b""
            response["Content-Length"] = str(length)
        return response
