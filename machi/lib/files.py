"""Facts about uploaded files: format, size, SHA-256, text encoding."""

import hashlib
import mimetypes
import re
from dataclasses import dataclass
from pathlib import PurePath
from typing import IO

_FORMATS = {
    "csv": "CSV",
    "tsv": "TSV",
    "txt": "TXT",
    "json": "JSON",
    "geojson": "GeoJSON",
    "xlsx": "XLSX",
    "xls": "XLS",
    "ods": "ODS",
    "pdf": "PDF",
    "zip": "ZIP",
    "xml": "XML",
    "kml": "KML",
    "shp": "SHP",
    "rdf": "RDF",
    "ttl": "Turtle",
    "jsonld": "JSON-LD",
    "html": "HTML",
    "docx": "DOCX",
    "doc": "DOC",
    "png": "PNG",
    "jpg": "JPEG",
    "jpeg": "JPEG",
}
_TEXT_FORMATS = {"CSV", "TSV", "TXT", "JSON", "GeoJSON", "XML", "KML", "RDF", "Turtle", "JSON-LD"}


@dataclass(frozen=True)
class FileFacts:
    format: str
    media_type: str
    size: int
    sha256: str
    encoding: str


_UNSAFE_IN_NAMES = re.compile(r'[\x00-\x1f\x7f\\/:*?"<>|]+')  # not in a file name anywhere


def safe_stem(name: str, fallback: str) -> str:
    """`name` as a file name's stem on any system (at most 150 characters), or `fallback`."""
    return _UNSAFE_IN_NAMES.sub("_", name).strip(" ._")[:150] or fallback


def format_of(name: str) -> str:
    suffix = PurePath(name.split("?")[0]).suffix.lower().lstrip(".")
    return _FORMATS.get(suffix, suffix.upper())


# Python codecs for the encoding labels below; plain UTF-8 reads with or without a BOM.
CODECS = {
    "UTF-8 (BOM)": "utf-8-sig",
    "UTF-8": "utf-8-sig",
    "Shift_JIS": "cp932",
    "EUC-JP": "euc_jp",
}


def codec_for(label: str) -> str:
    """The codec that reads a file labelled `label` (UTF-8 when unknown)."""
    return CODECS.get(label, "utf-8-sig")


def _encoding(head: bytes) -> str:
    # The publish pipeline detects encodings from whole files; this is the
    # catalog's label for a download, taken from the first megabyte.
    if head.startswith(b"\xef\xbb\xbf"):
        return "UTF-8 (BOM)"
    for codec, label in (("utf-8", "UTF-8"), ("cp932", "Shift_JIS"), ("euc_jp", "EUC-JP")):
        try:
            head.decode(codec)
        except UnicodeDecodeError as error:
            # A multi-byte character cut at the end of the sample is fine.
            if error.start < len(head) - 4:
                continue
        return label
    return ""


def inspect(name: str, stream: IO[bytes], chunk_size: int = 1 << 20) -> FileFacts:
    """Read a stream once: its size, SHA-256 and (for text) encoding."""
    digest = hashlib.sha256()
    size = 0
    head = b""
    for chunk in iter(lambda: stream.read(chunk_size), b""):
        if not head:
            head = chunk
        digest.update(chunk)
        size += len(chunk)
    stream.seek(0)
    fmt = format_of(name)
    return FileFacts(
        format=fmt,
        media_type=mimetypes.guess_type(name)[0] or "application/octet-stream",
        size=size,
        sha256=digest.hexdigest(),
        encoding=_encoding(head) if fmt in _TEXT_FORMATS else "",
    )
