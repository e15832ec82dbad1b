"""The real `ckanapi` client (from PyPI) against live machi servers.

Instance A is pytest-django's live server on the test database; instance B is a
second, empty machi (its own data directory, and on PostgreSQL its own database)
started as a subprocess. `ckanapi dump` from A and `ckanapi load` into B must
leave both listing the same datasets.
"""

import json
import os
import shutil
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.db import connection

from machi.tests.commands import run_machi
from machi.tests.test_serve import ROOT, free_port

VENV_BIN = Path(sys.executable).parent
CKANAPI = shutil.which("ckanapi", path=str(VENV_BIN)) or shutil.which("ckanapi")

pytestmark = [
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
    pytest.mark.skipif(CKANAPI is None, reason="ckanapi is not installed (pip install -e .[test])"),
]


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "MACHI_ENV"}}
    # ckanapi starts its workers as `ckanapi ...`: it must be on PATH.
    env["PATH"] = f"{VENV_BIN}{os.pathsep}{env.get('PATH', '')}"
    env.update(MACHI_RATE_LIMIT_ANON="100000", MACHI_RATE_LIMIT_KEY="100000", **extra)
    return env


def ckanapi(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [str(CKANAPI), *args], capture_output=True, text=True, env=env or _env(), timeout=180
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result


@pytest.fixture
def second_database() -> Iterator[str | None]:
    """A DATABASE_URL of a fresh, separate PostgreSQL database; None on SQLite."""
    if connection.vendor != "postgresql":
        yield None
        return
    import psycopg

    s = connection.settings_dict
    name = f"{s['NAME']}_ckan_b"[:63]
    admin = dict(
        host=s["HOST"] or "127.0.0.1",
        port=s["PORT"] or 5432,
        user=s["USER"],
        password=s["PASSWORD"] or None,
    )
    with psycopg.connect(dbname="postgres", autocommit=True, **admin) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')
    auth = f"{s['USER']}:{s['PASSWORD']}@" if s["PASSWORD"] else f"{s['USER']}@"
    yield f"postgres://{auth}{admin['host']}:{admin['port']}/{name}"
    with psycopg.connect(dbname="postgres", autocommit=True, **admin) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def empty_instance(tmp_path: Path, second_database: str | None) -> Iterator[dict[str, str]]:
    """A second machi with no datasets, its site administrator `admin` and a token."""
    extra = {"MACHI_DATA_DIR": str(tmp_path / "b")}
    if second_database:
        extra["DATABASE_URL"] = second_database
    env = _env(**extra, DJANGO_SUPERUSER_PASSWORD="correct horse battery")

    def machi(*args: str) -> str:
        return run_machi(env, *args)

    machi("migrate", "--verbosity", "0")
    machi("createsuperuser", "--noinput", "--username", "admin", "--email", "admin@example.jp")
    token = machi("token", "create", "admin", "--name", "ckanapi load").strip()
    port = free_port()
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "machi.wsgi:application",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            "1",
            "--threads",
            "4",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"{url}/healthz", timeout=2):
                    break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    server.kill()
                    raise AssertionError(server.stdout.read() if server.stdout else "") from None
                time.sleep(0.3)
        yield {"url": url, "token": token}
    finally:
        server.terminate()
        server.wait(timeout=20)


def _comparable(package: dict[str, Any]) -> dict[str, Any]:
    """What must survive a copy: everything but local timestamps and local download links."""
    return {
        "id": package["id"],
        "name": package["name"],
        "title": package["title"],
        "notes": package["notes"],
        "organization": package["organization"]["name"],
        "license_id": package["license_id"],
        "private": package["private"],
        "tags": [t["name"] for t in package["tags"]],
        "groups": [g["name"] for g in package["groups"]],
        "extras": package["extras"],
        "resources": [(r["name"], r["format"]) for r in package["resources"]],
    }


def _show(site: str, name: str) -> dict[str, Any]:
    with urllib.request.urlopen(f"{site}/api/3/action/package_show?id={name}") as response:
        return json.load(response)["result"]


def test_ckanapi_search_show_dump_and_load_into_an_empty_instance(
    live_server: Any, catalog: Any, settings: Any, empty_instance: dict[str, str], tmp_path: Path
) -> None:
    settings.MACHI_RATE_LIMIT_ANON = 100000
    source = live_server.url

    # ckanapi action: Japanese search and show, as any CKAN client calls them.
    found = json.loads(ckanapi("action", "package_search", "q=保育", "-r", source).stdout)
    assert found["count"] == 1
    assert found["results"][0]["name"] == "hoikuen"
    shown = json.loads(
        ckanapi("action", "package_show", f"id={found['results'][0]['id']}", "-r", source).stdout
    )
    assert shown["title"] == "保育園一覧"
    assert shown["resources"][0]["format"] == "CSV"

    # Dump organizations and datasets from A; load them into the empty B.
    orgs, datasets = tmp_path / "organizations.jsonl", tmp_path / "datasets.jsonl"
    ckanapi("dump", "organizations", "--all", "-O", str(orgs), "-r", source)
    ckanapi("dump", "datasets", "--all", "-O", str(datasets), "-r", source)
    assert len(datasets.read_text().splitlines()) == 3  # the public datasets

    target, token = empty_instance["url"], empty_instance["token"]
    before = json.loads(ckanapi("action", "package_list", "-r", target).stdout)
    assert before == []
    log = tmp_path / "load.log"
    ckanapi("load", "organizations", "-I", str(orgs), "-r", target, "-a", token)
    ckanapi(
        "load", "datasets", "-I", str(datasets), "-r", target, "-a", token,
        "--upload-resources", "-l", str(log),
    )  # fmt: skip
    assert all(json.loads(line)[3] is None for line in log.read_text().splitlines())

    listed_a = json.loads(ckanapi("action", "package_list", "-r", source).stdout)
    listed_b = json.loads(ckanapi("action", "package_list", "-r", target).stdout)
    assert listed_a == listed_b == ["aed", "hinanjo", "hoikuen"]
    for name in listed_a:
        assert _comparable(_show(target, name)) == _comparable(_show(source, name))

    # --upload-resources copied the file itself (resource ids are kept, as in CKAN).
    copied = _show(target, "hoikuen")["resources"][0]
    original = _show(source, "hoikuen")["resources"][0]
    assert copied["url"].startswith(target) and copied["url_type"] == "upload"
    assert copied["hash"] == original["hash"] and copied["size"] == original["size"]
    assert copied["url"].endswith("/hoikuen.csv")
    with urllib.request.urlopen(copied["url"]) as response:
        assert "さくら保育園" in response.read().decode()

    # Loading again updates in place (found by id): nothing twice, the copied file kept.
    ckanapi("load", "datasets", "-I", str(datasets), "-r", target, "-a", token)
    again = json.loads(ckanapi("action", "package_search", "q=保育", "-r", target).stdout)
    assert again["count"] == 1
    assert again["results"][0]["resources"][0]["url"] == copied["url"]
