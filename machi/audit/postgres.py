"""PostgreSQL through its client tools (pg_dump, pg_restore, psql) found on PATH."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

from django.db import connections
from django.utils.translation import gettext as _

from machi.audit.backup import BackupError, Store


def program(tool: str) -> str:
    """The client tool's path on PATH; a message saying to install it when it is missing."""
    found = shutil.which(tool)
    if found is None:
        raise BackupError(
            _(
                "%(tool)s was not found. Install the PostgreSQL client tools of the server's "
                "major version (Debian: apt-get install postgresql-client)."
            )
            % {"tool": tool}
        )
    return found


def pg_run(tool: str, settings_dict: dict[str, Any], args: list[str], **kwargs: Any) -> str:
    """Run a PostgreSQL client tool against a configured database; its output."""
    env = {**os.environ, **pg_environment(settings_dict)}
    done = subprocess.run(
        [program(tool), *args], env=env, capture_output=True, text=True, check=False, **kwargs
    )
    if done.returncode != 0:
        raise BackupError(
            _("%(tool)s failed: %(error)s") % {"tool": tool, "error": done.stderr.strip()[-2000:]}
        )
    return done.stdout


def pg_environment(settings_dict: dict[str, Any]) -> dict[str, str]:
    """libpq's variables for a configured database (no password on the command line)."""
    env = {"PGDATABASE": settings_dict["NAME"]}
    for key, variable in (("HOST", "PGHOST"), ("PORT", "PGPORT"), ("USER", "PGUSER")):
        if settings_dict.get(key):
            env[variable] = str(settings_dict[key])
    if settings_dict.get("PASSWORD"):
        env["PGPASSWORD"] = str(settings_dict["PASSWORD"])
    options = settings_dict.get("OPTIONS") or {}
    for key in ("sslmode", "sslrootcert", "sslcert", "sslkey"):
        if options.get(key):
            env[f"PG{key.upper()}"] = str(options[key])
    return env


def restore(store: Store, dump: Path) -> None:
    """pg_restore --clean --if-exists, run by psql in one transaction with ON_ERROR_STOP."""
    listing = pg_run("pg_restore", store.settings_dict, ["--list", str(dump)])
    keep = _dumped_relations(listing)
    schemas = {schema for schema, _name in keep} | {"public", "datastore"}
    # Tables made after the backup (newer versions, newer migrations) are not in the dump
    # and --clean would leave them: dropped in the same transaction.
    drops = [
        f'DROP {kind} IF EXISTS "{schema}"."{_quoted(name)}" CASCADE;'
        for kind, schema, name in _existing_relations(store, schemas)
        if (schema, name) not in keep
    ]
    prelude = dump.with_suffix(".sql")
    prelude.write_text("\n".join(drops) + "\n")
    restore_sql = [
        program("pg_restore"), "--clean", "--if-exists", "--no-owner", "--no-privileges",
        "--file", "-", str(dump),
    ]  # fmt: skip
    psql = [
        program("psql"), "--no-psqlrc", "--quiet", "--single-transaction",
        "-v", "ON_ERROR_STOP=1",
    ]  # fmt: skip
    env = {**os.environ, **pg_environment(store.settings_dict)}
    producer = subprocess.Popen(restore_sql, env=env, stdout=subprocess.PIPE)
    try:
        done = subprocess.run(
            [*psql, "--file", str(prelude), "--file", "-"],
            env=env,
            stdin=producer.stdout,
            capture_output=True,
            text=True,
            check=False,
        )
    finally:
        assert producer.stdout is not None
        producer.stdout.close()
        produced = producer.wait()
    if produced != 0 or done.returncode != 0:
        raise BackupError(
            _("Restoring PostgreSQL failed; the database is unchanged: %(error)s")
            % {"error": done.stderr.strip()[-2000:]}
        )


def _dumped_relations(listing: str) -> set[tuple[str, str]]:
    relations = set()
    for line in listing.splitlines():
        if line.startswith(";") or "; " not in line:
            continue
        words = line.split("; ", 1)[1].split(" ")[2:]  # after the catalog and object ids
        for kind in ("TABLE", "VIEW", "MATERIALIZED VIEW"):
            if words[: len(kind.split())] == kind.split() and len(words) > len(kind.split()) + 2:
                rest = words[len(kind.split()) :]
                relations.add((rest[0], " ".join(rest[1:-1])))
                break
    return relations


def _existing_relations(store: Store, schemas: set[str]) -> list[tuple[str, str, str]]:
    sql = (
        "SELECT CASE c.relkind WHEN 'v' THEN 'VIEW' WHEN 'm' THEN 'MATERIALIZED VIEW' "
        "ELSE 'TABLE' END, n.nspname, c.relname FROM pg_class c "
        "JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE c.relkind IN ('r', 'p', 'v', 'm') AND n.nspname = ANY(%s) "
        "AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.objid = c.oid AND d.deptype = 'e') "
        "ORDER BY 1 DESC, 2, 3"
    )
    with connections[store.alias].cursor() as cursor:
        cursor.execute(sql, [sorted(schemas)])
        rows = [(kind, schema, name) for kind, schema, name in cursor.fetchall()]
    connections[store.alias].close()
    return rows


def _quoted(name: str) -> str:
    return name.replace('"', '""')
