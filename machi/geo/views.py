"""The map pages (/map/ public, /staff/map/ with private layers), area uploads, local tiles."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from machi.accounts.models import Department, Role
from machi.accounts.permissions import department_ids, is_site_admin
from machi.geo import areas, services
from machi.geo.api import layer_out
from machi.geo.demo import ward_boundary
from machi.geo.forms import AreaUploadForm
from machi.geo.geometry import GeoError
from machi.geo.models import Layer, LayerKind, Place
from machi.lib.http import content_security_policy
from machi.lib.i18n import english_requested

staff_only = login_required(login_url="admin:login")
GSI_TILES = "https://cyberjapandata.gsi.go.jp/xyz/std/{z}/{x}/{y}.png"
GSI_ATTRIBUTION = '<a href="https://maps.gsi.go.jp/development/ichiran.html">地理院タイル</a>'


def tile_settings() -> dict[str, Any]:
    """Where tiles come from: a local folder or MBTiles served here, else the tile URL."""
    local = getattr(settings, "GEO_TILES_DIR", "") or getattr(settings, "GEO_MBTILES", "")
    url = reverse("geo:tile", args=[0, 0, 0]).replace("/0/0/0.png", "/{z}/{x}/{y}.png")
    return {
        "url": url if local else getattr(settings, "GEO_TILE_URL", GSI_TILES),
        "attribution": getattr(settings, "GEO_TILE_ATTRIBUTION", GSI_ATTRIBUTION),
        "max_zoom": int(getattr(settings, "GEO_TILE_MAX_ZOOM", 18)),
    }


def _map_config(request: HttpRequest, user: Any, staff: bool) -> dict[str, Any]:
    layers = services.map_order(services.visible_layers(user))
    english = english_requested()
    return {
        "staff": staff,
        "lang": "en" if english else "ja",
        "api": "/api/v1/geo/",
        "tiles": tile_settings(),
        "boundary": ward_boundary(),
        "center": [35.7188, 139.7480],
        "zoom": 14,
        "layers": [
            {**layer_out(layer), "label": layer.display_title}
            for layer in layers
            if layer.feature_count
        ],
        "text": map_text(),
        "dataset_url": reverse("catalog:search"),
        "places": [
            {"name": p.name, "kind": p.kind, "lat": p.lat, "lon": p.lon, "chome": p.chome}
            for p in Place.objects.all()
        ],
    }


def map_text() -> dict[str, str]:
    """What the map's script says, in the page's language."""
    return {
        "no_tiles": _(
            "The background map cannot be loaded here. The ward boundary, towns and "
            "layers are still shown."
        ),
        "loading": _("Loading %(layer)s…"),
        "loaded": _("%(layer)s: %(count)s shown."),
        "on_screen": _("%(count)s places on the map (nearest to the centre first)."),
        "more": _("The first %(count)s are listed; zoom in to see the rest."),
        "none": _("Nothing on the map here. Turn on a layer or move the map."),
        "no_results": _("Nothing found for %(q)s."),
        "results": _("%(count)s results for %(q)s."),
        "layer_result": _("Layer: %(layer)s (%(count)s)"),
        "also_in": _("Also in: %(layers)s"),
        "locating": _("Finding where you are…"),
        "located": _("Showing what is near you."),
        "no_location": _("Your location is not available (%(reason)s)."),
        "near_you": _("Near you"),
        "you_are_here": _("You are here"),
        "address": _("Street address"),
        "phone": _("Phone"),
        "hours": _("Hours"),
        "dataset": _("Dataset"),
        "town": _("Town"),
        "station": _("Station"),
        "metres": _("%(m)s m"),
        "show_on_map": _("Show on the map"),
        "cluster": _("%(count)s places of %(layer)s here: zoom in to see them"),
        "zoom_in": _("Zoom in"),
        "zoom_out": _("Zoom out"),
        "close_popup": _("Close"),
        "search_failed": _("The search failed. Try again."),
    }


def _with_tile_origin(response: HttpResponse, tile_url: str) -> HttpResponse:
    """The site's policy, with the tile server's origin allowed for images."""
    parts = urlsplit(tile_url)
    if parts.scheme in {"http", "https"} and parts.netloc:
        origin = f"{parts.scheme}://{parts.netloc}"
        response.headers["Content-Security-Policy"] = content_security_policy(img_src=(origin,))
    return response


def _map_page(request: HttpRequest, user: Any, staff: bool) -> HttpResponse:
    config = _map_config(request, user, staff)
    response = render(request, "geo/map.html", {"config": config, "staff": staff})
    return _with_tile_origin(response, config["tiles"]["url"])


@require_safe
def public_map(request: HttpRequest) -> HttpResponse:
    return _map_page(request, None, False)


@staff_only
@require_safe
def staff_map(request: HttpRequest) -> HttpResponse:
    return _map_page(request, request.user, True)


def _editable_departments(user: Any) -> Any:
    departments = Department.objects.order_by("name")
    if is_site_admin(user):
        return departments
    return departments.filter(pk__in=department_ids(user, Role.EDITOR))


@staff_only
@require_http_methods(["GET", "HEAD", "POST"])
def area_layers(request: HttpRequest) -> HttpResponse:
    departments = _editable_departments(request.user)
    form = AreaUploadForm(request.POST or None, request.FILES or None, departments=departments)
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            layer = areas.upload_area_layer(
                actor=request.user,
                department=form.cleaned_data["department"],
                title=form.cleaned_data["title"],
                title_en=form.cleaned_data["title_en"],
                filename=upload.name,
                data=upload.read(),
                crs=form.cleaned_data["crs"],
                is_public=form.cleaned_data["is_public"],
                color=form.cleaned_data["color"],
            )
        except GeoError as error:
            form.add_error("file", str(error))
        else:
            messages.success(
                request,
                _("Added the area layer %(title)s with %(count)d areas.")
                % {"title": layer.title, "count": layer.feature_count},
            )
            return redirect("geo:areas")
    uploaded = Layer.objects.filter(kind=LayerKind.AREA, department__in=departments)
    return render(
        request,
        "geo/areas.html",
        {"form": form, "layers": uploaded.select_related("department").order_by("title")},
    )


@staff_only
@require_POST
def delete_area_layer(request: HttpRequest, pk: int) -> HttpResponse:
    layer = get_object_or_404(Layer, pk=pk, kind=LayerKind.AREA)
    areas.delete_area_layer(actor=request.user, layer=layer)  # PermissionDenied → 403
    messages.success(request, _("Deleted the area layer %(title)s.") % {"title": layer.title})
    return redirect("geo:areas")


@require_safe
def tile(request: HttpRequest, z: int, x: int, y: int) -> HttpResponse:
    """A tile from GEO_TILES_DIR (z/x/y.png) or GEO_MBTILES (TMS rows), for offline maps."""
    folder = getattr(settings, "GEO_TILES_DIR", "")
    mbtiles = getattr(settings, "GEO_MBTILES", "")
    if folder:
        base = Path(folder).resolve()
        for ext, kind in ((".png", "image/png"), (".jpg", "image/jpeg"), (".webp", "image/webp")):
            path = (base / str(z) / str(x) / f"{y}{ext}").resolve()
            if path.is_relative_to(base) and path.is_file():
                response = FileResponse(path.open("rb"), content_type=kind)
                response["Cache-Control"] = "public, max-age=86400"
                return response
        raise Http404
    if mbtiles:
        with sqlite3.connect(f"file:{mbtiles}?mode=ro", uri=True) as db:
            row = db.execute(
                "SELECT tile_data FROM tiles WHERE zoom_level = ? AND tile_column = ? "
                "AND tile_row = ?",
                (z, x, (1 << z) - 1 - y),
            ).fetchone()
        if row is None:
            raise Http404
        data = bytes(row[0])
        kind = "image/png" if data[:4] == b"\x89PNG" else "image/jpeg"
        if data[:4] == b"RIFF":
            kind = "image/webp"
        response = HttpResponse(data, content_type=kind)
        response["Cache-Control"] = "public, max-age=86400"
        return response
    raise Http404
