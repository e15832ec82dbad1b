"""A resident on a phone: two layers, a town search, a marker's popup; tiles unreachable."""

import re

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeout
from playwright.sync_api import expect

from machi.conftest import RESULTS
from machi.geo.models import Layer
from machi.geo.tests.conftest import AED

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(
        transaction=True, serialized_rollback=True, databases=["default", "datastore"]
    ),
]
UNREACHABLE = "http://127.0.0.1:9/tiles/{z}/{x}/{y}.png"  # nothing listens on port 9


def test_map_with_layers_search_and_popup_without_tiles(
    live_server,  # type: ignore[no-untyped-def]
    settings,  # type: ignore[no-untyped-def]
    aed: Layer,  # before the browser: Playwright's loop forbids database calls after it
    nurseries: Layer,
    browser_page,  # type: ignore[no-untyped-def]
) -> None:
    settings.GEO_TILE_URL = UNREACHABLE
    page = browser_page
    elsewhere: list[str] = []
    page.on(
        "request",
        lambda request: (
            None
            if request.url.startswith((live_server.url, "http://127.0.0.1:9/", "data:"))
            else elsewhere.append(request.url)
        ),
    )
    page.goto(live_server.url + "/map/")

    # Without tiles: the boundary, the town labels and a note are there.
    assert page.locator(".leaflet-overlay-pane path").count() >= 1
    assert page.locator(".geo-town-label", has_text="春日").first.is_visible()
    page.locator("#geo-tiles-note").wait_for(state="visible")

    page.locator('input[name="layer"][value="aed"]').check()
    page.locator('input[name="layer"][value="nursery-schools"]').check()
    page.locator(".geo-marker, .marker-cluster").nth(3).wait_for()
    expect(page).to_have_url(re.compile(r"layers=(aed,nursery-schools|nursery-schools,aed)"))

    page.get_by_role("searchbox").fill("大塚")
    page.get_by_role("button", name="Search").or_(page.get_by_role("button", name="検索")).click()
    town = page.locator("#geo-results button", has_text="大塚").first
    town.wait_for()
    page.locator("#geo-results button").filter(has_text=re.compile("^大塚")).first.click()
    expect(page).to_have_url(re.compile(r"#map=16/35\.72"))

    # The list names what is on screen; a marker opens its popup.
    page.locator("#geo-list li", has_text="青柳保育園").wait_for()
    popup = page.locator(".leaflet-popup-content")
    # Clustering may redraw the markers just after the view settles, dropping a click on
    # the old element: click the marker again until its popup opens (three tries).
    for _attempt in range(3):
        page.locator('.geo-marker[title="青柳保育園"]').click()
        try:
            popup.wait_for(timeout=5_000)
            break
        except PlaywrightTimeout:
            continue
    popup.wait_for()
    assert popup.locator("h3").inner_text() == "青柳保育園"
    assert "東京都文京区大塚五丁目40番1号" in popup.inner_text()
    page.screenshot(path=str(RESULTS / "geo-map.png"), full_page=True)

    # From the keyboard: the marker is named by its place (not its glyph), its popup takes
    # the focus, and Escape gives it back.
    page.keyboard.press("Escape")
    popup.wait_for(state="detached")
    marker = page.get_by_role("button", name=re.compile(r"^青柳保育園 \("))
    marker.focus()
    page.keyboard.press("Enter")
    popup.wait_for()
    assert page.evaluate("document.activeElement.tagName") == "H3"
    page.keyboard.press("Escape")
    popup.wait_for(state="detached")
    assert marker.evaluate("node => node === document.activeElement")

    # The permalink brings back the view and the layers.
    link = page.locator("#geo-permalink").get_attribute("href")
    page.goto("about:blank")
    page.goto(link)
    page.locator(".geo-marker, .marker-cluster").first.wait_for()
    assert page.locator('input[name="layer"][value="aed"]').is_checked()
    assert page.locator('input[name="layer"][value="nursery-schools"]').is_checked()

    # Switching the language keeps them too (the switch's form lost the hash).
    page.locator(".lang-switch button").click()
    page.wait_for_load_state()
    expect(page).to_have_url(re.compile(r"#map=16/35\.72.*layers="))
    page.locator(".geo-marker, .marker-cluster").first.wait_for()
    assert page.locator('input[name="layer"][value="aed"]').is_checked()
    assert elsewhere == []


# The map's top is at the top of the screen (scrolling may land a fraction of a pixel off).
MAP_AT_TOP = """() => {
    return Math.abs(document.getElementById("geo-map").getBoundingClientRect().top) <= 1;
}"""


def test_on_a_phone_a_pick_closes_the_results_and_brings_the_map_into_view(
    live_server,  # type: ignore[no-untyped-def]
    settings,  # type: ignore[no-untyped-def]
    aed: Layer,  # before the browser: Playwright's loop forbids database calls after it
    nurseries: Layer,  # with the layers' list above it, the map starts below the fold
    browser_page,  # type: ignore[no-untyped-def]
) -> None:
    settings.GEO_TILE_URL = UNREACHABLE
    page = browser_page
    assert page.viewport_size == {"width": 390, "height": 844}
    page.goto(live_server.url + "/map/")
    map_element = page.locator("#geo-map")
    results = page.locator("#geo-results li")
    # Below the search box and the layers: the top of the map is low on the screen, if on it.
    top = map_element.bounding_box()["y"]  # type: ignore[index]
    assert top > 844 / 2

    page.get_by_role("searchbox").fill("根津")
    page.get_by_role("button", name="検索").click()
    station = page.locator("#geo-results button").filter(has_text=re.compile("^根津駅"))
    station.click()
    expect(page).to_have_url(re.compile(r"#map=16/35\.71"))
    expect(results).to_have_count(0)
    page.wait_for_function(MAP_AT_TOP)  # a smooth scroll: wait for it to arrive
    expect(map_element).to_be_focused()
    page.screenshot(path=str(RESULTS / "geo-map-picked.png"))

    # Near me, with reduced motion: the jump is immediate.
    page.emulate_media(reduced_motion="reduce")
    page.context.grant_permissions(["geolocation"], origin=live_server.url)
    page.context.set_geolocation({"latitude": 35.7080, "longitude": 139.7522})
    page.evaluate("window.scrollTo(0, 0)")
    page.get_by_role("searchbox").fill("根津")
    page.get_by_role("button", name="検索").click()
    station.wait_for()
    page.get_by_role("button", name="現在地の近く").click()
    page.locator("#geo-status", has_text="現在地の近くを表示しています").wait_for()
    expect(results).to_have_count(0)
    assert page.evaluate(MAP_AT_TOP)


@pytest.fixture
def many_layers(aed: Layer, nurseries: Layer, load_layer, kikaku) -> None:  # type: ignore[no-untyped-def]
    for n in range(10):
        load_layer(kikaku, f"extra-{n}", AED, title=f"その他のレイヤー{n}")
    load_layer(kikaku, "toilets", AED, title="公衆トイレ", standard="public-toilet")


def test_on_a_phone_the_layer_list_says_it_scrolls_and_search_status_is_current(
    live_server,  # type: ignore[no-untyped-def]
    settings,  # type: ignore[no-untyped-def]
    many_layers: None,  # before the browser: Playwright's loop forbids database calls after it
    browser_page,  # type: ignore[no-untyped-def]
) -> None:
    settings.GEO_TILE_URL = UNREACHABLE
    page = browser_page
    page.goto(live_server.url + "/map/")

    # 13 layers in a box for about seven: its count, a hint and the toilets first.
    layers = page.locator(".geo-layers")
    expect(layers.locator("legend")).to_contain_text(re.compile(r"[(（]13[)）]"))
    assert layers.locator("ul").evaluate("e => e.scrollHeight > e.clientHeight")
    expect(page.locator("#geo-layers-hint")).to_be_visible()
    expect(layers.locator("label").first).to_contain_text("公衆トイレ")
    page.screenshot(path=str(RESULTS / "geo-map-layers.png"))

    # A search that finds nothing, then one that finds: the status tells the second.
    status = page.locator("#geo-status")
    search = page.get_by_role("button", name="検索").or_(page.get_by_role("button", name="Search"))
    page.get_by_role("searchbox").fill("ああああ")
    search.click()
    expect(status).to_contain_text("ああああ")
    page.get_by_role("searchbox").fill("保育園")
    search.click()
    page.locator("#geo-results button").first.wait_for()
    expect(status).not_to_contain_text("ああああ")
    expect(status).to_contain_text("保育園")

    # The layer the words name is offered, and turns on.
    page.locator("#geo-results button").first.click()
    expect(page.locator('input[name="layer"][value="nursery-schools"]')).to_be_checked()


def test_at_320_px_in_english_nothing_scrolls_sideways(
    live_server,  # type: ignore[no-untyped-def]
    settings,  # type: ignore[no-untyped-def]
    aed: Layer,
    browser_page,  # type: ignore[no-untyped-def]
) -> None:
    """WCAG 1.4.10: the longer English "Search" pushed the controls 46 px past the screen."""
    settings.GEO_TILE_URL = UNREACHABLE
    page = browser_page
    page.set_viewport_size({"width": 320, "height": 640})
    page.context.add_cookies([{"name": "django_language", "value": "en", "url": live_server.url}])
    page.goto(live_server.url + "/map/")
    page.get_by_role("button", name="Search").wait_for()
    assert page.evaluate("document.documentElement.scrollWidth") <= 320
    box = page.get_by_role("button", name="Search").bounding_box()
    assert box is not None and box["x"] + box["width"] <= 320
