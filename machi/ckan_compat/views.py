"""The CKAN Action API endpoint: /api/3/action/<name> and /api/action/<name>.

Parses the request (query string, JSON body, form or multipart), finds who acts
(a staff token; a signed-in session for reads), runs the action and wraps the
answer in CKAN's envelope {"help", "success", "result" | "error"}.
"""

import json
import logging
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt

from machi.ckan_compat import tokens
from machi.ckan_compat.actions import ACTIONS, Context
from machi.ckan_compat.errors import (
    ActionError,
    BadRequest,
    NotAuthorized,
    NotFound,
    ValidationFailed,
)
from machi.datastore.errors import DatastoreError, TableNotFound

log = logging.getLogger(__name__)

API_VERSION = 3


def _respond(request: HttpRequest, name: str, body: dict[str, Any], status: int) -> HttpResponse:
    envelope = {"help": request.build_absolute_uri(f"/api/3/action/help_show?name={name}")}
    envelope.update(body)
    response = JsonResponse(
        envelope, status=status, json_dumps_params={"ensure_ascii": False}, safe=False
    )
    # What an action shows depends on who asks (private datasets): no shared caching.
    response["Cache-Control"] = "private, no-store"
    return response


def _error(request: HttpRequest, name: str, error: ActionError) -> HttpResponse:
    return _respond(request, name, {"success": False, "error": error.body()}, error.status)


def _data(request: HttpRequest) -> dict[str, Any]:
    """The action's parameters: the query string, then a JSON or form body on top."""
    data: dict[str, Any] = {}
    for key in request.GET:
        values = request.GET.getlist(key)
        data[key] = values if len(values) > 1 else values[0]
    if request.method != "POST":
        return data
    if request.content_type == "application/x-www-form-urlencoded" and request.body.lstrip(
        b" \t\r\n"
    ).startswith(b"{"):
        # JSON sent as a form: what `curl -d '{...}'` and requests.post(data=json.dumps(...))
        # do. CKAN reads such a body as JSON too; as a form it would lose every parameter.
        return _json_body(request, data)
    if request.content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
        for key in request.POST:
            values = request.POST.getlist(key)
            data[key] = values if len(values) > 1 else values[0]
        for key in request.FILES:
            data[key] = request.FILES[key]
        return data
    return _json_body(request, data)


def _json_body(request: HttpRequest, data: dict[str, Any]) -> dict[str, Any]:
    if not request.body.strip():
        return data
    try:
        body = json.loads(request.body)
    except ValueError as error:
        raise BadRequest(
            _("The request body is not valid JSON: %(error)s") % {"error": error}
        ) from None
    if not isinstance(body, dict):
        raise BadRequest(_("The request body must be a JSON object."))
    data.update(body)
    return data


def _actor(request: HttpRequest) -> tuple[Any, bool]:
    """(who acts, whether they came with a token). A bad token is refused, not ignored."""
    plaintext = tokens.presented_token(request)
    if plaintext:
        try:
            return tokens.account_for(plaintext), True
        except tokens.BadToken:
            raise NotAuthorized(_("This API token is not valid, or it was revoked.")) from None
    user = getattr(request, "user", None)
    return (user if user is not None else AnonymousUser()), False


def _validation(error: ValidationError) -> ValidationFailed:
    fields = (
        {k: [str(m) for m in v] for k, v in error.message_dict.items()}
        if hasattr(error, "error_dict")
        else {"__all__": [str(m) for m in error.messages]}
    )
    summary = "; ".join(
        f"{k}: {' '.join(v)}" if k != "__all__" else " ".join(v) for k, v in fields.items()
    )
    return ValidationFailed(summary, fields=fields)


@csrf_exempt
@never_cache
def action(request: HttpRequest, name: str) -> HttpResponse:
    if request.method not in ("GET", "POST"):
        error = BadRequest(_("Use GET or POST."))
        return _error(request, name, error)
    spec = ACTIONS.get(name)
    if spec is None:
        return _error(
            request, name, BadRequest(_("Action name not known: %(name)s") % {"name": name})
        )
    try:
        data = _data(request)
        user, with_token = _actor(request)
        if spec.writes:
            if request.method != "POST":
                raise BadRequest(_("%(name)s changes data: send it with POST.") % {"name": name})
            if not with_token:
                raise NotAuthorized(
                    _("%(name)s needs an API token of a staff account (Authorization header).")
                    % {"name": name}
                )
        context = Context(request=request, user=user)
        if spec.writes:
            with transaction.atomic():
                result = spec.function(context, data)
        else:
            result = spec.function(context, data)
    except ActionError as error:
        return _error(request, name, error)
    except PermissionDenied as error:
        return _error(request, name, NotAuthorized(str(error) or _("Not authorized.")))
    except ValidationError as error:
        return _error(request, name, _validation(error))
    except TableNotFound as error:
        return _error(request, name, NotFound(str(error)))
    except DatastoreError as error:
        parameter = error.where.get("parameter")
        fields = {str(parameter): [str(error)]} if parameter else {}
        return _error(request, name, ValidationFailed(str(error), fields=fields))
    return _respond(request, name, {"success": True, "result": result}, 200)


def download(request: HttpRequest, name: str, uid: str, filename: str) -> HttpResponse:
    """A resource's file at CKAN's upload URL shape, ending in its file name.

    Clients name a copied file after the URL's last part (`ckanapi load
    --upload-resources` does); the file served is the resource's current one.
    """
    from machi.catalog.views import download as catalog_download

    return catalog_download(request, name=name, uid=uid)


@never_cache
def api_root(request: HttpRequest) -> HttpResponse:
    """/api and /api/3: the version, as CKAN answers it (clients probe it)."""
    return JsonResponse({"version": API_VERSION})


@never_cache
def util_status(request: HttpRequest) -> HttpResponse:
    """/api/util/status: CKAN's legacy status probe."""
    from machi.ckan_compat.actions.read import CKAN_VERSION

    return JsonResponse(
        {
            "ckan_version": CKAN_VERSION,
            "site_url": settings.SITE_URL,
            "site_title": settings.MACHI_SITE_NAME,
            "site_description": "",
            "locale_default": settings.LANGUAGE_CODE,
            "extensions": ["machi", "datastore"],
        },
        json_dumps_params={"ensure_ascii": False},
    )
