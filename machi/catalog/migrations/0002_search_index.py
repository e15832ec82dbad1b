"""The engine's full-text index over catalog_datasetsearch (machi.lib.search)."""

from django.db import migrations

from machi.catalog.search import ensure_index


def setup(apps, schema_editor):  # type: ignore[no-untyped-def]
    ensure_index(schema_editor.connection)


class Migration(migrations.Migration):
    dependencies = [("catalog", "0001_initial")]

    operations = [migrations.RunPython(setup, migrations.RunPython.noop)]
