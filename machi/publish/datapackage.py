"""datapackage.json per dataset: its tables with their Table Schemas (Frictionless Data Package)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import Http404, HttpRequest, JsonResponse
from django.shortcuts import get_object_or_404
from django.views.decorators.http import require_safe

from machi.catalog import permissions
from machi.catalog.models import Dataset
from machi.datastore.models import Table
from machi.publish import services


def package(dataset: Dataset) -> dict[str, Any]:
    """The descriptor: every current resource; tables carry the schema they were published with."""
    base = settings.SITE_URL
    resources = []
    for resource in dataset.resources.filter(current__isnull=False).select_related("current"):
        version = resource.current
        entry: dict[str, Any] = {
            "name": str(resource.uid),
            "title": resource.name,
            "path": base + resource.download_url() if version.is_upload else version.url,
        }
        if version.format:
            entry["format"] = version.format.lower()
        if version.media_type:
            entry["mediatype"] = version.media_type
        if version.size:
            entry["bytes"] = version.size
        if version.sha256:
            entry["hash"] = f"sha256:{version.sha256}"
        table = Table.objects.filter(version=version).first()
        if table is not None:
            entry["profile"] = "tabular-data-resource"
            entry["encoding"] = "utf-8"
            entry["schema"] = _published_schema(version) or table.schema
            entry["datastore"] = f"{base}/api/v1/datastore/{resource.uid}/rows"
        resources.append(entry)
    descriptor: dict[str, Any] = {
        "name": dataset.name,
        "title": dataset.title,
        "description": dataset.description,
        "homepage": base + dataset.get_absolute_url(),
        "licenses": [
            {
                "name": dataset.license.slug,
                "title": dataset.license.title,
                "path": dataset.license.url,
            }
        ],
        "keywords": list(dataset.tags.values_list("name", flat=True)),
        "resources": resources,
    }
    if dataset.standard:
        descriptor["x-standard"] = dataset.standard
    return descriptor


def _published_schema(version: Any) -> dict[str, Any] | None:
    # A version from the publish pipeline keeps the full schema (the standard's constraints).
    run = getattr(version, "run", None)
    return services.published_schema(run) if run is not None and run.schema else None


@require_safe
def datapackage(request: HttpRequest, name: str) -> JsonResponse:
    dataset = get_object_or_404(Dataset, name=name)
    if not permissions.can_view_dataset(request.user, dataset):
        raise Http404
    return JsonResponse(package(dataset), json_dumps_params={"ensure_ascii": False, "indent": 2})
