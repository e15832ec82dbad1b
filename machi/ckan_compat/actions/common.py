"""Finding the objects an action names, and reading its parameters, with CKAN's errors."""

from typing import Any

from django.utils.translation import gettext as _

from machi.accounts.models import Department
from machi.catalog import permissions
from machi.catalog.models import Category, Dataset, Resource
from machi.catalog.queries import with_resources
from machi.ckan_compat.dicts import derived_id
from machi.ckan_compat.errors import NotAuthorized, NotFound, ValidationFailed
from machi.ckan_compat.models import DatasetIdentity


def required(data: dict[str, Any], name: str) -> Any:
    value = data.get(name)
    if value in (None, ""):
        raise ValidationFailed(
            _("%(name)s: missing value") % {"name": name},
            fields={name: [_("Missing value")]},
        )
    return value


def text(data: dict[str, Any], name: str, default: str = "") -> str:
    value = data.get(name)
    if value is None:
        return default
    if not isinstance(value, str | int | float):
        raise ValidationFailed(
            _("%(name)s must be text.") % {"name": name}, fields={name: [_("Must be text.")]}
        )
    return str(value)


def dataset(user: Any, ident: Any, *, for_edit: bool = False) -> Dataset:
    """A dataset by CKAN id (UUID) or name, if `user` may see it."""
    ident = str(ident or "").strip()
    if not ident:
        raise ValidationFailed(_("id: missing value"), fields={"id": [_("Missing value")]})
    datasets = with_resources(Dataset.objects.all())
    found = datasets.filter(name=ident).first()
    if found is None:
        identity = DatasetIdentity.objects.filter(uid=ident).first() if _uuid(ident) else None
        found = datasets.filter(pk=identity.dataset_id).first() if identity else None
    if found is None:
        raise NotFound(_("Dataset not found: %(id)s") % {"id": ident})
    if not permissions.can_view_dataset(user, found):
        # CKAN answers 403 for a private dataset the caller may not read.
        raise NotAuthorized(_("You may not read the private dataset %(id)s.") % {"id": ident})
    if for_edit and not permissions.can_edit_dataset(user, found):
        raise NotAuthorized(_("You cannot edit this dataset."))
    return found


def resource(user: Any, ident: Any) -> Resource:
    ident = str(ident or "").strip()
    if not ident:
        raise ValidationFailed(_("id: missing value"), fields={"id": [_("Missing value")]})
    found = (
        Resource.objects.select_related("dataset__department", "current").filter(uid=ident).first()
        if _uuid(ident)
        else None
    )
    if found is None or found.current_id is None:
        raise NotFound(_("Resource not found: %(id)s") % {"id": ident})
    if not permissions.can_view_dataset(user, found.dataset):
        raise NotAuthorized(_("You may not read this resource of a private dataset."))
    return found


def department(ident: Any, field: str = "id") -> Department:
    """An organization by name (slug) or CKAN id."""
    ident = str(ident or "").strip()
    found = Department.objects.filter(slug=ident).first()
    if found is None:
        for candidate in Department.objects.all():
            if derived_id("organization", candidate.slug) == ident:
                return candidate
        raise NotFound(_("Organization not found: %(id)s") % {"id": ident})
    return found


def category(ident: Any) -> Category:
    ident = str(ident or "").strip()
    found = Category.objects.filter(slug=ident).first()
    if found is None:
        for candidate in Category.objects.all():
            if derived_id("group", candidate.slug) == ident:
                return candidate
        raise NotFound(_("Group not found: %(id)s") % {"id": ident})
    return found


def _uuid(value: str) -> bool:
    import uuid

    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


def paging(data: dict[str, Any], default_limit: int | None, max_limit: int) -> tuple[int, int]:
    from machi.ckan_compat.search import integer

    limit = integer(
        data, "limit", default_limit if default_limit is not None else max_limit, 0, max_limit
    )
    offset = integer(data, "offset", 0, 0, 10**9)
    return limit, offset
