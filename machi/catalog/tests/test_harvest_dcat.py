"""Harvesting DCAT files: a catalog in two Hydra pages, served by a real local HTTP server."""

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.utils import translation
from rdflib import Graph

from machi.catalog.harvest import new_job, run_job
from machi.catalog.models import Dataset, HarvestJob, HarvestRecord
from machi.catalog.tests.harvest_helpers import make_source, serve

PREFIXES = """
@prefix dcat: <http://www.w3.org/ns/dcat#> .
@prefix dct: <http://purl.org/dc/terms/> .
@prefix foaf: <http://xmlns.com/foaf/0.1/> .
@prefix vcard: <http://www.w3.org/2006/vcard/ns#> .
@prefix spdx: <http://spdx.org/rdf/terms#> .
@prefix hydra: <http://www.w3.org/ns/hydra/core#> .
@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .
"""

# A prefecture's catalog as ckanext-dcat writes it: page 1 of 2.
PAGE_1 = (
    PREFIXES
    + """
<https://opendata.example.lg.jp/catalog> a dcat:Catalog ;
    dct:title "東京都オープンデータカタログ"@ja ;
    dcat:dataset <https://opendata.example.lg.jp/dataset/hinanjo> .

<https://opendata.example.lg.jp/dataset/hinanjo> a dcat:Dataset ;
    dct:identifier "t000003d0000000093" ;
    dct:title "避難所一覧"@ja, "Evacuation shelters"@en ;
    dct:description "都内の指定避難所。"@ja ;
    dcat:keyword "防災"@ja, "避難所"@ja ;
    dct:publisher [ a foaf:Organization ; foaf:name "東京都総務局"@ja ] ;
    dcat:contactPoint [ a vcard:Organization ; vcard:fn "総合防災部"@ja ;
        vcard:hasEmail <mailto:bousai@example.lg.jp> ] ;
    dct:license <https://creativecommons.org/licenses/by/4.0/> ;
    dct:modified "2026-10-01T09:00:00+09:00"^^xsd:dateTime ;
    dcat:landingPage <https://opendata.example.lg.jp/dataset/hinanjo> ;
    dcat:distribution <https://opendata.example.lg.jp/dataset/hinanjo/csv> .

<https://opendata.example.lg.jp/dataset/hinanjo/csv> a dcat:Distribution ;
    dct:title "避難所一覧（CSV）"@ja ;
    dcat:downloadURL <https://opendata.example.lg.jp/files/hinanjo.csv> ;
    dcat:mediaType <https://www.iana.org/assignments/media-types/text/csv> ;
    dcat:byteSize "2048"^^xsd:nonNegativeInteger ;
    spdx:checksum [ a spdx:Checksum ;
        spdx:algorithm spdx:checksumAlgorithm_sha256 ;
        spdx:checksumValue
            "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"^^xsd:hexBinary ] .

<{base}/catalog.ttl?page=1> a hydra:PagedCollection ;
    hydra:totalItems 2 ;
    hydra:itemsPerPage 1 ;
    hydra:nextPage "{base}/catalog.ttl?page=2" .
"""
)

PAGE_2 = (
    PREFIXES
    + """
<https://opendata.example.lg.jp/catalog> a dcat:Catalog ;
    dcat:dataset <https://opendata.example.lg.jp/dataset/jinko> .

<https://opendata.example.lg.jp/dataset/jinko> a dcat:Dataset ;
    dct:identifier "t000001d0000000010" ;
    dct:title "{title}"@ja ;
    dct:license <https://creativecommons.org/licenses/by/4.0/deed.ja> ;
    dct:modified "2026-09-01"^^xsd:date ;
    dcat:distribution [ a dcat:Distribution ;
        dcat:accessURL <https://opendata.example.lg.jp/files/jinko.xlsx> ] .

<{base}/catalog.ttl?page=2> a hydra:PagedCollection ;
    hydra:totalItems 2 ;
    hydra:itemsPerPage 1 .
"""
)


class Catalog:
    """The files a test serves: `pages[n]` is page n's Turtle, `{base}` the server's URL."""

    def __init__(self, fmt: str = "turtle") -> None:
        self.fmt = fmt
        self.pages = {"1": PAGE_1, "2": PAGE_2.replace("{title}", "人口統計")}
        self.base = ""

    def route(self, path: str, params: dict[str, str]) -> tuple[int, str, bytes]:
        text = self.pages.get(params.get("page", "1"))
        if path != "/catalog.ttl" or text is None:
            return 404, "text/plain", b"not found"
        text = text.replace("{base}", self.base)
        if self.fmt == "turtle":
            return 200, "text/turtle; charset=utf-8", text.encode()
        graph = Graph().parse(data=text, format="turtle")
        media = {"xml": "application/rdf+xml", "json-ld": "application/ld+json"}[self.fmt]
        return 200, media, graph.serialize(format=self.fmt, encoding="utf-8")


@pytest.fixture(autouse=True)
def _english() -> Iterator[None]:
    with translation.override("en"):
        yield


def full_run(source: Any) -> HarvestJob:
    return run_job(new_job(source=source, mode=HarvestJob.Mode.FULL, trigger="test"))


@contextmanager
def served(catalog: Catalog) -> Iterator[str]:
    with serve(catalog.route) as (url, _requests):
        catalog.base = url
        yield f"{url}/catalog.ttl"


@pytest.mark.parametrize("fmt", ["turtle", "xml", "json-ld"])
def test_every_page_of_a_dcat_catalog_is_harvested(site_admin: User, fmt: str) -> None:
    with served(Catalog(fmt)) as url:
        source = make_source(site_admin, url, kind="dcat")
        job = full_run(source)
    assert job.status == HarvestJob.Status.DONE, job.message
    assert (job.created, job.errors) == (2, 0)
    shelters = Dataset.objects.get(remote_id="t000003d0000000093")
    assert (shelters.title, shelters.title_en) == ("避難所一覧", "Evacuation shelters")
    assert shelters.name == "hinanjo" and shelters.harvest_source == source
    assert shelters.original_publisher == "東京都総務局"
    assert shelters.remote_url == "https://opendata.example.lg.jp/dataset/hinanjo"
    assert (shelters.contact_name, shelters.contact_email) == ("総合防災部", "bousai@example.lg.jp")
    assert shelters.license.slug == "cc-by-4.0"
    assert sorted(shelters.tags.values_list("name", flat=True)) == ["避難所", "防災"]
    csv = shelters.resources.get().current
    assert csv.url == "https://opendata.example.lg.jp/files/hinanjo.csv"
    assert (csv.media_type, csv.size) == ("text/csv", 2048)
    assert csv.sha256.startswith("9f86d081") and csv.format == "CSV"
    population = Dataset.objects.get(remote_id="t000001d0000000010")
    assert population.title == "人口統計" and population.license.slug == "cc-by-4.0"
    assert population.resources.get().current.format == "XLSX"


def test_a_changed_file_updates_and_a_dropped_dataset_is_withdrawn(site_admin: User) -> None:
    catalog = Catalog()
    with served(catalog) as url:
        source = make_source(site_admin, url, kind="dcat", grace_days=0)
        full_run(source)
        catalog.pages["2"] = catalog.pages["2"].replace("人口統計", "人口統計（町丁別）")
        job = full_run(source)
        assert (job.created, job.updated, job.unchanged) == (0, 1, 1)
        assert Dataset.objects.get(remote_id="t000001d0000000010").title == "人口統計（町丁別）"
        # The shelters leave the catalog: page 1 lists nothing now and points on to page 2.
        catalog.pages["1"] = (
            PREFIXES
            + """
<{base}/catalog.ttl?page=1> a hydra:PagedCollection ;
    hydra:nextPage "{base}/catalog.ttl?page=2" .
"""
        )
        job = full_run(source)
    assert job.withdrawn == 1
    shelters = Dataset.objects.get(remote_id="t000003d0000000093")
    assert not shelters.is_public and shelters.harvest_withdrawn_at is not None
    assert HarvestRecord.objects.filter(job=job, action="withdrawn", dataset=shelters).exists()


def test_a_broken_page_fails_the_run_and_withdraws_nothing(site_admin: User) -> None:
    catalog = Catalog()
    with served(catalog) as url:
        source = make_source(site_admin, url, kind="dcat", grace_days=0)
        full_run(source)
        catalog.pages["2"] = "@prefix dcat: <http://www.w3.org/ns/dcat#> .\n<a> dcat:dataset ."
        job = full_run(source)
    assert job.status == HarvestJob.Status.FAILED
    assert "could not be read as RDF" in job.message and "page=2" in job.message
    assert Dataset.objects.filter(harvest_source=source, is_public=True).count() == 2
