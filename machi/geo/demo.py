"""The demo's map: the team's Bunkyo gazetteer, the ward boundary, and a layer per table."""

import json
from pathlib import Path

from machi.geo import gazetteer, services
from machi.geo.areas import AreaInput, store_area_layer
from machi.geo.geometry import checked_area
from machi.geo.models import Layer

WARD_FILE = Path(__file__).parent / "data" / "bunkyo-ward-simplified.geojson"
WARD_SLUG = "ward-boundary"


def ward_boundary() -> dict:
    """The simplified ward boundary the team drew (GeoJSON FeatureCollection)."""
    return json.loads(WARD_FILE.read_text(encoding="utf-8"))


def load_demo() -> dict[str, int]:
    """Gazetteer, boundary area layer, and point layers of every table with coordinates."""
    places = gazetteer.load_team_gazetteer()
    if not Layer.objects.filter(slug=WARD_SLUG).exists():
        from shapely.geometry import shape

        feature = ward_boundary()["features"][0]
        store_area_layer(
            title="文京区の区境（簡略）",
            title_en="Bunkyo City boundary (simplified)",
            slug=WARD_SLUG,
            areas=[
                AreaInput(
                    name=feature["properties"]["name"],
                    properties=feature["properties"],
                    geometry=checked_area(shape(feature["geometry"])),
                )
            ],
            color="#455a64",
            keywords=["区境", "文京区", "boundary"],
        )
    services.sync_point_layers()
    return {"places": places, "layers": Layer.objects.count()}
