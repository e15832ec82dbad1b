from django.conf import settings
from django.contrib import admin
from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.urls import include, path
from django.views.decorators.cache import never_cache

from machi.api import api
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


admin.site.site_header = settings.MACHI_SITE_NAME
admin.site.site_title = settings.MACHI_SITE_NAME

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("admin/", admin.site.urls),
    path("staff/publish/", include("machi.publish.urls")),
    path("staff/", include("machi.accounts.urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    path("api/v1/", api.urls),
    path("developers/", include("machi.developers.urls")),
    path("dataset/<str:name>/datapackage.json", datapackage, name="datapackage"),
    path("standard-datasets.json", checklist_json, name="standard_datasets"),
    path("", include("machi.catalog.urls")),
]
