"""The limiter counts exactly across processes, on the database and on Redis."""

import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest
from django.core.cache import caches
from django.core.exceptions import ImproperlyConfigured
from django.db import connection
from django.test import RequestFactory, override_settings

from machi.developers import limits
from machi.developers.models import RateCounter

ROOT = Path(__file__).resolve().parents[3]
NOW = 1_800_000_030.0  # 30 s into a window

HITS = """
import sys
import django
django.setup()
from machi.developers import limits
client, limit, count, now = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
print(sum(limits.hit(client, limit, now=now).allowed for _ in range(count)))
"""


def database_url() -> str:
    db = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{db['NAME']}"
    auth = quote(db["USER"] or "")
    if db["PASSWORD"]:
        auth += ":" + quote(db["PASSWORD"])
    return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


def run_processes(tmp_path: Path, *, processes: int, each: int, limit: int, **env: str) -> int:
    """Start worker processes at once; the requests they were allowed, together."""
    base = {
        "PATH": "/usr/bin:/bin",
        "DJANGO_SETTINGS_MODULE": "machi.settings",
        "DATABASE_URL": database_url(),
        "MACHI_DATA_DIR": str(tmp_path),
        **env,
    }
    args = [sys.executable, "-c", HITS, "ip:shared", str(limit), str(each), str(NOW)]
    running = [
        subprocess.Popen(args, env=base, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        for _ in range(processes)
    ]
    allowed = 0
    for process in running:
        out, err = process.communicate(timeout=120)
        assert process.returncode == 0, err.decode()
        allowed += int(out)
    return allowed


@pytest.mark.django_db
def test_requests_over_the_limit_are_refused_until_the_next_minute() -> None:
    windows = [limits.hit("ip:192.0.2.1", 3, now=NOW) for _ in range(4)]
    assert [w.allowed for w in windows] == [True, True, True, False]
    assert [w.remaining for w in windows] == [2, 1, 0, 0]
    assert windows[-1].retry_after(now=NOW) == 30
    assert limits.hit("ip:192.0.2.2", 3, now=NOW).allowed  # another client
    assert limits.hit("ip:192.0.2.1", 3, now=NOW + 30).hits == 1  # the next window


@pytest.mark.django_db
def test_stale_counters_are_pruned_now_and_then(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(limits, "_PRUNE_CHANCE", 0)
    limits.hit("ip:192.0.2.1", 3, now=NOW)
    limits.hit("ip:192.0.2.2", 3, now=NOW + 7200)
    assert limits.prune(now=NOW + 7200) == 1
    assert list(RateCounter.objects.values_list("client", flat=True)) == ["ip:192.0.2.2"]
    monkeypatch.setattr(limits, "_PRUNE_CHANCE", 1)
    limits.hit("ip:192.0.2.3", 3, now=NOW + 14400)  # a client's first request in a window
    assert list(RateCounter.objects.values_list("client", flat=True)) == ["ip:192.0.2.3"]


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_processes_share_the_count_on_the_database(tmp_path: Path) -> None:
    # Three processes, 30 requests each, at once: exactly the limit gets through.
    assert run_processes(tmp_path, processes=3, each=30, limit=50) == 50
    assert RateCounter.objects.get(client="ip:shared").hits == 90


@pytest.mark.django_db
def test_the_default_cache_is_shared_through_the_database() -> None:
    first = caches.create_connection("default")
    second = caches.create_connection("default")
    first.set("greeting", "こんにちは")
    assert second.get("greeting") == "こんにちは"
    assert connection.introspection.table_names().count("machi_cache") == 1


@pytest.fixture
def redis_url() -> Iterator[str]:
    server = shutil.which("redis-server")
    if server is None:
        pytest.skip("redis-server is not installed")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    process = subprocess.Popen(
        [server, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
    )
    try:
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.1).close()
                break
            except OSError:
                time.sleep(0.05)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_processes_share_the_count_on_redis(tmp_path: Path, redis_url: str) -> None:
    assert run_processes(tmp_path, processes=3, each=30, limit=50, REDIS_URL=redis_url) == 50
    assert not RateCounter.objects.exists()  # counted in Redis, not in the database
    redis_cache = {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": redis_url,
        "KEY_PREFIX": "machi",
    }
    with override_settings(CACHES={"default": redis_cache}):
        window = limits.hit("ip:shared", 50, now=NOW)
    assert (window.hits, window.allowed) == (91, False)


def address(remote: str, forwarded: str = "") -> str:
    request = RequestFactory().get("/api/v1/datasets", REMOTE_ADDR=remote)
    if forwarded:
        request.META["HTTP_X_FORWARDED_FOR"] = forwarded
    return limits.client_address(request)


def test_forwarded_for_is_ignored_unless_the_peer_is_a_trusted_proxy() -> None:
    assert address("203.0.113.9", "198.51.100.1") == "203.0.113.9"
    with override_settings(MACHI_TRUSTED_PROXIES=["10.0.0.0/8"]):
        assert address("10.0.0.5", "198.51.100.1") == "198.51.100.1"
        # A client's own X-Forwarded-For is on the left; the proxy appends the truth.
        assert address("10.0.0.5", "1.2.3.4, 198.51.100.1, 10.0.0.7") == "198.51.100.1"
        assert address("203.0.113.9", "198.51.100.1") == "203.0.113.9"


def test_ipv6_clients_count_by_their_64_network() -> None:
    assert address("2001:db8:1:2::1") == address("2001:db8:1:2:ffff::9") == "2001:db8:1:2::/64"
    assert address("::ffff:192.0.2.7") == "192.0.2.7"


def test_a_bad_trusted_proxy_setting_is_refused_with_its_name() -> None:
    with (
        override_settings(MACHI_TRUSTED_PROXIES=["proxy.example"]),
        pytest.raises(ImproperlyConfigured, match="MACHI_TRUSTED_PROXIES"),
    ):
        address("10.0.0.5")
