"""CKAN's write actions, each one a call of machi's services (permissions, audit, index).

The view runs every write in one transaction: an action that fails halfway
(a package with a bad resource) changes nothing.
"""

import uuid
from typing import Any
from urllib.parse import unquote

from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.utils.dateparse import parse_date
from django.utils.translation import gettext as _

from machi.accounts import services as accounts
from machi.accounts.models import Department
from machi.catalog import services
from machi.catalog.models import Category, Dataset, Frequency, License, Resource
from machi.ckan_compat import dicts
from machi.ckan_compat.actions import Context, common, register
from machi.ckan_compat.actions.read import package_show, resource_show
from machi.ckan_compat.errors import NotFound, ValidationFailed
from machi.ckan_compat.models import DatasetIdentity
from machi.ckan_compat.search import boolean

# machi's field -> the CKAN key a client sent it as (for field errors).
_CKAN_KEYS = {
    "description": "notes",
    "department": "owner_org",
    "license": "license_id",
    "contact_name": "maintainer",
    "contact_email": "maintainer_email",
    "is_public": "private",
    "categories": "groups",
}
_DATE_EXTRAS = {"temporal_start", "temporal_end"}
_DEFAULTS: dict[str, Any] = {
    "title_en": "",
    "description_en": "",
    "update_frequency": Frequency.IRREGULAR,
    "temporal_start": None,
    "temporal_end": None,
    "spatial": Dataset._meta.get_field("spatial").default,
    "contact_phone": "",
    "standard": "",
}


def _invalid(field: str, message: str) -> ValidationFailed:
    return ValidationFailed(f"{field}: {message}", fields={field: [message]})


def _renamed(error: ValidationError) -> ValidationFailed:
    if not hasattr(error, "error_dict"):
        return ValidationFailed(" ".join(error.messages), fields={"__all__": error.messages})
    fields = {_CKAN_KEYS.get(k, k): [str(m) for m in v] for k, v in error.message_dict.items()}
    summary = "; ".join(f"{k}: {' '.join(v)}" for k, v in fields.items())
    return ValidationFailed(summary, fields=fields)


def _extras(data: dict[str, Any]) -> dict[str, Any]:
    """machi's own fields, from `extras` ([{key, value}]) or top-level keys."""
    values: dict[str, Any] = {}
    extras = data.get("extras") or []
    if not isinstance(extras, list) or not all(isinstance(e, dict) and "key" in e for e in extras):
        raise _invalid("extras", _('Give extras as a list of {"key": …, "value": …}.'))
    for extra in extras:
        key = str(extra["key"])
        if key not in _DEFAULTS:
            raise _invalid(
                "extras",
                _("The extra “%(key)s” is not a machi field. Extras: %(keys)s")
                % {"key": key, "keys": ", ".join(_DEFAULTS)},
            )
        values[key] = extra.get("value")
    for key in _DEFAULTS:
        if key in data:
            values[key] = data[key]
    for key, value in list(values.items()):
        if value in (None, ""):
            values[key] = _DEFAULTS[key]
        elif key in _DATE_EXTRAS:
            day = parse_date(str(value)[:10])
            if day is None:
                raise _invalid(key, _("“%(value)s” is not a date (YYYY-MM-DD).") % {"value": value})
            values[key] = day
        else:
            values[key] = str(value)
    return values


def _tags(data: dict[str, Any]) -> list[str] | None:
    if "tags" not in data and "tag_string" not in data:
        return None
    names: list[str] = []
    tags = data.get("tags") or []
    if not isinstance(tags, list):
        raise _invalid("tags", _('Give tags as a list of {"name": …}.'))
    for item in tags:
        name = item.get("name") if isinstance(item, dict) else item
        if not isinstance(name, str):
            raise _invalid("tags", _('Give tags as a list of {"name": …}.'))
        names.append(name)
    tag_string = data.get("tag_string")
    if isinstance(tag_string, str):
        names.extend(t for t in tag_string.split(",") if t.strip())
    return names


def _groups(data: dict[str, Any]) -> list[Category] | None:
    if "groups" not in data:
        return None
    groups = data.get("groups") or []
    if not isinstance(groups, list):
        raise _invalid("groups", _('Give groups as a list of {"name": …}.'))
    found = []
    for item in groups:
        ident = (item.get("name") or item.get("id")) if isinstance(item, dict) else item
        try:
            found.append(common.category(ident))
        except NotFound:
            raise _invalid("groups", _("There is no group “%(name)s”.") % {"name": ident}) from None
    return found


def _license(data: dict[str, Any]) -> License:
    slug = str(data.get("license_id") or services.DEFAULT_LICENSE)
    found = License.objects.filter(slug=slug).first()
    if found is None:
        raise _invalid(
            "license_id",
            _("There is no license “%(id)s”. license_list names them.") % {"id": slug},
        )
    return found


def _organization(data: dict[str, Any]) -> Department:
    ident = data.get("owner_org") or (data.get("organization") or {}).get("name")
    if not ident:
        raise _invalid("owner_org", _("Missing value"))
    try:
        return common.department(ident)
    except NotFound:
        raise _invalid(
            "owner_org", _("There is no organization “%(id)s”.") % {"id": ident}
        ) from None


def _fields(data: dict[str, Any]) -> dict[str, Any]:
    """The dataset fields of a package dict (all of them: CKAN's create and update replace)."""
    name = common.text(data, "name").strip()
    return {
        "name": name,
        "title": common.text(data, "title").strip() or name,
        "description": common.text(data, "notes"),
        "license": _license(data),
        "department": _organization(data),
        "contact_name": common.text(data, "maintainer"),
        "contact_email": common.text(data, "maintainer_email"),
        "is_public": not boolean(data.get("private", False)),
        **_DEFAULTS,
        **_extras(data),
    }


def _upload(data: dict[str, Any]) -> UploadedFile | None:
    upload = data.get("upload")
    return upload if isinstance(upload, UploadedFile) else None


def _add_resource(ctx: Context, dataset: Dataset, data: dict[str, Any]) -> Resource:
    upload = _upload(data)
    url = "" if upload else common.text(data, "url").strip()
    if not upload and not url:
        raise _invalid("url", _("Give a url or upload a file (multipart field “upload”)."))
    name = common.text(data, "name").strip() or (upload.name if upload else url.rsplit("/", 1)[-1])
    res = services.add_resource(
        actor=ctx.user,
        dataset=dataset,
        name=name[:300],
        upload=upload,
        url=url,
        format=common.text(data, "format").strip(),
        name_en=common.text(data, "name_en"),
        description=common.text(data, "description"),
    )
    _keep_id(res, data.get("id"))
    return res


def _keep_id(res: Resource, wanted: Any) -> None:
    """A resource created with an id keeps it, as CKAN's loads do (files follow by id)."""
    try:
        uid = uuid.UUID(str(wanted or ""))
    except ValueError:
        return
    if not Resource.objects.filter(uid=uid).exists():
        Resource.objects.filter(pk=res.pk).update(uid=uid)
        res.uid = uid


def _update_resource(ctx: Context, res: Resource, data: dict[str, Any]) -> Resource:
    upload = _upload(data)
    url = common.text(data, "url").strip()
    current = res.current
    if upload or (url and _points_elsewhere(ctx, res, url, data.get("url_type"))):
        services.replace_resource(
            actor=ctx.user,
            resource=res,
            upload=upload,
            url="" if upload else url,
            # A new file keeps the resource's format unless the client names one.
            format=common.text(data, "format").strip() or (current.format if current else ""),
        )
        res.refresh_from_db()
    changes = {
        key: common.text(data, key)
        for key in ("name", "name_en", "description")
        if key in data and common.text(data, key) != getattr(res, key)
    }
    if changes:
        services.update_resource(actor=ctx.user, resource=res, **changes)
    return res


def _points_elsewhere(ctx: Context, res: Resource, url: str, url_type: Any) -> bool:
    """Whether `url` names other content than the resource serves now.

    Its own download URL does not, nor (as in CKAN, which keeps an uploaded file's
    name only) an upload URL elsewhere ending in the current file's name: a
    dataset copied with its files keeps them when the copy is loaded again.
    """
    current = res.current
    if current is None:
        return True
    own = ctx.request.build_absolute_uri(res.download_url())
    if url == own or url.startswith(own + "/"):
        return False
    if current.is_upload:
        return not (url_type == "upload" and unquote(url.rsplit("/", 1)[-1]) == current.filename)
    return url != current.url


def _sync_resources(ctx: Context, dataset: Dataset, listed: Any) -> None:
    """CKAN's update: listed resources stay (updated), unlisted ones go, new ones are added."""
    if not isinstance(listed, list) or not all(isinstance(r, dict) for r in listed):
        raise _invalid("resources", _("Give resources as a list of objects."))
    existing = {str(r.uid): r for r in dataset.resources.select_related("current")}
    kept = set()
    for position, item in enumerate(listed):
        res = existing.get(str(item.get("id") or ""))
        if res is None:
            res = _add_resource(ctx, dataset, item)
        else:
            res = _update_resource(ctx, res, item)
        kept.add(str(res.uid))
        if res.position != position:
            services.update_resource(actor=ctx.user, resource=res, position=position)
    for uid, res in existing.items():
        if uid not in kept:
            services.delete_resource(actor=ctx.user, resource=res)


@register("package_create", writes=True)
def package_create(ctx: Context, data: dict[str, Any]) -> dict[str, Any]:
    fields = _fields(data)
    department = fields.pop("department")
    wanted_id = str(data.get("id") or "").strip()
    if wanted_id:
        try:
            wanted_id = str(uuid.UUID(wanted_id))
        except ValueError:
            raise _invalid("id", _("An id must be a UUID.")) from None
        if DatasetIdentity.objects.filter(uid=wanted_id).exists():
            raise _invalid("id", _("Dataset id already exists."))
    try:
        dataset = services.create_dataset(
            actor=ctx.user,
            department=department,
            tags=_tags(data) or [],
            categories=_groups(data) or [],
            **fields,
        )
    except ValidationError as error:
        raise _renamed(error) from None
    if wanted_id:
        DatasetIdentity.objects.update_or_create(dataset=dataset, defaults={"uid": wanted_id})
    else:
        dicts.dataset_ids([dataset])
    if data.get("resources"):
        _sync_resources(ctx, dataset, data["resources"])
    return package_show(ctx, {"id": dataset.name})


def _update(ctx: Context, dataset: Dataset, data: dict[str, Any]) -> dict[str, Any]:
    fields = _fields({"name": dataset.name, **data})
    try:
        services.update_dataset(
            actor=ctx.user,
            dataset=dataset,
            tags=_tags(data) if "tags" in data or "tag_string" in data else [],
            categories=_groups(data) if "groups" in data else [],
            **fields,
        )
    except ValidationError as error:
        raise _renamed(error) from None
    if "resources" in data:
        _sync_resources(ctx, dataset, data["resources"])
    return package_show(ctx, {"id": dataset.name})


@register("package_update", writes=True)
def package_update(ctx: Context, data: dict[str, Any]) -> dict[str, Any]:
    dataset = common.dataset(ctx.user, data.get("id") or data.get("name"), for_edit=True)
    return _update(ctx, dataset, data)


@register("package_patch", writes=True)
def package_patch(ctx: Context, data: dict[str, Any]) -> dict[str, Any]:
    dataset = common.dataset(ctx.user, data.get("id") or data.get("name"), for_edit=True)
    current = package_show(ctx, {"id": dataset.name})
    current.pop("resources")  # kept unless the patch lists them
    patch = {k: v for k, v in data.items() if k != "id"}
    return _update(ctx, dataset, {**current, **patch})


@register("package_delete", writes=True)
def package_delete(ctx: Context, data: dict[str, Any]) -> None:
    dataset = common.dataset(ctx.user, data.get("id") or data.get("name"))
    services.delete_dataset(actor=ctx.user, dataset=dataset)
    return None


@register("resource_create", writes=True)
def resource_create(ctx: Context, data: dict[str, Any]) -> dict[str, Any]:
    dataset = common.dataset(ctx.user, common.required(data, "package_id"), for_edit=True)
    try:
        res = _add_resource(ctx, dataset, data)
    except ValidationError as error:
        raise _renamed(error) from None
    return resource_show(ctx, {"id": str(res.uid)})


@register("resource_update", writes=True)
def resource_update(ctx: Context, data: dict[str, Any]) -> dict[str, Any]:
    res = common.resource(ctx.user, common.required(data, "id"))
    try:
        _update_resource(ctx, res, data)
    except ValidationError as error:
        raise _renamed(error) from None
    return resource_show(ctx, {"id": str(res.uid)})


@register("resource_patch", writes=True)
def resource_patch(ctx: Context, data: dict[str, Any]) -> dict[str, Any]:
    return resource_update(ctx, data)


@register("resource_delete", writes=True)
def resource_delete(ctx: Context, data: dict[str, Any]) -> None:
    res = common.resource(ctx.user, common.required(data, "id"))
    services.delete_resource(actor=ctx.user, resource=res)
    return None


def _save_department(ctx: Context, department: Department, data: dict[str, Any]) -> Any:
    department.name = common.text(data, "title").strip() or department.name or department.slug
    for key in ("description", "title_en"):
        if key in data:
            setattr(department, "name_en" if key == "title_en" else key, common.text(data, key))
    try:
        accounts.save_department(actor=ctx.user, department=department)
    except ValidationError as error:
        raise _renamed(error) from None
    return dicts.organization(department, package_count=department.datasets.count())


@register("organization_create", writes=True)
def organization_create(ctx: Context, data: dict[str, Any]) -> Any:
    """A department (site administrators only), named by its CKAN `name`."""
    slug = common.text(data, "name").strip()
    if Department.objects.filter(slug=slug).exists():
        raise _invalid("name", _("Group name already exists in database"))
    return _save_department(ctx, Department(slug=slug), data)


@register("organization_update", writes=True)
def organization_update(ctx: Context, data: dict[str, Any]) -> Any:
    department = common.department(data.get("id") or data.get("name"))
    return _save_department(ctx, department, data)


@register("organization_patch", writes=True)
def organization_patch(ctx: Context, data: dict[str, Any]) -> Any:
    return organization_update(ctx, data)
