"""The engine's full-text index over catalog_datasetsearch (machi.lib.search)."""

from django.db import migrations

from machi.catalog.search import FIELDS
from machi.lib.search import backend_for


def setup(apps, schema_editor):  # type: ignore[no-untyped-def]
    backend = backend_for(schema_editor.connection.vendor, FIELDS)
    with schema_editor.connection.cursor() as cursor:
        for sql in backend.setup_sql() + backend.rebuild_sql():
            cursor.execute(sql)


def teardown(apps, schema_editor):  # type: ignore[no-untyped-def]
    backend = backend_for(schema_editor.connection.vendor, FIELDS)
    with schema_editor.connection.cursor() as cursor:
        for sql in backend.teardown_sql():
            cursor.execute(sql)


class Migration(migrations.Migration):
    dependencies = [("catalog", "0001_initial")]

    operations = [migrations.RunPython(setup, teardown)]
