"""Publishing: files to upload, and tasks run inline unless a test asks for the real queue."""

import io
from collections.abc import Callable, Iterator
from typing import Any

import openpyxl
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import translation

IMMEDIATE = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}

# A department's AED list the way its system exports it: Shift_JIS, a title row,
# full-width digits, 和暦 and ○/× flags, in the legacy standard's column names.
AED_CSV = """\
文京区AED設置箇所一覧（令和6年4月1日現在）,,,,,,,,,,,
都道府県コード又は市区町村コード,NO,都道府県名,市区町村名,名称,名称_カナ,住所,緯度,経度,設置位置,電話番号,小児対応設備の有無
131059,１,東京都,文京区,文京シビックセンター,ブンキョウシビックセンター,東京都文京区春日1-16-21,35.70807,139.75222,１階　総合案内,(03)3812-7111,有
131059,２,東京都,文京区,小石川図書館,コイシカワトショカン,東京都文京区小石川5-9-20,35.71956,139.74068,１階カウンター,03-3814-6745,無
131059,３,東京都,文京区,本郷図書館,ホンゴウトショカン,東京都文京区本駒込1-1-1,35.71885,139.75424,入口,03-3816-6661,有
"""  # noqa: E501 - one record per line, as the file has them


@pytest.fixture(autouse=True)
def _tasks_inline(settings: Any) -> None:
    settings.TASKS = IMMEDIATE


@pytest.fixture(autouse=True)
def _english_messages() -> Iterator[None]:
    # Messages are asserted in English (their msgids); pages in tests use the request's language.
    with translation.override("en"):
        yield


@pytest.fixture
def aed_upload() -> Callable[..., SimpleUploadedFile]:
    def make(text: str = AED_CSV, name: str = "aed.csv") -> SimpleUploadedFile:
        return SimpleUploadedFile(name, text.encode("cp932"))

    return make


def workbook_bytes(rows: list[list[Any]], merges: list[str] = ()) -> bytes:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "一覧"
    for row in rows:
        sheet.append(row)
    for cells in merges:
        sheet.merge_cells(cells)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def published_run(dataset: Any, errors: int) -> Any:
    """What a publication through the pipeline leaves: a new served version of the
    dataset's table (its first when it has none), loaded, and its run with the count of
    errors it was published with."""
    from django.contrib.auth.models import User

    from machi.catalog import services as catalog
    from machi.datastore import services as datastore
    from machi.publish.models import Run, RunStatus

    admin = User.objects.get(username="admin")
    upload = SimpleUploadedFile("aed.csv", "名称,住所\n文京区役所,文京区春日1-16-21\n".encode())
    resource = dataset.resources.first()
    if resource is None:
        resource = catalog.add_resource(actor=admin, dataset=dataset, name="一覧", upload=upload)
        version = resource.current
    else:
        version = catalog.replace_resource(actor=admin, resource=resource, upload=upload)
    datastore.load_version_file(actor=admin, version=version)
    return Run.objects.create(
        dataset=dataset,
        filename="aed.xlsx",
        status=RunStatus.PUBLISHED,
        error_count=errors,
        version=version,
    )
