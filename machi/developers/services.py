"""API keys: issue, revoke, look up, count use; for the pages, the admin and the middleware."""

import datetime

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from machi.accounts.permissions import User
from machi.audit import services as audit
from machi.developers import permissions
from machi.developers.models import ApiKey, ApiKeyUsage
from machi.lib.credentials import digest, new_secret

# Enough for a few apps and a test key; more keys would only multiply the limit.
MAX_ACTIVE_KEYS = 5
# last_used is written at most this often per key, not on every request.
_LAST_USED_PRECISION = datetime.timedelta(minutes=1)


def _audit_snapshot(key: ApiKey) -> dict[str, object]:
    before = audit.snapshot(key)
    before.pop("hashed", None)  # the log needs no way to recognise the key
    return before


@transaction.atomic
def sign_up(*, email: str, password: str) -> AbstractBaseUser:
    """Create a developer account whose user name is its email address."""
    email = email.strip().lower()
    user = get_user_model().objects.create_user(username=email, email=email, password=password)
    audit.record(actor=user, action="create", obj=user, changes={"email": [None, email]})
    return user


@transaction.atomic
def issue_key(*, user: User, name: str) -> tuple[ApiKey, str]:
    """Create a key for `user`; the plaintext is returned once and never stored."""
    if not permissions.can_issue_key(user):
        raise PermissionDenied(_("Sign in to create an API key."))
    # Lock the owner so two requests at once cannot both pass the count.
    get_user_model().objects.select_for_update().filter(pk=user.pk).first()
    if ApiKey.objects.filter(owner_id=user.pk, revoked__isnull=True).count() >= MAX_ACTIVE_KEYS:
        raise ValidationError(
            _("You may have at most %(count)s active keys. Revoke one you no longer use.")
            % {"count": MAX_ACTIVE_KEYS}
        )
    plaintext = new_secret()
    key = ApiKey(owner=user, name=name.strip(), prefix=plaintext[:8], hashed=digest(plaintext))
    key.full_clean()
    key.save()
    audit.record(actor=user, action="create", obj=key, changes=audit.diff({}, _audit_snapshot(key)))
    return key, plaintext


@transaction.atomic
def revoke_key(*, user: User, key: ApiKey) -> ApiKey:
    """Stop a key from working, at once and for good."""
    if not permissions.can_revoke_key(user, key):
        raise PermissionDenied(_("You may not revoke this key."))
    key = ApiKey.objects.select_for_update().get(pk=key.pk)
    if key.revoked is not None:
        return key
    before = _audit_snapshot(key)
    key.revoked = timezone.now()
    key.save(update_fields=["revoked"])
    audit.record(
        actor=user, action="update", obj=key, changes=audit.diff(before, _audit_snapshot(key))
    )
    return key


def find_key(plaintext: str) -> ApiKey | None:
    """The key with this plaintext, revoked or not, or None."""
    return ApiKey.objects.select_related("owner").filter(hashed=digest(plaintext)).first()


def key_works(key: ApiKey) -> bool:
    return key.revoked is None and key.owner.is_active


def record_use(*, key: ApiKey, now: datetime.datetime | None = None) -> None:
    """Count one request made with `key` today (Japan time); safe across processes."""
    now = now or timezone.now()
    day = timezone.localdate(now)
    today = ApiKeyUsage.objects.filter(key=key, day=day)
    if not today.update(count=F("count") + 1):
        try:
            with transaction.atomic():
                ApiKeyUsage.objects.create(key=key, day=day, count=1)
        except IntegrityError:  # another process made today's row first
            today.update(count=F("count") + 1)
    ApiKey.objects.filter(
        Q(last_used__isnull=True) | Q(last_used__lt=now - _LAST_USED_PRECISION), pk=key.pk
    ).update(last_used=now)
