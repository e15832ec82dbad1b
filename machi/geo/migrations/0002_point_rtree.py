"""SQLite: an R*Tree over the point features, kept by triggers (PostgreSQL uses the btree)."""

from django.db import migrations

SQLITE = [
    "CREATE VIRTUAL TABLE geo_point_rtree USING rtree(id, min_lat, max_lat, min_lon, max_lon)",
    "CREATE TRIGGER geo_point_rtree_ai AFTER INSERT ON geo_pointfeature BEGIN "
    "INSERT INTO geo_point_rtree VALUES (new.id, new.lat, new.lat, new.lon, new.lon); END",
    "CREATE TRIGGER geo_point_rtree_ad AFTER DELETE ON geo_pointfeature BEGIN "
    "DELETE FROM geo_point_rtree WHERE id = old.id; END",
    "CREATE TRIGGER geo_point_rtree_au AFTER UPDATE OF lat, lon ON geo_pointfeature BEGIN "
    "UPDATE geo_point_rtree SET min_lat = new.lat, max_lat = new.lat, "
    "min_lon = new.lon, max_lon = new.lon WHERE id = new.id; END",
]
SQLITE_REVERSE = [
    "DROP TRIGGER IF EXISTS geo_point_rtree_au",
    "DROP TRIGGER IF EXISTS geo_point_rtree_ad",
    "DROP TRIGGER IF EXISTS geo_point_rtree_ai",
    "DROP TABLE IF EXISTS geo_point_rtree",
]


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor == "sqlite":
        for statement in SQLITE:
            schema_editor.execute(statement)


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "sqlite":
        for statement in SQLITE_REVERSE:
            schema_editor.execute(statement)


class Migration(migrations.Migration):
    dependencies = [("geo", "0001_initial")]
    operations = [migrations.RunPython(forwards, backwards)]
