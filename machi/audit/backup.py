"""Backups: one archive with both databases, the uploaded files and a manifest.

The archive (`tar.gz`) holds `database/main.*` and `database/datastore.*` (SQLite files
copied through SQLite's backup API, or `pg_dump --format=custom` dumps), `files/...` (the
local storage's files) and `manifest.json` last: it lists every member with its size and
SHA-256, taken from the very bytes written. machi/audit/restore.py reads it back.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import io
import json
import os
import sqlite3
import tarfile
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from django.conf import settings
from django.core.files.storage import FileSystemStorage, default_storage
from django.db import connections
from django.db.migrations.recorder import MigrationRecorder
from django.utils import timezone
from django.utils.translation import gettext as _

FORMAT = 1
MANIFEST = "manifest.json"
CHUNK = 1024 * 1024


class BackupError(Exception):
    """A backup or restore that cannot be done; the message says why."""


@dataclass(frozen=True)
class Store:
    """Where one of machi's two databases lives, as configured."""

    role: str  # "main" or "datastore"
    alias: str  # Django's database alias
    vendor: str  # "sqlite" or "postgresql"
    in_main: bool  # the datastore schema of the main PostgreSQL database

    @property
    def settings_dict(self) -> dict[str, Any]:
        return settings.DATABASES[self.alias]

    @property
    def path(self) -> Path:
        return Path(self.settings_dict["NAME"])

    @property
    def member(self) -> str | None:
        if self.in_main:
            return None
        return f"database/{self.role}.{'sqlite3' if self.vendor == 'sqlite' else 'pgdump'}"


@dataclass(frozen=True)
class BackupResult:
    path: Path
    size: int
    counts: dict[str, int]
    files_included: bool
    storage: str


def stores() -> list[Store]:
    """The main database and the datastore as this machi is configured."""
    main, data = settings.DATABASES["default"], settings.DATABASES["datastore"]
    main_vendor, data_vendor = _vendor(main), _vendor(data)
    shared = main_vendor == data_vendor == "postgresql" and (
        main.get("HOST") or "",
        str(main.get("PORT") or ""),
        main["NAME"],
    ) == (data.get("HOST") or "", str(data.get("PORT") or ""), data["NAME"])
    return [
        Store("main", "default", main_vendor, False),
        Store("datastore", "datastore", data_vendor, shared),
    ]


def _vendor(settings_dict: dict[str, Any]) -> str:
    engine = settings_dict["ENGINE"]
    if engine.endswith("sqlite3"):
        return "sqlite"
    if "postgresql" in engine or "postgis" in engine:
        return "postgresql"
    raise BackupError(_("Unsupported database engine: %(engine)s") % {"engine": engine})


def local_files_root() -> Path | None:
    """The folder of the files when storage is local; None for S3 and other remote storage."""
    if isinstance(default_storage, FileSystemStorage):
        return Path(default_storage.location)
    return None


def storage_name() -> str:
    return f"{type(default_storage).__module__}.{type(default_storage).__name__}"


def machi_version() -> str:
    try:
        return importlib.metadata.version("machi")
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


def default_output() -> Path:
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M%S")
    return settings.DATA_DIR / "backups" / f"machi-backup-{stamp}.tar.gz"


def make_backup(*, output: Path | None = None) -> BackupResult:
    """Write one archive of both databases, the files and a manifest; atomically named."""
    path = default_output() if output is None else output
    if path.is_dir():
        path = path / default_output().name
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.partial-{os.getpid()}")
    files_root = local_files_root()
    members: dict[str, dict[str, Any]] = {}
    try:
        with tempfile.TemporaryDirectory(prefix=".machi-backup-", dir=path.parent) as staging:
            snapshots = [
                (store.member, _snapshot(store, Path(staging)))
                for store in stores()
                if store.member
            ]
            counts = _counts()  # after the snapshots: counted, at most, a little later
            with tarfile.open(partial, "w:gz", compresslevel=6) as tar:
                for member, source in snapshots:
                    members[member] = _add(tar, member, source)
                for member, source in _local_files(files_root):
                    try:
                        members[member] = _add(tar, member, source)
                    except FileNotFoundError:
                        continue  # deleted while we were writing: not part of the backup
                counts["files"] = sum(name.startswith("files/") for name in members)
                manifest = _manifest(counts, members, files_root is not None)
                data = json.dumps(manifest, ensure_ascii=False, indent=2).encode()
                info = tarfile.TarInfo(MANIFEST)
                info.size, info.mtime, info.mode = len(data), int(timezone.now().timestamp()), 0o644
                tar.addfile(info, io.BytesIO(data))
        with partial.open("rb") as written:
            os.fsync(written.fileno())
        os.replace(partial, path)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    return BackupResult(
        path=path,
        size=path.stat().st_size,
        counts=counts,
        files_included=files_root is not None,
        storage=storage_name(),
    )


def _snapshot(store: Store, staging: Path) -> Path:
    target = staging / Path(store.member or "").name
    if store.vendor == "sqlite":
        if not store.path.is_file() and store.role == "datastore":
            sqlite3.connect(target).close()  # no table loaded yet: an empty datastore
            return target
        if not store.path.is_file():
            raise BackupError(
                _("The database %(path)s does not exist (run machi migrate first).")
                % {"path": store.path}
            )
        # The backup API copies a consistent snapshot while the site writes (WAL):
        # a copy of the file alone would miss what is still in the -wal file.
        source = sqlite3.connect(f"file:{store.path}?mode=ro", uri=True, timeout=30)
        copy = sqlite3.connect(target)
        try:
            with copy:
                source.backup(copy)
        finally:
            copy.close()
            source.close()
        return target
    args = ["--format=custom", "--file", str(target)]
    if store.role == "datastore":  # a database of its own: only machi's schema in it
        args += ["--schema", "datastore"]
    from machi.audit.postgres import pg_run  # it imports this module

    pg_run("pg_dump", store.settings_dict, args)
    return target


def _local_files(root: Path | None) -> Iterator[tuple[str, Path]]:
    if root is None or not root.is_dir():
        return
    for folder, dirs, names in os.walk(root):
        dirs.sort()
        for name in sorted(names):
            path = Path(folder, name)
            if path.is_file() and not path.is_symlink():
                yield "files/" + path.relative_to(root).as_posix(), path


class _Hashing:
    """A file read through, hashing what tarfile copies into the archive."""

    def __init__(self, stream: IO[bytes]) -> None:
        self.stream, self.sha256 = stream, hashlib.sha256()

    def read(self, size: int = -1) -> bytes:
        data = self.stream.read(size)
        self.sha256.update(data)
        return data


def _add(tar: tarfile.TarFile, member: str, source: Path) -> dict[str, Any]:
    with source.open("rb") as stream:
        stat = os.fstat(stream.fileno())
        info = tarfile.TarInfo(member)
        info.size, info.mtime, info.mode = stat.st_size, int(stat.st_mtime), 0o644
        hashing = _Hashing(stream)
        tar.addfile(info, hashing)  # type: ignore[arg-type]
    return {"size": info.size, "sha256": hashing.sha256.hexdigest()}


def _counts() -> dict[str, int]:
    from machi.catalog.models import Dataset, Resource
    from machi.datastore.models import Table

    return {
        "datasets": Dataset.objects.count(),
        "resources": Resource.objects.count(),
        "tables": Table.objects.count(),
    }


def applied_migrations() -> dict[str, list[str]]:
    applied: dict[str, list[str]] = {}
    for app, name in sorted(MigrationRecorder(connections["default"]).applied_migrations()):
        applied.setdefault(app, []).append(name)
    return applied


def _manifest(
    counts: dict[str, int], members: dict[str, dict[str, Any]], files_included: bool
) -> dict[str, Any]:
    return {
        "format": FORMAT,
        "machi_version": machi_version(),
        "created": timezone.localtime().isoformat(timespec="seconds"),
        "databases": {
            store.role: {"vendor": store.vendor, "member": store.member, "in_main": store.in_main}
            for store in stores()
        },
        "migrations": applied_migrations(),
        "counts": counts,
        "files": {"included": files_included, "storage": storage_name()},
        "members": members,
    }
