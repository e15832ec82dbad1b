"""Fixed-window rate limits shared by every process.

A client (an API key, else an address) may make `limit` requests per minute.
The count lives where every process sees it: in Redis or memcached through
Django's cache (`add` + `incr`, both atomic there), otherwise in the database
(`RateCounter`, one atomic write per request). Django's database cache is not
used for counting because its `incr` is a read and a write: two processes
reading the same count both let a request through.
"""

import ipaddress
import math
import random
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from django.conf import settings
from django.core.cache import caches
from django.core.cache.backends.base import BaseCache
from django.core.cache.backends.memcached import BaseMemcachedCache
from django.core.cache.backends.redis import RedisCache
from django.core.exceptions import ImproperlyConfigured
from django.db import OperationalError, connection
from django.http import HttpRequest

from machi.developers.models import RateCounter

WINDOW_SECONDS = 60
# Counters of clients idle for this long are deleted now and then.
_STALE_SECONDS = 3600
_PRUNE_CHANCE = 0.01


@dataclass(frozen=True)
class Window:
    """A client's requests in the current window, this one included."""

    limit: int
    hits: int
    ends_at: float  # Unix seconds

    @property
    def allowed(self) -> bool:
        return self.hits <= self.limit

    @property
    def remaining(self) -> int:
        return max(0, self.limit - self.hits)

    def retry_after(self, now: float | None = None) -> int:
        """Whole seconds until the window ends (at least 1)."""
        return max(1, math.ceil(self.ends_at - (time.time() if now is None else now)))


def hit(client: str, limit: int, *, now: float | None = None) -> Window:
    """Count one request of `client` and tell whether it is within `limit`."""
    now = time.time() if now is None else now
    start = int(now // WINDOW_SECONDS) * WINDOW_SECONDS
    cache = _atomic_cache()
    if cache is not None:
        hits = _hit_cache(cache, client, start)
    else:
        hits, start = _hit_database(client, start, limit)
        if hits == 1 and random.random() < _PRUNE_CHANCE:
            prune(now=now)
    return Window(limit=limit, hits=hits, ends_at=start + WINDOW_SECONDS)


def prune(*, now: float | None = None) -> int:
    """Delete the counters of clients idle for an hour."""
    now = time.time() if now is None else now
    deleted, _ = RateCounter.objects.filter(window_start__lt=now - _STALE_SECONDS).delete()
    return deleted


def _atomic_cache() -> BaseCache | None:
    cache = caches["default"]
    return cache if isinstance(cache, RedisCache | BaseMemcachedCache) else None


def _hit_cache(cache: BaseCache, client: str, start: int) -> int:
    key = f"ratelimit:{client}:{start}"
    # Outlive the window a little so a slow request still finds its counter.
    cache.add(key, 0, timeout=WINDOW_SECONDS + 10)
    try:
        return cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.add(key, 1, timeout=WINDOW_SECONDS + 10)
        return 1


def _hit_database(client: str, start: int, limit: int) -> tuple[int, int]:
    if connection.vendor == "sqlite":
        return _hit_sqlite(client[:100], start, limit)
    table = connection.ops.quote_name(RateCounter._meta.db_table)
    # One statement, so concurrent requests queue on the row and each sees
    # the count its own increment made. A process whose clock lags keeps
    # counting in the newer window instead of resetting it.
    sql = f"""
        INSERT INTO {table} (client, window_start, hits) VALUES (%s, %s, 1)
        ON CONFLICT (client) DO UPDATE SET
            hits = CASE WHEN excluded.window_start > {table}.window_start
                        THEN 1 ELSE {table}.hits + 1 END,
            window_start = CASE WHEN excluded.window_start > {table}.window_start
                                THEN excluded.window_start ELSE {table}.window_start END
        RETURNING hits, window_start
    """
    with connection.cursor() as cursor:
        cursor.execute(sql, [client[:100], start])
        hits, window_start = cursor.fetchone()
    return int(hits), int(window_start)


def _hit_sqlite(client: str, start: int, limit: int) -> tuple[int, int]:
    """The same count on SQLite, in statements that each commit within one call.

    SQLite has one write lock for the whole file, and a RETURNING statement keeps it
    until its row is handed over, which needs Python's GIL back: under load, other
    processes then waited for the lock in SQLite's sleeps of 1 to 100 ms. So the
    request's fate comes from what each write changed, not from a count read back:
    an increment made only below the limit admits it.
    """
    table = connection.ops.quote_name(RateCounter._meta.db_table)
    within = (
        f"UPDATE {table} SET hits = hits + 1 WHERE client = %s AND window_start >= %s AND hits < %s"
    )
    with connection.cursor() as cursor, _short_lock_waits(cursor) as write:
        admitted = write(within, [client, start, limit]) == 1
        if not admitted:  # a new client, or the first request of a new window
            started = write(
                f"INSERT INTO {table} (client, window_start, hits) VALUES (%s, %s, 1) "
                "ON CONFLICT (client) DO UPDATE SET hits = 1, "
                f"window_start = excluded.window_start "
                f"WHERE excluded.window_start > {table}.window_start",
                [client, start],
            )
            admitted = started == 1
        if not admitted:  # another process may have just started the window
            admitted = write(within, [client, start, limit]) == 1
        if not admitted:  # the window is full; a refused request counts too
            write(f"UPDATE {table} SET hits = hits + 1 WHERE client = %s", [client])
        cursor.execute(f"SELECT hits, window_start FROM {table} WHERE client = %s", [client])
        hits, window_start = cursor.fetchone()
    # Others' requests since may show in the count read; this one's fate stands.
    hits = min(hits, limit) if admitted else max(hits, limit + 1)
    return int(hits), int(window_start)


@contextmanager
def _short_lock_waits(cursor: Any) -> Iterator[Callable[[str, list[Any]], int]]:
    """A function running a write that waits for SQLite's lock in steps of 0.1 ms, as long
    as the connection's busy_timeout allows.

    The lock is held for some microseconds per write; SQLite's own busy handler would
    sleep at least a whole millisecond, with the processor idle.
    """
    cursor.execute("PRAGMA busy_timeout")
    (patience_ms,) = cursor.fetchone()

    def write(sql: str, params: list[Any]) -> int:
        deadline = time.monotonic() + patience_ms / 1000
        while True:
            try:
                cursor.execute(sql, params)
                return cursor.rowcount
            except OperationalError as error:
                if "locked" not in str(error) or time.monotonic() > deadline:
                    raise
                time.sleep(0.0001)

    cursor.execute("PRAGMA busy_timeout = 0")
    try:
        yield write
    finally:
        cursor.execute(f"PRAGMA busy_timeout = {int(patience_ms)}")


# Clients ---------------------------------------------------------------------


Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@lru_cache(maxsize=8)
def _networks(entries: tuple[str, ...]) -> tuple[Network, ...]:
    networks = []
    for entry in entries:
        try:
            networks.append(ipaddress.ip_network(entry, strict=False))
        except ValueError:
            raise ImproperlyConfigured(
                f"MACHI_TRUSTED_PROXIES: {entry!r} is not an IP address or network"
            ) from None
    return tuple(networks)


def trusted_proxies() -> tuple[Network, ...]:
    return _networks(tuple(settings.MACHI_TRUSTED_PROXIES))


def _is_trusted(address: str) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in trusted_proxies())


def client_address(request: HttpRequest) -> str:
    """The client's address: the peer, or what trusted proxies say they forwarded for.

    X-Forwarded-For is read from the right, skipping our own proxies; the first
    address that is not one of them was written by a proxy we trust. An IPv6
    client counts as its /64, which one subscriber usually holds whole.
    """
    address = request.META.get("REMOTE_ADDR", "")
    if _is_trusted(address):
        forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
        for hop in reversed([part.strip() for part in forwarded.split(",") if part.strip()]):
            address = hop
            if not _is_trusted(hop):
                break
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address[:64]
    if ip.version == 6 and ip.ipv4_mapped is not None:
        return str(ip.ipv4_mapped)
    if ip.version == 6:
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return str(ip)
