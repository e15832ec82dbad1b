"""Writes of harvested datasets: like catalog.services, they check, validate, index and audit.

They are apart from catalog.services because a harvested dataset is written only by its
source (catalog.services refuses local edits of it). The audit log records the source's
"harvests as" site administrator; no "updated" news is added, since news tells residents
about the ward's own data, and a large source would bury it.
"""

import datetime
import re

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils import timezone
from django.utils.dateparse import parse_date
from django.utils.translation import gettext as _

from machi.audit import services as audit
from machi.catalog.harvest_clients import RemoteDataset, RemoteResource, wished_name
from machi.catalog.models import (
    Category,
    Dataset,
    Frequency,
    HarvestRecord,
    HarvestSource,
    License,
    Resource,
    ResourceVersion,
)
from machi.catalog.search import index_dataset
from machi.catalog.services import _dataset_snapshot, _set_vocabulary

Action = HarvestRecord.Action

# CKAN's license ids (its default list and common portal spellings) to ours.
_LICENSE_IDS = {
    "cc-by": "cc-by-4.0",
    "cc-by-4.0": "cc-by-4.0",
    "cc-by-sa": "cc-by-sa-4.0",
    "cc-by-sa-4.0": "cc-by-sa-4.0",
    "cc-zero": "cc0-1.0",
    "cc0": "cc0-1.0",
    "cc0-1.0": "cc0-1.0",
    "odc-odbl": "odbl-1.0",
    "odbl": "odbl-1.0",
}
UNSPECIFIED_LICENSE = "unspecified"


def _check(source: HarvestSource) -> None:
    # The run acts as the source's "harvests as" account, which must still be a site admin.
    if not (source.actor.is_active and source.actor.is_superuser):
        raise PermissionDenied(_("The harvest source must run as an active site administrator."))


def _license_key(url: str) -> str:
    key = re.sub(r"^https?://(www\.)?", "", url.strip().lower())
    key = re.sub(r"/(deed\.[a-z-]+|legalcode(\.[a-z-]+)?)$", "", key.rstrip("/"))
    return key.rstrip("/")


def resolve_license(source: HarvestSource, record: RemoteDataset) -> License:
    """Our license for the record: by ID or URL, else one made from what the source says."""
    slug = _LICENSE_IDS.get(record.license_id.lower(), record.license_id.lower())
    if slug:
        found = License.objects.filter(slug=slug).first()
        if found:
            return found
    if record.license_url:
        key = _license_key(record.license_url)
        for candidate in License.objects.exclude(url=""):
            if _license_key(candidate.url) == key:
                return candidate
    if not (record.license_id or record.license_url or record.license_title):
        license, created = License.objects.get_or_create(
            slug=UNSPECIFIED_LICENSE,
            defaults={"title": "ライセンス未指定", "title_en": "Not specified", "is_open": False},
        )
    else:
        # A license we do not know: recorded as the source states it, never guessed.
        license, created = License.objects.get_or_create(
            slug=wished_name(record.license_id, record.license_url),
            defaults={
                "title": (record.license_title or record.license_id or record.license_url)[:200],
                "url": record.license_url[:200],
                "is_open": bool(record.license_open),
                "position": 100,
            },
        )
    if created:
        audit.record_saved(actor=source.actor, obj=license, before={})
    return license


def _free_name(source: HarvestSource, wished: str) -> tuple[str, str]:
    """A URL name no other dataset has; never takes a local (or another source's) name."""
    if not Dataset.objects.filter(name=wished).exists():
        return wished, ""
    base = f"{source.name}-{wished}"[:100].rstrip("-_")
    name, n = base, 1
    while Dataset.objects.filter(name=name).exists():
        n += 1
        name = f"{base[: 100 - len(str(n)) - 1]}-{n}"
    note = _("The name “%(wished)s” is taken here; harvested as “%(name)s”.") % {
        "wished": wished,
        "name": name,
    }
    return name, note


def _snapshot(dataset: Dataset) -> audit.Snapshot:
    data = _dataset_snapshot(dataset)
    data.pop("harvest_hash", None)  # bookkeeping, not content
    data["resources"] = [
        [r.name, r.current.url if r.current else ""]
        for r in dataset.resources.select_related("current").order_by("position", "id")
    ]
    return data


@transaction.atomic
def save_harvested_dataset(
    *, source: HarvestSource, record: RemoteDataset, dataset: Dataset | None
) -> tuple[str, Dataset, str]:
    """Create or update the mirror of one remote record, in one transaction.

    Returns what happened (a HarvestRecord action), the dataset and a note for the log.
    """
    _check(source)
    fingerprint = record.fingerprint()
    if dataset is not None and dataset.harvest_hash == fingerprint:
        if dataset.harvest_withdrawn_at is None:
            if dataset.harvest_missing_since is not None:
                Dataset.objects.filter(pk=dataset.pk).update(harvest_missing_since=None)
            return Action.UNCHANGED, dataset, ""
    note = ""
    before: audit.Snapshot = {}
    if dataset is None:
        name, note = _free_name(source, record.name)
        dataset = Dataset(name=name, harvest_source=source, remote_id=record.remote_id, spatial="")
        action = Action.CREATED
    else:
        before = _snapshot(dataset)
        action = Action.RESTORED if dataset.harvest_withdrawn_at else Action.UPDATED
    dataset.department = source.department
    dataset.title = record.title[:300]
    dataset.title_en = record.title_en[:300]
    dataset.description = record.description
    dataset.description_en = record.description_en
    dataset.license = resolve_license(source, record)
    dataset.contact_name = record.contact_name[:200]
    dataset.contact_email = record.contact_email if "@" in record.contact_email else ""
    dataset.remote_url = record.remote_url[:1000]
    dataset.original_publisher = record.publisher[:300]
    dataset.is_public = True
    dataset.harvest_hash = fingerprint
    dataset.harvest_missing_since = None
    dataset.harvest_withdrawn_at = None
    dataset.modified = record.modified or timezone.now()
    _set_details(dataset, record.details)
    dataset.full_clean()
    dataset.save()
    _set_vocabulary(
        dataset,
        [tag[:100] for tag in record.tags],
        Category.objects.filter(slug__in=record.groups),
    )
    _sync_resources(source, dataset, record.resources)
    index_dataset(dataset)
    after = _snapshot(dataset)
    if action == Action.CREATED:
        audit.record_saved(
            actor=source.actor,
            obj=dataset,
            before={},
            after=after,
            department_id=dataset.department_id,
        )
    else:
        changes = audit.diff(before, after)
        if changes:
            audit.record(
                actor=source.actor,
                action="update",
                obj=dataset,
                changes=changes,
                department_id=dataset.department_id,
            )
        if action == Action.RESTORED:
            note = _("Listed by the source again; public again.")
    return action, dataset, note


def _date(text: str) -> datetime.date | None:
    try:
        return parse_date(text[:10])
    except ValueError:
        return None


def _set_details(dataset: Dataset, details: dict[str, str]) -> None:
    """Fields another machi sends (as CKAN extras); what does not fit ours is left out."""
    frequency = details.get("update_frequency", "")
    dataset.update_frequency = frequency if frequency in Frequency.values else Frequency.IRREGULAR
    dataset.temporal_start = _date(details.get("temporal_start", ""))
    dataset.temporal_end = _date(details.get("temporal_end", ""))
    dataset.spatial = details.get("spatial", "")[:200]
    dataset.contact_phone = details.get("contact_phone", "")[:40]
    dataset.standard = details.get("standard", "")[:100]


def _sync_resources(source: HarvestSource, dataset: Dataset, remote: list[RemoteResource]) -> None:
    existing = {r.remote_id: r for r in dataset.resources.select_related("current")}
    for position, item in enumerate(remote):
        resource = existing.pop(item.remote_id[:300], None) or Resource(
            dataset=dataset, remote_id=item.remote_id[:300]
        )
        resource.name = item.name[:300]
        resource.description = item.description
        resource.position = position
        resource.full_clean(exclude=["current"])
        resource.save()
        current = resource.current
        facts = (item.url, item.format, item.media_type, item.size, item.sha256)
        if current is None or facts != (
            current.url,
            current.format,
            current.media_type,
            current.size,
            current.sha256,
        ):
            # A new version, as for local resources: the earlier link stays in the history.
            version = ResourceVersion(
                resource=resource,
                number=(current.number if current else 0) + 1,
                url=item.url,
                format=item.format,
                media_type=item.media_type,
                size=item.size,
                sha256=item.sha256,
            )
            version.full_clean()
            version.save()
            resource.current = version
            resource.save(update_fields=["current", "modified"])
    for gone in existing.values():
        gone.delete()


def withdraw_harvested_dataset(
    *, source: HarvestSource, dataset: Dataset, when: datetime.datetime
) -> None:
    """Make a dataset that vanished at its source private here (kept, and restorable)."""
    _check(source)
    with transaction.atomic():
        dataset.is_public = False
        dataset.harvest_withdrawn_at = when
        dataset.save(update_fields=["is_public", "harvest_withdrawn_at"])
        index_dataset(dataset)
        audit.record(
            actor=source.actor,
            action="update",
            obj=dataset,
            changes={"is_public": [True, False]},
            department_id=dataset.department_id,
        )
