"""`machi demo` comes up with a useful map: the layers residents ask for, towns, boundary."""

import pytest
from django.core.management import call_command

from machi.geo import services
from machi.geo.models import Layer

pytestmark = pytest.mark.django_db(databases=["default", "datastore"])


def test_the_demo_has_map_layers_a_gazetteer_and_the_boundary(settings, tmp_path) -> None:  # type: ignore[no-untyped-def]
    settings.MEDIA_ROOT = tmp_path
    call_command("demo")
    layers = {layer.slug: layer for layer in services.point_layers()}
    for slug in (
        "aed",
        "public-toilets",
        "evacuation-shelters",
        "evacuation-space",
        "public-wireless-lan",
        "nursery-schools",
        "public-facilities",
    ):
        assert layers[slug].feature_count > 5, slug
    assert "トイレ" in layers["public-toilets"].keywords
    assert Layer.objects.get(slug="ward-boundary").feature_count == 1
    station = services.find_place("根津駅の近くのAEDは？")
    nearest = services.nearest(layers["aed"], station.lat, station.lon, n=3)
    assert nearest[0]["name"] == "根津地域活動センター"
    assert nearest[0]["distance_m"] < 200
    assert [f["name"] for f in services.within_town(layers["nursery-schools"], "春日")]
