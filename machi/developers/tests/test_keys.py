"""Keys: issued once in plaintext, stored hashed, revocable by their owner, used per day."""

import datetime
import hashlib
from collections.abc import Callable

import pytest
from django.contrib.auth.models import AnonymousUser, User
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection

from machi.audit.models import AuditEvent
from machi.developers import queries, services
from machi.developers.models import ApiKey, ApiKeyUsage

pytestmark = pytest.mark.django_db

MakeKey = Callable[..., tuple[ApiKey, str]]


def test_the_plaintext_is_never_stored(make_key: MakeKey) -> None:
    key, plaintext = make_key()
    assert len(plaintext) >= 40
    assert key.hashed == hashlib.sha256(plaintext.encode()).hexdigest()
    assert key.prefix == plaintext[:8]
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM developers_apikey")
        assert not any(plaintext in str(value) for value in cursor.fetchone())
    event = AuditEvent.objects.get(object_type="developers.apikey", action="create")
    assert plaintext not in str(event.changes) and key.hashed not in str(event.changes)
    assert services.find_key(plaintext) == key
    assert services.find_key(plaintext[:-1]) is None


def test_owner_revokes_and_an_outsider_may_not(
    developer: User, other_developer: User, editor: User, make_key: MakeKey
) -> None:
    key, _ = make_key()
    for stranger in (other_developer, editor):
        with pytest.raises(PermissionDenied):
            services.revoke_key(user=stranger, key=key)
    services.revoke_key(user=developer, key=key)
    key.refresh_from_db()
    assert key.revoked is not None
    assert AuditEvent.objects.filter(object_type="developers.apikey", action="update").exists()


def test_site_admin_may_revoke_any_key(site_admin: User, make_key: MakeKey) -> None:
    key, _ = make_key()
    assert services.revoke_key(user=site_admin, key=key).revoked is not None


def test_active_keys_are_capped(make_key: MakeKey, developer: User) -> None:
    keys = [make_key(f"app {n}")[0] for n in range(services.MAX_ACTIVE_KEYS)]
    with pytest.raises(ValidationError):
        make_key("one too many")
    services.revoke_key(user=developer, key=keys[0])
    make_key("replacement")


def test_usage_is_kept_per_day_in_japan_time(make_key: MakeKey, developer: User) -> None:
    key, _ = make_key()
    # 23:30 and 00:30 in Tokyo are two days, though the same UTC day.
    late = datetime.datetime(2026, 4, 1, 14, 30, tzinfo=datetime.UTC)
    services.record_use(key=key, now=late)
    services.record_use(key=key, now=late)
    services.record_use(key=key, now=late + datetime.timedelta(hours=1))
    rows = dict(ApiKeyUsage.objects.values_list("day", "count"))
    assert rows == {datetime.date(2026, 4, 1): 2, datetime.date(2026, 4, 2): 1}
    [item] = queries.keys_with_usage(developer, today=datetime.date(2026, 4, 2))
    assert len(item.days) == 30 and item.total == 3
    assert item.days[:2] == [(datetime.date(2026, 4, 2), 1), (datetime.date(2026, 4, 1), 2)]


def test_anonymous_users_cannot_issue_keys() -> None:
    with pytest.raises(PermissionDenied):
        services.issue_key(user=AnonymousUser(), name="x")
