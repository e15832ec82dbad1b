"""Catalog objects as the dicts CKAN 2.10/2.11 returns (package, resource, organization ...).

Only shapes live here: which machi field answers for which CKAN key. Names of
departments and categories are their slugs; their CKAN ids are UUIDs derived from
the slug, so two machi sites give the same organization the same id.
"""

import datetime
import re
import uuid
from collections.abc import Iterable
from typing import Any
from urllib.parse import quote

from django.http import HttpRequest
from django.utils import timezone

from machi.accounts.models import Department
from machi.catalog.models import Category, Dataset, License, Resource, Tag
from machi.ckan_compat.models import DatasetIdentity

# A fixed namespace: ids derived from names are the same on every machi site.
NAMESPACE = uuid.UUID("5b1c7d0e-6a43-4f1e-9c55-6d61636869a1")

# machi fields without a CKAN core key travel as `extras`, in this order.
EXTRA_FIELDS = (
    "title_en",
    "description_en",
    "update_frequency",
    "temporal_start",
    "temporal_end",
    "spatial",
    "contact_phone",
    "standard",
)


def derived_id(kind: str, name: str) -> str:
    return str(uuid.uuid5(NAMESPACE, f"{kind}:{name}"))


def timestamp(value: datetime.datetime | None) -> str | None:
    """CKAN's timestamps: UTC, ISO 8601, no offset (`2024-05-01T03:04:05.123456`)."""
    if value is None:
        return None
    if timezone.is_aware(value):
        value = value.astimezone(datetime.UTC).replace(tzinfo=None)
    return value.isoformat()


def dataset_ids(datasets: Iterable[Dataset]) -> dict[int, str]:
    """The CKAN ids of datasets; ones made before this app existed get theirs now."""
    datasets = list(datasets)
    found = dict(
        DatasetIdentity.objects.filter(dataset__in=[d.pk for d in datasets]).values_list(
            "dataset_id", "uid"
        )
    )
    missing = [DatasetIdentity(dataset_id=d.pk) for d in datasets if d.pk not in found]
    if missing:
        DatasetIdentity.objects.bulk_create(missing, ignore_conflicts=True)
        found.update(
            DatasetIdentity.objects.filter(dataset__in=[m.dataset_id for m in missing]).values_list(
                "dataset_id", "uid"
            )
        )
    return {pk: str(uid) for pk, uid in found.items()}


def organization(department: Department, *, package_count: int | None = None) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": derived_id("organization", department.slug),
        "name": department.slug,
        "title": department.name,
        "type": "organization",
        "description": department.description,
        "image_url": "",
        "created": timestamp(department.created),
        "is_organization": True,
        "approval_status": "approved",
        "state": "active",
    }
    if package_count is not None:
        data.update(
            display_name=department.display_name,
            image_display_url="",
            num_followers=0,
            package_count=package_count,
            title_en=department.name_en,
        )
    return data


def group(category: Category, *, package_count: int | None = None) -> dict[str, Any]:
    data: dict[str, Any] = {
        "description": category.description,
        "display_name": category.display_name,
        "id": derived_id("group", category.slug),
        "image_display_url": "",
        "name": category.slug,
        "title": category.name,
    }
    if package_count is not None:
        data.update(
            approval_status="approved",
            created=None,
            image_url="",
            is_organization=False,
            num_followers=0,
            package_count=package_count,
            state="active",
            type="group",
            title_en=category.name_en,
        )
    return data


# CKAN's tag_name_validator: word characters (Japanese included), spaces, - _ and .;
# a harvesting CKAN refuses a dataset whose tag has anything else (子育て・教育, 防災/救命).
_CKAN_TAG_OTHER = re.compile(r"[^\w \-.]+")


def ckan_tag_name(name: str) -> str:
    """A tag as a CKAN may store it: other characters become "-" (子育て-教育); the tag
    as written stays its display_name."""
    return _CKAN_TAG_OTHER.sub("-", name).strip("-") or name


def tag_names(value: str) -> list[str]:
    """The tags a CKAN client names by `value`: the tag of that name, and any whose
    CKAN name it is (a harvester asks for 子育て-教育, machi's tag is 子育て・教育)."""
    found = [t for t in Tag.objects.values_list("name", flat=True) if ckan_tag_name(t) == value]
    return list(dict.fromkeys([value, *found]))


def tag(name: str) -> dict[str, Any]:
    return {
        "display_name": name,
        "id": derived_id("tag", name),
        "name": ckan_tag_name(name),
        "state": "active",
        "vocabulary_id": None,
    }


def license_(lic: License) -> dict[str, Any]:
    return {
        "id": lic.slug,
        "title": lic.display_title,
        "url": lic.url,
        "is_okd_compliant": lic.is_open,
        "is_osi_compliant": False,
        "od_conformance": "approved" if lic.is_open else "not reviewed",
        "osd_conformance": "not reviewed",
        "status": "active",
        "maintainer": "",
        "family": "",
        "domain_content": True,
        "domain_data": True,
        "domain_software": False,
    }


def resource(request: HttpRequest, res: Resource, package_id: str) -> dict[str, Any]:
    version = res.current
    upload = version is not None and version.is_upload
    if version is None:
        url = ""
    elif upload:
        # CKAN's upload URLs end in the file name; clients name copies after it.
        filename = quote(version.filename.rsplit("/", 1)[-1]) if version.filename else ""
        path = res.download_url() + (f"/{filename}" if filename else "")
        url = request.build_absolute_uri(path)
    else:
        url = version.url
    loaded = getattr(res, "tables_loaded", None)
    if loaded is None:
        loaded = res.tables.exists()
    return {
        "cache_last_updated": None,
        "cache_url": None,
        "created": timestamp(res.created),
        "datastore_active": bool(loaded),
        "description": res.description,
        "format": version.format if version else "",
        "hash": f"sha256:{version.sha256}" if version and version.sha256 else "",
        "id": str(res.uid),
        "last_modified": timestamp(version.created) if version else None,
        "metadata_modified": timestamp(res.modified),
        "mimetype": (version.media_type or None) if version else None,
        "mimetype_inner": None,
        "name": res.name,
        "name_en": res.name_en,
        "package_id": package_id,
        "position": res.position,
        "resource_type": None,
        "size": version.size if version else None,
        "state": "active",
        "url": url,
        "url_type": "upload" if upload else None,
    }


def _extra_value(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime.date):
        return value.isoformat()
    return str(value)


def package(request: HttpRequest, dataset: Dataset, package_id: str) -> dict[str, Any]:
    """A dataset as package_show returns it (and package_search, in full)."""
    tags = sorted(t.name for t in dataset.tags.all())
    resources = [r for r in dataset.resources.all() if r.current_id is not None]
    org = organization(dataset.department)
    return {
        "author": None,
        "author_email": None,
        "creator_user_id": None,
        "id": package_id,
        "isopen": dataset.license.is_open,
        "license_id": dataset.license.slug,
        "license_title": dataset.license.title,
        "license_url": dataset.license.url,
        "maintainer": dataset.contact_name or None,
        "maintainer_email": dataset.contact_email or None,
        "metadata_created": timestamp(dataset.created),
        "metadata_modified": timestamp(dataset.modified),
        "name": dataset.name,
        "notes": dataset.description,
        "num_resources": len(resources),
        "num_tags": len(tags),
        "organization": org,
        "owner_org": org["id"],
        "private": not dataset.is_public,
        "state": "active",
        "title": dataset.title,
        "type": "dataset",
        # CKAN's "source" link: the original page of a harvested dataset, so that a
        # catalog harvesting this one can tell a copy from the ward's own data.
        "url": dataset.remote_url or None,
        "version": None,
        "extras": [
            {"key": field, "value": _extra_value(getattr(dataset, field))} for field in EXTRA_FIELDS
        ],
        "groups": [group(c) for c in dataset.categories.all()],
        "resources": [resource(request, r, package_id) for r in resources],
        "tags": [tag(name) for name in tags],
        "relationships_as_subject": [],
        "relationships_as_object": [],
    }


def packages(request: HttpRequest, datasets: list[Dataset]) -> list[dict[str, Any]]:
    ids = dataset_ids(datasets)
    return [package(request, d, ids[d.pk]) for d in datasets]


def all_tags() -> list[str]:
    return list(Tag.objects.order_by("name").values_list("name", flat=True))
