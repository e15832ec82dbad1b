"""Recording what happened. Every service that writes calls `record`."""

import datetime
import decimal
import uuid
from typing import Any

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db import models
from django.db.models.fields.files import FieldFile

from machi.audit.models import AuditEvent

Snapshot = dict[str, Any]


def _plain(value: Any) -> Any:
    if isinstance(value, datetime.datetime | datetime.date | datetime.time):
        return value.isoformat()
    if isinstance(value, decimal.Decimal | uuid.UUID):
        return str(value)
    if isinstance(value, models.Model):
        return str(value)
    if isinstance(value, list | tuple | set):
        return [_plain(item) for item in value]
    if isinstance(value, FieldFile):
        return value.name or ""
    return value


def snapshot(obj: models.Model, extra: Snapshot | None = None) -> Snapshot:
    """Field values of a model instance as JSON-ready data, for diffs."""
    data: Snapshot = {}
    for field in obj._meta.concrete_fields:
        if field.name in {"created", "modified", "id"}:
            continue
        data[field.name] = _plain(getattr(obj, field.attname))
    for key, value in (extra or {}).items():
        data[key] = _plain(value)
    return data


def diff(before: Snapshot, after: Snapshot) -> dict[str, list[Any]]:
    keys = before.keys() | after.keys()
    return {
        key: [before.get(key), after.get(key)]
        for key in sorted(keys)
        if before.get(key) != after.get(key)
    }


def record(
    *,
    actor: AbstractBaseUser | AnonymousUser | None,
    action: str,
    obj: models.Model,
    changes: dict[str, list[Any]] | None = None,
    department_id: int | None = None,
) -> AuditEvent:
    """Append one event to the audit log."""
    authenticated = actor is not None and actor.is_authenticated
    return AuditEvent.objects.create(
        actor=actor if authenticated else None,
        actor_name=actor.get_username() if authenticated else "system",
        action=action,
        object_type=obj._meta.label_lower,
        object_id=str(obj.pk),
        object_repr=str(obj)[:300],
        department_id=department_id,
        changes=changes or {},
    )


def record_saved(
    *,
    actor: AbstractBaseUser | AnonymousUser | None,
    obj: models.Model,
    before: Snapshot,
    after: Snapshot | None = None,
    department_id: int | None = None,
) -> AuditEvent:
    """Record a create (empty `before`) or an update, with the fields that changed."""
    return record(
        actor=actor,
        action="update" if before else "create",
        obj=obj,
        changes=diff(before, snapshot(obj) if after is None else after),
        department_id=department_id,
    )


def record_deleted(
    *,
    actor: AbstractBaseUser | AnonymousUser | None,
    obj: models.Model,
    before: Snapshot | None = None,
    department_id: int | None = None,
) -> AuditEvent:
    """Record a delete with every value that is being lost (call before deleting)."""
    return record(
        actor=actor,
        action="delete",
        obj=obj,
        changes=diff(snapshot(obj) if before is None else before, {}),
        department_id=department_id,
    )
