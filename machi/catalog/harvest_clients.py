"""Reading other catalogs for harvesting: what the CKAN and DCAT clients share.

A client turns a source into pages of `RemoteDataset`s. It knows nothing of our models;
machi.catalog.harvest decides what to do with each record. A source that cannot be read
raises `SourceError` (the run stops, nothing is withdrawn); one record that cannot be
understood raises `RecordError` (logged, the run goes on).
"""

from __future__ import annotations

import datetime
import hashlib
import json
import re
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.utils.translation import gettext as _

if TYPE_CHECKING:
    from machi.catalog.harvest_ckan import CkanClient
    from machi.catalog.harvest_dcat import DcatClient


USER_AGENT = "machi-harvest"
MAX_PAGES = 10_000  # a source that never stops paging is broken, not big


class SourceError(Exception):
    """The source as a whole could not be read (network, HTTP status, not a catalog)."""


class RecordError(Exception):
    """One remote record could not be understood."""


@dataclass
class RemoteResource:
    remote_id: str
    name: str
    url: str
    description: str = ""
    format: str = ""
    media_type: str = ""
    size: int | None = None
    sha256: str = ""


@dataclass
class RemoteDataset:
    """A remote record in our terms; `raw` is the record as the source sent it."""

    remote_id: str
    name: str
    title: str
    remote_url: str
    title_en: str = ""
    description: str = ""
    description_en: str = ""
    tags: list[str] = field(default_factory=list)
    groups: list[str] = field(default_factory=list)
    license_id: str = ""
    license_title: str = ""
    license_url: str = ""
    license_open: bool | None = None
    publisher: str = ""
    contact_name: str = ""
    contact_email: str = ""
    modified: datetime.datetime | None = None
    # machi fields another machi sends as CKAN extras (update_frequency, spatial ...).
    details: dict[str, str] = field(default_factory=dict)
    resources: list[RemoteResource] = field(default_factory=list)
    raw: dict[str, Any] = field(default_factory=dict, repr=False)

    def fingerprint(self) -> str:
        """A hash of everything we store of the record: equal means unchanged."""
        data = asdict(self)
        data.pop("raw")
        text = json.dumps(data, sort_keys=True, default=str, ensure_ascii=False)
        return hashlib.sha256(text.encode()).hexdigest()


@dataclass
class Page:
    records: list[RemoteDataset | RecordProblem]
    # The newest modification time seen on this page (None when the source gives none).
    newest: datetime.datetime | None = None


@dataclass
class RecordProblem:
    """A record the client could not map; still counts as seen at the source."""

    remote_id: str
    title: str
    message: str
    raw: Any


def fetch(url: str, *, accept: str) -> tuple[bytes, str]:
    """GET `url` with a timeout and a size cap; returns the body and its content type."""
    if urllib.parse.urlsplit(url).scheme not in {"http", "https"}:
        raise SourceError(
            _("Only http and https addresses can be harvested: %(url)s") % {"url": url}
        )
    limit = settings.HARVEST_MAX_BYTES
    request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT, "Accept": accept})
    try:
        with urllib.request.urlopen(request, timeout=settings.HARVEST_TIMEOUT) as response:  # noqa: S310 - staff-configured http(s) source
            body = response.read(limit + 1)
            content_type = response.headers.get_content_type()
    except urllib.error.HTTPError as error:
        raise SourceError(
            _("%(url)s answered HTTP %(status)s.") % {"url": url, "status": error.code}
        ) from error
    except (urllib.error.URLError, OSError) as error:
        reason = getattr(error, "reason", error)
        raise SourceError(
            _("Could not reach %(url)s: %(reason)s") % {"url": url, "reason": reason}
        ) from error
    if len(body) > limit:
        raise SourceError(
            _("%(url)s sent more than %(mb)d MB in one response.")
            % {"url": url, "mb": limit // 1048576}
        )
    return body, content_type


def parse_time(value: Any) -> datetime.datetime | None:
    """CKAN's `metadata_modified` (UTC without a zone) or an ISO date/time, as aware UTC."""
    if isinstance(value, datetime.datetime):
        moment = value
    elif isinstance(value, str) and value.strip():
        try:
            moment = datetime.datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError:
            return None
    else:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=datetime.UTC)
    return moment.astimezone(datetime.UTC)


def wished_name(*candidates: str) -> str:
    """A name for our URL (`slug_validator` rules) from the remote name or ID."""
    for candidate in candidates:
        name = re.sub(r"[^a-z0-9_-]+", "-", (candidate or "").lower()).strip("-_")[:100]
        if len(name) >= 2:
            return name
    digest = hashlib.sha256("".join(candidates).encode()).hexdigest()[:12]
    return f"dataset-{digest}"


def sha256_of(value: Any) -> str:
    text = clean(value).lower().removeprefix("sha256:")
    return text if re.fullmatch(r"[0-9a-f]{64}", text) else ""


def size_of(value: Any) -> int | None:
    try:
        size = int(value)
    except (TypeError, ValueError):
        return None
    return size if size >= 0 else None


def clean(value: Any) -> str:
    """A string stripped of surrounding space; anything else (None, numbers) as empty."""
    return value.strip() if isinstance(value, str) else ""


def client_for(kind: str, url: str) -> CkanClient | DcatClient:
    """The client that reads a source of this kind (machi is read through its CKAN API)."""
    if kind == "dcat":
        from machi.catalog.harvest_dcat import DcatClient

        return DcatClient(url)
    from machi.catalog.harvest_ckan import CkanClient

    return CkanClient(url)
