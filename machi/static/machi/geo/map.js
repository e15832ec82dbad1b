/* machi map: layers, clustering, popups, search, near me, permalink and an on-screen list.
 * Everything it needs is on the page or under /api/v1/geo/; tiles are optional. */
(function () {
  "use strict";
  var config = JSON.parse(document.getElementById("geo-config").textContent);
  var T = config.text;
  var LARGE = 5000; // layers with more features load by the view's box
  var LISTED = 200;

  function fmt(text, values) {
    return text.replace(/%\((\w+)\)s/g, function (_m, key) { return values[key]; });
  }
  function esc(value) {
    return String(value == null ? "" : value).replace(/[&<>"']/g, function (c) {
      return { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c];
    });
  }
  function status(text) { document.getElementById("geo-status").textContent = text; }

  var layersBySlug = {};
  config.layers.forEach(function (layer) { layersBySlug[layer.slug] = layer; });

  // Leaflet's controls speak English: their labels come in the page's language.
  var map = L.map("geo-map", { zoomControl: false }).setView(config.center, config.zoom);
  L.control.zoom({ zoomInTitle: T.zoom_in, zoomOutTitle: T.zoom_out }).addTo(map);
  var mapElement = document.getElementById("geo-map");

  // Background tiles: optional. After a few failures say so; the rest of the map stands alone.
  var tileErrors = 0;
  var tiles = L.tileLayer(config.tiles.url, {
    attribution: config.tiles.attribution,
    maxZoom: config.tiles.max_zoom,
  });
  tiles.on("tileerror", function () {
    tileErrors += 1;
    if (tileErrors === 3) {
      mapElement.classList.add("no-tiles");
      var note = document.getElementById("geo-tiles-note");
      note.textContent = T.no_tiles;
      note.hidden = false;
    }
  });
  tiles.addTo(map);

  L.geoJSON(config.boundary, {
    interactive: false,
    style: { color: "#263238", weight: 3, fill: true, fillOpacity: 0.03, dashArray: "8 5" },
  }).addTo(map);

  // Town names (町) and stations as labels, drawn without tiles.
  var labels = L.layerGroup().addTo(map);
  config.places.forEach(function (place) {
    if (place.kind === "town" && place.chome) return;
    var station = place.kind === "station";
    L.marker([place.lat, place.lon], {
      interactive: false,
      keyboard: false,
      icon: L.divIcon({
        className: "geo-town-label" + (station ? " geo-station-label" : ""),
        html: esc(station ? "駅 " + place.name : place.name),
        iconSize: null,
      }),
    }).addTo(labels);
  });

  // --- Layers -------------------------------------------------------------------------------
  var groups = {};   // slug → Leaflet layer
  var features = {}; // slug → {id: {feature, marker}}
  var loading = {};  // slug → Promise

  // The glyph is decoration: the place's name (and its layer) is what a screen reader says
  // for the marker, which otherwise read "公, button" for every ward facility.
  // Room for the zoom buttons: a popup panned into view slid under them on a phone.
  var POPUP_OPTIONS = { autoPanPaddingTopLeft: L.point(56, 90), autoPanPadding: L.point(12, 12) };

  function markerIcon(layer, name) {
    return L.divIcon({
      className: "geo-marker",
      html: '<span aria-hidden="true" style="background:' + esc(layer.color) + '">' +
        esc(layer.icon || "●") + '</span><span class="visually-hidden">' +
        esc(name || layer.label) + " (" + esc(layer.label) + ")</span>",
      iconSize: [34, 26],
      iconAnchor: [17, 13],
      popupAnchor: [0, -12],
    });
  }

  function popupHtml(layer, props) {
    var rows = [];
    if (props.address) rows.push([T.address, esc(props.address)]);
    if (props.phone) {
      rows.push([T.phone, '<a href="tel:' + esc(String(props.phone).replace(/[^0-9+]/g, "")) + '">' +
        esc(props.phone) + "</a>"]);
    }
    if (props.hours) rows.push([T.hours, esc(props.hours)]);
    (layer.popup_fields || []).forEach(function (name) {
      var value = props[name];
      if (value === null || value === undefined || value === "") return;
      if (value === props.address || value === props.phone || value === props.name) return;
      if (/^https?:\/\//.test(String(value))) {
        rows.push([esc(name), '<a href="' + esc(value) + '" rel="noopener">' + esc(value) + "</a>"]);
      } else {
        rows.push([esc(name), esc(value)]);
      }
    });
    if (layer.dataset) {
      rows.push([T.dataset, '<a href="/dataset/' + encodeURIComponent(layer.dataset) + '/">' +
        esc(layer.label) + "</a>"]);
    }
    return '<div class="geo-popup"><h3>' + esc(props.name || layer.label) + "</h3><dl>" +
      rows.map(function (r) { return "<dt>" + r[0] + "</dt><dd>" + r[1] + "</dd>"; }).join("") +
      "</dl></div>";
  }

  function addPoints(layer, collection) {
    var group = groups[layer.slug];
    var known = features[layer.slug];
    var fresh = [];
    collection.features.forEach(function (feature) {
      if (known[feature.id]) return;
      var c = feature.geometry.coordinates;
      var marker = L.marker([c[1], c[0]], {
        icon: markerIcon(layer, feature.properties.name),
        title: feature.properties.name,
        alt: feature.properties.name,
        keyboard: true,
      });
      marker.bindPopup(popupHtml(layer, feature.properties), POPUP_OPTIONS);
      known[feature.id] = { feature: feature, marker: marker };
      fresh.push(marker);
    });
    group.addLayers(fresh);
  }

  function fetchJson(url) {
    return fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" })
      .then(function (response) {
        if (!response.ok) throw new Error(response.status);
        return response.json();
      });
  }

  function featuresUrl(layer) {
    var url = config.api + "layers/" + encodeURIComponent(layer.slug) + "/features";
    if (layer.kind === "point" && layer.feature_count > LARGE) {
      var b = map.getBounds().pad(0.2);
      url += "?limit=" + LARGE + "&bbox=" + [b.getWest(), b.getSouth(), b.getEast(), b.getNorth()]
        .map(function (v) { return v.toFixed(5); }).join(",");
    }
    return url;
  }

  function load(layer) {
    if (loading[layer.slug] && !(layer.kind === "point" && layer.feature_count > LARGE)) {
      return loading[layer.slug];
    }
    status(fmt(T.loading, { layer: layer.label }));
    loading[layer.slug] = fetchJson(featuresUrl(layer)).then(function (collection) {
      if (layer.kind === "point") {
        addPoints(layer, collection);
      } else {
        groups[layer.slug].clearLayers();
        groups[layer.slug].addData(collection);
      }
      status(fmt(T.loaded, { layer: layer.label, count: collection.features.length }));
      refreshList();
    });
    return loading[layer.slug];
  }

  function ensureGroup(layer) {
    if (groups[layer.slug]) return groups[layer.slug];
    features[layer.slug] = {};
    if (layer.kind === "point") {
      groups[layer.slug] = L.markerClusterGroup({
        showCoverageOnHover: false,
        maxClusterRadius: 45,
        chunkedLoading: true,
        iconCreateFunction: function (cluster) {
          var count = cluster.getChildCount();
          var size = count < 10 ? "small" : count < 100 ? "medium" : "large";
          return L.divIcon({
            className: "marker-cluster marker-cluster-" + size,
            html: '<div><span aria-hidden="true">' + count + '</span><span class="visually-hidden">' +
              esc(fmt(T.cluster, { count: count, layer: layer.label })) + "</span></div>",
            iconSize: L.point(40, 40),
          });
        },
      });
    } else {
      groups[layer.slug] = L.geoJSON(null, {
        style: { color: layer.color, weight: 2, fillOpacity: 0.2 },
        onEachFeature: function (feature, shape) {
          shape.bindPopup(popupHtml(layer, feature.properties), POPUP_OPTIONS);
        },
      });
    }
    return groups[layer.slug];
  }

  function setLayer(slug, on) {
    var layer = layersBySlug[slug];
    if (!layer) return Promise.resolve();
    var box = document.querySelector('input[name="layer"][value="' + slug + '"]');
    if (box) box.checked = on;
    var group = ensureGroup(layer);
    if (on) {
      group.addTo(map);
      return load(layer).then(saveHash);
    }
    map.removeLayer(group);
    saveHash();
    refreshList();
    return Promise.resolve();
  }

  function activeSlugs() {
    return Object.keys(groups).filter(function (slug) { return map.hasLayer(groups[slug]); });
  }

  // Say that the layer list scrolls when it does (phones show no scrollbar).
  var layerList = document.querySelector(".geo-layers ul");
  function hintScrolling() {
    document.getElementById("geo-layers-hint").hidden =
      layerList.scrollHeight <= layerList.clientHeight + 1;
  }
  hintScrolling();
  window.addEventListener("resize", hintScrolling);

  document.querySelectorAll('input[name="layer"]').forEach(function (box) {
    box.addEventListener("change", function () { setLayer(box.value, box.checked); });
  });

  // --- Permalink: #map=zoom/lat/lon&layers=a,b ------------------------------------------------
  var restoring = false;
  function saveHash() {
    if (restoring) return;
    var c = map.getCenter();
    var hash = "#map=" + map.getZoom() + "/" + c.lat.toFixed(5) + "/" + c.lng.toFixed(5);
    var on = activeSlugs();
    if (on.length) hash += "&layers=" + on.join(",");
    history.replaceState(null, "", hash);
    document.getElementById("geo-permalink").href = location.href;
  }

  function readHash() {
    var params = {};
    location.hash.replace(/^#/, "").split("&").forEach(function (part) {
      var kv = part.split("=");
      if (kv[0]) params[kv[0]] = decodeURIComponent(kv[1] || "");
    });
    restoring = true;
    if (params.map) {
      var v = params.map.split("/").map(Number);
      if (v.length === 3 && v.every(isFinite)) map.setView([v[1], v[2]], v[0]);
    }
    var wanted = params.layers ? params.layers.split(",") : [];
    restoring = false;
    return Promise.all(wanted.map(function (slug) { return setLayer(slug, true); }));
  }

  // --- The list of what is on screen (the accessible alternative to the map) ----------------
  function refreshList() {
    var bounds = map.getBounds();
    var center = map.getCenter();
    var items = [];
    activeSlugs().forEach(function (slug) {
      var layer = layersBySlug[slug];
      if (layer.kind !== "point") return;
      Object.keys(features[slug]).forEach(function (id) {
        var entry = features[slug][id];
        var at = entry.marker.getLatLng();
        if (!bounds.contains(at)) return;
        items.push({ layer: layer, entry: entry, distance: center.distanceTo(at) });
      });
    });
    items.sort(function (a, b) { return a.distance - b.distance; });
    var list = document.getElementById("geo-list");
    list.innerHTML = "";
    items.slice(0, LISTED).forEach(function (item) {
      var props = item.entry.feature.properties;
      var li = document.createElement("li");
      var button = document.createElement("button");
      button.type = "button";
      button.innerHTML = "<strong>" + esc(props.name) + "</strong> <span class=\"meta\">" +
        esc(item.layer.label) + (props.address ? " ・ " + esc(props.address) : "") + "</span>";
      button.addEventListener("click", function () { focusMarker(item.layer.slug, item.entry); });
      li.appendChild(button);
      list.appendChild(li);
    });
    var count = document.getElementById("geo-list-count");
    if (!items.length) count.textContent = T.none;
    else if (items.length > LISTED) {
      count.textContent = fmt(T.on_screen, { count: items.length }) + " " +
        fmt(T.more, { count: LISTED });
    } else count.textContent = fmt(T.on_screen, { count: items.length });
  }

  function focusMarker(slug, entry) {
    groups[slug].zoomToShowLayer(entry.marker, function () { entry.marker.openPopup(); });
  }

  map.on("moveend", function () {
    saveHash();
    activeSlugs().forEach(function (slug) {
      var layer = layersBySlug[slug];
      if (layer.kind === "point" && layer.feature_count > LARGE) load(layer);
    });
    refreshList();
  });

  // --- Bringing the map into view -----------------------------------------------------------
  // On a phone the controls come first and the map is below the fold: after a pick, scroll
  // to it, or the view changes where nobody sees it.
  var reducedMotion = window.matchMedia && window.matchMedia("(prefers-reduced-motion: reduce)");
  function showMap() {
    var top = mapElement.getBoundingClientRect().top;
    // In sight: its top on screen, in the upper half (-1: scrolling lands on a fraction).
    if (top >= -1 && top <= window.innerHeight / 2) return;
    mapElement.scrollIntoView({
      block: "start",
      behavior: reducedMotion && reducedMotion.matches ? "auto" : "smooth",
    });
  }

  // --- Search: towns and stations from the gazetteer, facilities from the layers ------------
  var results = document.getElementById("geo-results");
  function picked() {
    // The chosen button goes with the list: keep keyboard focus on the map it moved.
    results.innerHTML = "";
    mapElement.focus({ preventScroll: true });
    showMap();
  }
  function resultButton(label, meta, onClick) {
    var li = document.createElement("li");
    var button = document.createElement("button");
    button.type = "button";
    button.innerHTML = "<strong>" + esc(label) + "</strong> <span class=\"meta\">" + esc(meta) +
      "</span>";
    button.addEventListener("click", onClick);
    li.appendChild(button);
    results.appendChild(li);
  }

  function showLayer(slug) {
    var layer = layersBySlug[slug];
    picked();
    setLayer(slug, true).then(function () {
      var b = layer && layer.bbox; // west, south, east, north
      if (b) map.fitBounds([[b[1], b[0]], [b[3], b[2]]], { padding: [20, 20], maxZoom: 17 });
    });
  }

  document.getElementById("geo-search").addEventListener("submit", function (event) {
    event.preventDefault();
    var q = document.getElementById("geo-q").value.trim();
    results.innerHTML = "";
    status("");
    if (!q) return;
    fetchJson(config.api + "search?q=" + encodeURIComponent(q)).then(function (found) {
      var layers = (found.layers || []).filter(function (hit) { return layersBySlug[hit.layer]; });
      layers.forEach(function (hit) {
        resultButton(fmt(T.layer_result, { layer: hit.layer_title, count: hit.feature_count }),
          T.show_on_map, function () { showLayer(hit.layer); });
      });
      found.places.forEach(function (place) {
        var kind = place.kind === "station" ? T.station : T.town;
        resultButton(place.kind === "station" ? place.name + "駅" : place.name, kind, function () {
          map.setView([place.lat, place.lon], 16);
          status(place.name);
          picked();
        });
      });
      found.features.forEach(function (hit) {
        var meta = hit.layer_title + (hit.address ? " ・ " + hit.address : "");
        if (hit.also && hit.also.length) {
          meta += " ・ " + fmt(T.also_in, { layers: hit.also.map(function (a) {
            return a.layer_title;
          }).join(config.lang === "ja" ? "、" : ", ") });
        }
        resultButton(hit.name, meta, function () {
          picked();
          setLayer(hit.layer, true).then(function () {
            var entry = features[hit.layer] && features[hit.layer][hit.id];
            if (entry) focusMarker(hit.layer, entry);
            else map.setView([hit.lat, hit.lon], 18);
          });
        });
      });
      // The status region is read aloud: a new search replaces what the last one said.
      var count = layers.length + found.places.length + found.features.length;
      if (!count) {
        status(fmt(T.no_results, { q: q }));
        return;
      }
      status(fmt(T.results, { count: count, q: q }));
      if (count === 1) results.querySelector("button").click();
    }).catch(function () { status(T.search_failed); });
  });

  // --- Near me --------------------------------------------------------------------------------
  var here = null;
  document.getElementById("geo-near-me").addEventListener("click", function () {
    if (!navigator.geolocation) {
      status(fmt(T.no_location, { reason: "geolocation" }));
      return;
    }
    status(T.locating);
    navigator.geolocation.getCurrentPosition(function (position) {
      var at = [position.coords.latitude, position.coords.longitude];
      if (here) map.removeLayer(here);
      here = L.circleMarker(at, { radius: 9, color: "#0d47a1", fillColor: "#42a5f5", fillOpacity: 1 })
        .bindTooltip(T.you_are_here).addTo(map);
      map.setView(at, 16);
      status(T.located);
      results.innerHTML = "";
      showMap();
    }, function (error) {
      status(fmt(T.no_location, { reason: error.message || error.code }));
    }, { enableHighAccuracy: true, timeout: 10000 });
  });

  window.addEventListener("hashchange", function () {
    if (!restoring) readHash();
  });
  readHash().then(function () {
    saveHash();
    refreshList();
  });
  // A popup opened from the keyboard takes the focus (its links were dozens of markers
  // away in the tab order); Escape, or its close button, gives it back to the marker.
  var opener = null;
  map.on("popupopen", function (event) {
    var source = event.popup._source;
    var element = source && source.getElement && source.getElement();
    opener = element && (element === document.activeElement || element.contains(document.activeElement)) ? element : opener;
    var close = event.popup.getElement().querySelector(".leaflet-popup-close-button");
    if (close) close.setAttribute("aria-label", T.close_popup);
    var content = event.popup.getElement().querySelector(".geo-popup h3");
    if (content && (opener || document.activeElement === document.getElementById("geo-map") ||
        (document.activeElement && document.activeElement.closest("#geo-list, #geo-results")))) {
      content.setAttribute("tabindex", "-1");
      content.focus({ preventScroll: true });
    }
  });
  map.on("popupclose", function () {
    if (opener && document.body.contains(opener)) opener.focus({ preventScroll: true });
    opener = null;
  });
  document.getElementById("geo-map").addEventListener("keydown", function (event) {
    if (event.key === "Escape") map.closePopup();
  });

  // The language switch keeps the view and the layers: they are in the hash, which the
  // form's `next` (the path the server saw) cannot carry.
  var switcher = document.querySelector(".lang-switch");
  if (switcher) {
    switcher.addEventListener("submit", function () {
      var next = switcher.querySelector("input[name=next]");
      if (next) next.value = next.value.split("#")[0] + window.location.hash;
    });
  }
  window.machiMap = { map: map, setLayer: setLayer, features: features };
})();
