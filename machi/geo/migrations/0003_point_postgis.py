"""PostgreSQL with PostGIS: a GiST index over the points (machi/geo/postgis.py says when).

Does nothing on SQLite, on PostgreSQL without PostGIS, or with MACHI_GEO_POSTGIS=off;
PostGIS installed later: `manage.py migrate geo 0002 && manage.py migrate geo`.
"""

from django.db import migrations

from machi.geo import postgis


def forwards(apps, schema_editor):
    postgis.install(schema_editor)


def backwards(apps, schema_editor):
    postgis.uninstall(schema_editor)


class Migration(migrations.Migration):
    dependencies = [("geo", "0002_point_rtree")]
    operations = [migrations.RunPython(forwards, backwards)]
