"""The Atom feeds as a feed reader validates them (RFC 4287)."""

import xml.etree.ElementTree as ET
from collections.abc import Callable

import pytest
from django.test import Client

from machi.accounts.models import Department
from machi.catalog.models import Dataset

pytestmark = pytest.mark.django_db

ATOM = {"a": "http://www.w3.org/2005/Atom"}


def test_news_entries_have_absolute_ids_and_an_updated_date(
    resident: Client, kikaku: Department, make_dataset: Callable[..., Dataset]
) -> None:
    """Entries had <id>/news/109/</id> (relative) and no <updated>, both required."""
    make_dataset(kikaku, "hoikuen", "認可保育園一覧", csv="名称\n本郷保育園\n")
    feed = ET.fromstring(resident.get("/feeds/news.atom").content)
    entries = feed.findall("a:entry", ATOM)
    assert entries
    for entry in entries:
        assert entry.findtext("a:id", namespaces=ATOM).startswith("http://testserver/news/")
        assert entry.findtext("a:updated", namespaces=ATOM)
        summary = entry.find("a:summary", ATOM)
        assert summary is None or (summary.text or "").strip()
    ids = [entry.findtext("a:id", namespaces=ATOM) for entry in entries]
    assert len(ids) == len(set(ids))


def test_a_feed_reader_polling_gets_304_until_something_changes(
    resident: Client, kikaku: Department, make_dataset: Callable[..., Dataset]
) -> None:
    make_dataset(kikaku, "hoikuen", "認可保育園一覧", csv="名称\n本郷保育園\n")
    for path in ["/feeds/datasets.atom", "/feeds/news.atom"]:
        first = resident.get(path)
        assert first.status_code == 200 and first["Last-Modified"], path
        again = resident.get(path, HTTP_IF_MODIFIED_SINCE=first["Last-Modified"])
        assert again.status_code == 304, path
        earlier = resident.get(path, HTTP_IF_MODIFIED_SINCE="Mon, 01 Jan 2024 00:00:00 GMT")
        assert earlier.status_code == 200 and b"<entry>" in earlier.content, path
