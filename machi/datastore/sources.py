"""Tables from files that are already clean CSV (the demo's, CKAN uploads).

Staff files with title rows, Shift_JIS and 和暦 go through the publish
pipeline instead; this reads a CSV whose first line is the header.
"""

from __future__ import annotations

import codecs
import csv
import io
from collections.abc import Iterator
from itertools import islice
from typing import IO, Any

from django.utils.translation import gettext as _
from frictionless import Detector

from machi.catalog.models import ResourceVersion
from machi.datastore.errors import LoadError
from machi.lib import files

SAMPLE_ROWS = 10000


def is_tabular(version: ResourceVersion) -> bool:
    return version.is_upload and version.format in {"CSV", "TSV"}


def open_rows(version: ResourceVersion) -> tuple[list[str], Iterator[list[str]], IO[bytes]]:
    """The header and a row iterator over a version's CSV file (caller closes the file)."""
    codec = files.codec_for(version.encoding)
    stream = version.file.open("rb")
    text = io.TextIOWrapper(stream, encoding=codec, errors="strict", newline="")
    delimiter = "\t" if version.format == "TSV" else ","
    reader = csv.reader(text, delimiter=delimiter)
    try:
        header = next(reader)
    except StopIteration:
        stream.close()
        raise LoadError(_("%(file)s is empty.") % {"file": version.filename}) from None
    except UnicodeDecodeError as error:
        stream.close()
        raise _decode_error(version, error) from None
    return header, _checked(version, reader), stream


def _checked(version: ResourceVersion, reader: Any) -> Iterator[list[str]]:
    try:
        yield from reader
    except UnicodeDecodeError as error:
        raise _decode_error(version, error, line=reader.line_num + 1) from None


def _decode_error(version: ResourceVersion, error: UnicodeDecodeError, line: int = 1) -> LoadError:
    return LoadError(
        _("%(file)s cannot be read as %(encoding)s near line %(line)d.")
        % {"file": version.filename, "encoding": codecs.lookup(error.encoding).name, "line": line},
        line=line,
    )


def infer_schema(header: list[str], sample: list[list[str]]) -> dict[str, Any]:
    """A Table Schema guessed from the first rows, keeping codes with leading zeros as text."""
    schema = Detector(sample_size=len(sample) or 1).detect_schema(sample, labels=header)
    descriptor = schema.to_descriptor()
    for i, field in enumerate(descriptor["fields"]):
        if field["type"] in {"integer", "number"} and any(
            _leading_zero(row[i]) for row in sample if i < len(row)
        ):
            field["type"] = "string"
        if field["type"] not in _LOADED_TYPES:
            field["type"] = "string"
    return descriptor


_LOADED_TYPES = {"string", "integer", "number", "boolean", "date", "time", "datetime", "year"}


def _leading_zero(cell: str) -> bool:
    cell = cell.strip()
    return len(cell) > 1 and cell.startswith("0") and not cell.startswith("0.")


def sample_rows(rows: Iterator[list[str]]) -> tuple[list[list[str]], Iterator[list[str]]]:
    """The first rows for inference, and an iterator that still yields every row."""
    sample = list(islice(rows, SAMPLE_ROWS))
    return sample, _chain(sample, rows)


def _chain(first: list[list[str]], rest: Iterator[list[str]]) -> Iterator[list[str]]:
    yield from first
    yield from rest
