import datetime
import uuid

from ninja import Field, Schema


class DepartmentOut(Schema):
    slug: str
    name: str
    name_en: str


class ResourceOut(Schema):
    id: uuid.UUID
    name: str
    name_en: str
    description: str
    format: str
    url: str
    size: int | None
    sha256: str
    encoding: str
    version: int | None
    modified: datetime.datetime
    datastore: str | None = Field(
        None, description="URL of the rows API when the resource's table is loaded, else null."
    )


class LicenseOut(Schema):
    id: str
    title: str
    url: str


class DatasetSummary(Schema):
    name: str
    title: str
    title_en: str
    description: str
    tags: list[str]
    categories: list[str]
    department: DepartmentOut
    license: LicenseOut
    resources: list[ResourceOut]
    metadata_created: datetime.datetime
    metadata_modified: datetime.datetime
    url: str


class DatasetOut(DatasetSummary):
    description_en: str
    update_frequency: str
    temporal_start: datetime.date | None
    temporal_end: datetime.date | None
    spatial: str
    contact_name: str
    contact_email: str
    contact_phone: str
    standard: str
    is_public: bool
    showcases: list[str]


class FacetValueOut(Schema):
    value: str
    label: str
    count: int


class DatasetSearchOut(Schema):
    count: int
    page: int
    page_size: int
    sort: str
    results: list[DatasetSummary]
    facets: dict[str, list[FacetValueOut]]
