"""The departments' data register (保有データ台帳) and the standard-dataset checklist."""

from __future__ import annotations

from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils.translation import gettext as _

from machi.accounts.models import Role
from machi.accounts.permissions import has_role
from machi.audit import services as audit
from machi.publish.models import Holding


def save_holding(*, actor: User, holding: Holding) -> Holding:
    """Add or change a register entry of the department (editors of that department)."""
    if not has_role(actor, holding.department, Role.EDITOR):
        raise PermissionDenied(_("You cannot edit this department's register."))
    before = audit.snapshot(Holding.objects.get(pk=holding.pk)) if holding.pk else {}
    holding.full_clean()
    with transaction.atomic():
        holding.save()
        audit.record_saved(
            actor=actor, obj=holding, before=before, department_id=holding.department_id
        )
    return holding


def delete_holding(*, actor: User, holding: Holding) -> None:
    if not has_role(actor, holding.department, Role.EDITOR):
        raise PermissionDenied(_("You cannot edit this department's register."))
    with transaction.atomic():
        audit.record_deleted(actor=actor, obj=holding, department_id=holding.department_id)
        holding.delete()
