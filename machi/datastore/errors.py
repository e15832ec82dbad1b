"""Errors that tell the reader what was wrong and where, in their language."""

from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

# Frictionless type names as staff and developers read them.
TYPE_NAMES = {
    "string": pgettext_lazy("column type", "text"),
    "integer": _("whole number"),
    "number": _("number"),
    "boolean": _("true/false"),
    "date": _("date (YYYY-MM-DD)"),
    "time": _("time (HH:MM or HH:MM:SS)"),
    "datetime": _("date and time (YYYY-MM-DDTHH:MM:SS)"),
    "year": _("year"),
    "geopoint": _("coordinates (longitude, latitude)"),
}


class DatastoreError(Exception):
    """A request or a load the datastore refuses; `str()` is the reader's message."""

    status = 400

    def __init__(self, message: str, **where: object) -> None:
        super().__init__(message)
        self.message = message
        self.where = where

    def __str__(self) -> str:
        return str(self.message)


class TableNotFound(DatastoreError):
    status = 404


class LoadError(DatastoreError):
    """Rows that do not fit the table's schema; nothing was written."""


class QueryTimeout(DatastoreError):
    status = 400


class SearchNotReady(DatastoreError):
    """Full text asked of a table whose index is still being written (a large new load)."""

    status = 503
