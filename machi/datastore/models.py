import uuid

from django.db import models
from django.utils.translation import gettext_lazy as _

from machi.catalog.models import Resource, ResourceVersion
from machi.datastore.engine import Column


class Table(models.Model):
    """A resource version's rows, loaded into the datastore database.

    The row is written only after its table is complete, so whatever this model
    lists can be read; a resource answers from its newest loaded version.
    """

    uid = models.UUIDField(_("ID"), default=uuid.uuid4, unique=True, editable=False)
    resource = models.ForeignKey(
        Resource, on_delete=models.CASCADE, related_name="tables", verbose_name=_("resource")
    )
    version = models.OneToOneField(
        ResourceVersion,
        on_delete=models.CASCADE,
        related_name="table",
        verbose_name=_("resource version"),
    )
    name = models.CharField(_("table name"), max_length=63, unique=True)
    # Frictionless Table Schema of the rows, and the SQL column of each field.
    schema = models.JSONField(_("table schema"))
    columns = models.JSONField(_("columns"))
    # {"lat": column, "lon": column} when the rows have coordinates.
    geo = models.JSONField(_("coordinates"), null=True, blank=True)
    row_count = models.BigIntegerField(_("rows"), default=0)
    # False while the full-text index of a large publication is still being written.
    search_ready = models.BooleanField(_("full-text search ready"), default=True)
    loaded = models.DateTimeField(_("loaded"))

    class Meta:
        ordering = ["resource", "-version__number"]
        verbose_name = _("datastore table")
        verbose_name_plural = _("datastore tables")

    def __str__(self) -> str:
        return self.name

    @property
    def fields(self) -> list[dict]:
        return self.schema["fields"]

    @property
    def column_list(self) -> list[Column]:
        return [Column(**c) for c in self.columns]
