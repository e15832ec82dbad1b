"""Who may see and change catalog objects. Services call these; views ask them too."""

from machi.accounts.models import Department, Role
from machi.accounts.permissions import User, has_role, is_site_admin
from machi.catalog.models import Dataset, News, Showcase


def can_view_dataset(user: User, dataset: Dataset) -> bool:
    return dataset.is_public or has_role(user, dataset.department, Role.VIEWER)


def can_create_dataset(user: User, department: Department) -> bool:
    return has_role(user, department, Role.EDITOR)


def can_edit_dataset(user: User, dataset: Dataset) -> bool:
    return has_role(user, dataset.department, Role.EDITOR)


def can_delete_dataset(user: User, dataset: Dataset) -> bool:
    return has_role(user, dataset.department, Role.ADMIN)


def can_edit_news(user: User, news: News) -> bool:
    if news.department_id is None:
        return is_site_admin(user)
    return has_role(user, news.department, Role.EDITOR)


def can_edit_showcase(user: User, showcase: Showcase) -> bool:
    if showcase.department_id is None:
        return is_site_admin(user)
    return has_role(user, showcase.department, Role.EDITOR)


def can_edit_vocabulary(user: User) -> bool:
    """Categories, licenses, synonyms and the glossary are shared by every department."""
    return is_site_admin(user)
