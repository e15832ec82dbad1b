from django.contrib import admin

from machi.geo.models import Layer, Place


@admin.register(Layer)
class LayerAdmin(admin.ModelAdmin):
    list_display = ["title", "slug", "kind", "feature_count", "is_public", "color", "icon"]
    list_filter = ["kind", "is_public"]
    search_fields = ["title", "title_en", "slug"]
    fields = [
        "title",
        "title_en",
        "slug",
        "kind",
        "keywords",
        "color",
        "icon",
        "popup_fields",
        "legend",
        "roles",
        "dataset",
        "resource",
        "department",
        "is_public",
        "feature_count",
        "indexed_table",
    ]
    readonly_fields = ["kind", "dataset", "resource", "feature_count", "indexed_table"]


@admin.register(Place)
class PlaceAdmin(admin.ModelAdmin):
    list_display = ["name", "kind", "kana", "town", "chome", "lat", "lon"]
    list_filter = ["kind"]
    search_fields = ["name", "kana", "name_en"]
