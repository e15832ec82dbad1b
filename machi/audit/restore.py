"""Restoring a backup (machi/audit/backup.py): check everything, then swap it in.

The archive is extracted to temporary names beside the targets and checked whole
(member names, checksums, the manifest, migrations, database vendors) before anything
is replaced. SQLite files and the files folder are then swapped in with renames;
PostgreSQL is restored in one transaction (pg_restore's SQL through psql), so a failure
leaves the previous database as it was.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import secrets
import shutil
import sqlite3
import tarfile
import zlib
from collections.abc import Callable
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from django.conf import settings
from django.db import DatabaseError, connections
from django.db.migrations.loader import MigrationLoader
from django.utils.translation import gettext as _

from machi.audit import postgres
from machi.audit.backup import (
    CHUNK,
    FORMAT,
    MANIFEST,
    BackupError,
    Store,
    local_files_root,
    stores,
)

MANIFEST_MAX_BYTES = 64 * 1024 * 1024


class NotEmpty(BackupError):
    """The configured databases or files already hold data."""


@dataclass
class Current:
    """What the configured databases and files hold now."""

    datasets: int = 0
    accounts: int = 0
    tables: int = 0
    files: int = 0
    datastore_relations: int = 0  # tables and views, whatever the main database says

    @property
    def holds_data(self) -> bool:
        return any(
            (self.datasets, self.accounts, self.tables, self.files, self.datastore_relations)
        )

    def describe(self) -> str:
        return _(
            "%(datasets)s datasets, %(accounts)s accounts, %(tables)s datastore tables "
            "and %(files)s files"
        ) % {
            "datasets": self.datasets,
            "accounts": self.accounts,
            "tables": self.tables,
            "files": self.files,
        }


@dataclass
class RestoreResult:
    manifest: dict[str, Any]
    replaced: Current
    needs_migrate: bool
    files_restored: bool


@dataclass
class _Staged:
    """An archive extracted to temporary names, not yet swapped in."""

    token: str
    members: dict[str, Path] = field(default_factory=dict)  # database member -> staged file
    hashes: dict[str, tuple[int, str]] = field(default_factory=dict)
    files_dir: Path | None = None
    manifest: dict[str, Any] | None = None
    leftovers: list[Path] = field(default_factory=list)

    def clean(self) -> None:
        for path in self.leftovers:
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path, ignore_errors=True)
            else:
                path.unlink(missing_ok=True)


def restore_backup(
    *, archive: Path, replace: bool, say: Callable[[str], None] = lambda message: None
) -> RestoreResult:
    """Check an archive whole, then replace the databases and files with its contents."""
    staged = _Staged(token=secrets.token_hex(4))
    try:
        _extract(archive, staged)
        manifest = _check(staged)
        needs_migrate = _check_migrations(manifest)
        layout = _check_layout(manifest)
        current = current_data()
        if current.holds_data and not replace:
            raise NotEmpty(
                _(
                    "The configured site already holds data (%(current)s). Restoring replaces "
                    "all of it; run again with --yes to do so."
                )
                % {"current": current.describe()}
            )
        if current.holds_data:
            say(_("Replacing the current data: %(current)s.") % {"current": current.describe()})
        files_restored = manifest["files"]["included"] and local_files_root() is not None
        _commit(staged, layout, files_restored)
    finally:
        staged.clean()
    return RestoreResult(manifest, current, needs_migrate, files_restored)


# --- Reading and checking --------------------------------------------------------------


def _extract(archive: Path, staged: _Staged) -> None:
    if not archive.is_file():
        raise BackupError(_("%(path)s: no such file.") % {"path": archive})
    staging = settings.DATA_DIR / f".restore-{staged.token}"
    files_root = local_files_root() or staging / "files-unused"
    files_dir = files_root.parent / f".{files_root.name}.restoring-{staged.token}"
    staged.leftovers += [staging, files_dir]
    staging.mkdir(parents=True)
    seen: set[str] = set()
    try:
        with tarfile.open(archive, "r:gz") as tar:
            for info in tar:
                name = _member_name(info)
                if name in seen:
                    raise BackupError(
                        _("The archive is damaged: %(member)s appears twice.") % {"member": name}
                    )
                seen.add(name)
                if info.isdir():
                    continue
                stream = tar.extractfile(info)
                assert stream is not None  # a regular file (_member_name)
                if name == MANIFEST:
                    staged.manifest = _read_manifest(stream.read(MANIFEST_MAX_BYTES + 1))
                    continue
                if name.startswith("files/"):
                    target = files_dir / name.removeprefix("files/")
                else:
                    target = staging / PurePosixPath(name).name
                    staged.members[name] = target
                target.parent.mkdir(parents=True, exist_ok=True)
                staged.hashes[name] = _copy(stream, target)
    except (tarfile.TarError, gzip.BadGzipFile, EOFError, zlib.error) as error:
        raise BackupError(
            _("The archive is damaged or is not a machi backup (.tar.gz): %(error)s")
            % {"error": error}
        ) from None
    staged.files_dir = files_dir


_DATABASE_MEMBERS = {
    f"database/{role}.{kind}" for role in ("main", "datastore") for kind in ("sqlite3", "pgdump")
}


def _member_name(info: tarfile.TarInfo) -> str:
    """The member's name, when it is one a machi backup may hold (no traversal, no links)."""
    name = info.name
    path = PurePosixPath(name)
    if name.startswith(("/", "\\")) or path.is_absolute():
        raise BackupError(
            _("Refused: the archive holds a member with an absolute path (%(member)s).")
            % {"member": name}
        )
    if ".." in path.parts or "\\" in name:
        raise BackupError(
            _("Refused: the archive holds a member leading outside its folder (%(member)s).")
            % {"member": name}
        )
    if not (info.isfile() or info.isdir()):
        raise BackupError(
            _("Refused: the archive holds a link or special file (%(member)s).") % {"member": name}
        )
    normal = path.as_posix()
    allowed = (
        normal == MANIFEST
        or normal in _DATABASE_MEMBERS
        or normal.startswith("files/")
        or (info.isdir() and normal in {"database", "files"})
    )
    if not allowed:
        raise BackupError(
            _("Refused: %(member)s is not part of a machi backup.") % {"member": name}
        )
    return normal


def _copy(stream: Any, target: Path) -> tuple[int, str]:
    digest, size = hashlib.sha256(), 0
    with target.open("xb") as out:
        while chunk := stream.read(CHUNK):
            digest.update(chunk)
            size += len(chunk)
            out.write(chunk)
        out.flush()
        os.fsync(out.fileno())
    return size, digest.hexdigest()


def _read_manifest(data: bytes) -> dict[str, Any]:
    try:
        if len(data) > MANIFEST_MAX_BYTES:
            raise ValueError("too large")
        manifest = json.loads(data)
        if not isinstance(manifest, dict):
            raise ValueError("not an object")
    except ValueError as error:
        raise BackupError(
            _("The archive's manifest cannot be read: %(error)s") % {"error": error}
        ) from None
    return manifest


def _check(staged: _Staged) -> dict[str, Any]:
    manifest = staged.manifest
    if manifest is None:
        raise BackupError(_("The archive has no manifest.json: it is not a machi backup."))
    if manifest.get("format") != FORMAT:
        raise BackupError(
            _("The archive's format %(format)s is not one this machi reads (%(expected)s).")
            % {"format": manifest.get("format"), "expected": FORMAT}
        )
    try:
        listed = {
            name: (int(item["size"]), str(item["sha256"]))
            for name, item in manifest["members"].items()
        }
        manifest["databases"]["main"]["vendor"]
        manifest["databases"]["datastore"]["vendor"]
        manifest["files"]["included"]
        dict(manifest["migrations"])
    except (KeyError, TypeError, ValueError, AttributeError):
        raise BackupError(_("The archive's manifest is incomplete.")) from None
    if missing := sorted(listed.keys() - staged.hashes.keys()):
        raise BackupError(
            _("The archive is incomplete: %(member)s is missing.") % {"member": missing[0]}
        )
    if unlisted := sorted(staged.hashes.keys() - listed.keys()):
        raise BackupError(
            _("The archive holds %(member)s, which its manifest does not list.")
            % {"member": unlisted[0]}
        )
    for name, expected in sorted(listed.items()):
        if staged.hashes[name] != expected:
            raise BackupError(
                _("The archive is damaged: %(member)s does not match its checksum.")
                % {"member": name}
            )
    return manifest


def _check_migrations(manifest: dict[str, Any]) -> bool:
    """Refuse a backup from a newer machi; whether migrate must run after restoring."""
    known = set(MigrationLoader(None, ignore_no_migrations=True).disk_migrations)
    applied = {(app, name) for app, names in manifest["migrations"].items() for name in names}
    newer = sorted(applied - known)
    if newer:
        raise BackupError(
            _(
                "This backup was made by a newer machi (%(version)s): migrations %(migrations)s "
                "are unknown here. Upgrade machi first, then restore."
            )
            % {
                "version": manifest.get("machi_version", "?"),
                "migrations": ", ".join(f"{app}.{name}" for app, name in newer[:5]),
            }
        )
    return bool(known - applied)


def _check_layout(manifest: dict[str, Any]) -> list[Store]:
    """The configured databases, when the archive's are of the same kinds and places."""
    layout = stores()
    for store in layout:
        saved = manifest["databases"][store.role]
        if saved["vendor"] != store.vendor or bool(saved.get("in_main")) != store.in_main:
            raise BackupError(
                _(
                    "This backup's %(role)s database is %(saved)s, but this machi is "
                    "configured for %(configured)s: set DATABASE_URL and DATASTORE_URL as they "
                    "were when the backup was made."
                )
                % {
                    "role": store.role,
                    "saved": saved["vendor"] + (" (main)" if saved.get("in_main") else ""),
                    "configured": store.vendor + (" (main)" if store.in_main else ""),
                }
            )
        if store.member and saved.get("member") != store.member:
            raise BackupError(_("The archive's manifest is incomplete."))
    return layout


# --- What is there now ------------------------------------------------------------------


def current_data() -> Current:
    """Counts of what the configured databases and folder hold (zero where nothing is)."""
    current = Current()
    for store in stores():
        if store.role == "main":
            current.datasets = _count(store, "SELECT count(*) FROM catalog_dataset")
            current.accounts = _count(store, "SELECT count(*) FROM auth_user")
            current.tables = _count(store, "SELECT count(*) FROM datastore_table")
        elif store.vendor == "sqlite":
            current.datastore_relations = _count(
                store, "SELECT count(*) FROM sqlite_master WHERE type IN ('table', 'view')"
            )
        else:
            current.datastore_relations = _count(
                store,
                "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'datastore'",
            )
    root = local_files_root()
    if root is not None and root.is_dir():
        current.files = sum(len(names) for _folder, _dirs, names in os.walk(root))
    return current


def _count(store: Store, sql: str) -> int:
    if store.vendor == "sqlite":
        if not store.path.is_file():
            return 0
        try:
            with _sqlite(store.path, readonly=True) as db:
                return int(db.execute(sql).fetchone()[0])
        except sqlite3.Error:
            return 0  # no such table yet: nothing migrated
    try:
        with connections[store.alias].cursor() as cursor:
            cursor.execute(sql)
            return int(cursor.fetchone()[0])
    except DatabaseError:
        connections[store.alias].close()
        return 0


def _sqlite(path: Path, readonly: bool = False) -> closing[sqlite3.Connection]:
    uri = f"file:{path}?mode=ro" if readonly else f"file:{path}"
    return closing(sqlite3.connect(uri, uri=True, timeout=30))


# --- Swapping in ------------------------------------------------------------------------


def _commit(staged: _Staged, layout: list[Store], files: bool) -> None:
    connections.close_all()
    beside: list[tuple[Path, Path]] = []
    for store in layout:
        if store.member and store.vendor == "sqlite":
            temp = store.path.with_name(f".{store.path.name}.restoring-{staged.token}")
            staged.leftovers.append(temp)
            store.path.parent.mkdir(parents=True, exist_ok=True)
            _move(staged.members[store.member], temp)
            beside.append((temp, store.path))
    # PostgreSQL first: it is the step that may still fail, and fails whole.
    for store in layout:
        if store.member and store.vendor == "postgresql":
            postgres.restore(store, staged.members[store.member])
    for temp, target in beside:
        _swap_sqlite(temp, target)
    if files and staged.files_dir is not None:
        _swap_folder(staged.files_dir, local_files_root(), staged)
    connections.close_all()
    if any(store.vendor == "postgresql" for store in layout):
        from machi.datastore import engine

        engine.ensure_schema()  # the SQL endpoint's role: grants are not in the dump


def _move(source: Path, target: Path) -> None:
    try:
        os.replace(source, target)
    except OSError:  # another file system
        shutil.copyfile(source, target)


def _swap_sqlite(temp: Path, target: Path) -> None:
    if target.exists():
        # Empty the old file's write-ahead log into it first: a -wal file left beside
        # the new database would be replayed into it.
        with _sqlite(target) as db:
            db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    for suffix in ("-wal", "-shm", "-journal"):
        Path(f"{target}{suffix}").unlink(missing_ok=True)
    os.replace(temp, target)


def _swap_folder(new: Path, target: Path | None, staged: _Staged) -> None:
    assert target is not None
    new.mkdir(parents=True, exist_ok=True)  # a backup without files
    old = target.parent / f".{target.name}.replaced-{staged.token}"
    staged.leftovers.append(old)
    if target.exists():
        os.replace(target, old)
    os.replace(new, target)
