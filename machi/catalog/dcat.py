"""DCAT (DCAT-AP 3) for the catalog: graphs of public datasets, their serializations, paging.

Mapped as ckanext-dcat's DCAT-AP profiles map a CKAN dataset, so harvesters that read CKAN
sites read machi alike. Every node a property points at carries its class (publisher,
licence, media type, frequency ...): the DCAT-AP SHACL shapes check classes in the data
alone. Japanese literals are tagged @ja, English ones @en.

`parse_catalog` is the reading side, for harvesting remote DCAT catalogs (machi's too).
"""

from __future__ import annotations

import datetime
import math
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.db.models import Count, Max, QuerySet
from django.urls import reverse
from django.utils import translation
from django.utils.encoding import iri_to_uri
from rdflib import BNode, Graph, Literal, Namespace, URIRef
from rdflib.namespace import DCAT, DCTERMS, FOAF, RDF, RDFS, SKOS, XSD
from rdflib.term import Node

from machi.accounts.models import Department
from machi.catalog.models import Category, Dataset, Frequency, License, Resource
from machi.catalog.queries import with_resources

DCT = DCTERMS
VCARD = Namespace("http://www.w3.org/2006/vcard/ns#")
SPDX = Namespace("http://spdx.org/rdf/terms#")
HYDRA = Namespace("http://www.w3.org/ns/hydra/core#")
ADMS = Namespace("http://www.w3.org/ns/adms#")
ORG = Namespace("http://www.w3.org/ns/org#")
EU = "http://publications.europa.eu/resource/authority/"
IANA = "https://www.iana.org/assignments/media-types/"

PREFIXES: dict[str, Namespace] = {
    "dcat": Namespace(str(DCAT)),
    "dct": Namespace(str(DCT)),
    "foaf": Namespace(str(FOAF)),
    "vcard": VCARD,
    "spdx": SPDX,
    "hydra": HYDRA,
    "adms": ADMS,
    "org": ORG,
    "skos": Namespace(str(SKOS)),
    "xsd": Namespace(str(XSD)),
    "rdfs": Namespace(str(RDFS)),
}

PAGE_SIZE = 100


@dataclass(frozen=True)
class Format:
    rdflib: str
    content_type: str


# URL suffix -> serialization; .xml is RDF/XML as in ckanext-dcat.
FORMATS = {
    "ttl": Format("turtle", "text/turtle"),
    "rdf": Format("xml", "application/rdf+xml"),
    "xml": Format("xml", "application/rdf+xml"),
    "jsonld": Format("json-ld", "application/ld+json"),
}
# Accept header media type -> suffix (content negotiation on the dataset page).
MEDIA_TYPES = {
    "text/turtle": "ttl",
    "application/rdf+xml": "rdf",
    "application/ld+json": "jsonld",
}

# machi frequency codes are the EU frequency vocabulary's codes.
FREQUENCY_SCHEME = EU + "frequency"

# Format labels of machi.lib.files -> EU file-type vocabulary codes.
FILE_TYPES = {
    "CSV": "CSV",
    "TSV": "TSV",
    "TXT": "TXT",
    "JSON": "JSON",
    "GEOJSON": "GEOJSON",
    "XLSX": "XLSX",
    "XLS": "XLS",
    "ODS": "ODS",
    "PDF": "PDF",
    "ZIP": "ZIP",
    "XML": "XML",
    "KML": "KML",
    "SHP": "SHP",
    "RDF": "RDF_XML",
    "TURTLE": "RDF_TURTLE",
    "JSON-LD": "JSON_LD",
    "HTML": "HTML",
    "DOCX": "DOCX",
    "DOC": "DOC",
    "PNG": "PNG",
    "JPEG": "JPEG",
}

# Default categories -> EU data themes, so European-style harvesters can file them.
EU_THEMES = {
    "kurashi": "SOCI",
    "kosodate": "EDUC",
    "kenko-fukushi": "HEAL",
    "bousai": "JUST",
    "kankyo": "ENVI",
    "kanko-bunka": "EDUC",
    "machizukuri": "REGI",
    "kotsu": "TRAN",
    "sangyo": "ECON",
    "tokei": "SOCI",
    "gyosei": "GOVE",
    "shisetsu": "REGI",
}
EU_THEME_LABELS = {
    "SOCI": ("人口・社会", "Population and society"),
    "EDUC": ("教育・文化・スポーツ", "Education, culture and sport"),
    "HEAL": ("保健", "Health"),
    "JUST": ("司法・法制度・公共の安全", "Justice, legal system and public safety"),
    "ENVI": ("環境", "Environment"),
    "REGI": ("地域・都市", "Regions and cities"),
    "TRAN": ("運輸", "Transport"),
    "ECON": ("経済・金融", "Economy and finance"),
    "GOVE": ("政府・公共部門", "Government and public sector"),
}


# ---------------------------------------------------------------- building graphs


def site_url() -> str:
    return settings.SITE_URL


def absolute(path: str) -> str:
    return site_url() + path


def catalog_uri() -> URIRef:
    return URIRef(absolute("/"))


def municipality_uri() -> URIRef:
    return URIRef(absolute("/#municipality"))


def dataset_uri(dataset: Dataset) -> URIRef:
    # Without the slash: the page is /dataset/<name>/; this IRI redirects there.
    return URIRef(absolute(f"/dataset/{dataset.name}"))


def distribution_uri(resource: Resource, dataset: Dataset) -> URIRef:
    return URIRef(absolute(f"/dataset/{dataset.name}/resource/{resource.uid}"))


def datastore_service_uri() -> URIRef:
    return URIRef(absolute("/api/v1/#datastore"))


def license_uri(url: str) -> str:
    """A licence's canonical URI: Creative Commons deeds (…/deed.ja) name the licence itself."""
    return re.sub(
        r"(creativecommons\.org/(?:licenses|publicdomain)/[^?#]+?/)deed\.[\w-]+$", r"\1", url
    )


class DcatGraph(Graph):
    """A graph that describes each shared node (publisher, licence, concept ...) once.

    A page of 100 datasets refers to the same few of them hundreds of times.
    """

    def __init__(self) -> None:
        super().__init__()
        for prefix, namespace in PREFIXES.items():
            self.bind(prefix, namespace)
        self._described: dict[str, Node] = {}

    def once(self, key: str, describe: Callable[[], Node]) -> Node:
        node = self._described.get(key)
        if node is None:
            node = self._described[key] = describe()
        return node


def _new_graph() -> DcatGraph:
    return DcatGraph()


def _texts(graph: DcatGraph, subject: Node, predicate: URIRef, ja: str, en: str = "") -> None:
    if ja:
        graph.add((subject, predicate, Literal(ja, lang="ja")))
    if en:
        graph.add((subject, predicate, Literal(en, lang="en")))


def _typed(graph: DcatGraph, uri: str, *classes: URIRef) -> URIRef:
    node = URIRef(uri)
    for cls in classes:
        graph.add((node, RDF.type, cls))
    return node


def _concept(graph: DcatGraph, uri: str, scheme: str, ja: str, en: str, *classes: URIRef) -> URIRef:
    def describe() -> URIRef:
        node = _typed(graph, uri, SKOS.Concept, *classes)
        graph.add((node, SKOS.inScheme, URIRef(scheme)))
        _texts(graph, node, SKOS.prefLabel, ja, en)
        return node

    return URIRef(graph.once(uri, describe))


def _languages(graph: DcatGraph, subject: Node, english: bool) -> None:
    codes = [("JPN", "日本語", "Japanese")] + ([("ENG", "英語", "English")] if english else [])
    for code, ja, en in codes:
        node = _concept(graph, f"{EU}language/{code}", EU + "language", ja, en)
        graph.add((node, RDF.type, DCT.LinguisticSystem))
        graph.add((subject, DCT.language, node))


def add_municipality(graph: DcatGraph) -> URIRef:
    """The ward: publisher of the catalog, parent of every department."""
    return URIRef(graph.once("municipality", lambda: _describe_municipality(graph)))


def _describe_municipality(graph: DcatGraph) -> URIRef:
    ward = _typed(graph, str(municipality_uri()), FOAF.Agent, FOAF.Organization)
    _texts(
        graph,
        ward,
        FOAF.name,
        settings.MACHI_MUNICIPALITY_NAME,
        settings.MACHI_MUNICIPALITY_NAME_EN,
    )
    # 全国地方公共団体コード (six digits with the check digit).
    graph.add((ward, DCT.identifier, Literal(settings.MACHI_MUNICIPALITY_CODE)))
    graph.add((ward, FOAF.homepage, _typed(graph, absolute("/"), FOAF.Document)))
    local_authority = _concept(
        graph,
        "http://purl.org/adms/publishertype/LocalAuthority",
        "http://purl.org/adms/publishertype/1.0",
        "地方公共団体",
        "Local Authority",
    )
    _scheme(graph, "http://purl.org/adms/publishertype/1.0", "", "Publisher Type")
    graph.add((ward, DCT.type, local_authority))
    return ward


def add_department(graph: DcatGraph, department: Department) -> URIRef:
    key = f"department {department.pk}"
    return URIRef(graph.once(key, lambda: _describe_department(graph, department)))


def _describe_department(graph: DcatGraph, department: Department) -> URIRef:
    node = _typed(graph, absolute(f"/department/{department.slug}/"), FOAF.Agent, FOAF.Organization)
    _texts(graph, node, FOAF.name, department.name, department.name_en)
    graph.add((node, ORG.subOrganizationOf, add_municipality(graph)))
    graph.add((node, FOAF.homepage, _typed(graph, str(node), FOAF.Document)))
    if department.email:
        graph.add((node, FOAF.mbox, URIRef(f"mailto:{department.email}")))
    return node


def _publisher(graph: DcatGraph, dataset: Dataset) -> Node:
    """The department; for a harvested copy, the publisher named at its source."""
    original = getattr(dataset, "original_publisher", "")  # set by harvesting
    if not original:
        return add_department(graph, dataset.department)

    def describe() -> BNode:
        agent = BNode()
        graph.add((agent, RDF.type, FOAF.Agent))
        graph.add((agent, FOAF.name, Literal(original)))
        return agent

    return graph.once(f"original publisher {original}", describe)


def _contact_point(graph: DcatGraph, dataset: Dataset) -> BNode:
    """The dataset's contact, else its department's (staff often leave the fields blank)."""
    department = dataset.department
    node = BNode()
    graph.add((node, RDF.type, VCARD.Kind))
    graph.add((node, RDF.type, VCARD.Organization))
    if dataset.contact_name:
        graph.add((node, VCARD.fn, Literal(dataset.contact_name, lang="ja")))
    else:
        _texts(graph, node, VCARD.fn, department.name, department.name_en)
    email = dataset.contact_email or department.email
    if email:
        graph.add((node, VCARD.hasEmail, URIRef(f"mailto:{email}")))
    phone = re.sub(r"[^0-9+\-]", "", dataset.contact_phone or department.phone)
    if phone:
        graph.add((node, VCARD.hasTelephone, URIRef(f"tel:{phone}")))
    return node


def _license(graph: DcatGraph, license: License) -> Node:
    return graph.once(f"license {license.pk}", lambda: _describe_license(graph, license))


def _describe_license(graph: DcatGraph, license: License) -> Node:
    if license.url:
        node: Node = URIRef(license_uri(iri_to_uri(license.url)))
    else:
        node = BNode()  # "other": a licence without an address, described by its title
    graph.add((node, RDF.type, DCT.LicenseDocument))
    _texts(graph, node, DCT.title, license.title, license.title_en)
    return node


def _scheme(graph: DcatGraph, uri: str, ja: str, en: str) -> URIRef:
    def describe() -> URIRef:
        scheme = _typed(graph, uri, SKOS.ConceptScheme)
        _texts(graph, scheme, DCT.title, ja, en)
        return scheme

    return URIRef(graph.once(uri, describe))


def _theme_scheme(graph: DcatGraph) -> URIRef:
    return _scheme(graph, absolute(reverse("catalog:categories")), "カテゴリ", "Categories")


def _eu_theme_scheme(graph: DcatGraph) -> URIRef:
    return _scheme(graph, EU + "data-theme", "", "Data theme")


def _themes(graph: DcatGraph, subject: URIRef, categories: Iterable[Category]) -> None:
    scheme = _theme_scheme(graph)
    for category in categories:
        node = _concept(
            graph,
            absolute(reverse("catalog:category", args=[category.slug])),
            str(scheme),
            category.name,
            category.name_en,
        )
        graph.add((subject, DCAT.theme, node))
        code = EU_THEMES.get(category.slug)
        if code:
            eu = _concept(
                graph, f"{EU}data-theme/{code}", EU + "data-theme", *EU_THEME_LABELS[code]
            )
            _eu_theme_scheme(graph)
            graph.add((subject, DCAT.theme, eu))


def _frequency(graph: DcatGraph, code: str) -> URIRef:
    """The EU frequency concept, labelled as machi's choice list says it in both languages."""

    def describe() -> URIRef:
        label = Frequency(code).label if code in Frequency.values else code
        with translation.override("ja"):
            ja = str(label)
        with translation.override("en"):
            en = str(label)
        return _concept(graph, f"{EU}frequency/{code}", FREQUENCY_SCHEME, ja, en, DCT.Frequency)

    return URIRef(graph.once(f"frequency {code}", describe))


def _standard(graph: DcatGraph, slug: str) -> URIRef:
    return URIRef(graph.once(f"standard {slug}", lambda: _describe_standard(graph, slug)))


def _describe_standard(graph: DcatGraph, slug: str) -> URIRef:
    # A lazy import: the publish app builds on the catalog, not the other way round.
    from machi.publish import standards

    node = _typed(graph, absolute(f"/standard-datasets.json#{slug}"), DCT.Standard)
    try:
        standard = standards.get(slug)
    except KeyError:
        graph.add((node, DCT.title, Literal(slug)))
        return node
    _texts(graph, node, DCT.title, standard.title, standard.title_en)
    for source in standard.schema.get("sources", []):
        if source.get("path"):
            graph.add((node, RDFS.seeAlso, URIRef(iri_to_uri(source["path"]))))
    return node


def _datastore_service(graph: DcatGraph) -> URIRef:
    """The datastore API: every table's rows by filter, full text and SQL."""
    return URIRef(graph.once("datastore", lambda: _describe_datastore_service(graph)))


def _describe_datastore_service(graph: DcatGraph) -> URIRef:
    service = _typed(graph, str(datastore_service_uri()), DCAT.DataService)
    _texts(graph, service, DCT.title, "データストアAPI", "Datastore API")
    _texts(
        graph,
        service,
        DCT.description,
        "公開されたすべての表を行単位で検索・集計・SQL照会できるAPI。",
        "Rows of every published table: filters, full-text search, aggregates and read-only SQL.",
    )
    graph.add((service, DCAT.endpointURL, _typed(graph, absolute("/api/v1/"), RDFS.Resource)))
    description = _typed(graph, absolute("/api/v1/openapi.json"), RDFS.Resource)
    graph.add((service, DCAT.endpointDescription, description))
    openapi = _typed(graph, "https://spec.openapis.org/oas/v3.1.0", DCT.Standard)
    graph.add((service, DCT.conformsTo, openapi))
    graph.add((service, DCT.publisher, add_municipality(graph)))
    graph.add((service, DCAT.landingPage, _typed(graph, absolute("/api/v1/docs"), FOAF.Document)))
    return service


def _media_type(graph: DcatGraph, media_type: str) -> URIRef | None:
    if not re.fullmatch(r"[a-z0-9.+-]+/[a-z0-9.+-]+", media_type.lower()):
        return None
    return _typed(graph, IANA + media_type.lower(), DCT.MediaType)


def _file_type(graph: DcatGraph, label: str) -> URIRef | None:
    code = FILE_TYPES.get(label.upper())
    if code is None:
        return None
    node = _concept(graph, f"{EU}file-type/{code}", EU + "file-type", "", label)
    graph.add((node, RDF.type, DCT.MediaTypeOrExtent))
    return node


def add_distribution(
    graph: DcatGraph, dataset: Dataset, resource: Resource, license: Node, has_table: bool
) -> URIRef:
    version = resource.current
    node = _typed(graph, str(distribution_uri(resource, dataset)), DCAT.Distribution)
    _texts(graph, node, DCT.title, resource.name, resource.name_en)
    _texts(graph, node, DCT.description, resource.description)
    page = _typed(graph, absolute(resource.get_absolute_url()), RDFS.Resource)
    if version.is_upload:
        graph.add((node, DCAT.accessURL, page))
        download = _typed(graph, absolute(resource.download_url()), RDFS.Resource)
        graph.add((node, DCAT.downloadURL, download))
    else:
        # A link to another site: that address is where the data is reached.
        graph.add((node, DCAT.accessURL, _typed(graph, iri_to_uri(version.url), RDFS.Resource)))
    media_type = _media_type(graph, version.media_type)
    if media_type is not None:
        graph.add((node, DCAT.mediaType, media_type))
    file_type = _file_type(graph, version.format)
    if file_type is not None:
        graph.add((node, DCT["format"], file_type))
    if version.size is not None:
        graph.add((node, DCAT.byteSize, Literal(version.size, datatype=XSD.nonNegativeInteger)))
    if version.sha256:
        checksum = BNode()
        graph.add((checksum, RDF.type, SPDX.Checksum))
        algorithm = _typed(graph, str(SPDX.checksumAlgorithm_sha256), SPDX.ChecksumAlgorithm)
        graph.add((checksum, SPDX.algorithm, algorithm))
        graph.add((checksum, SPDX.checksumValue, Literal(version.sha256, datatype=XSD.hexBinary)))
        graph.add((node, SPDX.checksum, checksum))
    graph.add((node, DCT.license, license))
    graph.add((node, DCT.issued, Literal(resource.created)))
    graph.add((node, DCT.modified, Literal(version.created)))
    if has_table:
        graph.add((node, DCAT.accessService, _datastore_service(graph)))
    return node


def add_dataset(graph: DcatGraph, dataset: Dataset) -> URIRef:
    """One public dataset, its distributions and every node they refer to.

    Reads dataset.resources, tags and categories: prefetch them (queries.with_resources).
    """
    node = _typed(graph, str(dataset_uri(dataset)), DCAT.Dataset)
    _texts(graph, node, DCT.title, dataset.title, dataset.title_en)
    # dct:description is mandatory; a dataset without one is described by its title.
    _texts(
        graph,
        node,
        DCT.description,
        dataset.description or dataset.title,
        dataset.description_en or (dataset.title_en if not dataset.description else ""),
    )
    graph.add((node, DCT.identifier, Literal(str(node))))
    graph.add(
        (node, DCAT.landingPage, _typed(graph, absolute(dataset.get_absolute_url()), FOAF.Document))
    )
    graph.add((node, DCT.issued, Literal(dataset.created)))
    graph.add((node, DCT.modified, Literal(dataset.modified)))
    graph.add((node, DCT.publisher, _publisher(graph, dataset)))
    graph.add((node, DCAT.contactPoint, _contact_point(graph, dataset)))
    for tag in dataset.tags.all():
        graph.add((node, DCAT.keyword, Literal(tag.name, lang="ja")))
    _themes(graph, node, dataset.categories.all())
    _languages(graph, node, bool(dataset.title_en))
    graph.add((node, DCT.accrualPeriodicity, _frequency(graph, dataset.update_frequency)))
    public = _concept(
        graph,
        f"{EU}access-right/PUBLIC",
        EU + "access-right",
        "公開",
        "public",
        DCT.RightsStatement,
    )
    graph.add((node, DCT.accessRights, public))
    if dataset.temporal_start or dataset.temporal_end:
        period = BNode()
        graph.add((period, RDF.type, DCT.PeriodOfTime))
        if dataset.temporal_start:
            graph.add((period, DCAT.startDate, Literal(dataset.temporal_start)))
        if dataset.temporal_end:
            graph.add((period, DCAT.endDate, Literal(dataset.temporal_end)))
        graph.add((node, DCT.temporal, period))
    if dataset.spatial:
        place = BNode()
        graph.add((place, RDF.type, DCT.Location))
        graph.add((place, SKOS.prefLabel, Literal(dataset.spatial, lang="ja")))
        graph.add((node, DCT.spatial, place))
    if dataset.standard:
        graph.add((node, DCT.conformsTo, _standard(graph, dataset.standard)))
    license = _license(graph, dataset.license)
    graph.add((node, DCT.license, license))
    has_table = False
    for resource in dataset.resources.all():
        if resource.current is None:
            continue
        loaded = getattr(resource, "tables_loaded", 0) > 0
        has_table = has_table or loaded
        graph.add(
            (node, DCAT.distribution, add_distribution(graph, dataset, resource, license, loaded))
        )
    if has_table:
        graph.add((_datastore_service(graph), DCAT.servesDataset, node))
    return node


# ---------------------------------------------------------------- the catalog and its pages


def public_datasets(modified_since: datetime.datetime | None = None) -> QuerySet[Dataset]:
    """What the DCAT catalog lists: public datasets, newest change first (stable across pages)."""
    datasets = Dataset.objects.filter(is_public=True)
    if modified_since is not None:
        datasets = datasets.filter(modified__gte=modified_since)
    return datasets.order_by("-modified", "-id")


@dataclass(frozen=True)
class CatalogState:
    """What a catalog response depends on, from one aggregate query (HTTP validators)."""

    count: int
    last_modified: datetime.datetime | None

    @property
    def pages(self) -> int:
        return max(1, math.ceil(self.count / PAGE_SIZE))


def catalog_state(modified_since: datetime.datetime | None = None) -> CatalogState:
    row = public_datasets(modified_since).order_by().aggregate(n=Count("id"), last=Max("modified"))
    return CatalogState(count=row["n"], last_modified=row["last"])


def page_url(fmt: str, page: int, modified_since: str = "") -> str:
    params: dict[str, str | int] = {"page": page}
    if modified_since:
        params["modified_since"] = modified_since
    return absolute(reverse("catalog:dcat_catalog", args=[fmt])) + "?" + urlencode(params)


def catalog_graph(
    *,
    fmt: str,
    page: int,
    state: CatalogState,
    modified_since: datetime.datetime | None = None,
    modified_since_text: str = "",
) -> Graph:
    """One page of the catalog: the dcat:Catalog, its datasets and a hydra:PagedCollection."""
    graph = _new_graph()
    catalog = _typed(graph, str(catalog_uri()), DCAT.Catalog)
    _texts(graph, catalog, DCT.title, settings.MACHI_SITE_NAME, settings.MACHI_SITE_NAME_EN)
    ward, ward_en = settings.MACHI_MUNICIPALITY_NAME, settings.MACHI_MUNICIPALITY_NAME_EN
    _texts(
        graph,
        catalog,
        DCT.description,
        f"{ward}の各部署が公開するオープンデータのカタログ。",
        f"Open data published by the departments of {ward_en}.",
    )
    graph.add((catalog, DCT.publisher, add_municipality(graph)))
    graph.add((catalog, FOAF.homepage, _typed(graph, absolute("/"), FOAF.Document)))
    _languages(graph, catalog, True)
    graph.add((catalog, DCAT.themeTaxonomy, _theme_scheme(graph)))
    graph.add((catalog, DCAT.themeTaxonomy, _eu_theme_scheme(graph)))
    graph.add((catalog, DCAT.service, _datastore_service(graph)))
    if state.last_modified is not None:
        graph.add((catalog, DCT.modified, Literal(state.last_modified)))

    offset = (page - 1) * PAGE_SIZE
    datasets = with_resources(public_datasets(modified_since))[offset : offset + PAGE_SIZE]
    for dataset in datasets:
        graph.add((catalog, DCAT.dataset, add_dataset(graph, dataset)))

    # Paging as ckanext-dcat writes it: the current page's URL is the collection node;
    # both the current Hydra terms and the deprecated *Page ones, as literals.
    paging = URIRef(page_url(fmt, page, modified_since_text))
    graph.add((paging, RDF.type, HYDRA.PagedCollection))
    graph.add((paging, HYDRA.totalItems, Literal(state.count)))
    graph.add((paging, HYDRA.itemsPerPage, Literal(PAGE_SIZE)))
    links = {
        "first": 1,
        "last": state.pages,
        "next": page + 1 if page < state.pages else None,
        "previous": page - 1 if page > 1 else None,
    }
    for name, number in links.items():
        if number is not None:
            url = Literal(page_url(fmt, number, modified_since_text))
            graph.add((paging, HYDRA[name], url))
            graph.add((paging, HYDRA[f"{name}Page"], url))
    return graph


def dataset_graph(dataset: Dataset) -> Graph:
    graph = _new_graph()
    add_dataset(graph, dataset)
    return graph


def serialize(graph: Graph, fmt: str) -> bytes:
    serialization = FORMATS[fmt].rdflib
    if serialization == "json-ld":
        context = {prefix: str(namespace) for prefix, namespace in PREFIXES.items()}
        text = graph.serialize(format="json-ld", context=context, auto_compact=True)
        return text.encode("utf-8")
    if serialization == "xml":
        return graph.serialize(format="pretty-xml", encoding="utf-8")
    return graph.serialize(format=serialization, encoding="utf-8")


# ---------------------------------------------------------------- reading remote catalogs


class DcatParseError(ValueError):
    """A DCAT document that could not be read, with what was wrong."""


def parse_catalog(
    data: bytes, format: str, base_url: str
) -> tuple[list[dict[str, Any]], str | None]:
    """Datasets of a DCAT document (a catalog page or one dataset) and the next page's URL.

    `format`: ttl, rdf, xml, jsonld, n3, nt or a media type; `base_url` resolves relative
    IRIs and the next-page link. Raises DcatParseError. The dictionaries: docs/dcat.md.
    """
    from machi.catalog import dcat_parse  # the reading side, in its own module

    return dcat_parse.parse_catalog(data, format, base_url)
