"""Datastore rows as files: CSV, JSON, NDJSON, GeoJSON and XLSX, never built in memory.

The text writers are generators of bytes chunks (about `CHUNK` bytes each)
fed by `rows()`, which reads the query's rows from a chunked cursor
(server-side on PostgreSQL), so memory stays flat whatever the size of the
table. XLSX is a zip archive: `write_xlsx` writes it with openpyxl's
write-only workbook into an anonymous temporary file, which the caller then
streams and closes (closing deletes it).

Values are those of the rows API (`queries.present`): JSON and GeoJSON
records compare equal to its records. Non-finite numbers become null.
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import datetime
import io
import json
import math
import re
import tempfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import replace
from functools import partial
from typing import IO, Any
from urllib.parse import quote as percent

from django.db import transaction
from django.utils.translation import gettext as _
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ERROR_CODES, ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Font

from machi.datastore import engine, queries
from machi.datastore.engine import Column
from machi.datastore.errors import DatastoreError
from machi.datastore.models import Table
from machi.lib import files

CHUNK = 64 * 1024
XLSX_MAX_ROWS = 1_048_576 - 1  # an Excel sheet's rows, less the header
# CSV encodings: UTF-8 with a byte order mark (so Excel reads it as UTF-8),
# plain UTF-8, and CP932 (Windows Shift_JIS) for old Excel and tools.
ENCODINGS = ("utf-8-sig", "utf-8", "cp932")
DEFAULT_ENCODING = "utf-8-sig"
GETA = "〓"  # stands for a character CP932 cannot encode

Row = Sequence[Any]


class TooManyRows(DatastoreError):
    """More rows than an Excel sheet holds."""


def too_many_rows(count: int | None) -> TooManyRows:
    if count is None:
        message = _(
            "An Excel sheet holds at most %(limit)s rows, and this export has more. "
            "Download CSV instead, or narrow the rows with filters."
        ) % {"limit": f"{XLSX_MAX_ROWS:,}"}
    else:
        message = _(
            "An Excel sheet holds at most %(limit)s rows; this export has %(count)s. "
            "Download CSV instead, or narrow the rows with filters."
        ) % {"limit": f"{XLSX_MAX_ROWS:,}", "count": f"{count:,}"}
    return TooManyRows(message, parameter="format")


# --- Reading -------------------------------------------------------------------------------


def rows(table: Table, query: queries.RowQuery) -> Iterator[tuple[Any, ...]]:
    """Every row the query selects, in order (`queries.stream`), for a response to iterate.

    On PostgreSQL the chunked cursor is a server-side cursor; inside a
    transaction it streams, where in autocommit it would be declared WITH
    HOLD and the whole result materialized before the first row. Closing the
    generator early (a client gone) rolls the read-only transaction back.
    SQLite reads without one: its transactions here take the write lock.
    """
    if engine.vendor() == "postgresql":
        with transaction.atomic(using=engine.ALIAS):
            yield from queries.stream(table, query)
    else:
        yield from queries.stream(table, query)


def with_coordinates(table: Table, query: queries.RowQuery) -> queries.RowQuery:
    """The query, selecting the table's latitude and longitude columns too (for GeoJSON)."""
    geo = table.geo or {}
    by_column = {c.column: c for c in [queries.ROW_ID, *table.column_list]}
    fields = list(query.fields)
    for key in ("lat", "lon"):
        name = geo[key]
        if not any(c.column == name for c in fields):
            fields.append(by_column.get(name) or Column(name, name, "number"))
    return replace(query, fields=fields)


# --- Values --------------------------------------------------------------------------------


def _finite(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _presenters(fields: Sequence[Column]) -> list[Callable[[Any], Any] | None]:
    """Per column, what turns a stored value into the rows API's value (None: as stored)."""
    presenters: list[Callable[[Any], Any] | None] = []
    for column in fields:
        if column.type in {"boolean", "date", "time", "datetime"}:
            presenters.append(partial(queries.present, column))
        elif column.type == "number":
            presenters.append(_finite)
        else:
            presenters.append(None)
    return presenters


def _values(fields: Sequence[Column], rows: Iterable[Row]) -> Iterator[list[Any]]:
    presenters = _presenters(fields)
    if not any(presenters):
        for row in rows:
            yield list(row)
        return
    for row in rows:
        yield [v if p is None else p(v) for p, v in zip(presenters, row, strict=True)]


class _Chunks:
    """Text pieces gathered into chunks of about CHUNK characters."""

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.size = 0

    def add(self, text: str) -> str | None:
        self.parts.append(text)
        self.size += len(text)
        if self.size >= CHUNK:
            return self.take()
        return None

    def take(self) -> str:
        text = "".join(self.parts)
        self.parts, self.size = [], 0
        return text


# --- CSV -----------------------------------------------------------------------------------

# JIS X 0208 characters as Unicode maps them, and the CP932 code point for
# the same glyph: text from Macs and JIS sources (〜 in "9:00〜17:00") would
# otherwise become geta.
_CP932_EQUIVALENTS = str.maketrans(
    {
        "\u301c": "\uff5e",  # WAVE DASH → FULLWIDTH TILDE
        "\u2016": "\u2225",  # DOUBLE VERTICAL LINE → PARALLEL TO
        "\u2212": "\uff0d",  # MINUS SIGN → FULLWIDTH HYPHEN-MINUS
        "\u2014": "\u2015",  # EM DASH → HORIZONTAL BAR
        "\u00a2": "\uffe0",  # CENT SIGN → FULLWIDTH CENT SIGN
        "\u00a3": "\uffe1",  # POUND SIGN → FULLWIDTH POUND SIGN
        "\u00ac": "\uffe2",  # NOT SIGN → FULLWIDTH NOT SIGN
        "\u00a6": "\uffe4",  # BROKEN BAR → FULLWIDTH BROKEN BAR
    }
)


def _cp932_replace(error: UnicodeError) -> tuple[str, int]:
    if not isinstance(error, UnicodeEncodeError):
        raise error
    replaced = []
    for char in error.object[error.start : error.end].translate(_CP932_EQUIVALENTS):
        try:
            char.encode("cp932")
        except UnicodeEncodeError:
            char = GETA
        replaced.append(char)
    return "".join(replaced), error.end


codecs.register_error("machi.cp932", _cp932_replace)


def encoder(encoding: str) -> Callable[[str], bytes]:
    if encoding == "cp932":
        return lambda text: text.encode("cp932", errors="machi.cp932")
    return lambda text: text.encode("utf-8")


def _csv_cell(column: Column) -> Callable[[Any], Any] | None:
    if column.type == "boolean":
        return lambda v: None if v is None else ("true" if v else "false")
    if column.type in {"date", "time", "datetime"}:
        return partial(queries.present, column)
    return None


def write_csv(
    fields: Sequence[Column], rows: Iterable[Row], encoding: str = DEFAULT_ENCODING
) -> Iterator[bytes]:
    """A header of field names, then the rows; empty cells for nulls, true/false, ISO dates.

    Lines end with CRLF (RFC 4180). Characters CP932 cannot encode become 〓.
    """
    encode = encoder(encoding)
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    if encoding == "utf-8-sig":
        yield codecs.BOM_UTF8
    writer.writerow([c.name for c in fields])
    cells = [_csv_cell(c) for c in fields]
    plain = not any(cells)
    for row in rows:
        writer.writerow(
            row if plain else [v if f is None else f(v) for f, v in zip(cells, row, strict=True)]
        )
        if buffer.tell() >= CHUNK:
            yield encode(buffer.getvalue())
            buffer.seek(0)
            buffer.truncate()
    yield encode(buffer.getvalue())


# --- JSON ----------------------------------------------------------------------------------

_encode_json = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode


def write_json(fields: Sequence[Column], rows: Iterable[Row]) -> Iterator[bytes]:
    """One JSON array of records (objects keyed by field name), one record a line."""
    names = [c.name for c in fields]
    chunks = _Chunks()
    separator = "[\n"
    for values in _values(fields, rows):
        if chunk := chunks.add(separator + _encode_json(dict(zip(names, values, strict=True)))):
            yield chunk.encode()
        separator = ",\n"
    chunks.add("[]\n" if separator == "[\n" else "\n]\n")
    yield chunks.take().encode()


def write_ndjson(fields: Sequence[Column], rows: Iterable[Row]) -> Iterator[bytes]:
    """One JSON record a line (newline-delimited JSON)."""
    names = [c.name for c in fields]
    chunks = _Chunks()
    for values in _values(fields, rows):
        if chunk := chunks.add(_encode_json(dict(zip(names, values, strict=True))) + "\n"):
            yield chunk.encode()
    yield chunks.take().encode()


# --- GeoJSON -------------------------------------------------------------------------------


def _coordinate(value: Any, bound: float) -> float | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) and -bound <= number <= bound else None


def write_geojson(
    fields: Sequence[Column], rows: Iterable[Row], geo: dict[str, str]
) -> Iterator[bytes]:
    """A FeatureCollection of Points; properties are the fields other than the coordinates.

    `fields` must include the `geo` columns (`with_coordinates`). A row without
    valid coordinates is kept, with a null geometry (RFC 7946, 3.2).
    """
    lat = next(i for i, c in enumerate(fields) if c.column == geo["lat"])
    lon = next(i for i, c in enumerate(fields) if c.column == geo["lon"])
    properties = [
        (i, c.name) for i, c in enumerate(fields) if i not in {lat, lon} and c.type != "geopoint"
    ]
    chunks = _Chunks()
    chunks.add('{"type":"FeatureCollection","features":[')
    separator = "\n"
    for values in _values(fields, rows):
        y, x = _coordinate(values[lat], 90), _coordinate(values[lon], 180)
        feature = {
            "type": "Feature",
            "geometry": None
            if x is None or y is None
            else {"type": "Point", "coordinates": [x, y]},
            "properties": {name: values[i] for i, name in properties},
        }
        if chunk := chunks.add(separator + _encode_json(feature)):
            yield chunk.encode()
        separator = ",\n"
    chunks.add("\n]}\n")
    yield chunks.take().encode()


# --- XLSX ----------------------------------------------------------------------------------


def _parsed(kind: type, value: Any) -> Any:
    if value is None or isinstance(value, kind):
        return value
    try:
        return kind.fromisoformat(str(value))
    except ValueError:
        return str(value)


def _xlsx_value(column: Column, text: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """What openpyxl is given for a stored value: numbers, booleans, dates stay typed."""
    if column.type in {"integer", "year"}:
        return lambda v: v if v is None or isinstance(v, int) else text(v)
    if column.type == "number":
        return _finite
    if column.type == "boolean":
        return lambda v: None if v is None else bool(v)
    if column.type == "datetime":
        # Excel has no dates before 1900: those stay text.
        return lambda v: _excel_date(_parsed(datetime.datetime, v), text)
    if column.type == "date":
        return lambda v: _excel_date(_parsed(datetime.date, v), text)
    if column.type == "time":
        return lambda v: _parsed(datetime.time, v)
    return text


def _excel_date(value: Any, text: Callable[[Any], Any]) -> Any:
    if isinstance(value, datetime.date) and value.year < 1900:
        return text(value.isoformat())
    return value


def write_xlsx(fields: Sequence[Column], rows: Iterable[Row], *, title: str = "data") -> IO[bytes]:
    """The rows as a one-sheet workbook in a temporary file (rewound); the caller closes it.

    Raises TooManyRows past XLSX_MAX_ROWS rows. Text is always text: a cell
    starting with "=" is not made a formula.
    """
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(_sheet_title(title))

    def text(value: Any) -> Any:
        if value is None:
            return None
        value = str(value)
        if ILLEGAL_CHARACTERS_RE.search(value):
            value = ILLEGAL_CHARACTERS_RE.sub("", value)
        if value.startswith("=") or value in ERROR_CODES:
            cell = WriteOnlyCell(sheet, value)
            cell.data_type = "s"
            return cell
        return value

    bold = Font(bold=True)
    header = []
    for column in fields:
        cell = WriteOnlyCell(sheet, ILLEGAL_CHARACTERS_RE.sub("", column.name))
        cell.data_type = "s"
        cell.font = bold
        header.append(cell)
    sheet.append(header)
    cells = [_xlsx_value(c, text) for c in fields]
    count = 0
    try:
        for row in rows:
            count += 1
            if count > XLSX_MAX_ROWS:
                raise too_many_rows(None)
            sheet.append([f(v) for f, v in zip(cells, row, strict=True)])
    except BaseException:
        _discard(sheet)
        raise
    file = tempfile.TemporaryFile(suffix=".xlsx")
    try:
        workbook.save(file)  # removes the sheet's own temporary file
        file.seek(0)
    except BaseException:
        file.close()
        raise
    return file


def _discard(sheet: Any) -> None:
    """Remove the temporary file openpyxl writes a sheet to, when the workbook is not saved.

    (Otherwise it stays until the process exits.) openpyxl has no public call
    for this; these are the steps of its own `save`.
    """
    writer = sheet._writer
    if writer is None:
        return
    with contextlib.suppress(Exception):
        if sheet._rows is not None:
            sheet._rows.close()
        writer.close()
    with contextlib.suppress(OSError, ValueError):
        writer.cleanup()


_SHEET_FORBIDDEN = re.compile(r"[\[\]:*?/\\]")


def _sheet_title(title: str) -> str:
    return _SHEET_FORBIDDEN.sub("_", title).strip("'").strip()[:31] or "data"


# --- File names ----------------------------------------------------------------------------

_FORMAT_SUFFIX = re.compile(r"\s*[（(]\s*[A-Za-z0-9]+\s*[）)]\s*$")


def filenames(table: Table, extension: str) -> tuple[str, str]:
    """(ASCII fallback, full name) of an export: the dataset and resource names."""
    resource = table.resource
    dataset = resource.dataset
    name = _FORMAT_SUFFIX.sub("", resource.name) or resource.name
    if not name.startswith(dataset.title):
        name = f"{dataset.title}_{name}"
    full = files.safe_stem(name, dataset.name)
    ascii_name = f"{dataset.name}-{resource.uid.hex[:8]}"
    return f"{ascii_name}.{extension}", f"{full}.{extension}"


def content_disposition(table: Table, extension: str) -> str:
    """An attachment with an ASCII file name and the full name per RFC 5987 (filename*)."""
    fallback, full = filenames(table, extension)
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{percent(full, safe='')}"
