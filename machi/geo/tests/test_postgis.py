"""PostgreSQL with PostGIS: the GiST index narrows, the answers stay those of the btree path."""

import random

import pytest
import shapely
from django.db import connection
from django.test.utils import CaptureQueriesContext

from machi.geo import postgis, services
from machi.geo.geometry import haversine_m
from machi.geo.models import Layer, LayerKind, PointFeature

pytestmark = [
    pytest.mark.django_db(databases=["default", "datastore"]),
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="PostGIS is a PostgreSQL extension; SQLite uses its R*Tree (test_services.py)",
    ),
]
CENTRE = (35.7175, 139.7520)  # near the middle of the ward


@pytest.fixture(autouse=True)
def _with_postgis() -> None:
    postgis.forget()
    if not postgis.enabled():
        pytest.skip("PostGIS is not in use (not installed, or MACHI_GEO_POSTGIS=off): btree path")


def make_layer(slug: str, count: int, seed: int) -> Layer:
    """Points scattered over the ward, some sharing a spot (ties broken by id)."""
    rng = random.Random(seed)
    spots = [(35.70 + rng.random() * 0.04, 139.72 + rng.random() * 0.06) for _ in range(count)]
    spots += spots[:20]  # twenty duplicates: equal distances everywhere
    layer = Layer.objects.create(slug=slug, kind=LayerKind.POINT, title=slug)
    PointFeature.objects.bulk_create(
        PointFeature(layer=layer, row=i, name=f"{slug}-{i}", lat=y, lon=x, properties={"i": i})
        for i, (y, x) in enumerate(spots, 1)
    )
    services._set_extent(layer, spots)
    layer.save()
    return layer


def answers(layer: Layer) -> dict[str, list]:
    """Every query kind from a few places, as (id, distance) lists."""
    rng = random.Random(7)
    places = [CENTRE, (35.70, 139.72), (35.75, 139.79), (43.06, 141.35)]  # Sapporo: far away
    places += [(35.70 + rng.random() * 0.04, 139.72 + rng.random() * 0.06) for _ in range(6)]
    triangle = shapely.Polygon([(139.73, 35.70), (139.77, 35.71), (139.75, 35.735)])
    found: dict[str, list] = {}
    for lat, lon in places:
        for n in (1, 10, 50, 5000):
            found[f"nearest {lat},{lon} {n}"] = services.nearest(layer, lat, lon, n=n)
        found[f"nearest {lat},{lon} r"] = services.nearest(layer, lat, lon, n=30, radius_m=400)
        found[f"radius {lat},{lon}"] = services.within_radius(layer, lat, lon, 500)
    found["bbox"] = services.within_bbox(layer, (35.705, 139.73, 35.72, 139.76))
    found["polygon"] = services.within_polygon(layer, triangle)
    return {key: [(f["id"], f.get("distance_m")) for f in value] for key, value in found.items()}


def test_postgis_and_btree_paths_give_the_same_answers(settings) -> None:
    layer = make_layer("points", 3000, seed=1)
    make_layer("others", 500, seed=2)  # another layer's points must never show
    with CaptureQueriesContext(connection) as queries:
        with_postgis = answers(layer)
    sql = " ".join(q["sql"] for q in queries.captured_queries)
    assert "<->" in sql and "&&" in sql and "ST_MakeEnvelope" in sql

    settings.MACHI_GEO_POSTGIS = "off"
    assert not postgis.enabled()
    with CaptureQueriesContext(connection) as queries:
        plain = answers(layer)
    assert "ST_" not in " ".join(q["sql"] for q in queries.captured_queries)
    assert with_postgis == plain
    assert len(with_postgis["nearest 43.06,141.35 5000"]) == 3020  # the whole layer
    assert with_postgis["radius 35.7175,139.752"]  # not vacuous: something was found


def test_nearest_with_postgis_is_what_a_full_scan_says() -> None:
    layer = make_layer("points", 2000, seed=3)
    every = sorted(
        (haversine_m(*CENTRE, p.lat, p.lon), p.pk) for p in PointFeature.objects.filter(layer=layer)
    )
    found = services.nearest(layer, *CENTRE, n=25)
    assert [f["id"] for f in found] == [pk for _d, pk in every[:25]]
    assert [f["distance_m"] for f in found] == [round(d, 1) for d, _pk in every[:25]]
    inside = [pk for d, pk in every if d <= 300]
    assert [f["id"] for f in services.within_radius(layer, *CENTRE, 300)] == inside


def test_the_gist_index_serves_the_nearest_search() -> None:
    layer = make_layer("points", 5000, seed=4)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE geo_pointfeature")
        cursor.execute(
            f"EXPLAIN SELECT p.id FROM geo_pointfeature p WHERE p.layer_id = %s ORDER BY "
            f"{postgis.POINT} <-> ST_SetSRID(ST_MakePoint(%s, %s), 4326) LIMIT 10",
            [layer.pk, CENTRE[1], CENTRE[0]],
        )
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert postgis.INDEX in plan


def test_the_migration_step_is_safe_to_repeat_on_an_existing_extension() -> None:
    # The extension is there already (made by the first run, as if by someone else).
    with connection.schema_editor() as editor:
        postgis.install(editor)
        postgis.uninstall(editor)
        assert not postgis.enabled()  # no index: the btree path
        postgis.install(editor)
    assert postgis.enabled()
