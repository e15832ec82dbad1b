"""Who may do what with API keys. Services call these."""

from machi.accounts.permissions import User, is_site_admin
from machi.developers.models import ApiKey


def can_issue_key(user: User) -> bool:
    return bool(user.is_authenticated and user.is_active)


def can_revoke_key(user: User, key: ApiKey) -> bool:
    """The key's owner, or the site administrator (back office)."""
    if is_site_admin(user):
        return True
    return bool(user.is_authenticated and user.is_active and key.owner_id == user.pk)
