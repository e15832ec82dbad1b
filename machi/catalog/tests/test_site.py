"""The public site as residents see it."""

import hashlib
import xml.etree.ElementTree as ET
from collections.abc import Callable

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from machi.accounts.models import Department
from machi.catalog import services
from machi.catalog.models import Dataset, News, Showcase

pytestmark = pytest.mark.django_db

CSV = (
    "名称,所在地,緯度,経度\n"
    "本郷保育園,文京区本郷一丁目,35.7079,139.7590\n"
    "春日保育園,文京区春日一丁目,35.7090,139.7530\n"
)


@pytest.fixture
def hoikuen(kikaku: Department, make_dataset: Callable[..., Dataset]) -> Dataset:
    return make_dataset(
        kikaku,
        "hoikuen",
        "認可保育園一覧",
        title_en="Licensed nursery schools",
        description="区内の認可保育園です。",
        tags=["子育て・教育", "防災/避難所"],
        categories=["kosodate"],
        csv=CSV,
    )


def test_home_shows_search_categories_and_latest_updates(
    resident: Client, hoikuen: Dataset
) -> None:
    page = resident.get("/").content.decode()
    assert 'role="search"' in page
    assert "子育て・教育" in page
    assert "認可保育園一覧" in page
    assert "「認可保育園一覧」を更新しました" in page  # automatic news entry


def test_search_page_lists_results_and_facets(resident: Client, hoikuen: Dataset) -> None:
    page = resident.get("/dataset/", {"q": "保育"}).content.decode()
    assert "1 件のデータセット" in page or "1 dataset found" in page
    assert 'href="/dataset/hoikuen/"' in page
    assert (
        "tag=%E5%AD%90%E8%82%B2%E3%81%A6%E3%83%BB%E6%95%99%E8%82%B2" in page
    )  # 子育て・教育 facet


def test_dataset_page_shows_metadata_resources_and_citation(
    resident: Client, hoikuen: Dataset
) -> None:
    page = resident.get("/dataset/hoikuen/").content.decode()
    for expected in [
        "認可保育園一覧",
        "CSV",
        "ダウンロード",
        "企画政策部情報政策課",
        "クリエイティブ・コモンズ 表示 4.0 国際",
        "出典",
    ]:
        assert expected in page, expected


def test_english_switch_shows_english_titles(resident: Client, hoikuen: Dataset) -> None:
    response = resident.post("/i18n/setlang/", {"language": "en", "next": "/dataset/hoikuen/"})
    assert response.status_code == 302
    page = resident.get("/dataset/hoikuen/").content.decode()
    assert '<html lang="en">' in page
    assert "Licensed nursery schools" in page
    assert "Download" in page
    # The licence's deed in English too (the default licence is CC BY 4.0, …/deed.ja).
    assert 'href="https://creativecommons.org/licenses/by/4.0/deed.en" rel="license"' in page
    assert "/4.0/deed.ja" in Client().get("/dataset/hoikuen/").content.decode()  # Japanese


def test_download_gives_the_exact_file_and_a_preview(resident: Client, hoikuen: Dataset) -> None:
    resource = hoikuen.resources.get()
    response = resident.get(resource.download_url())
    body = b"".join(response.streaming_content)
    assert body == CSV.encode()
    assert response["ETag"] == f'"{hashlib.sha256(CSV.encode()).hexdigest()}"'
    assert "attachment" in response["Content-Disposition"]
    page = resident.get(resource.get_absolute_url()).content.decode()
    assert '<th scope="col">名称</th>' in page and "春日保育園" in page


def test_replacing_a_file_keeps_the_earlier_version_downloadable(
    resident: Client, hoikuen: Dataset, site_admin
) -> None:  # type: ignore[no-untyped-def]
    from django.core.files.uploadedfile import SimpleUploadedFile

    resource = hoikuen.resources.get()
    new = CSV + "白山保育園,文京区白山一丁目,35.7200,139.7500\n"
    services.replace_resource(
        actor=site_admin,
        resource=resource,
        upload=SimpleUploadedFile("hoikuen.csv", new.encode()),
    )
    resource.refresh_from_db()
    assert resource.current.number == 2
    current = b"".join(resident.get(resource.download_url()).streaming_content)
    first = b"".join(resident.get(resource.versions.get(number=1).download_url()).streaming_content)
    assert current == new.encode() and first == CSV.encode()


def test_tag_with_slash_and_brackets_has_a_page(resident: Client, hoikuen: Dataset) -> None:
    response = resident.get("/tag/防災/避難所/")
    assert response.status_code == 200
    assert "認可保育園一覧" in response.content.decode()


def test_department_category_news_and_showcase_pages(
    resident: Client, hoikuen: Dataset, site_admin
) -> None:  # type: ignore[no-untyped-def]
    showcase = services.save_showcase(
        actor=site_admin,
        showcase=Showcase(name="hoiku-map", title="保育園マップ", author="文京ハッカソン"),
        datasets=[hoikuen],
    )
    news = News.objects.get(dataset=hoikuen)
    for url in [
        "/department/",
        "/department/kikaku/",
        "/category/",
        "/category/kosodate/",
        "/news/",
        f"/news/{news.pk}/",
        "/showcase/",
        showcase.get_absolute_url(),
    ]:
        response = resident.get(url)
        assert response.status_code == 200, url
    assert "認可保育園一覧" in resident.get("/showcase/hoiku-map/").content.decode()
    assert "認可保育園一覧" in resident.get("/department/kikaku/").content.decode()


def test_private_dataset_is_hidden_from_residents(
    resident: Client, kikaku: Department, make_dataset: Callable[..., Dataset], client_for, editor
) -> None:  # type: ignore[no-untyped-def]
    make_dataset(kikaku, "draft", "準備中のデータ", is_public=False)
    assert resident.get("/dataset/draft/").status_code == 404
    assert "準備中のデータ" not in resident.get("/").content.decode()
    assert client_for(editor).get("/dataset/draft/").status_code == 200


def test_atom_feeds_list_datasets_and_news(resident: Client, hoikuen: Dataset) -> None:
    ns = {"a": "http://www.w3.org/2005/Atom"}
    datasets = ET.fromstring(resident.get("/feeds/datasets.atom").content)
    assert [e.findtext("a:title", namespaces=ns) for e in datasets.findall("a:entry", ns)] == [
        "認可保育園一覧"
    ]
    news = ET.fromstring(resident.get("/feeds/news.atom").content)
    assert news.find("a:entry/a:title", ns).text == "「認可保育園一覧」を更新しました"


def test_healthz_reports_the_database(resident: Client) -> None:
    response = resident.get("/healthz")
    assert response.status_code == 200
    assert response.json()["status"] == "ok"


def test_pages_send_security_headers(resident: Client) -> None:
    response = resident.get("/")
    assert "default-src 'self'" in response["Content-Security-Policy"]
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"


def test_english_pages_use_english_names_where_staff_gave_them(
    resident: Client, hoikuen: Dataset
) -> None:
    page = resident.get("/dataset/hoikuen/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Information Policy Division" in page
    assert "Bunkyo City Open Data" in page
    assert "区内の認可保育園です。" in page  # no English description: the Japanese one stays


def test_saving_without_changes_does_not_mark_the_dataset_updated(
    hoikuen: Dataset,
    site_admin,  # type: ignore[no-untyped-def]
) -> None:
    before = hoikuen.modified
    services.update_dataset(actor=site_admin, dataset=hoikuen, title=hoikuen.title)
    hoikuen.refresh_from_db()
    assert hoikuen.modified == before
    services.update_dataset(actor=site_admin, dataset=hoikuen, description="更新しました。")
    hoikuen.refresh_from_db()
    assert hoikuen.modified > before
    assert News.objects.filter(dataset=hoikuen, kind="update").exists()


def test_change_history_names_fields_as_readers_know_them(
    resident: Client,
    hoikuen: Dataset,
    site_admin,  # type: ignore[no-untyped-def]
) -> None:
    services.update_dataset(
        actor=site_admin, dataset=hoikuen, title="認可保育園の一覧", description="更新しました。"
    )
    page = resident.get(f"/dataset/{hoikuen.name}/").content.decode()
    history = page[page.index('id="history-heading"') :]
    assert "タイトル、説明を変更しました" in history
    assert "description" not in history and "harvest_hash" not in history
    english = resident.get(f"/dataset/{hoikuen.name}/", HTTP_ACCEPT_LANGUAGE="en").content
    history = english.decode()[english.decode().index('id="history-heading"') :]
    assert "Changed title, description" in history


def test_change_history_lists_each_published_version_and_roll_back(
    resident: Client,
    hoikuen: Dataset,
    site_admin,  # type: ignore[no-untyped-def]
) -> None:
    resource = hoikuen.resources.get()
    first = resource.current
    services.replace_resource(
        actor=site_admin,
        resource=resource,
        upload=SimpleUploadedFile(
            "hoikuen.csv", (CSV + "根津保育園,文京区根津一丁目,35.72,139.76\n").encode()
        ),
    )
    services.make_current(actor=site_admin, version=first)
    services.update_resource(actor=site_admin, resource=resource, description="毎月更新")

    page = resident.get(f"/dataset/{hoikuen.name}/").content.decode()
    history = page[page.index('id="history-heading"') :]
    lines = [line for line in history.split("<li>")[1:]]
    assert "認可保育園一覧（CSV）の説明を変更しました" in lines[0]
    assert "認可保育園一覧（CSV）をバージョン 1 に戻しました" in lines[1]
    assert "認可保育園一覧（CSV）をバージョン 2 に更新しました" in lines[2]
    assert "認可保育園一覧（CSV）を追加しました" in lines[3]
    assert "データセットを作成しました" in lines[4]
    english = resident.get(f"/dataset/{hoikuen.name}/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    history = english[english.index('id="history-heading"') :]
    assert "Updated 認可保育園一覧（CSV） to version 2" in history
    assert "Rolled 認可保育園一覧（CSV） back to version 1" in history


def test_a_dataset_following_a_standard_names_it(
    resident: Client, kikaku: Department, make_dataset: Callable[..., Dataset]
) -> None:
    make_dataset(kikaku, "toilets", "区内のトイレ", standard="public-toilet-2026")
    page = resident.get("/dataset/toilets/").content.decode()
    assert "<dd>公衆トイレ一覧</dd>" in page and "<dd>public-toilet-2026</dd>" not in page
    english = resident.get("/dataset/toilets/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "<dd>Public Toilets</dd>" in english
