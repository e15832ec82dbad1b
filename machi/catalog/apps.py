from typing import Any

from django.apps import AppConfig
from django.db import connections
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


def _ensure_search_index(sender: AppConfig, using: str = "default", **kwargs: Any) -> None:
    # A later migration that alters catalog_datasetsearch can drop the
    # engine's index pieces (SQLite rebuilds tables); put them back.
    from machi.catalog.search import ensure_index

    connection = connections[using]
    if "catalog_datasetsearch" in connection.introspection.table_names():
        ensure_index(connection)


class CatalogConfig(AppConfig):
    name = "machi.catalog"
    label = "catalog"
    verbose_name = _("Open data catalog")

    def ready(self) -> None:
        post_migrate.connect(_ensure_search_index, sender=self)
