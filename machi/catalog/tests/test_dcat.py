"""DCAT: the paged catalog, dataset RDF, content negotiation, schema.org, reading DCAT back."""

import datetime
import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone, translation
from rdflib import Graph, Literal, URIRef
from rdflib.namespace import DCAT, DCTERMS, FOAF, RDF, XSD

from machi.accounts.models import Department
from machi.catalog import dcat, services
from machi.catalog.models import Dataset, License, Resource, ResourceVersion
from machi.datastore import services as datastore

SITE = "https://opendata.example.jp"
HYDRA = dcat.HYDRA
SPDX = dcat.SPDX
VCARD = dcat.VCARD
pytestmark = pytest.mark.django_db(databases=["default", "datastore"])

CSV = "名称,住所\n文京シビックセンター,春日1-16-21\n"


@pytest.fixture(autouse=True)
def _site_url(settings: Any) -> None:
    settings.SITE_URL = SITE


@pytest.fixture
def aed(make_dataset: Callable[..., Dataset], kikaku: Department, site_admin: User) -> Dataset:
    """A full dataset: English texts, tags, categories, period, contact, standard, a table."""
    dataset = make_dataset(
        kikaku,
        "aed",
        "AED設置箇所一覧",
        title_en="AED locations",
        description="区内のAED設置場所。",
        description_en="Where AEDs are in the ward.",
        tags=["AED", "防災"],
        categories=["bousai", "kenko-fukushi"],
        update_frequency="MONTHLY",
        temporal_start=datetime.date(2025, 4, 1),
        temporal_end=datetime.date(2026, 3, 31),
        contact_name="情報政策課",
        contact_email="opendata@city.example.jp",
        contact_phone="03-5803-1234",
        standard="aed",
        csv=CSV,
    )
    version = dataset.resources.get().current
    datastore.load_version_file(actor=site_admin, version=version)
    services.add_resource(
        actor=site_admin, dataset=dataset, name="地図", url="https://maps.example.jp/aed"
    )
    return dataset


@pytest.fixture
def plain(make_dataset: Callable[..., Dataset], bousai: Department) -> Dataset:
    """The least a staff member fills in: a title (no description, no English)."""
    return make_dataset(bousai, "hinanjo", "避難所一覧", csv=CSV)


def _graph(response: Any, fmt: str) -> Graph:
    assert response.status_code == 200, response.content[:500]
    return Graph().parse(data=response.content, format=fmt)


FORMATS = [
    ("ttl", "turtle", "text/turtle"),
    ("rdf", "xml", "application/rdf+xml"),
    ("xml", "xml", "application/rdf+xml"),
    ("jsonld", "json-ld", "application/ld+json"),
]


@pytest.mark.parametrize(("suffix", "rdflib_format", "content_type"), FORMATS)
def test_catalog_parses_in_every_serialization(
    resident: Client,
    aed: Dataset,
    plain: Dataset,
    suffix: str,
    rdflib_format: str,
    content_type: str,
) -> None:
    response = resident.get(f"/catalog.{suffix}")
    assert response["Content-Type"] == f"{content_type}; charset=utf-8"
    graph = _graph(response, rdflib_format)
    catalog = URIRef(f"{SITE}/")
    assert (catalog, RDF.type, DCAT.Catalog) in graph
    assert set(graph.objects(catalog, DCAT.dataset)) == {
        URIRef(f"{SITE}/dataset/aed"),
        URIRef(f"{SITE}/dataset/hinanjo"),
    }


@pytest.mark.parametrize(("suffix", "rdflib_format", "content_type"), FORMATS)
def test_dataset_rdf_in_every_serialization(
    resident: Client, aed: Dataset, suffix: str, rdflib_format: str, content_type: str
) -> None:
    response = resident.get(f"/dataset/aed.{suffix}")
    assert response["Content-Type"] == f"{content_type}; charset=utf-8"
    graph = _graph(response, rdflib_format)
    node = URIRef(f"{SITE}/dataset/aed")
    assert (node, DCTERMS.title, Literal("AED設置箇所一覧", lang="ja")) in graph
    assert (node, DCTERMS.title, Literal("AED locations", lang="en")) in graph


def test_dataset_mapping(resident: Client, aed: Dataset) -> None:
    g = _graph(resident.get("/dataset/aed.ttl"), "turtle")
    ds = URIRef(f"{SITE}/dataset/aed")
    assert (ds, DCTERMS.description, Literal("区内のAED設置場所。", lang="ja")) in g
    assert (ds, DCTERMS.description, Literal("Where AEDs are in the ward.", lang="en")) in g
    keywords = {Literal("AED", lang="ja"), Literal("防災", lang="ja")}
    assert set(g.objects(ds, DCAT.keyword)) == keywords
    assert g.value(ds, DCAT.landingPage) == URIRef(f"{SITE}/dataset/aed/")
    issued, modified = g.value(ds, DCTERMS.issued), g.value(ds, DCTERMS.modified)
    assert issued.datatype == XSD.dateTime and modified.datatype == XSD.dateTime
    assert modified.toPython() == Dataset.objects.get(name="aed").modified
    assert g.value(ds, DCTERMS.accrualPeriodicity) == URIRef(
        "http://publications.europa.eu/resource/authority/frequency/MONTHLY"
    )
    monthly = g.value(ds, DCTERMS.accrualPeriodicity)
    assert Literal("毎月", lang="ja") in set(g.objects(monthly, dcat.SKOS.prefLabel))
    themes = set(g.objects(ds, DCAT.theme))
    assert URIRef(f"{SITE}/category/bousai/") in themes
    assert URIRef("http://publications.europa.eu/resource/authority/data-theme/HEAL") in themes
    period = g.value(ds, DCTERMS.temporal)
    assert g.value(period, DCAT.startDate) == Literal(datetime.date(2025, 4, 1))
    assert g.value(period, DCAT.endDate).datatype == XSD.date
    assert str(g.value(g.value(ds, DCTERMS.spatial), dcat.SKOS.prefLabel)) == "文京区"
    standard = g.value(ds, DCTERMS.conformsTo)
    assert (standard, RDF.type, DCTERMS.Standard) in g
    assert Literal("AED設置箇所一覧", lang="ja") in set(g.objects(standard, DCTERMS.title))

    # Publisher: the department, part of the ward (local government code 131059).
    publisher = g.value(ds, DCTERMS.publisher)
    assert publisher == URIRef(f"{SITE}/department/kikaku/")
    assert (publisher, RDF.type, FOAF.Organization) in g
    assert (publisher, FOAF.name, Literal("企画政策部情報政策課", lang="ja")) in g
    assert (publisher, FOAF.name, Literal("Information Policy Division", lang="en")) in g
    ward = g.value(publisher, dcat.ORG.subOrganizationOf)
    assert (ward, FOAF.name, Literal("文京区", lang="ja")) in g
    assert str(g.value(ward, DCTERMS.identifier)) == "131059"

    contact = g.value(ds, DCAT.contactPoint)
    assert (contact, RDF.type, VCARD.Organization) in g
    assert g.value(contact, VCARD.hasEmail) == URIRef("mailto:opendata@city.example.jp")
    assert g.value(contact, VCARD.hasTelephone) == URIRef("tel:03-5803-1234")

    # The CC BY deed page in the database is published as the licence's own URI.
    assert g.value(ds, DCTERMS.license) == URIRef("https://creativecommons.org/licenses/by/4.0/")


def test_distributions_mapping(resident: Client, aed: Dataset) -> None:
    g = _graph(resident.get("/dataset/aed.ttl"), "turtle")
    csv_resource, link = aed.resources.order_by("position")
    version = csv_resource.current
    dist = URIRef(f"{SITE}/dataset/aed/resource/{csv_resource.uid}")
    assert (URIRef(f"{SITE}/dataset/aed"), DCAT.distribution, dist) in g
    assert g.value(dist, DCAT.downloadURL) == URIRef(
        f"{SITE}/dataset/aed/resource/{csv_resource.uid}/download"
    )
    assert g.value(dist, DCAT.mediaType) == URIRef(
        "https://www.iana.org/assignments/media-types/text/csv"
    )
    assert g.value(dist, DCTERMS["format"]) == URIRef(
        "http://publications.europa.eu/resource/authority/file-type/CSV"
    )
    size = g.value(dist, DCAT.byteSize)
    assert size == Literal(len(CSV.encode()), datatype=XSD.nonNegativeInteger)
    checksum = g.value(dist, SPDX.checksum)
    assert g.value(checksum, SPDX.algorithm) == SPDX.checksumAlgorithm_sha256
    assert g.value(checksum, SPDX.checksumValue) == Literal(version.sha256, datatype=XSD.hexBinary)
    assert g.value(dist, DCTERMS.license) == URIRef("https://creativecommons.org/licenses/by/4.0/")

    # The loaded table is reachable through the datastore API, a dcat:DataService.
    service = g.value(dist, DCAT.accessService)
    assert (service, RDF.type, DCAT.DataService) in g
    assert g.value(service, DCAT.endpointURL) == URIRef(f"{SITE}/api/v1/")
    assert g.value(service, DCAT.endpointDescription) == URIRef(f"{SITE}/api/v1/openapi.json")
    assert (service, DCAT.servesDataset, URIRef(f"{SITE}/dataset/aed")) in g

    # A link: the other site's address is the access URL; no table, no service.
    link_dist = URIRef(f"{SITE}/dataset/aed/resource/{link.uid}")
    assert g.value(link_dist, DCAT.accessURL) == URIRef("https://maps.example.jp/aed")
    assert g.value(link_dist, DCAT.accessService) is None


def test_odd_external_addresses_still_serialize(
    resident: Client, site_admin: User, plain: Dataset
) -> None:
    url = "https://example.jp/データ/{2025}|一覧.csv"
    link = services.add_resource(actor=site_admin, dataset=plain, name="外部", url=url)
    for suffix, rdflib_format in (("ttl", "turtle"), ("rdf", "xml"), ("jsonld", "json-ld")):
        g = _graph(resident.get(f"/dataset/hinanjo.{suffix}"), rdflib_format)
        dist = URIRef(f"{SITE}/dataset/hinanjo/resource/{link.uid}")
        assert str(g.value(dist, DCAT.accessURL)) == (
            "https://example.jp/%E3%83%87%E3%83%BC%E3%82%BF/%7B2025%7D%7C%E4%B8%80%E8%A6%A7.csv"
        )


def test_minimal_dataset_still_has_mandatory_properties(resident: Client, plain: Dataset) -> None:
    g = _graph(resident.get("/dataset/hinanjo.ttl"), "turtle")
    ds = URIRef(f"{SITE}/dataset/hinanjo")
    # No description written: the title stands in (dct:description is mandatory).
    assert g.value(ds, DCTERMS.description) == Literal("避難所一覧", lang="ja")
    contact = g.value(ds, DCAT.contactPoint)
    assert Literal("総務部防災課", lang="ja") in set(g.objects(contact, VCARD.fn))


def test_harvested_copy_names_its_original_publisher(resident: Client, plain: Dataset) -> None:
    if not hasattr(Dataset, "original_publisher"):
        pytest.skip("harvesting (Dataset.original_publisher) is not in this tree")
    Dataset.objects.filter(pk=plain.pk).update(original_publisher="東京都総務局")
    g = _graph(resident.get("/dataset/hinanjo.ttl"), "turtle")
    publisher = g.value(URIRef(f"{SITE}/dataset/hinanjo"), DCTERMS.publisher)
    assert (publisher, RDF.type, FOAF.Agent) in g
    assert str(g.value(publisher, FOAF.name)) == "東京都総務局"


def test_private_datasets_are_not_described(
    resident: Client, client_for: Callable[[User], Client], editor: User, aed: Dataset
) -> None:
    services.update_dataset(actor=editor, dataset=aed, is_public=False)
    assert resident.get("/dataset/aed.ttl").status_code == 404
    assert client_for(editor).get("/dataset/aed.ttl").status_code == 404
    g = _graph(resident.get("/catalog.ttl"), "turtle")
    assert not list(g.subjects(RDF.type, DCAT.Dataset))
    assert resident.get("/dataset/missing.ttl").status_code == 404


# ---------------------------------------------------------------- paging and modified_since


def _bulk_datasets(department: Department, count: int, start: datetime.datetime) -> None:
    """Many datasets with a file each, written directly: the catalog reads plain rows."""
    license = License.objects.get(slug="cc-by-4.0")
    datasets = Dataset.objects.bulk_create(
        Dataset(
            name=f"bulk-{i:03d}",
            title=f"データ{i}",
            department=department,
            license=license,
            modified=start + datetime.timedelta(minutes=i),
        )
        for i in range(count)
    )
    resources = Resource.objects.bulk_create(
        Resource(dataset=dataset, name=f"{dataset.title}（CSV）") for dataset in datasets
    )
    versions = ResourceVersion.objects.bulk_create(
        ResourceVersion(
            resource=resource,
            number=1,
            file=f"resources/{resource.uid}/1/data.csv",
            filename="data.csv",
            format="CSV",
            media_type="text/csv",
            size=10,
            sha256="ab" * 32,
        )
        for resource in resources
    )
    for resource, version in zip(resources, versions, strict=True):
        resource.current = version
    Resource.objects.bulk_update(resources, ["current"])


def _hydra(g: Graph) -> dict[str, str]:
    (node,) = g.subjects(RDF.type, HYDRA.PagedCollection)
    return {str(p).rsplit("#", 1)[1]: str(o) for p, o in g.predicate_objects(node) if p != RDF.type}


def test_catalog_pages_of_100_with_hydra(
    resident: Client, kikaku: Department, django_assert_max_num_queries: Any
) -> None:
    _bulk_datasets(kikaku, 205, timezone.now() - datetime.timedelta(days=1))
    with django_assert_max_num_queries(6):  # 5: count, datasets, tags, categories, resources
        first = _graph(resident.get("/catalog.ttl"), "turtle")
    assert len(set(first.subjects(RDF.type, DCAT.Dataset))) == 100
    paging = _hydra(first)
    assert paging["totalItems"] == "205"
    assert paging["itemsPerPage"] == "100"
    assert paging["next"] == paging["nextPage"] == f"{SITE}/catalog.ttl?page=2"
    assert paging["last"] == f"{SITE}/catalog.ttl?page=3"
    assert "previous" not in paging
    # Newest change first: page 1 holds the 100 newest.
    assert (URIRef(f"{SITE}/dataset/bulk-204"), RDF.type, DCAT.Dataset) in first

    last = _graph(resident.get("/catalog.ttl?page=3"), "turtle")
    assert len(set(last.subjects(RDF.type, DCAT.Dataset))) == 5
    assert "next" not in _hydra(last)
    assert _hydra(last)["previous"] == f"{SITE}/catalog.ttl?page=2"
    assert resident.get("/catalog.ttl?page=4").status_code == 404

    # Walking the pages with the reader gives every dataset once.
    seen, url, pages = [], f"{SITE}/catalog.jsonld", 0
    while url:
        response = resident.get(url.removeprefix(SITE))
        datasets, url = dcat.parse_catalog(response.content, "jsonld", url)
        seen += [d["uri"] for d in datasets]
        pages += 1
    assert pages == 3 and len(seen) == len(set(seen)) == 205


def test_modified_since(resident: Client, kikaku: Department) -> None:
    start = datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)
    _bulk_datasets(kikaku, 10, start)  # modified 00:00 ... 00:09 UTC
    g = _graph(resident.get("/catalog.ttl?modified_since=2026-01-01T00:07:00Z"), "turtle")
    names = {str(s).rsplit("/", 1)[1] for s in g.subjects(RDF.type, DCAT.Dataset)}
    assert names == {"bulk-007", "bulk-008", "bulk-009"}
    assert _hydra(g)["totalItems"] == "3"
    # Same instant in Japan time; a date alone means midnight UTC.
    g = _graph(resident.get("/catalog.ttl?modified_since=2026-01-01T09:08:00%2B09:00"), "turtle")
    assert len(set(g.subjects(RDF.type, DCAT.Dataset))) == 2
    # The + left unencoded, as docs/dcat.md showed it: a URL reads it as a space.
    g = _graph(resident.get("/catalog.ttl?modified_since=2026-01-01T09:08:00+09:00"), "turtle")
    assert len(set(g.subjects(RDF.type, DCAT.Dataset))) == 2
    g = _graph(resident.get("/catalog.rdf?modified_since=2026-01-02"), "xml")
    assert not list(g.subjects(RDF.type, DCAT.Dataset))
    assert _hydra(g)["first"] == f"{SITE}/catalog.rdf?page=1&modified_since=2026-01-02"


@pytest.mark.parametrize(
    ("query", "needle"),
    [("modified_since=yesterday", "modified_since"), ("page=0", "page"), ("page=x", "page")],
)
def test_bad_parameters_are_explained(resident: Client, db: None, query: str, needle: str) -> None:
    response = resident.get(f"/catalog.ttl?{query}", HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 400
    assert needle in response.content.decode()


def test_http_caching(resident: Client, aed: Dataset, site_admin: User) -> None:
    response = resident.get("/catalog.ttl")
    etag, last_modified = response["ETag"], response["Last-Modified"]
    assert resident.get("/catalog.ttl", HTTP_IF_NONE_MATCH=etag).status_code == 304
    assert resident.get("/catalog.jsonld", HTTP_IF_NONE_MATCH=etag).status_code == 200
    dataset_etag = resident.get("/dataset/aed.ttl")["ETag"]
    assert resident.get("/dataset/aed.ttl", HTTP_IF_NONE_MATCH=dataset_etag).status_code == 304
    assert last_modified
    services.update_dataset(actor=site_admin, dataset=aed, title="AED設置場所")
    assert resident.get("/catalog.ttl", HTTP_IF_NONE_MATCH=etag).status_code == 200
    assert resident.get("/dataset/aed.ttl", HTTP_IF_NONE_MATCH=dataset_etag).status_code == 200


# ---------------------------------------------------------------- content negotiation


@pytest.mark.parametrize(
    ("accept", "content_type"),
    [
        ("text/turtle", "text/turtle"),
        ("application/rdf+xml", "application/rdf+xml"),
        ("application/ld+json", "application/ld+json"),
        ("text/html;q=0.5, text/turtle", "text/turtle"),
        # What browsers send (application/xml is not RDF), and curl's default.
        (
            "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
            "text/html",
        ),
        ("*/*", "text/html"),
    ],
)
def test_dataset_page_negotiates(
    resident: Client, aed: Dataset, accept: str, content_type: str
) -> None:
    response = resident.get("/dataset/aed/", HTTP_ACCEPT=accept)
    assert response.status_code == 200
    assert response["Content-Type"].split(";")[0] == content_type
    assert "Accept" in response["Vary"]
    if content_type != "text/html":
        rdflib_format = {"text/turtle": "turtle", "application/rdf+xml": "xml"}.get(
            content_type, "json-ld"
        )
        graph = Graph().parse(data=response.content, format=rdflib_format)
        assert (URIRef(f"{SITE}/dataset/aed"), RDF.type, DCAT.Dataset) in graph


def test_dataset_iri_leads_to_the_page(resident: Client, aed: Dataset) -> None:
    response = resident.get("/dataset/aed", HTTP_ACCEPT="text/turtle", follow=True)
    assert response["Content-Type"].startswith("text/turtle")


# ---------------------------------------------------------------- schema.org in the page


def _json_ld(html: str) -> dict[str, Any]:
    (block,) = re.findall(r'<script type="application/ld\+json">(.*?)</script>', html, re.S)
    return json.loads(block)


def test_dataset_page_embeds_schema_org(resident: Client, aed: Dataset) -> None:
    html = resident.get("/dataset/aed/", HTTP_ACCEPT_LANGUAGE="ja").content.decode()
    data = _json_ld(html)
    assert data["@context"] == "https://schema.org" and data["@type"] == "Dataset"
    assert data["name"] == "AED設置箇所一覧"
    assert data["description"] == "区内のAED設置場所。"
    assert data["url"] == f"{SITE}/dataset/aed/"
    assert data["license"] == "https://creativecommons.org/licenses/by/4.0/"
    assert data["keywords"] == ["AED", "防災"]
    assert data["temporalCoverage"] == "2025-04-01/2026-03-31"
    csv_resource = aed.resources.order_by("position").first()
    downloads = {d["contentUrl"]: d for d in data["distribution"]}
    download = downloads[f"{SITE}/dataset/aed/resource/{csv_resource.uid}/download"]
    assert download["@type"] == "DataDownload"
    assert download["encodingFormat"] == "text/csv"
    assert "https://maps.example.jp/aed" in downloads
    assert '<link rel="alternate" type="text/turtle" href="/dataset/aed.ttl">' in html
    assert '<a href="/dataset/aed.jsonld">JSON-LD</a>' in html


def test_schema_org_is_escaped_and_english_on_english_pages(
    resident: Client, site_admin: User, aed: Dataset
) -> None:
    services.update_dataset(
        actor=site_admin, dataset=aed, description_en="Ends </script><b>here</b> & more"
    )
    response = resident.get("/dataset/aed/", HTTP_ACCEPT_LANGUAGE="en")
    html = response.content.decode()
    assert "</script><b>" not in html
    data = _json_ld(html)
    assert data["name"] == "AED locations"
    assert data["description"] == "Ends </script><b>here</b> & more"


def test_private_dataset_page_has_no_schema_org(
    client_for: Callable[[User], Client], editor: User, aed: Dataset
) -> None:
    services.update_dataset(actor=editor, dataset=aed, is_public=False)
    html = client_for(editor).get("/dataset/aed/").content.decode()
    assert "application/ld+json" not in html


# ---------------------------------------------------------------- reading DCAT (for harvesting)


def test_parse_reads_back_what_machi_writes(resident: Client, aed: Dataset) -> None:
    for suffix in ("ttl", "rdf", "jsonld"):
        body = resident.get(f"/catalog.{suffix}").content
        (dataset,), next_page = dcat.parse_catalog(body, suffix, f"{SITE}/catalog.{suffix}")
        assert next_page is None
        assert dataset["uri"] == f"{SITE}/dataset/aed"
        assert dataset["title"] == {"ja": "AED設置箇所一覧", "en": "AED locations"}
        assert dataset["description"]["en"] == "Where AEDs are in the ward."
        assert dataset["keywords"] == ["AED", "防災"]
        assert dataset["publisher"]["name"] == {
            "ja": "企画政策部情報政策課",
            "en": "Information Policy Division",
        }
        assert dataset["contact"]["email"] == "opendata@city.example.jp"
        assert dataset["license"] == "https://creativecommons.org/licenses/by/4.0/"
        assert dataset["modified"] == Dataset.objects.get(name="aed").modified
        assert dataset["landing_page"] == f"{SITE}/dataset/aed/"
        assert dataset["temporal"] == {
            "start": datetime.date(2025, 4, 1),
            "end": datetime.date(2026, 3, 31),
        }
        assert f"{SITE}/category/bousai/" in {t["uri"] for t in dataset["themes"]}
        by_format = {d["format"]: d for d in dataset["distributions"]}
        csv = by_format["CSV"]
        version = aed.resources.order_by("position").first().current
        assert csv["media_type"] == "text/csv"
        assert csv["byte_size"] == version.size
        assert csv["checksum"] == {"algorithm": "sha256", "value": version.sha256}
        assert csv["download_url"].endswith("/download")
        assert csv["title"]["ja"] == "AED設置箇所一覧（CSV）"


CKAN_STYLE = """\
@prefix dcat: <http://www.w3.org/ns/dcat#> .
@prefix dct: <http://purl.org/dc/terms/> .
@prefix foaf: <http://xmlns.com/foaf/0.1/> .
@prefix hydra: <http://www.w3.org/ns/hydra/core#> .
@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .

<https://ckan.example.org/catalog.ttl?page=1> a hydra:PagedCollection ;
    hydra:nextPage "/catalog.ttl?page=2" .

<https://ckan.example.org/dataset/parks> a dcat:Dataset ;
    dct:title "公園一覧" ;
    dct:description "Parks" ;
    dcat:keyword "公園" ;
    dct:modified "2024-05-01T10:00:00"^^xsd:dateTime ;
    dct:publisher [ a foaf:Organization ; foaf:name "Example City" ] ;
    dcat:distribution [ a dcat:Distribution ;
        dct:title "parks.csv" ;
        dcat:accessURL <https://ckan.example.org/parks.csv> ;
        dct:format "CSV" ;
        dcat:mediaType "text/csv" ;
        dct:license <http://www.opendefinition.org/licenses/cc-by> ;
        dcat:byteSize "1234"^^xsd:decimal ] .
""".encode()


def test_parse_reads_ckan_style_dcat() -> None:
    (dataset,), next_page = dcat.parse_catalog(
        CKAN_STYLE, "text/turtle", "https://ckan.example.org/catalog.ttl?page=1"
    )
    assert next_page == "https://ckan.example.org/catalog.ttl?page=2"
    assert dataset["title"] == {"ja": "公園一覧", "en": ""}
    assert dataset["modified"] == datetime.datetime(2024, 5, 1, 10, tzinfo=datetime.UTC)
    assert dataset["publisher"]["name"]["ja"] == "Example City"
    assert dataset["license"] == "http://www.opendefinition.org/licenses/cc-by"
    (dist,) = dataset["distributions"]
    assert dist["access_url"] == "https://ckan.example.org/parks.csv"
    assert (dist["format"], dist["media_type"], dist["byte_size"]) == ("CSV", "text/csv", 1234)


@pytest.mark.parametrize(
    ("data", "fmt", "needle"),
    [
        (b"<rdf:RDF", "rdf", "not valid RDF/XML"),
        (b"@prefix broken", "ttl", "not valid Turtle"),
        (b"{", "jsonld", "not JSON"),
        (b'{"@context": "https://schema.org/", "@type": "Dataset"}', "jsonld", "remote @context"),
        (b"{}", "yaml", "Unknown RDF format “yaml”"),
    ],
)
def test_parse_errors_say_what_was_wrong(data: bytes, fmt: str, needle: str) -> None:
    with translation.override("en"), pytest.raises(dcat.DcatParseError, match=needle):
        dcat.parse_catalog(data, fmt, "https://example.org/")


# ---------------------------------------------------------------- DCAT-AP 3.0.0 SHACL


def _validate(data: Graph, shapes: Graph) -> tuple[bool, Graph, str]:
    from pyshacl import validate

    return validate(data, shacl_graph=shapes, inference="none", advanced=False)


def _violations(results: Graph) -> list[str]:
    """Top-level violations (nested sh:detail results explain warnings, they are not ones)."""
    from rdflib.namespace import SH

    (report,) = results.subjects(RDF.type, SH.ValidationReport)
    return sorted(
        f"{results.value(r, SH.resultPath)}: {results.value(r, SH.resultMessage)}"
        for r in results.objects(report, SH.result)
        if results.value(r, SH.resultSeverity) == SH.Violation
    )


@pytest.fixture
def small_catalog(resident: Client, aed: Dataset, plain: Dataset) -> Graph:
    return _graph(resident.get("/catalog.ttl"), "turtle")


def test_catalog_conforms_to_dcat_ap_3_shapes(shared_dir: Path, small_catalog: Graph) -> None:
    shapes = Graph().parse(shared_dir / "dcat-ap" / "dcat-ap-3.0.0-SHACL.ttl", format="turtle")
    conforms, results, text = _validate(small_catalog, shapes)
    assert conforms, text
    # Not vacuous: the shapes did reach the catalog, its datasets and distributions.
    broken = small_catalog
    broken.remove((URIRef(f"{SITE}/dataset/aed"), DCTERMS.description, None))
    conforms, results, _ = _validate(broken, shapes)
    assert not conforms
    assert any("description" in line for line in _violations(results))


# Where the 2.x-style split shapes of the same release contradict the 3.0.0 shapes file
# (docs/dcat.md): we follow the 3.0.0 file and the specification text.
SPLIT_SHAPE_CONFLICTS = {
    # shapes.ttl wants xsd:decimal; the 3.0.0 shapes and the spec want xsd:nonNegativeInteger.
    f"{DCAT.byteSize}: Value is not Literal with datatype xsd:decimal",
    # mdr-vocabularies wants https://spdx.org/…; SPDX and the 3.0.0 shapes name http://spdx.org/….
    f"{SPDX.algorithm}: Value does not conform to Shape "
    "default2:ChecksumAlgorithmRestriction. See details for more information.",
}


def test_catalog_has_no_violations_of_the_split_shapes(
    shared_dir: Path, small_catalog: Graph
) -> None:
    """shapes.ttl, range.ttl and the controlled-vocabulary shapes: warnings only."""
    split = shared_dir / "dcat-ap" / "split-shapes"
    shapes = Graph()
    for name in ("shapes.ttl", "range.ttl", "mdr-vocabularies.shape.ttl"):
        shapes.parse(split / name, format="turtle")
    _, results, _ = _validate(small_catalog, shapes)
    violations = set(_violations(results))
    assert violations - SPLIT_SHAPE_CONFLICTS == set()
    # Not vacuous: a frequency outside the EU vocabulary is caught.
    dataset = URIRef(f"{SITE}/dataset/aed")
    small_catalog.set((dataset, DCTERMS.accrualPeriodicity, URIRef(f"{SITE}/weekly-ish")))
    small_catalog.add((URIRef(f"{SITE}/weekly-ish"), RDF.type, DCTERMS.Frequency))
    _, results, _ = _validate(small_catalog, shapes)
    assert any("accrualPeriodicity" in line for line in _violations(results))


def test_upload_without_media_type_is_still_a_valid_distribution(
    resident: Client, site_admin: User, plain: Dataset, shared_dir: Path
) -> None:
    services.add_resource(
        actor=site_admin,
        dataset=plain,
        name="説明書",
        upload=SimpleUploadedFile("readme.unknownext", b"hello"),
    )
    g = _graph(resident.get("/dataset/hinanjo.ttl"), "turtle")
    shapes = Graph().parse(shared_dir / "dcat-ap" / "dcat-ap-3.0.0-SHACL.ttl", format="turtle")
    conforms, _, text = _validate(g, shapes)
    assert conforms, text
