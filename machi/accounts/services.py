"""Staff: departments, roles, accounts, and the TOTP second factor."""

import hashlib
import io
import math

import qrcode
import qrcode.image.svg
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _
from django_otp import login as otp_login
from django_otp.plugins.otp_totp.models import TOTPDevice

from machi.accounts import permissions
from machi.accounts.models import Department, Membership
from machi.accounts.permissions import User
from machi.audit import services as audit


def confirmed_device(user: AbstractBaseUser) -> TOTPDevice | None:
    return TOTPDevice.objects.filter(user=user, confirmed=True).first()


def pending_device(user: AbstractBaseUser) -> TOTPDevice:
    """The unconfirmed device a staff member is enrolling, made on first visit."""
    device = TOTPDevice.objects.filter(user=user, confirmed=False).first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name="TOTP", confirmed=False)
    return device


def qr_svg(device: TOTPDevice) -> str:
    image = qrcode.make(device.config_url, image_factory=qrcode.image.svg.SvgPathImage)
    buffer = io.BytesIO()
    image.save(buffer)
    return buffer.getvalue().decode()


def seconds_locked(device: TOTPDevice) -> int:
    """How long after wrong codes the device refuses any code, the right one too
    (django-otp's throttle, doubling with each failure); 0 when it takes one now."""
    allowed, details = device.verify_is_allowed()
    locked_until = (details or {}).get("locked_until")
    if allowed or locked_until is None:
        return 0
    return max(1, math.ceil((locked_until - timezone.now()).total_seconds()))


def verify_second_factor(*, request: HttpRequest, device: TOTPDevice, token: str) -> bool:
    """Check a 6-digit code; on success confirm the device and mark the session verified."""
    if not device.verify_token(token.strip().replace(" ", "")):
        return False
    if not device.confirmed:
        device.confirmed = True
        device.save(update_fields=["confirmed"])
        audit.record(actor=request.user, action="create", obj=device)
    otp_login(request, device)
    audit.record(actor=request.user, action="login", obj=request.user)
    return True


# Departments and roles -------------------------------------------------------


@transaction.atomic
def save_department(*, actor: User, department: Department) -> Department:
    """Create (site admins) or change (department admins) a department."""
    if department.pk is None:
        allowed = permissions.can_create_department(actor)
    else:
        allowed = permissions.can_manage_department(actor, department)
    if not allowed:
        raise PermissionDenied(_("You cannot change this department."))
    before = audit.snapshot(Department.objects.get(pk=department.pk)) if department.pk else {}
    department.full_clean()
    department.save()
    audit.record_saved(
        actor=actor,
        obj=department,
        before=before,
        department_id=department.pk,
    )
    return department


@transaction.atomic
def set_role(
    *, actor: User, department: Department, user: AbstractBaseUser, role: str
) -> Membership:
    """Give a staff member a role in a department (department admins)."""
    if not permissions.can_manage_department(actor, department):
        raise PermissionDenied(_("You cannot change this department."))
    membership = Membership.objects.filter(department=department, user=user).first()
    before = audit.snapshot(membership) if membership else {}
    if membership is None:
        membership = Membership(department=department, user=user)
    membership.role = role
    membership.full_clean()
    membership.save()
    audit.record_saved(
        actor=actor,
        obj=membership,
        before=before,
        department_id=department.pk,
    )
    return membership


@transaction.atomic
def remove_role(*, actor: User, membership: Membership) -> None:
    if not permissions.can_manage_department(actor, membership.department):
        raise PermissionDenied(_("You cannot change this department."))
    audit.record_deleted(
        actor=actor,
        obj=membership,
        department_id=membership.department_id,
    )
    membership.delete()


@transaction.atomic
def record_staff_change(
    *, actor: User, account: AbstractBaseUser, before: audit.Snapshot, deleted: bool = False
) -> None:
    """Audit a change to a staff account made in the back office (passwords never logged)."""
    if deleted:
        audit.record_deleted(actor=actor, obj=account, before=before)
    else:
        audit.record_saved(
            actor=actor, obj=account, before=before, after=_account_snapshot(account)
        )


def account_snapshot(account: AbstractBaseUser | None) -> audit.Snapshot:
    return _account_snapshot(account) if account is not None and account.pk else {}


def _account_snapshot(account: AbstractBaseUser) -> audit.Snapshot:
    data = audit.snapshot(
        account, {"groups": sorted(account.groups.values_list("name", flat=True))}
    )
    # A fingerprint shows that the password changed; the hash itself never enters the log.
    password = data.get("password") or ""
    data["password"] = hashlib.sha256(password.encode()).hexdigest()[:8] if password else ""
    data.pop("last_login", None)
    return data


def device_snapshot(device: TOTPDevice | None) -> audit.Snapshot:
    if device is None or not device.pk:
        return {}
    # The shared secret never enters the log.
    return {k: v for k, v in audit.snapshot(device).items() if k not in {"key", "last_t"}}


@transaction.atomic
def record_device_change(
    *, actor: User, device: TOTPDevice, before: audit.Snapshot, deleted: bool = False
) -> None:
    """Audit a change to a staff member's authenticator made in the back office."""
    if deleted:
        audit.record_deleted(actor=actor, obj=device, before=before)
    else:
        audit.record_saved(actor=actor, obj=device, before=before, after=device_snapshot(device))
