"""Writes to the catalog. Admin, site views, APIs and commands all call these.

Each service checks permission, validates, writes, re-indexes and records
the audit event in one transaction: a failed save changes nothing.
"""

import datetime
from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from machi.accounts.models import Department
from machi.accounts.permissions import User
from machi.audit import services as audit
from machi.catalog import permissions
from machi.catalog.models import (
    Category,
    Dataset,
    License,
    News,
    Resource,
    ResourceVersion,
    Showcase,
    Tag,
)
from machi.catalog.search import bump_version, index_dataset
from machi.lib import files

DEFAULT_LICENSE = "cc-by-4.0"

_DATASET_FIELDS = {
    "name",
    "title",
    "title_en",
    "description",
    "description_en",
    "license",
    "update_frequency",
    "temporal_start",
    "temporal_end",
    "spatial",
    "contact_name",
    "contact_email",
    "contact_phone",
    "standard",
    "is_public",
    "department",
}


def clean_tag_names(names: Iterable[str]) -> list[str]:
    """Tags as typed, trimmed, without duplicates; any Japanese text is fine."""
    result: list[str] = []
    for name in names:
        name = " ".join(name.split())
        if not name:
            continue
        if len(name) > 100:
            raise ValidationError(
                {"tags": _("Tag “%(tag)s” is longer than 100 characters.") % {"tag": name[:20]}}
            )
        if name not in result:
            result.append(name)
    return result


def _dataset_snapshot(dataset: Dataset) -> audit.Snapshot:
    return audit.snapshot(
        dataset,
        {
            "tags": sorted(dataset.tags.values_list("name", flat=True)),
            "categories": sorted(dataset.categories.values_list("slug", flat=True)),
        },
    )


def _set_vocabulary(
    dataset: Dataset, tags: Iterable[str] | None, categories: Iterable[Category] | None
) -> None:
    if tags is not None:
        names = clean_tag_names(tags)
        existing = {tag.name: tag for tag in Tag.objects.filter(name__in=names)}
        dataset.tags.set([existing.get(name) or Tag.objects.create(name=name) for name in names])
    if categories is not None:
        dataset.categories.set(list(categories))


def _check_unknown(fields: dict[str, Any]) -> None:
    unknown = set(fields) - _DATASET_FIELDS
    if unknown:
        raise TypeError(f"unknown dataset fields: {', '.join(sorted(unknown))}")


def note_update(dataset: Dataset, *, when: datetime.datetime) -> None:
    """Add (or refresh) today's automatic "updated" news entry for a public dataset."""
    if not dataset.is_public:
        return
    local_day = timezone.localtime(when).date()
    entry = News.objects.filter(
        kind=News.Kind.UPDATE, dataset=dataset, published_at__date=local_day
    ).first()
    if entry:
        entry.published_at = when
        entry.save(update_fields=["published_at"])
        return
    News.objects.create(
        kind=News.Kind.UPDATE,
        dataset=dataset,
        department=dataset.department,
        title=f"「{dataset.title}」を更新しました",
        title_en=f"Updated: {dataset.title_en or dataset.title}",
        published_at=when,
    )


def refuse_harvested(dataset: Dataset) -> None:
    """A harvested dataset mirrors another catalog: it changes only at its source."""
    if dataset.harvest_source_id is None:
        return
    raise PermissionDenied(
        _(
            "“%(title)s” is harvested from %(source)s and is read-only here. "
            "Change it at its source: %(url)s"
        )
        % {
            "title": dataset.title,
            "source": dataset.harvest_source,
            "url": dataset.remote_url or dataset.harvest_source.url,
        }
    )


def _touch(dataset: Dataset, when: datetime.datetime | None = None) -> None:
    dataset.modified = when or timezone.now()
    dataset.save(update_fields=["modified"])


@transaction.atomic
def create_dataset(
    *,
    actor: User,
    department: Department,
    name: str,
    title: str,
    license: License | None = None,
    tags: Iterable[str] = (),
    categories: Iterable[Category] = (),
    modified: datetime.datetime | None = None,
    **fields: Any,
) -> Dataset:
    """Create a dataset in a department the actor edits."""
    _check_unknown(fields)
    if not permissions.can_create_dataset(actor, department):
        raise PermissionDenied(_("You cannot add datasets to this department."))
    dataset = Dataset(
        department=department,
        name=name,
        title=title,
        license=license or License.objects.get(slug=DEFAULT_LICENSE),
        modified=modified or timezone.now(),
        **fields,
    )
    dataset.full_clean()
    dataset.save()
    _set_vocabulary(dataset, tags, categories)
    index_dataset(dataset)
    audit.record_saved(
        actor=actor,
        obj=dataset,
        before={},
        after=_dataset_snapshot(dataset),
        department_id=department.pk,
    )
    note_update(dataset, when=dataset.modified)
    return dataset


@transaction.atomic
def update_dataset(
    *,
    actor: User,
    dataset: Dataset,
    tags: Iterable[str] | None = None,
    categories: Iterable[Category] | None = None,
    **fields: Any,
) -> Dataset:
    """Change a dataset's metadata; moving it needs edit rights in both departments."""
    _check_unknown(fields)
    refuse_harvested(dataset)
    if not permissions.can_edit_dataset(actor, dataset):
        raise PermissionDenied(_("You cannot edit this dataset."))
    new_department = fields.get("department")
    if (
        new_department is not None
        and new_department != dataset.department
        and not permissions.can_create_dataset(actor, new_department)
    ):
        raise PermissionDenied(_("You cannot move datasets to that department."))
    before = _dataset_snapshot(dataset)
    for field, value in fields.items():
        setattr(dataset, field, value)
    dataset.full_clean()
    dataset.save()
    _set_vocabulary(dataset, tags, categories)
    changes = audit.diff(before, _dataset_snapshot(dataset))
    if changes:
        # Only a real change makes the dataset "updated" (feeds, news, sort order).
        _touch(dataset)
        index_dataset(dataset)
        audit.record(
            actor=actor,
            action="update",
            obj=dataset,
            changes=changes,
            department_id=dataset.department_id,
        )
        note_update(dataset, when=dataset.modified)
    return dataset


@transaction.atomic
def delete_dataset(*, actor: User, dataset: Dataset) -> None:
    """Delete a dataset with its resources (department admins only)."""
    refuse_harvested(dataset)
    if not permissions.can_delete_dataset(actor, dataset):
        raise PermissionDenied(_("Only a department admin can delete datasets."))
    audit.record_deleted(
        actor=actor,
        obj=dataset,
        before=_dataset_snapshot(dataset),
        department_id=dataset.department_id,
    )
    dataset.delete()
    bump_version()


def _check_upload_size(upload: UploadedFile) -> None:
    limit = settings.MACHI_MAX_UPLOAD_BYTES
    if upload.size is not None and upload.size > limit:
        raise ValidationError(
            {
                "file": _("“%(name)s” is %(size)s MB; files may be at most %(limit)s MB.")
                % {
                    "name": upload.name,
                    "size": f"{upload.size / 1048576:.1f}",
                    "limit": limit // 1048576,
                }
            }
        )


def _new_version(
    resource: Resource,
    *,
    actor: User,
    upload: UploadedFile | None,
    url: str,
    format: str = "",
    current: bool = True,
    upload_cap: bool = True,
) -> ResourceVersion:
    if bool(upload) == bool(url):
        raise ValidationError({"file": _("Give either a file or an external URL, not both.")})
    number = resource.versions.order_by("-number").values_list("number", flat=True).first() or 0
    version = ResourceVersion(
        resource=resource,
        number=number + 1,
        created_by=actor if actor.is_authenticated else None,
    )
    if upload is not None:
        if upload_cap:
            _check_upload_size(upload)
        facts = files.inspect(upload.name or "upload", upload)
        version.filename = upload.name or ""
        version.format = format or facts.format
        version.media_type = facts.media_type
        version.size = facts.size
        version.sha256 = facts.sha256
        version.encoding = facts.encoding
    else:
        version.url = url
        version.format = format or files.format_of(url)
    version.full_clean(exclude=["file"])
    if upload is not None:
        version.file.save(upload.name or "upload", upload, save=False)
    version.save()
    if current:
        resource.current = version
        resource.save(update_fields=["current", "modified"])
    return version


@transaction.atomic
def add_resource(
    *,
    actor: User,
    dataset: Dataset,
    name: str,
    upload: UploadedFile | None = None,
    url: str = "",
    format: str = "",
    name_en: str = "",
    description: str = "",
    when: datetime.datetime | None = None,
) -> Resource:
    """Add a file or link to a dataset."""
    refuse_harvested(dataset)
    if not permissions.can_edit_dataset(actor, dataset):
        raise PermissionDenied(_("You cannot edit this dataset."))
    position = dataset.resources.count()
    resource = Resource(
        dataset=dataset, name=name, name_en=name_en, description=description, position=position
    )
    resource.full_clean(exclude=["current"])
    resource.save()
    version = _new_version(resource, actor=actor, upload=upload, url=url, format=format)
    _touch(dataset, when)
    index_dataset(dataset)
    audit.record_saved(
        actor=actor,
        obj=resource,
        before={},
        after=audit.snapshot(resource, {"version": audit.snapshot(version)}),
        department_id=dataset.department_id,
    )
    note_update(dataset, when=dataset.modified)
    return resource


@transaction.atomic
def replace_resource(
    *,
    actor: User,
    resource: Resource,
    upload: UploadedFile | None = None,
    url: str = "",
    format: str = "",
) -> ResourceVersion:
    """Publish a new version of a resource; earlier versions stay downloadable."""
    refuse_harvested(resource.dataset)
    if not permissions.can_edit_dataset(actor, resource.dataset):
        raise PermissionDenied(_("You cannot edit this dataset."))
    version = _new_version(
        resource, actor=actor, upload=upload, url=url, format=format, current=False
    )
    make_current(actor=actor, version=version)
    return version


@transaction.atomic
def add_draft_version(
    *,
    actor: User,
    dataset: Dataset,
    upload: UploadedFile,
    resource: Resource | None = None,
    name: str = "",
) -> ResourceVersion:
    """A version that is not yet current (on a new resource when `resource` is None).

    The publish pipeline loads its table first and then calls `make_current`, so the
    published version changes only when the new one is complete. A new resource is
    listed nowhere until it has a current version. The file is the pipeline's own
    output, so the upload cap does not apply (the pipeline has MACHI_PUBLISH_MAX_MB).
    """
    refuse_harvested(dataset)
    if not permissions.can_edit_dataset(actor, dataset):
        raise PermissionDenied(_("You cannot edit this dataset."))
    if resource is None:
        resource = Resource(dataset=dataset, name=name, position=dataset.resources.count())
        resource.full_clean(exclude=["current"])
        resource.save()
    elif resource.dataset_id != dataset.pk:
        raise ValidationError({"resource": _("This resource belongs to another dataset.")})
    return _new_version(
        resource, actor=actor, upload=upload, url="", current=False, upload_cap=False
    )


@transaction.atomic
def make_current(
    *, actor: User, version: ResourceVersion, when: datetime.datetime | None = None
) -> None:
    """Serve `version` as its resource's file: a publication, or a roll-back to an earlier one."""
    resource = Resource.objects.select_for_update().get(pk=version.resource_id)
    dataset = resource.dataset
    refuse_harvested(dataset)
    if not permissions.can_edit_dataset(actor, dataset):
        raise PermissionDenied(_("You cannot edit this dataset."))
    previous = resource.current
    if previous is not None and previous.pk == version.pk:
        return
    resource.current = version
    resource.save(update_fields=["current", "modified"])
    version.resource = resource  # callers holding the version see it current
    _touch(dataset, when)
    index_dataset(dataset)
    audit.record(
        actor=actor,
        action="update",
        obj=resource,
        department_id=dataset.department_id,
        changes=audit.diff(
            {"version": audit.snapshot(previous) if previous else None},
            {"version": audit.snapshot(version)},
        ),
    )
    note_update(dataset, when=dataset.modified)


def drop_draft_resource(*, actor: User, resource: Resource) -> None:
    """Remove a resource that never got a current version (its first publication failed)."""
    if resource.current_id is None and permissions.can_edit_dataset(actor, resource.dataset):
        resource.delete()


@transaction.atomic
def update_resource(*, actor: User, resource: Resource, **fields: Any) -> Resource:
    """Change a resource's name, description or order."""
    allowed = {"name", "name_en", "description", "position"}
    if set(fields) - allowed:
        raise TypeError(f"unknown resource fields: {', '.join(sorted(set(fields) - allowed))}")
    dataset = resource.dataset
    refuse_harvested(dataset)
    if not permissions.can_edit_dataset(actor, dataset):
        raise PermissionDenied(_("You cannot edit this dataset."))
    before = audit.snapshot(resource)
    for field, value in fields.items():
        setattr(resource, field, value)
    resource.full_clean(exclude=["current"])
    resource.save()
    changes = audit.diff(before, audit.snapshot(resource))
    if changes:
        _touch(dataset)
        index_dataset(dataset)
        audit.record(
            actor=actor,
            action="update",
            obj=resource,
            changes=changes,
            department_id=dataset.department_id,
        )
    return resource


@transaction.atomic
def delete_resource(*, actor: User, resource: Resource) -> None:
    dataset = resource.dataset
    refuse_harvested(dataset)
    if not permissions.can_edit_dataset(actor, dataset):
        raise PermissionDenied(_("You cannot edit this dataset."))
    audit.record_deleted(actor=actor, obj=resource, department_id=dataset.department_id)
    resource.delete()
    _touch(dataset)
    index_dataset(dataset)


@transaction.atomic
def save_news(*, actor: User, news: News) -> News:
    """Create or change a staff news item."""
    if not permissions.can_edit_news(actor, news):
        raise PermissionDenied(_("You cannot edit news of this department."))
    before = audit.snapshot(News.objects.get(pk=news.pk)) if news.pk else {}
    if news.published_at is None:
        news.published_at = timezone.now()
    news.full_clean()
    news.save()
    audit.record_saved(
        actor=actor,
        obj=news,
        before=before,
        department_id=news.department_id,
    )
    return news


@transaction.atomic
def delete_news(*, actor: User, news: News) -> None:
    if not permissions.can_edit_news(actor, news):
        raise PermissionDenied(_("You cannot edit news of this department."))
    audit.record_deleted(
        actor=actor,
        obj=news,
        department_id=news.department_id,
    )
    news.delete()


@transaction.atomic
def save_showcase(
    *, actor: User, showcase: Showcase, datasets: Iterable[Dataset] | None = None
) -> Showcase:
    """Create or change a showcase and the datasets it uses."""
    if not permissions.can_edit_showcase(actor, showcase):
        raise PermissionDenied(_("You cannot edit showcases of this department."))
    before = {}
    if showcase.pk:
        stored = Showcase.objects.get(pk=showcase.pk)
        before = audit.snapshot(
            stored, {"datasets": sorted(stored.datasets.values_list("name", flat=True))}
        )
    showcase.full_clean()
    showcase.save()
    if datasets is not None:
        showcase.datasets.set(list(datasets))
    after = audit.snapshot(
        showcase, {"datasets": sorted(showcase.datasets.values_list("name", flat=True))}
    )
    audit.record_saved(
        actor=actor,
        obj=showcase,
        before=before,
        after=after,
        department_id=showcase.department_id,
    )
    return showcase


@transaction.atomic
def delete_showcase(*, actor: User, showcase: Showcase) -> None:
    if not permissions.can_edit_showcase(actor, showcase):
        raise PermissionDenied(_("You cannot edit showcases of this department."))
    audit.record_deleted(
        actor=actor,
        obj=showcase,
        department_id=showcase.department_id,
    )
    showcase.delete()


@transaction.atomic
def save_vocabulary(*, actor: User, obj: Category | License | Tag | Any) -> None:
    """Save a shared list entry (category, license, tag, synonym, glossary)."""
    if not permissions.can_edit_vocabulary(actor):
        raise PermissionDenied(_("Only site administrators can change shared lists."))
    before = audit.snapshot(type(obj).objects.get(pk=obj.pk)) if obj.pk else {}
    obj.full_clean()
    obj.save()
    if isinstance(obj, Tag | Category) and before:
        for dataset in obj.datasets.select_related("department"):
            index_dataset(dataset)
    audit.record_saved(
        actor=actor,
        obj=obj,
        before=before,
    )


@transaction.atomic
def delete_vocabulary(*, actor: User, obj: Category | License | Tag | Any) -> None:
    if not permissions.can_edit_vocabulary(actor):
        raise PermissionDenied(_("Only site administrators can change shared lists."))
    audit.record_deleted(actor=actor, obj=obj)
    # Datasets that carried a tag or category lose it: their facets change too.
    affected = (
        list(obj.datasets.select_related("department")) if isinstance(obj, Tag | Category) else []
    )
    obj.delete()
    for dataset in affected:
        index_dataset(dataset)
