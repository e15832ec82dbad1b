"""The machi JSON API at /api/v1/ (OpenAPI at /api/v1/openapi.json, docs at /api/v1/docs)."""

from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from ninja import NinjaAPI
from ninja.errors import ValidationError as RequestValidationError
from ninja.renderers import JSONRenderer

from machi.ask.api import router as ask_router
from machi.catalog.api import router as catalog_router
from machi.datastore.api import router as datastore_router
from machi.datastore.api_exports import router as exports_router
from machi.datastore.api_sql import router as sql_router
from machi.datastore.errors import DatastoreError
from machi.geo.api import router as geo_router


class UnicodeJSONRenderer(JSONRenderer):
    """JSON with Japanese as UTF-8, not \\u escapes: a third of the bytes, and readable."""

    json_dumps_params = {"ensure_ascii": False}


api = NinjaAPI(
    renderer=UnicodeJSONRenderer(),
    title="machi API",
    version="1",
    description=(
        "Open data of the ward: the catalog (datasets, resources, search) and the datastore "
        "(every published table: rows, facets, aggregates, read-only SQL, exports)."
    ),
    urls_namespace="api",
)


def _request_error_message(error: dict[str, object]) -> str:
    """Pydantic's error types in the reader's language (Japanese first)."""
    kind = str(error.get("type", ""))
    if kind == "missing":
        return _("This field is required.")
    if kind.startswith("int"):
        return _("Enter a whole number.")
    if kind.startswith(("float", "decimal")):
        return _("Enter a number.")
    if kind.startswith("bool"):
        return _("Enter true or false.")
    if kind.startswith(("date", "datetime", "time")):
        return _("Enter a date as YYYY-MM-DD.")
    if kind.startswith(("string_too_long", "too_long")):
        return _("This value is too long.")
    return _("This value is not valid.")


@api.exception_handler(RequestValidationError)
def request_error(request: HttpRequest, error: RequestValidationError) -> HttpResponse:
    """Bad parameters: 422 with one message per field, naming where it was."""
    details = [
        {
            "loc": list(item.get("loc", [])),
            "field": ".".join(str(part) for part in item.get("loc", [])[1:]),
            "msg": _request_error_message(item),
            "type": item.get("type", ""),
        }
        for item in error.errors
    ]
    return api.create_response(request, {"detail": details}, status=422)


@api.exception_handler(ValidationError)
def validation_error(request: HttpRequest, error: ValidationError) -> HttpResponse:
    fields = error.message_dict if hasattr(error, "error_dict") else {"__all__": error.messages}
    return api.create_response(request, {"detail": fields}, status=400)


@api.exception_handler(PermissionDenied)
def permission_denied(request: HttpRequest, error: PermissionDenied) -> HttpResponse:
    return api.create_response(request, {"detail": str(error)}, status=403)


@api.exception_handler(Http404)
def not_found(request: HttpRequest, error: Http404) -> HttpResponse:
    """Django's own 404 messages are English ("No Dataset matches the given query.")."""
    return api.create_response(
        request, {"detail": _("Not found: no API route or object at this address.")}, status=404
    )


@api.exception_handler(DatastoreError)
def datastore_error(request: HttpRequest, error: DatastoreError) -> HttpResponse:
    """A refused query or load: what was wrong, and which parameter, line or column."""
    response = api.create_response(
        request,
        {"detail": str(error), **{k: v for k, v in error.where.items()}},
        status=error.status,
    )
    if error.status == 503:
        response["Retry-After"] = "60"
    return response


api.add_router("/", catalog_router)
api.add_router("/", sql_router)  # /datastore/sql, before /datastore/{uuid}
api.add_router("/", datastore_router)
api.add_router("/", exports_router)
api.add_router("/", geo_router)
api.add_router("/", ask_router)
