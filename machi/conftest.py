"""The shared cast: resident, staff editor, department admin, outsider, site admin."""

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core.cache import cache, caches
from django.core.cache.backends.db import BaseDatabaseCache
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connections
from django.test import Client

from machi.accounts.models import Department, Membership, Role
from machi.catalog import services
from machi.catalog.models import Category, Dataset

SHARED = Path(__file__).resolve().parents[2] / "shared"
RESULTS = Path(__file__).resolve().parents[1] / "test-results"  # screenshots
CHROMIUM = os.environ.get("MACHI_CHROMIUM", "/usr/bin/chromium")


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup: None, django_db_blocker: Any) -> Any:
    yield
    # On PostgreSQL the datastore alias opens its own connection to the same test
    # database; close it so the database can be dropped at the end.
    with django_db_blocker.unblock():
        connections.close_all()


@pytest.fixture(autouse=True)
def _files_in_tmp(settings: Any, tmp_path: Path) -> None:
    settings.MEDIA_ROOT = tmp_path / "files"


@pytest.fixture(autouse=True)
def _empty_cache() -> None:
    # Caches key on the search version; a rolled-back test reuses its numbers.
    # The database cache (the default) needs no clearing, and outside the
    # database tests cannot: its table (developers.CacheEntry) is rolled back
    # or flushed with each test's data.
    if not isinstance(caches["default"], BaseDatabaseCache):
        cache.clear()


@pytest.fixture
def kikaku(db: None) -> Department:
    return Department.objects.create(
        slug="kikaku", name="企画政策部情報政策課", name_en="Information Policy Division"
    )


@pytest.fixture
def bousai(db: None) -> Department:
    return Department.objects.create(
        slug="bousai", name="総務部防災課", name_en="Disaster Prevention Division"
    )


def _staff(username: str, department: Department | None, role: Role | None) -> User:
    user = User.objects.create_user(username, password="correct horse battery", is_staff=True)
    if department is not None and role is not None:
        Membership.objects.create(user=user, department=department, role=role)
    return user


@pytest.fixture
def editor(kikaku: Department) -> User:
    """Staff editor of 情報政策課."""
    return _staff("editor", kikaku, Role.EDITOR)


@pytest.fixture
def viewer(kikaku: Department) -> User:
    return _staff("viewer", kikaku, Role.VIEWER)


@pytest.fixture
def department_admin(kikaku: Department) -> User:
    return _staff("dept-admin", kikaku, Role.ADMIN)


@pytest.fixture
def outsider(bousai: Department) -> User:
    """An editor of another department (防災課): may change nothing of 情報政策課."""
    return _staff("outsider", bousai, Role.EDITOR)


@pytest.fixture
def site_admin(db: None) -> User:
    return User.objects.create_superuser("admin", password="correct horse battery")


@pytest.fixture
def resident() -> Client:
    return Client()


@pytest.fixture
def client_for() -> Callable[[User], Client]:
    def make(user: User) -> Client:
        client = Client()
        client.force_login(user)
        return client

    return make


@pytest.fixture
def make_dataset(site_admin: User) -> Callable[..., Dataset]:
    """Create a dataset through the services, as staff would."""

    def make(department: Department, name: str, title: str, **fields: Any) -> Dataset:
        csv_text = fields.pop("csv", None)
        categories = [Category.objects.get(slug=slug) for slug in fields.pop("categories", [])]
        dataset = services.create_dataset(
            actor=site_admin,
            department=department,
            name=name,
            title=title,
            categories=categories,
            **fields,
        )
        if csv_text is not None:
            services.add_resource(
                actor=site_admin,
                dataset=dataset,
                name=f"{title}（CSV）",
                upload=SimpleUploadedFile(f"{name}.csv", csv_text.encode("utf-8")),
            )
        return dataset

    return make


@pytest.fixture
def shared_dir() -> Path:
    if not SHARED.is_dir():
        pytest.skip(f"../shared is not beside this clone ({SHARED}); CI has it")
    return SHARED


@pytest.fixture
def browser_page() -> Iterator[object]:
    if not Path(CHROMIUM).exists():
        message = f"Chromium not found at {CHROMIUM} (apt-get install chromium fonts-noto-cjk)"
        if os.environ.get("MACHI_REQUIRE_BROWSER"):
            pytest.fail(message)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    RESULTS.mkdir(exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        # A phone-sized screen: residents come on phones.
        context = browser.new_context(
            viewport={"width": 390, "height": 844}, locale="ja-JP", accept_downloads=True
        )
        yield context.new_page()
        context.close()
        browser.close()
