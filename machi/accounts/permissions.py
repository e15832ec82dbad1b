"""Who may do what with departments and staff. Services call these."""

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser

from machi.accounts.models import Department, Membership, Role

User = AbstractBaseUser | AnonymousUser

_RANK = {Role.VIEWER: 1, Role.EDITOR: 2, Role.ADMIN: 3}


def is_site_admin(user: User) -> bool:
    return bool(user.is_authenticated and user.is_active and user.is_superuser)


def role_in(user: User, department: Department | None) -> str | None:
    if department is None or not user.is_authenticated or not user.is_active:
        return None
    membership = Membership.objects.filter(user=user, department=department).first()
    return membership.role if membership else None


def has_role(user: User, department: Department | None, at_least: Role) -> bool:
    if is_site_admin(user):
        return True
    role = role_in(user, department)
    return role is not None and _RANK[Role(role)] >= _RANK[at_least]


def department_ids(user: User, at_least: Role = Role.VIEWER) -> set[int]:
    """Departments where the user holds at least the given role."""
    if not user.is_authenticated or not user.is_active:
        return set()
    allowed = [role for role, rank in _RANK.items() if rank >= _RANK[at_least]]
    return set(
        Membership.objects.filter(user=user, role__in=allowed).values_list(
            "department_id", flat=True
        )
    )


def can_manage_department(user: User, department: Department) -> bool:
    return has_role(user, department, Role.ADMIN)


def can_create_department(user: User) -> bool:
    return is_site_admin(user)


def can_view_audit_log(user: User) -> bool:
    return is_site_admin(user) or bool(department_ids(user, Role.ADMIN))
