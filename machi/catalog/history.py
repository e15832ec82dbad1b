"""The change history a dataset's page shows: edits of its record and its files' versions.

Read from the audit log, which keeps every write; a publication (by hand, by the publish
pipeline or by a scheduled refresh) is an event of the resource, not of the dataset.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from typing import Any

from django.db.models import Q
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from machi.audit.models import AuditEvent
from machi.catalog.models import Dataset, Resource

# Bookkeeping of harvesting and of the record itself, which says nothing to a reader.
_UNSHOWN_CHANGES = {"harvest_hash", "remote_id", "created", "modified", "current", "position"}


@dataclass(frozen=True)
class Entry:
    at: datetime.datetime
    text: str


def dataset_history(dataset: Dataset, limit: int = 20) -> list[Entry]:
    """The newest `limit` changes, newest first, as sentences a reader understands."""
    resources = {str(r.pk): r for r in dataset.resources.all()}
    events = AuditEvent.objects.filter(
        Q(object_type="catalog.dataset", object_id=str(dataset.pk))
        | Q(object_type="catalog.resource", object_id__in=list(resources))
    ).order_by("-at", "-pk")
    entries = []
    for event in events[: limit * 2]:  # some resource events say nothing to a reader
        if event.object_type == "catalog.dataset":
            text = _dataset_change(event)
        else:
            text = _resource_change(event, resources[event.object_id])
        if text:
            entries.append(Entry(event.at, text))
        if len(entries) == limit:
            break
    return entries


def _labels(model: type[Dataset] | type[Resource], changes: dict[str, Any]) -> str:
    """The names readers know (the form's labels) of the fields a change touched."""
    labels = [
        str(field.verbose_name)
        for field in model._meta.get_fields()
        if field.name in changes
        and field.name not in _UNSHOWN_CHANGES
        and hasattr(field, "verbose_name")
    ]
    return ("、" if get_language().startswith("ja") else ", ").join(labels)


def _dataset_change(event: AuditEvent) -> str:
    """A creation lists no fields, as every field is new."""
    if event.action == AuditEvent.Action.CREATE:
        return _("Created the dataset")
    fields = _labels(Dataset, event.changes)
    return _("Changed %(fields)s") % {"fields": fields} if fields else ""


def _resource_change(event: AuditEvent, resource: Resource) -> str:
    name = resource.display_name
    version = event.changes.get("version")
    if event.action == AuditEvent.Action.CREATE:
        return _("Added %(resource)s") % {"resource": name}
    if version:
        before, after = (v["number"] if v else None for v in version)
        if before is None:
            return _("Published %(resource)s (version %(n)d)") % {"resource": name, "n": after}
        if after > before:
            return _("Updated %(resource)s to version %(n)d") % {"resource": name, "n": after}
        return _("Rolled %(resource)s back to version %(n)d") % {"resource": name, "n": after}
    fields = _labels(Resource, event.changes)
    if not fields:
        return ""
    return _("Changed %(fields)s of %(resource)s") % {"fields": fields, "resource": name}
