"""Catalog routes of the machi API."""

from typing import Any

from django.http import Http404, HttpRequest
from django.urls import reverse
from ninja import Query, Router, Schema

from machi.catalog import permissions
from machi.catalog.models import Dataset, Resource
from machi.catalog.queries import PAGE_SIZE, Filters, search_datasets, with_resources
from machi.catalog.schemas import DatasetOut, DatasetSearchOut
from machi.lib.api_errors import errors

router = Router(tags=["catalog"])


class SearchParams(Schema):
    q: str = ""
    category: list[str] = []
    tag: list[str] = []
    department: list[str] = []
    format: list[str] = []
    license: list[str] = []
    sort: str = ""
    page: int = 1
    page_size: int = PAGE_SIZE


def _resource(request: HttpRequest, resource: Resource) -> dict[str, Any]:
    version = resource.current
    url = ""
    if version is not None:
        url = request.build_absolute_uri(resource.download_url()) if version.file else version.url
    return {
        "id": resource.uid,
        "name": resource.name,
        "name_en": resource.name_en,
        "description": resource.description,
        "format": version.format if version else "",
        "url": url,
        "size": version.size if version else None,
        "sha256": version.sha256 if version else "",
        "encoding": version.encoding if version else "",
        "version": version.number if version else None,
        "modified": resource.modified,
        # Rows of tabular resources, queryable one by one (machi.datastore).
        "datastore": (
            request.build_absolute_uri(reverse("api:table_rows", args=[resource.uid]))
            if getattr(resource, "tables_loaded", 0)
            else None
        ),
    }


def _summary(request: HttpRequest, dataset: Dataset) -> dict[str, Any]:
    return {
        "name": dataset.name,
        "title": dataset.title,
        "title_en": dataset.title_en,
        "description": dataset.description,
        "tags": [tag.name for tag in dataset.tags.all()],
        "categories": [category.slug for category in dataset.categories.all()],
        "department": dataset.department,
        "license": {
            "id": dataset.license.slug,
            "title": dataset.license.title,
            "url": dataset.license.url,
        },
        "resources": [_resource(request, r) for r in dataset.resources.all()],
        "metadata_created": dataset.created,
        "metadata_modified": dataset.modified,
        "url": request.build_absolute_uri(dataset.get_absolute_url()),
    }


@router.get("datasets", response={200: DatasetSearchOut, **errors(400)}, summary="Search datasets")
def list_datasets(request: HttpRequest, params: Query[SearchParams]) -> dict[str, Any]:
    """Japanese or English full-text search with facets; without `q`, newest first."""
    result = search_datasets(
        q=params.q[:200],
        filters=Filters(
            category=params.category,
            tag=params.tag,
            department=params.department,
            format=params.format,
            license=params.license,
        ),
        sort=params.sort,
        page=params.page,
        page_size=min(max(params.page_size, 1), 1000),
        user=request.user,
    )
    return {
        "count": result.count,
        "page": result.page,
        "page_size": result.page_size,
        "sort": result.sort,
        "results": [_summary(request, d) for d in result.datasets],
        "facets": {
            name: [{"value": v.value, "label": v.label, "count": v.count} for v in values]
            for name, values in result.facets.items()
        },
    }


@router.get(
    "datasets/{name}", response={200: DatasetOut, **errors(404)}, summary="One dataset in full"
)
def get_dataset(request: HttpRequest, name: str) -> dict[str, Any]:
    dataset = with_resources(Dataset.objects.filter(name=name)).first()
    if dataset is None or not permissions.can_view_dataset(request.user, dataset):
        raise Http404
    return {
        **_summary(request, dataset),
        "description_en": dataset.description_en,
        "update_frequency": dataset.update_frequency,
        "temporal_start": dataset.temporal_start,
        "temporal_end": dataset.temporal_end,
        "spatial": dataset.spatial,
        "contact_name": dataset.contact_name,
        "contact_email": dataset.contact_email,
        "contact_phone": dataset.contact_phone,
        "standard": dataset.standard,
        "is_public": dataset.is_public,
        "showcases": list(dataset.showcases.filter(is_public=True).values_list("name", flat=True)),
    }
