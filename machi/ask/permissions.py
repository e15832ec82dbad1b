"""Who may keep the FAQ and read the questions residents asked."""

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser

from machi.accounts.models import Role
from machi.accounts.permissions import department_ids, is_site_admin

User = AbstractBaseUser | AnonymousUser


def can_edit_faq(user: User) -> bool:
    """The FAQ is the whole ward's: site administrators and editors of any department."""
    return is_site_admin(user) or bool(department_ids(user, Role.EDITOR))


def can_view_questions(user: User) -> bool:
    """Logged questions hold no personal data, but are for staff only."""
    return bool(user.is_authenticated and user.is_active and user.is_staff) or is_site_admin(user)
