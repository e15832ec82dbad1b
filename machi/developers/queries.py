"""Reads for the developer pages."""

import datetime
from dataclasses import dataclass

from django.utils import timezone

from machi.accounts.permissions import User
from machi.developers.models import ApiKey, ApiKeyUsage

USAGE_DAYS = 30


@dataclass(frozen=True)
class KeyWithUsage:
    key: ApiKey
    days: list[tuple[datetime.date, int]]  # newest first, one per day, zeros included

    @property
    def total(self) -> int:
        return sum(count for _, count in self.days)


def keys_with_usage(
    user: User, *, days: int = USAGE_DAYS, today: datetime.date | None = None
) -> list[KeyWithUsage]:
    """The user's keys, active first, each with its requests per day."""
    today = today or timezone.localdate()
    since = today - datetime.timedelta(days=days - 1)
    keys = sorted(ApiKey.objects.filter(owner_id=user.pk), key=lambda key: key.revoked is not None)
    counts = {
        (key_id, day): count
        for key_id, day, count in ApiKeyUsage.objects.filter(
            key__owner_id=user.pk, day__gte=since, day__lte=today
        ).values_list("key_id", "day", "count")
    }
    calendar = [today - datetime.timedelta(days=n) for n in range(days)]
    return [
        KeyWithUsage(key=key, days=[(day, counts.get((key.pk, day), 0)) for day in calendar])
        for key in keys
    ]
