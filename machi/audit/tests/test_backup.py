"""`machi backup` and `machi restore`: a real round trip in separate machi processes, and
the archives restore must refuse."""

import io
import json
import os
import shutil
import subprocess
import tarfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from django.db import connection
from django.utils import translation

from machi.audit.backup import BackupError
from machi.audit.postgres import pg_run
from machi.audit.restore import restore_backup
from machi.tests.commands import MACHI, ROOT, run_machi

SETUP = """
from django.contrib.auth.models import User
from django.core.files.uploadedfile import SimpleUploadedFile
from machi.accounts.models import Department
from machi.catalog import services
from machi.datastore import services as datastore
admin = User.objects.create_superuser("admin", password="correct horse battery")
kikaku = Department.objects.create(slug="kikaku", name="企画政策部情報政策課")
dataset = services.create_dataset(
    actor=admin, department=kikaku, name="hoikuen", title="保育園一覧"
)
csv = "名称,定員\\nさくら保育園,60\\nひまわり保育園,45\\n".encode()
resource = services.add_resource(
    actor=admin, dataset=dataset, name="一覧", upload=SimpleUploadedFile("hoikuen.csv", csv)
)
datastore.load_version_file(actor=admin, version=resource.current)
print(resource.uid)
"""

CHANGE = """
from django.contrib.auth.models import User
from machi.accounts.models import Department
from machi.catalog import services
from machi.catalog.models import Dataset
admin = User.objects.get(username="admin")
services.delete_dataset(actor=admin, dataset=Dataset.objects.get(name="hoikuen"))
services.create_dataset(
    actor=admin, department=Department.objects.get(), name="later", title="後から"
)
"""

CHECK = """
import json
from django.test import Client
from machi.catalog.models import Dataset
uid = "%s"
client = Client(HTTP_HOST="127.0.0.1")
rows = client.get(f"/api/v1/datastore/{uid}/rows")
download = client.get(f"/dataset/hoikuen/resource/{uid}/download")
print(json.dumps({
    "datasets": sorted(Dataset.objects.values_list("name", flat=True)),
    "rows": rows.status_code,
    "records": rows.json().get("records") if rows.status_code == 200 else rows.content.decode(),
    "download": download.status_code,
    "file": b"".join(download.streaming_content).decode() if download.status_code == 200 else "",
}))
"""


@pytest.fixture
def postgres_databases() -> Iterator[Callable[[str], str | None]]:
    """DATABASE_URLs of fresh PostgreSQL databases (dropped after); None on SQLite."""
    made: list[str] = []
    if connection.vendor != "postgresql":
        yield lambda suffix: None
        return
    if shutil.which("pg_dump") is None or shutil.which("pg_restore") is None:
        pytest.skip("pg_dump/pg_restore not on PATH (apt-get install postgresql-client)")
    import psycopg

    s = connection.settings_dict
    admin = dict(
        host=s["HOST"] or "127.0.0.1",
        port=s["PORT"] or 5432,
        user=s["USER"],
        password=s["PASSWORD"] or None,
    )

    def make(suffix: str) -> str:
        name = f"{s['NAME']}_{suffix}"[:63]
        with psycopg.connect(dbname="postgres", autocommit=True, **admin) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{name}"')
        made.append(name)
        auth = f"{s['USER']}:{s['PASSWORD']}@" if s["PASSWORD"] else f"{s['USER']}@"
        return f"postgres://{auth}{admin['host']}:{admin['port']}/{name}"

    yield make
    with psycopg.connect(dbname="postgres", autocommit=True, **admin) as conn:
        for name in made:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _env(data_dir: Path, database_url: str | None) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"DATABASE_URL", "DATASTORE_URL", "MACHI_ENV", "MACHI_DATA_DIR"}
    }
    env.update(MACHI_DATA_DIR=str(data_dir), MACHI_TASKS="immediate")
    if database_url:
        env["DATABASE_URL"] = database_url
    return env


def _fails(env: dict[str, str], *args: str) -> str:
    done = subprocess.run(
        [*MACHI, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode != 0, done.stdout
    return done.stderr


def _check(env: dict[str, str], uid: str) -> dict[str, Any]:
    return json.loads(run_machi(env, "shell", "-c", CHECK % uid).strip().splitlines()[-1])


@pytest.mark.django_db
def test_backup_then_restore_brings_back_datasets_tables_and_files(
    tmp_path: Path, postgres_databases: Callable[[str], str | None]
) -> None:
    site = _env(tmp_path / "site", postgres_databases("backup_a"))
    run_machi(site, "migrate", "--verbosity", "0")
    uid = run_machi(site, "shell", "-c", SETUP).strip().splitlines()[-1]
    before = _check(site, uid)
    assert before["rows"] == 200 and len(before["records"]) == 2
    assert "さくら保育園" in before["file"]

    archive = tmp_path / "nightly.tar.gz"
    written = run_machi(site, "backup", "--output", str(archive))
    assert str(archive) in written
    assert archive.is_file()
    assert not [p for p in tmp_path.iterdir() if ".partial" in p.name]
    with tarfile.open(archive) as tar:
        names = tar.getnames()
        manifest = json.load(tar.extractfile("manifest.json"))  # type: ignore[arg-type]
    assert manifest["counts"] == {"datasets": 1, "resources": 1, "tables": 1, "files": 1}
    assert "catalog" in manifest["migrations"]
    assert any(name.startswith("files/") and name.endswith(".csv") for name in names)
    assert set(manifest["members"]) == {n for n in names if n != "manifest.json"}

    # Things change after the backup: the dataset (its table and file) is deleted, one added.
    run_machi(site, "shell", "-c", CHANGE)
    shutil.rmtree(tmp_path / "site" / "files", ignore_errors=True)
    changed = _check(site, uid)
    assert changed["datasets"] == ["later"] and changed["rows"] == 404

    # A site that holds data is not replaced without --yes.
    _fails(site, "restore", str(archive))
    assert _check(site, uid)["datasets"] == ["later"]

    replaced = run_machi(site, "restore", str(archive), "--yes")
    assert str(archive) in replaced
    run_machi(site, "migrate", "--verbosity", "0")
    after = _check(site, uid)
    assert after["datasets"] == ["hoikuen"]
    assert after["rows"] == 200 and after["records"] == before["records"]
    assert after["download"] == 200 and after["file"] == before["file"]
    assert not [p for p in (tmp_path / "site").iterdir() if "restor" in p.name]

    # Into a fresh data directory (and a fresh database): no --yes needed.
    fresh = _env(tmp_path / "fresh", postgres_databases("backup_b"))
    run_machi(fresh, "restore", str(archive))
    restored = _check(fresh, uid)
    assert restored["datasets"] == ["hoikuen"]
    assert restored["records"] == before["records"] and restored["file"] == before["file"]


# --- Archives restore refuses ------------------------------------------------------------


@pytest.fixture(scope="module")
def good_archive(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real backup of an empty migrated site (SQLite) with one file."""
    folder = tmp_path_factory.mktemp("backup")
    env = _env(folder / "site", None)
    run_machi(env, "migrate", "--verbosity", "0")
    (folder / "site" / "files" / "resources").mkdir(parents=True)
    (folder / "site" / "files" / "resources" / "a.csv").write_text("名称\nさくら\n")
    archive = folder / "good.tar.gz"
    run_machi(env, "backup", "--output", str(archive))
    return archive


def _rewrite(
    source: Path,
    target: Path,
    change: Callable[[str, bytes], bytes] = lambda name, data: data,
    extra: list[tuple[tarfile.TarInfo, bytes]] = (),  # type: ignore[assignment]
) -> Path:
    with tarfile.open(source) as old, tarfile.open(target, "w:gz") as new:
        for info, data in extra:
            new.addfile(info, io.BytesIO(data))
        for info in old:
            data = change(info.name, old.extractfile(info).read())  # type: ignore[union-attr]
            info.size = len(data)
            new.addfile(info, io.BytesIO(data))
    return target


def _refused(archive: Path) -> str:
    with translation.override("en"), pytest.raises(BackupError) as refused:
        restore_backup(archive=archive, replace=True)
    return str(refused.value)


@pytest.fixture
def untouched(settings: Any, tmp_path: Path) -> Iterator[Path]:
    """The configured files folder, which a refused restore must leave as it was."""
    settings.MEDIA_ROOT = tmp_path / "files"
    settings.MEDIA_ROOT.mkdir()
    (settings.MEDIA_ROOT / "keep.txt").write_text("keep")
    yield settings.MEDIA_ROOT
    assert not [p.name for p in tmp_path.iterdir() if p.name.startswith(".files.")]
    assert [p.name for p in settings.MEDIA_ROOT.iterdir()] == ["keep.txt"]
    assert not list(settings.DATA_DIR.glob(".restore-*"))


def test_restore_refuses_a_member_that_does_not_match_its_checksum(
    good_archive: Path, tmp_path: Path, untouched: Path
) -> None:
    def tamper(name: str, data: bytes) -> bytes:
        return data.replace("さくら".encode(), "ひまわり".encode())

    message = _refused(_rewrite(good_archive, tmp_path / "tampered.tar.gz", tamper))
    assert "files/resources/a.csv does not match its checksum" in message


def test_restore_refuses_path_traversal_and_absolute_members(
    good_archive: Path, tmp_path: Path, untouched: Path
) -> None:
    for name, words in (("files/../../evil.txt", "leading outside"), ("/etc/evil", "absolute")):
        info = tarfile.TarInfo(name)
        info.size = 4
        archive = _rewrite(good_archive, tmp_path / "evil.tar.gz", extra=[(info, b"evil")])
        assert words in _refused(archive)
        assert not (tmp_path.parent / "evil.txt").exists()
    link = tarfile.TarInfo("files/link")
    link.type, link.linkname = tarfile.SYMTYPE, "/etc/passwd"
    archive = _rewrite(good_archive, tmp_path / "link.tar.gz", extra=[(link, b"")])
    assert "link or special file" in _refused(archive)


def test_restore_refuses_a_backup_from_a_newer_machi(
    good_archive: Path, tmp_path: Path, untouched: Path
) -> None:
    def newer(name: str, data: bytes) -> bytes:
        if name != "manifest.json":
            return data
        manifest = json.loads(data)
        manifest["migrations"]["catalog"].append("9999_from_the_future")
        manifest["machi_version"] = "99.0"
        return json.dumps(manifest).encode()

    message = _refused(_rewrite(good_archive, tmp_path / "newer.tar.gz", newer))
    assert "newer machi (99.0)" in message and "catalog.9999_from_the_future" in message


def test_restore_refuses_broken_and_foreign_archives(tmp_path: Path, untouched: Path) -> None:
    truncated = tmp_path / "truncated.tar.gz"
    with tarfile.open(truncated, "w:gz") as tar:
        info = tarfile.TarInfo("files/big.bin")
        data = os.urandom(200_000)
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    truncated.write_bytes(truncated.read_bytes()[:50_000])
    assert "damaged" in _refused(truncated)

    not_gzip = tmp_path / "notes.tar.gz"
    not_gzip.write_text("not an archive")
    assert "damaged or is not a machi backup" in _refused(not_gzip)

    no_manifest = tmp_path / "plain.tar.gz"
    with tarfile.open(no_manifest, "w:gz") as tar:
        tar.addfile(tarfile.TarInfo("files/empty.txt"), io.BytesIO(b""))
    assert "no manifest.json" in _refused(no_manifest)

    assert "no such file" in _refused(tmp_path / "missing.tar.gz")


def test_postgresql_tools_missing_says_to_install_them(
    settings: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # no PostgreSQL client tools
    with translation.override("en"), pytest.raises(BackupError) as refused:
        pg_run("pg_dump", settings.DATABASES["default"], ["--format=custom"])
    assert "pg_dump was not found" in str(refused.value)
    assert "apt-get install postgresql-client" in str(refused.value)
