"""Map layers, their indexed features, and the ward's gazetteer.

Point layers index a datastore table's coordinates here, in the main database, next to
the layer that owns them: a layer's features, permissions and style are read in one
place, and the SQLite R*Tree (migration 0002) lives beside the rows it indexes.
"""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from machi.accounts.models import Department
from machi.catalog.models import Dataset, Resource
from machi.lib.i18n import Bilingual


class LayerKind(models.TextChoices):
    POINT = "point", _("points")
    AREA = "area", _("areas")


class Layer(Bilingual, models.Model):
    """A set of points (a datastore table with coordinates) or areas (an upload)."""

    slug = models.SlugField(_("URL name"), max_length=120, unique=True)
    kind = models.CharField(_("kind"), max_length=10, choices=LayerKind.choices)
    title = models.CharField(_("title"), max_length=300)
    title_en = models.CharField(_("title (English)"), max_length=300, blank=True)
    # Words that name what the layer holds, for search and the chatbot.
    keywords = models.JSONField(_("keywords"), default=list, blank=True)
    dataset = models.ForeignKey(
        Dataset,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="layers",
        verbose_name=_("dataset"),
    )
    resource = models.OneToOneField(
        Resource,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="layer",
        verbose_name=_("resource"),
    )
    # Area layers belong to the department that uploaded them.
    department = models.ForeignKey(
        Department,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="layers",
        verbose_name=_("department"),
    )
    is_public = models.BooleanField(_("public"), default=True)
    color = models.CharField(_("colour"), max_length=7, default="#1f6fb2")
    icon = models.CharField(_("icon"), max_length=4, blank=True)
    popup_fields = models.JSONField(_("popup fields"), default=list, blank=True)
    legend = models.CharField(_("legend"), max_length=300, blank=True)
    # Which columns hold the name, address, phone and opening hours: {"name": "名称", ...}.
    roles = models.JSONField(_("column roles"), default=dict, blank=True)
    # The datastore table the point index was built from; another one means a rebuild.
    indexed_table = models.CharField(_("indexed table"), max_length=100, blank=True)
    feature_count = models.PositiveIntegerField(_("features"), default=0)
    # Extent of the features (for the map and the nearest search's last ring).
    south = models.FloatField(null=True, blank=True)
    west = models.FloatField(null=True, blank=True)
    north = models.FloatField(null=True, blank=True)
    east = models.FloatField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created = models.DateTimeField(_("created"), auto_now_add=True)
    modified = models.DateTimeField(_("last updated"), auto_now=True)

    class Meta:
        ordering = ["kind", "title"]
        verbose_name = _("map layer")
        verbose_name_plural = _("map layers")

    def __str__(self) -> str:
        return self.title

    @property
    def display_title(self) -> str:
        """The title in the page's language (the English one when there is one)."""
        return self.localized("title")


class PointFeature(models.Model):
    layer = models.ForeignKey(Layer, on_delete=models.CASCADE, related_name="points")
    row = models.BigIntegerField()  # the datastore row's _id
    name = models.CharField(max_length=300, blank=True)
    address = models.CharField(max_length=300, blank=True)
    lat = models.FloatField()
    lon = models.FloatField()
    properties = models.JSONField(default=dict)

    class Meta:
        ordering = ["layer", "row"]
        indexes = [models.Index(fields=["layer", "lat", "lon"], name="geo_point_layer_lat_lon")]

    def __str__(self) -> str:
        return self.name


class AreaFeature(models.Model):
    layer = models.ForeignKey(Layer, on_delete=models.CASCADE, related_name="areas")
    number = models.PositiveIntegerField()  # order in the uploaded file, from 1
    name = models.CharField(max_length=300, blank=True)
    properties = models.JSONField(default=dict)
    geometry = models.JSONField()  # GeoJSON Polygon or MultiPolygon, WGS84
    south = models.FloatField()
    west = models.FloatField()
    north = models.FloatField()
    east = models.FloatField()

    class Meta:
        ordering = ["layer", "number"]
        indexes = [models.Index(fields=["layer", "south", "north"], name="geo_area_layer_box")]

    def __str__(self) -> str:
        return self.name


class PlaceKind(models.TextChoices):
    TOWN = "town", _("town")
    STATION = "station", _("station")


class Place(models.Model):
    """A gazetteer entry: a town (町 or 町丁目) or a station, with a representative point."""

    kind = models.CharField(_("kind"), max_length=10, choices=PlaceKind.choices)
    name = models.CharField(_("name"), max_length=100)
    kana = models.CharField(_("reading"), max_length=200, blank=True)
    name_en = models.CharField(_("name (English)"), max_length=200, blank=True)
    town = models.CharField(_("town"), max_length=100, blank=True)  # 町 of a 町丁目
    chome = models.PositiveSmallIntegerField(_("chome"), null=True, blank=True)
    lat = models.FloatField(_("latitude"))
    lon = models.FloatField(_("longitude"))
    note = models.CharField(_("note"), max_length=300, blank=True)

    class Meta:
        ordering = ["kind", "town", "chome", "name"]
        constraints = [
            models.UniqueConstraint(fields=["kind", "name"], name="geo_one_place_per_name")
        ]
        verbose_name = _("place")
        verbose_name_plural = _("places")

    def __str__(self) -> str:
        return self.name
