"""DCAT endpoints: /catalog.<fmt> (paged), /dataset/<name>.<fmt>, content negotiation."""

from __future__ import annotations

import datetime
import hashlib
import re
from collections.abc import Callable
from functools import wraps

from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import get_object_or_404
from django.utils import timezone
from django.utils.cache import get_conditional_response, patch_vary_headers
from django.utils.http import http_date
from django.utils.translation import gettext as _
from django.views.decorators.http import require_safe

from machi.catalog import dcat
from machi.catalog.models import Dataset
from machi.catalog.queries import with_resources

HTML_TYPES = ["text/html", "application/xhtml+xml"]


def _rdf_response(
    request: HttpRequest,
    fmt: str,
    etag: str,
    last_modified: datetime.datetime | None,
    body: Callable[[], bytes],
) -> HttpResponse:
    """The serialization, or 304 when the client's copy is current (the graph is not built)."""
    etag = f'"{etag}"'
    timestamp = int(last_modified.timestamp()) if last_modified else None
    not_modified = get_conditional_response(request, etag=etag, last_modified=timestamp)
    if not_modified is not None:
        return not_modified
    content_type = dcat.FORMATS[fmt].content_type
    response = HttpResponse(body(), content_type=f"{content_type}; charset=utf-8")
    response["ETag"] = etag
    if timestamp is not None:
        response["Last-Modified"] = http_date(timestamp)
    # Public data: shared caches may keep it briefly, and revalidate cheaply with the ETag.
    response["Cache-Control"] = "public, max-age=300"
    # Public data, read without cookies: web apps on other sites may read it too.
    response["Access-Control-Allow-Origin"] = "*"
    return response


def _digest(*parts: object) -> str:
    return hashlib.sha256("|".join(map(str, parts)).encode()).hexdigest()[:32]


_UNENCODED_PLUS = re.compile(r"(T[\d:.]+) (\d{2}(?::?\d{2})?)$")


def _parse_modified_since(text: str) -> datetime.datetime:
    """ISO 8601 date or date-time; without an offset it is UTC (as CKAN's metadata_modified)."""
    # An offset's + sent unencoded in a URL arrives as a space (…T00:00:00 09:00).
    text = _UNENCODED_PLUS.sub(r"\1+\2", text.strip())
    try:
        value = datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(
            _(
                "modified_since “%(value)s” is not a date. Use ISO 8601, for example "
                "2026-04-01 or 2026-04-01T09:00:00+09:00."
            )
            % {"value": text[:40]}
        ) from None
    if timezone.is_naive(value):
        value = value.replace(tzinfo=datetime.UTC)
    return value


def _page(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise ValueError(
            _("page “%(value)s” is not a page number: use 1, 2, 3 …") % {"value": text[:20]}
        )
    return int(text)


def _bad_request(message: str) -> HttpResponse:
    return HttpResponseBadRequest(message, content_type="text/plain; charset=utf-8")


@require_safe
def catalog(request: HttpRequest, fmt: str) -> HttpResponse:
    """One page (100 datasets) of the public catalog, newest change first."""
    since_text = request.GET.get("modified_since", "").strip()
    try:
        page = _page(request.GET.get("page", "1"))
        since = _parse_modified_since(since_text) if since_text else None
    except ValueError as error:
        return _bad_request(str(error))
    state = dcat.catalog_state(since)
    if page > state.pages:
        raise Http404(_("The catalog has %(pages)s pages.") % {"pages": state.pages})
    etag = _digest(fmt, page, since_text, state.count, state.last_modified, dcat.site_url())

    def body() -> bytes:
        graph = dcat.catalog_graph(
            fmt=fmt, page=page, state=state, modified_since=since, modified_since_text=since_text
        )
        return dcat.serialize(graph, fmt)

    return _rdf_response(request, fmt, etag, state.last_modified, body)


def _public_dataset(name: str) -> Dataset:
    """Only public datasets are described in DCAT, whoever asks."""
    return get_object_or_404(with_resources(Dataset.objects.filter(is_public=True)), name=name)


def _dataset_response(request: HttpRequest, name: str, fmt: str) -> HttpResponse:
    dataset = _public_dataset(name)
    etag = _digest(fmt, dataset.pk, dataset.modified, dcat.site_url())
    return _rdf_response(
        request,
        fmt,
        etag,
        dataset.modified,
        lambda: dcat.serialize(dcat.dataset_graph(dataset), fmt),
    )


@require_safe
def dataset(request: HttpRequest, name: str, fmt: str) -> HttpResponse:
    return _dataset_response(request, name, fmt)


def negotiated_format(request: HttpRequest) -> str | None:
    """The RDF suffix the Accept header prefers over HTML, or None (browsers, */*)."""
    preferred = request.get_preferred_type([*HTML_TYPES, *dcat.MEDIA_TYPES])
    return dcat.MEDIA_TYPES.get(preferred or "")


def negotiates_rdf(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Serve the dataset page's RDF to clients that ask for it by Accept; HTML to the rest."""

    @wraps(view)
    def wrapper(request: HttpRequest, name: str, *args: object, **kwargs: object) -> HttpResponse:
        fmt = negotiated_format(request)
        if fmt is not None and request.method in ("GET", "HEAD"):
            response = _dataset_response(request, name, fmt)
        else:
            response = view(request, name, *args, **kwargs)
        patch_vary_headers(response, ["Accept"])
        return response

    return wrapper
