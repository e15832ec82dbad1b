"""PostGIS on PostgreSQL: a GiST index that narrows the point search, when it can be had.

Migration 0003 creates the extension (if the server has it and the user may) and a GiST
index on the points' expression below; the services use it only when both are there and
MACHI_GEO_POSTGIS is not "off". PostGIS only picks candidates: distances, tests and order
stay in Python, so answers are the same with and without it (and on SQLite).
"""

from __future__ import annotations

import functools
import logging

from django.conf import settings
from django.db import DatabaseError, connection, transaction
from django.db.backends.base.schema import BaseDatabaseSchemaEditor
from django.db.backends.utils import CursorWrapper

logger = logging.getLogger(__name__)

INDEX = "geo_point_gist"
# Queries must spell the point exactly like the index for the planner to use it.
POINT = "ST_SetSRID(ST_MakePoint(p.lon, p.lat), 4326)"
CREATE_INDEX = (
    f"CREATE INDEX IF NOT EXISTS {INDEX} ON geo_pointfeature "
    "USING gist ((ST_SetSRID(ST_MakePoint(lon, lat), 4326)))"
)
DROP_INDEX = f"DROP INDEX IF EXISTS {INDEX}"


def wanted() -> bool:
    return getattr(settings, "MACHI_GEO_POSTGIS", "auto") != "off"


def reachable(cursor: CursorWrapper) -> bool:
    """PostGIS is installed in this database and its functions resolve on the search path."""
    cursor.execute("SELECT to_regprocedure('st_makepoint(double precision,double precision)')")
    return cursor.fetchone()[0] is not None


def install(schema_editor: BaseDatabaseSchemaEditor) -> None:
    """Create the extension if the server has it and we may; then the index (migration 0003)."""
    if schema_editor.connection.vendor != "postgresql" or not wanted():
        return
    with schema_editor.connection.cursor() as cursor:
        if not reachable(cursor):
            cursor.execute("SELECT 1 FROM pg_available_extensions WHERE name = 'postgis'")
            if cursor.fetchone() is None:
                return
            try:
                with transaction.atomic(using=schema_editor.connection.alias):
                    cursor.execute("CREATE EXTENSION IF NOT EXISTS postgis")
            except DatabaseError as error:  # no permission, or a broken install: keep the btree
                logger.warning("PostGIS not enabled, the btree stays: %s", error)
                return
            if not reachable(cursor):  # created in a schema outside the search path
                return
        cursor.execute(CREATE_INDEX)
    forget()


def uninstall(schema_editor: BaseDatabaseSchemaEditor) -> None:
    """Drop the index only: the extension may serve others, so it stays."""
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP_INDEX)
        forget()


@functools.cache
def _present(alias: str, name: str) -> bool:
    with connection.cursor() as cursor:
        if not reachable(cursor):
            return False
        cursor.execute(
            "SELECT 1 FROM pg_indexes WHERE tablename = %s AND indexname = %s",
            ["geo_pointfeature", INDEX],
        )
        return cursor.fetchone() is not None


def enabled() -> bool:
    """Use PostGIS for this query? Looked up once per process and database."""
    if connection.vendor != "postgresql" or not wanted():
        return False
    return _present(connection.alias, connection.settings_dict["NAME"])


def forget() -> None:
    """Look again on the next query (after the index was made or dropped)."""
    _present.cache_clear()
