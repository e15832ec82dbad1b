"""Staff API tokens: create, revoke, and find the account a request's token acts for."""

import datetime

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _

from machi.accounts.permissions import User, is_site_admin
from machi.audit import services as audit
from machi.ckan_compat.models import ApiToken
from machi.lib.credentials import digest, new_secret

# last_used is written at most this often per token, not on every request.
_LAST_USED_PRECISION = datetime.timedelta(minutes=1)


def _snapshot(token: ApiToken) -> dict[str, object]:
    data = audit.snapshot(token)
    data.pop("hashed", None)  # the log needs no way to recognise the token
    return data


def can_hold_token(user: User) -> bool:
    """Tokens are for staff accounts (they act with the account's department roles)."""
    return bool(user.is_authenticated and user.is_active and user.is_staff)


def can_manage_token(user: User, token: ApiToken) -> bool:
    return is_site_admin(user) or (user.is_authenticated and token.owner_id == user.pk)


@transaction.atomic
def create_token(*, actor: User, owner: AbstractBaseUser, name: str) -> tuple[ApiToken, str]:
    """A new token for `owner`; the plaintext is returned once and never stored."""
    if not (actor.is_authenticated and actor.pk == owner.pk) and not is_site_admin(actor):
        raise PermissionDenied(_("You may create tokens only for your own account."))
    if not can_hold_token(owner):
        raise ValidationError(_("API tokens are for active staff accounts only."))
    name = name.strip()
    if not name:
        raise ValidationError({"name": _("Give the token a name, such as the script using it.")})
    plaintext = new_secret()
    token = ApiToken(owner=owner, name=name, prefix=plaintext[:8], hashed=digest(plaintext))
    token.full_clean()
    token.save()
    audit.record(actor=actor, action="create", obj=token, changes=audit.diff({}, _snapshot(token)))
    return token, plaintext


@transaction.atomic
def revoke_token(*, actor: User, token: ApiToken) -> ApiToken:
    """Stop a token from working, at once and for good."""
    if not can_manage_token(actor, token):
        raise PermissionDenied(_("You may not revoke this token."))
    token = ApiToken.objects.select_for_update().get(pk=token.pk)
    if token.revoked is not None:
        return token
    before = _snapshot(token)
    token.revoked = timezone.now()
    token.save(update_fields=["revoked"])
    audit.record(
        actor=actor, action="update", obj=token, changes=audit.diff(before, _snapshot(token))
    )
    return token


def presented_token(request: HttpRequest) -> str:
    """The token as CKAN clients send it: `Authorization` (bare or Bearer) or X-CKAN-API-Key."""
    value = request.headers.get("Authorization", "") or request.headers.get("X-CKAN-API-Key", "")
    value = value.strip()
    if value.lower().startswith("bearer "):
        value = value[7:].strip()
    return value


class BadToken(Exception):
    """A token was sent but it is unknown, revoked, or its account may no longer use it."""


def account_for(plaintext: str) -> AbstractBaseUser:
    """The staff account a token acts for; BadToken when it does not work."""
    token = (
        ApiToken.objects.select_related("owner").filter(hashed=digest(plaintext)).first()
        if plaintext
        else None
    )
    if token is None or not token.is_active or not can_hold_token(token.owner):
        raise BadToken
    now = timezone.now()
    if token.last_used is None or now - token.last_used > _LAST_USED_PRECISION:
        ApiToken.objects.filter(pk=token.pk).update(last_used=now)
    return token.owner
