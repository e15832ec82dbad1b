from django.conf import settings
from django.contrib import admin
from django.db import connection
from django.http import HttpRequest, HttpResponse, HttpResponsePermanentRedirect, JsonResponse
from django.templatetags.static import static
from django.urls import include, path
from django.utils.translation import gettext as _
from django.views import defaults
from django.views.decorators.cache import never_cache

from machi.api import api
from machi.ckan_compat import views as ckan
from machi.publish.dashboard import checklist_json
from machi.publish.datapackage import datapackage


@never_cache
def healthz(request: HttpRequest) -> JsonResponse:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except Exception as error:  # noqa: BLE001 - any failure means unhealthy
        return JsonResponse({"status": "error", "database": str(error)}, status=503)
    return JsonResponse({"status": "ok", "database": connection.vendor})


def favicon(request: HttpRequest) -> HttpResponsePermanentRedirect:
    """For clients that ask for /favicon.ico without reading the page's icon link. The
    address is looked up per request: the static files' manifest may not exist at import."""
    return HttpResponsePermanentRedirect(static("machi/favicon.svg"))


admin.site.site_header = settings.MACHI_SITE_NAME
admin.site.site_title = settings.MACHI_SITE_NAME

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("favicon.ico", favicon),
    path("admin/", admin.site.urls),
    path("staff/publish/", include("machi.publish.urls")),
    path("", include("machi.ask.urls")),  # /ask/, /staff/ask/
    path("", include("machi.geo.urls")),  # /map/, /staff/map/
    path("staff/", include("machi.accounts.urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    path("api/v1/", api.urls),
    # The CKAN Action API (docs/ckan-compat.md).
    path("api/3/action/<str:name>", ckan.action, name="ckan_action"),
    path("api/action/<str:name>", ckan.action, name="ckan_action_unversioned"),
    path("api/3", ckan.api_root, name="ckan_api_root"),
    path("api/util/status", ckan.util_status, name="ckan_util_status"),
    path(
        "dataset/<str:name>/resource/<uuid:uid>/download/<str:filename>",
        ckan.download,
        name="ckan_download",
    ),
    path("developers/", include("machi.developers.urls")),
    path("dataset/<str:name>/datapackage.json", datapackage, name="datapackage"),
    path("standard-datasets.json", checklist_json, name="standard_datasets"),
    path("", include("machi.catalog.urls")),
]


def not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    """A path under /api/ that matches no route answers in JSON, as the API's own 404s do
    (an app reading `detail` got a page of HTML); elsewhere, the site's page."""
    if request.path.startswith("/api/"):
        return JsonResponse(
            {"detail": _("Not found: no API route or object at this address.")},
            status=404,
            json_dumps_params={"ensure_ascii": False},
        )
    return defaults.page_not_found(request, exception)


handler404 = not_found
