"""Reading DCAT documents (for harvesting): rdflib graph -> plain dataset dictionaries.

Reads what machi's own catalog writes (machi.catalog.dcat) and the DCAT-AP that CKAN's
ckanext-dcat and other portals write: @ja/@en or untagged literals, IANA or plain media
types, Hydra paging with the current or the deprecated *Page terms.
"""

from __future__ import annotations

import datetime
import json
from typing import Any
from urllib.parse import urljoin

from django.utils import timezone
from django.utils.translation import gettext as _
from rdflib import BNode, Graph, Literal, URIRef
from rdflib.namespace import DCAT, FOAF, RDF, RDFS, SKOS
from rdflib.term import Node

from machi.catalog.dcat import DCT, HYDRA, SPDX, VCARD, DcatParseError

# What parse_catalog accepts as `format`: URL suffixes, rdflib names and media types.
_PARSE_FORMATS = {
    "ttl": "turtle",
    "turtle": "turtle",
    "text/turtle": "turtle",
    "rdf": "xml",
    "xml": "xml",
    "rdfxml": "xml",
    "application/rdf+xml": "xml",
    "jsonld": "json-ld",
    "json-ld": "json-ld",
    "json": "json-ld",
    "application/ld+json": "json-ld",
    "n3": "n3",
    "text/n3": "n3",
    "nt": "nt",
    "application/n-triples": "nt",
}


_FORMAT_NAMES = {
    "turtle": "Turtle",
    "xml": "RDF/XML",
    "json-ld": "JSON-LD",
    "n3": "N3",
    "nt": "N-Triples",
}


def _remote_contexts(value: Any) -> bool:
    """True when a JSON-LD document names a context by URL (rdflib would fetch it)."""
    if isinstance(value, dict):
        for key, item in value.items():
            if key == "@context" and _names_url(item):
                return True
            if _remote_contexts(item):
                return True
    elif isinstance(value, list):
        return any(_remote_contexts(item) for item in value)
    return False


def _names_url(context: Any) -> bool:
    if isinstance(context, str):
        return True
    if isinstance(context, list):
        return any(isinstance(item, str) for item in context)
    return False


def _graph_from(data: bytes, format: str, base_url: str) -> Graph:
    name = _PARSE_FORMATS.get(format.split(";")[0].strip().lower())
    if name is None:
        raise DcatParseError(
            _("Unknown RDF format “%(format)s”: use ttl, rdf, xml, jsonld, n3 or nt.")
            % {"format": format[:40]}
        )
    if name == "json-ld":
        try:
            document = json.loads(data)
        except ValueError as error:
            raise DcatParseError(
                _("The JSON-LD is not JSON: %(error)s") % {"error": error}
            ) from error
        # No network fetches while harvesting: contexts must be inline.
        if _remote_contexts(document):
            raise DcatParseError(
                _("The JSON-LD names a remote @context; only inline contexts are read.")
            )
    graph = Graph()
    try:
        graph.parse(data=data, format=name, publicID=base_url or None)
    except Exception as error:  # noqa: BLE001 - rdflib's parsers raise many unrelated types
        raise DcatParseError(
            _("The document is not valid %(format)s: %(error)s")
            % {"format": _FORMAT_NAMES[name], "error": str(error)[:300]}
        ) from error
    return graph


def _bilingual(graph: Graph, subject: Node, predicate: URIRef) -> dict[str, str]:
    """{"ja", "en"}: untagged or other-language text stands in for Japanese when none is tagged."""
    found: dict[str, str] = {}
    others: list[str] = []
    for value in graph.objects(subject, predicate):
        if not isinstance(value, Literal):
            continue
        lang = (value.language or "").lower().split("-")[0]
        if lang in ("ja", "en"):
            found.setdefault(lang, str(value))
        else:
            others.append(str(value))
    return {
        "ja": found.get("ja") or (sorted(others)[0] if others else ""),
        "en": found.get("en", ""),
    }


def _uri(value: Node | None) -> str:
    return str(value) if isinstance(value, URIRef) else ""


def _text(graph: Graph, subject: Node, predicate: URIRef) -> str:
    value = graph.value(subject, predicate)
    if value is None:
        return ""
    return str(value)


def _datetime(value: Node | None) -> datetime.datetime | None:
    """xsd:dateTime or xsd:date (or their lexical forms) as an aware datetime; naive is UTC."""
    if value is None:
        return None
    text = str(value).strip()
    try:
        parsed = datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    if timezone.is_naive(parsed):
        parsed = parsed.replace(tzinfo=datetime.UTC)
    return parsed


def _date(value: Node | None) -> datetime.date | None:
    moment = _datetime(value)
    return moment.date() if moment else None


def _media_type_of(graph: Graph, distribution: Node) -> str:
    value = graph.value(distribution, DCAT.mediaType)
    if value is None:
        return ""
    text = str(value)
    # An IANA URI names its type in the last two path segments.
    if "/media-types/" in text:
        return text.split("/media-types/", 1)[1].strip("/")
    return text


def _format_of(graph: Graph, distribution: Node) -> str:
    value = graph.value(distribution, DCT["format"])
    if value is None:
        return ""
    if isinstance(value, URIRef):
        label = graph.value(value, SKOS.prefLabel) or graph.value(value, RDFS.label)
        if label is not None and "file-type/" not in str(value):
            return str(label)
        return str(value).rstrip("/").rsplit("/", 1)[-1].replace("_", " ")
    label = graph.value(value, RDFS.label) if isinstance(value, BNode) else value
    return str(label or "")


def _checksum(graph: Graph, distribution: Node) -> dict[str, str] | None:
    checksum = graph.value(distribution, SPDX.checksum)
    if checksum is None:
        return None
    value = _text(graph, checksum, SPDX.checksumValue)
    if not value:
        return None
    algorithm = str(graph.value(checksum, SPDX.algorithm) or "")
    name = algorithm.rsplit("checksumAlgorithm_", 1)[-1] if algorithm else ""
    return {"algorithm": name.lower(), "value": value.lower()}


def _byte_size(graph: Graph, distribution: Node) -> int | None:
    value = graph.value(distribution, DCAT.byteSize)
    if value is None:
        return None
    try:
        return int(float(str(value)))
    except ValueError:
        return None


def _distribution(graph: Graph, node: Node) -> dict[str, Any]:
    return {
        "uri": _uri(node),
        "title": _bilingual(graph, node, DCT.title),
        "description": _bilingual(graph, node, DCT.description),
        "access_url": _text(graph, node, DCAT.accessURL),
        "download_url": _text(graph, node, DCAT.downloadURL),
        "media_type": _media_type_of(graph, node),
        "format": _format_of(graph, node),
        "byte_size": _byte_size(graph, node),
        "checksum": _checksum(graph, node),
        "license": _uri(graph.value(node, DCT.license)),
        "issued": _datetime(graph.value(node, DCT.issued)),
        "modified": _datetime(graph.value(node, DCT.modified)),
    }


def _contact(graph: Graph, dataset: Node) -> dict[str, str]:
    node = graph.value(dataset, DCAT.contactPoint)
    if node is None:
        return {"uri": "", "name": "", "email": "", "phone": ""}
    names = _bilingual(graph, node, VCARD.fn)
    email = _text(graph, node, VCARD.hasEmail)
    phone = _text(graph, node, VCARD.hasTelephone)
    return {
        "uri": _uri(node),
        "name": names["ja"] or names["en"],
        "email": email.removeprefix("mailto:"),
        "phone": phone.removeprefix("tel:"),
    }


def _dataset(graph: Graph, node: Node) -> dict[str, Any]:
    keywords = _keywords(graph, node)
    publisher = graph.value(node, DCT.publisher)
    period = graph.value(node, DCT.temporal)
    spatial = graph.value(node, DCT.spatial)
    license = graph.value(node, DCT.license)
    distributions = [_distribution(graph, d) for d in graph.objects(node, DCAT.distribution)]
    distributions.sort(key=lambda d: (d["uri"], d["access_url"]))
    if license is None:
        # DCAT-AP puts the licence on distributions; the first one stands for the dataset.
        license = next((URIRef(d["license"]) for d in distributions if d["license"]), None)
    return {
        "uri": _uri(node),
        "identifier": _text(graph, node, DCT.identifier) or _uri(node),
        "title": _bilingual(graph, node, DCT.title),
        "description": _bilingual(graph, node, DCT.description),
        "keywords": keywords,
        "themes": [
            {"uri": _uri(theme), "label": _bilingual(graph, theme, SKOS.prefLabel)}
            for theme in sorted(graph.objects(node, DCAT.theme))
        ],
        "publisher": {
            "uri": _uri(publisher),
            "name": _bilingual(graph, publisher, FOAF.name)
            if publisher is not None
            else {"ja": "", "en": ""},
        },
        "contact": _contact(graph, node),
        "license": _uri(license),
        "issued": _datetime(graph.value(node, DCT.issued)),
        "modified": _datetime(graph.value(node, DCT.modified)),
        "landing_page": _text(graph, node, DCAT.landingPage),
        "frequency": _uri(graph.value(node, DCT.accrualPeriodicity)),
        "temporal": {
            "start": _date(graph.value(period, DCAT.startDate)) if period is not None else None,
            "end": _date(graph.value(period, DCAT.endDate)) if period is not None else None,
        },
        "spatial": (
            _bilingual(graph, spatial, SKOS.prefLabel)["ja"] or _uri(spatial)
            if spatial is not None
            else ""
        ),
        "conforms_to": sorted(_uri(s) or str(s) for s in graph.objects(node, DCT.conformsTo)),
        "distributions": distributions,
    }


def _keywords(graph: Graph, node: Node) -> list[str]:
    """Japanese (or untagged) keywords; all of them when the catalog has only other languages."""
    every = [value for value in graph.objects(node, DCAT.keyword) if isinstance(value, Literal)]
    chosen = [v for v in every if (v.language or "ja").lower().startswith("ja")] or every
    return sorted({str(value) for value in chosen})


def _next_page(graph: Graph, base_url: str) -> str | None:
    for cls in (HYDRA.PagedCollection, HYDRA.PartialCollectionView, HYDRA.Collection):
        for node in graph.subjects(RDF.type, cls):
            for predicate in (HYDRA.next, HYDRA.nextPage):
                value = graph.value(node, predicate)
                if value is not None:
                    return urljoin(base_url, str(value))
    return None


def parse_catalog(
    data: bytes, format: str, base_url: str
) -> tuple[list[dict[str, Any]], str | None]:
    """Datasets of a DCAT document (a catalog page or one dataset) and the next page's URL.

    `format`: ttl, rdf/xml, jsonld, n3, nt or a media type. Raises DcatParseError. The
    dictionaries are described in docs/dcat.md.
    """
    graph = _graph_from(data, format, base_url)
    datasets = [_dataset(graph, node) for node in set(graph.subjects(RDF.type, DCAT.Dataset))]
    datasets.sort(key=lambda d: (d["uri"], d["identifier"]))
    return datasets, _next_page(graph, base_url)
