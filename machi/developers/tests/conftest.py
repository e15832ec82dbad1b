"""Developers: a registered developer beside the shared cast, and ways to make keys."""

from collections.abc import Callable

import pytest
from django.contrib.auth.models import User

from machi.developers import services
from machi.developers.models import ApiKey


@pytest.fixture
def developer(db: None) -> User:
    """A resident who signed up for API keys: no staff rights."""
    return services.sign_up(email="dev@example.jp", password="correct horse battery")


@pytest.fixture
def other_developer(db: None) -> User:
    return services.sign_up(email="other@example.jp", password="correct horse battery")


@pytest.fixture
def make_key(developer: User) -> Callable[..., tuple[ApiKey, str]]:
    def make(name: str = "my app", user: User | None = None) -> tuple[ApiKey, str]:
        return services.issue_key(user=user or developer, name=name)

    return make
