"""Reading a DCAT catalog, page by page along Hydra's next page (as ckanext-dcat does)."""

from __future__ import annotations

import datetime
import json
import urllib.parse
from collections.abc import Iterator
from typing import Any

from django.utils.translation import gettext as _

from machi.catalog.harvest_clients import (
    MAX_PAGES,
    Page,
    RecordError,
    RecordProblem,
    RemoteDataset,
    RemoteResource,
    SourceError,
    clean,
    fetch,
    parse_time,
    sha256_of,
    size_of,
    wished_name,
)
from machi.lib import files

DCAT_ACCEPT = "text/turtle, application/rdf+xml;q=0.9, application/ld+json;q=0.8"
_FORMATS = {
    "text/turtle": "turtle",
    "application/x-turtle": "turtle",
    "application/rdf+xml": "xml",
    "application/xml": "xml",
    "text/xml": "xml",
    "application/ld+json": "json-ld",
    "application/json": "json-ld",
}
_SUFFIXES = {".ttl": "turtle", ".rdf": "xml", ".xml": "xml", ".jsonld": "json-ld"}


def rdf_format(url: str, content_type: str) -> str:
    """rdflib's name of the serialization, from the content type, else the file suffix."""
    if content_type in _FORMATS:
        return _FORMATS[content_type]
    path = urllib.parse.urlsplit(url).path
    for suffix, name in _SUFFIXES.items():
        if path.endswith(suffix):
            return name
    raise SourceError(
        _("%(url)s is not an RDF catalog (content type %(type)s).")
        % {"url": url, "type": content_type}
    )


class DcatClient:
    """Pages of a DCAT catalog, following Hydra's next page (as ckanext-dcat does)."""

    def __init__(self, url: str) -> None:
        self.url = url

    def pages(self, since: datetime.datetime | None) -> Iterator[Page]:
        from machi.catalog.dcat import parse_catalog

        url: str | None = self.url
        if since is not None:
            # machi understands modified_since; other catalogs ignore it and send everything.
            parts = urllib.parse.urlsplit(self.url)
            query = urllib.parse.parse_qsl(parts.query) + [("modified_since", since.isoformat())]
            url = parts._replace(query=urllib.parse.urlencode(query)).geturl()
        seen_pages: set[str] = set()
        while url and url not in seen_pages and len(seen_pages) < MAX_PAGES:
            seen_pages.add(url)
            body, content_type = fetch(url, accept=DCAT_ACCEPT)
            try:
                datasets, next_url = parse_catalog(body, rdf_format(url, content_type), url)
            except SourceError:
                raise
            except Exception as error:  # noqa: BLE001 - rdflib raises many kinds; all mean the same
                raise SourceError(
                    _("%(url)s could not be read as RDF: %(error)s") % {"url": url, "error": error}
                ) from error
            yield self._page(datasets)
            url = next_url

    def _page(self, datasets: list[dict[str, Any]]) -> Page:
        records: list[RemoteDataset | RecordProblem] = []
        newest = None
        for raw in datasets:
            try:
                record = self.dataset(raw)
            except RecordError as error:
                records.append(
                    RecordProblem(
                        remote_id=clean(raw.get("identifier")) or clean(raw.get("uri")),
                        title=_lang(raw.get("title"), "ja"),
                        message=str(error),
                        raw=_jsonable(raw),
                    )
                )
                continue
            records.append(record)
            if record.modified and (newest is None or record.modified > newest):
                newest = record.modified
        return Page(records=records, newest=newest)

    def dataset(self, raw: dict[str, Any]) -> RemoteDataset:
        """One dataset dict of `machi.catalog.dcat.parse_catalog` in our terms."""
        uri = clean(raw.get("uri"))
        remote_id = clean(raw.get("identifier")) or uri
        if not remote_id:
            raise RecordError(_("The dataset has neither dct:identifier nor a URI."))
        title = _lang(raw.get("title"), "ja") or _lang(raw.get("title"), "en")
        if not title:
            raise RecordError(_("The dataset has no dct:title."))
        license_url = clean(raw.get("license"))
        contact = raw.get("contact") or {}
        if not isinstance(contact, dict):
            contact = {"name": clean(contact)}
        resources = []
        for position, item in enumerate(raw.get("distributions") or []):
            url = clean(item.get("download_url")) or clean(item.get("access_url"))
            if not url:
                continue
            title_of = item.get("title")
            checksum = item.get("checksum")
            resources.append(
                RemoteResource(
                    remote_id=clean(item.get("uri")) or url,
                    name=(_lang(title_of, "ja") if isinstance(title_of, dict) else clean(title_of))
                    or url.rsplit("/", 1)[-1]
                    or f"#{position + 1}",
                    url=url,
                    description=_lang(item.get("description"), "ja"),
                    format=(clean(item.get("format")) or files.format_of(url)).upper()[:40],
                    media_type=clean(item.get("media_type"))[:100],
                    size=size_of(item.get("byte_size")),
                    sha256=sha256_of(
                        checksum.get("value") if isinstance(checksum, dict) else checksum
                    ),
                )
            )
        name_hint = uri.rstrip("/").rsplit("/", 1)[-1] if uri else ""
        publisher = raw.get("publisher")
        if isinstance(publisher, dict):
            publisher = _lang(publisher.get("name"), "ja") or _lang(publisher.get("name"), "en")
        temporal = raw.get("temporal") if isinstance(raw.get("temporal"), dict) else {}
        details = {
            "update_frequency": _last_segment(raw.get("frequency")),
            "temporal_start": str(temporal.get("start") or ""),
            "temporal_end": str(temporal.get("end") or ""),
            "spatial": clean(raw.get("spatial")),
            "contact_phone": clean(contact.get("phone")),
        }
        return RemoteDataset(
            remote_id=remote_id,
            name=wished_name(name_hint, remote_id),
            title=title,
            title_en=_lang(raw.get("title"), "en")
            if title != _lang(raw.get("title"), "en")
            else "",
            description=_lang(raw.get("description"), "ja"),
            description_en=_lang(raw.get("description"), "en"),
            tags=[clean(k) for k in raw.get("keywords") or [] if clean(k)],
            groups=[
                _last_segment(theme.get("uri") if isinstance(theme, dict) else theme)
                for theme in raw.get("themes") or []
            ],
            license_url=license_url,
            publisher=clean(publisher),
            contact_name=clean(contact.get("name")),
            contact_email=clean(contact.get("email")).removeprefix("mailto:"),
            modified=parse_time(raw.get("modified")) or parse_time(raw.get("issued")),
            remote_url=clean(raw.get("landing_page")) or uri,
            details={key: value for key, value in details.items() if value},
            resources=resources,
            raw=_jsonable(raw),
        )


def _last_segment(value: Any) -> str:
    return clean(value).rstrip("/").rsplit("/", 1)[-1]


def _lang(value: Any, language: str) -> str:
    """The `language` text of a {ja, en} dict (or a plain string, taken as Japanese)."""
    if isinstance(value, dict):
        return clean(value.get(language))
    return clean(value) if language == "ja" else ""


def _jsonable(value: Any) -> Any:
    return json.loads(json.dumps(value, default=str, ensure_ascii=False))
