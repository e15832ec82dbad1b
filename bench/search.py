"""Search latency on generated Japanese catalogs of growing size, per database engine.

Run on demand (not in CI); it takes several minutes:

    .venv/bin/python bench/search.py [--sizes 1000,10000,100000] [--engines sqlite,postgresql]
                                     [--queries N] [--postgres-url URL]

Django reads its settings once per process, so each engine runs in a child process of this
script (`--worker ENGINE`): it migrates an empty database, grows the catalog to each size in
turn (same database), times machi.catalog.queries.search_datasets and prints JSON on stdout.
The parent prints the table. Target: p95 under 50 ms at 100k datasets on SQLite, and latency
growing much slower than the catalog.

PostgreSQL: the database named in --postgres-url is dropped and created again on every run, so
its name must contain "bench".
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SIZES = (1000, 10000, 100000)
DEFAULT_ENGINES = ("sqlite", "postgresql")
DEFAULT_POSTGRES_URL = "postgres://postgres@127.0.0.1:5432/machi_bench"
TARGET_SIZE = 100000
TARGET_P95_MS = 50.0
WARMUPS = 2
BATCH = 2000
SEED = 20240401
SHOWN_SQL = 5  # queries whose slowest SQL statement the report prints
SQL_CHARS = 200

# --- Vocabulary -----------------------------------------------------------------------------
# Composed from what Tokyo municipalities actually publish, so that token frequencies (and so
# posting-list lengths) look like a real catalog's: 保育 matches a few percent of datasets,
# 一覧 a large share, 文京区 about a third.

MUNICIPALITIES: tuple[tuple[str, str], ...] = (
    ("千代田区", "Chiyoda"),
    ("中央区", "Chuo"),
    ("港区", "Minato"),
    ("新宿区", "Shinjuku"),
    ("文京区", "Bunkyo"),
    ("台東区", "Taito"),
    ("墨田区", "Sumida"),
    ("江東区", "Koto"),
    ("品川区", "Shinagawa"),
    ("目黒区", "Meguro"),
    ("大田区", "Ota"),
    ("世田谷区", "Setagaya"),
    ("渋谷区", "Shibuya"),
    ("中野区", "Nakano"),
    ("杉並区", "Suginami"),
    ("豊島区", "Toshima"),
    ("北区", "Kita"),
    ("荒川区", "Arakawa"),
    ("板橋区", "Itabashi"),
    ("練馬区", "Nerima"),
    ("足立区", "Adachi"),
    ("葛飾区", "Katsushika"),
    ("江戸川区", "Edogawa"),
    ("八王子市", "Hachioji"),
    ("立川市", "Tachikawa"),
    ("武蔵野市", "Musashino"),
    ("三鷹市", "Mitaka"),
    ("青梅市", "Ome"),
    ("府中市", "Fuchu"),
    ("昭島市", "Akishima"),
    ("調布市", "Chofu"),
    ("町田市", "Machida"),
    ("小金井市", "Koganei"),
    ("小平市", "Kodaira"),
    ("日野市", "Hino"),
    ("東村山市", "Higashimurayama"),
    ("国分寺市", "Kokubunji"),
    ("国立市", "Kunitachi"),
    ("西東京市", "Nishitokyo"),
    ("狛江市", "Komae"),
    ("多摩市", "Tama"),
    ("稲城市", "Inagi"),
)
HOME = "文京区"  # the ward running the catalog publishes most of it
HOME_SHARE = 0.3

YEARS: tuple[tuple[str, str], ...] = (
    ("平成28年度", "FY2016"),
    ("平成29年度", "FY2017"),
    ("平成30年度", "FY2018"),
    ("令和元年度", "FY2019"),
    ("令和2年度", "FY2020"),
    ("令和3年度", "FY2021"),
    ("令和4年度", "FY2022"),
    ("令和5年度", "FY2023"),
    ("令和6年度", "FY2024"),
    ("令和6年4月1日現在", "as of 1 April 2024"),
    ("令和7年1月1日現在", "as of 1 January 2025"),
)

# (slug, name, name_en): about 30 departments of a ward office.
DEPARTMENTS: tuple[tuple[str, str, str], ...] = (
    ("kikaku", "企画政策部 企画課", "Planning Division"),
    ("zaisei", "企画政策部 財政課", "Budget Division"),
    ("koho", "企画政策部 広報課", "Public Relations Division"),
    ("joho", "企画政策部 情報政策課", "Information Policy Division"),
    ("somu", "総務部 総務課", "General Affairs Division"),
    ("senkyo", "選挙管理委員会事務局", "Election Administration Commission"),
    ("kumin", "区民部 区民課", "Residents Division"),
    ("koseki", "区民部 戸籍住民課", "Family Register and Resident Records Division"),
    ("zeimu", "区民部 税務課", "Taxation Division"),
    ("keizai", "区民部 経済課", "Economic Affairs Division"),
    ("academy", "アカデミー推進部 アカデミー推進課", "Academy Promotion Division"),
    ("kanko", "アカデミー推進部 観光・国際課", "Tourism and International Division"),
    ("sports", "アカデミー推進部 スポーツ振興課", "Sports Promotion Division"),
    ("toshokan", "アカデミー推進部 真砂中央図書館", "Masago Central Library"),
    ("fukushi", "福祉部 福祉政策課", "Welfare Policy Division"),
    ("koreisha", "福祉部 高齢福祉課", "Elderly Welfare Division"),
    ("kaigo", "福祉部 介護保険課", "Long-term Care Insurance Division"),
    ("kosodate", "子ども家庭部 子育て支援課", "Child Rearing Support Division"),
    ("hoiku", "子ども家庭部 幼児保育課", "Early Childhood Care Division"),
    ("jido", "子ども家庭部 児童青少年課", "Children and Youth Division"),
    ("eisei", "保健衛生部 生活衛生課", "Environmental Health Division"),
    ("kenko", "保健衛生部 健康推進課", "Health Promotion Division"),
    ("toshikeikaku", "都市計画部 都市計画課", "City Planning Division"),
    ("jutaku", "都市計画部 住環境課", "Housing Division"),
    ("doboku", "土木部 管理課", "Civil Engineering Division"),
    ("midori", "土木部 みどり公園課", "Parks and Greenery Division"),
    ("kotsu", "土木部 交通対策課", "Traffic Division"),
    ("kankyo", "資源環境部 環境政策課", "Environmental Policy Division"),
    ("seiso", "資源環境部 リサイクル清掃課", "Recycling and Sanitation Division"),
    ("bousai", "総務部 防災課", "Disaster Prevention Division"),
    ("gakumu", "教育推進部 学務課", "School Affairs Division"),
)


@dataclass(frozen=True)
class Subject:
    """What a dataset is about; its department, category and tags follow from it."""

    ja: str
    en: str
    department: str  # slug in DEPARTMENTS
    category: str  # slug of a category loaded by the migrations
    kind: str  # "facility" (a list of places) or "stat" (figures and documents)
    tags: tuple[str, ...]


# ja | en | department | category | kind | tags. Only the first two say 保育, so 保育 matches
# about 4% of the catalog (plus the odd stray tag); every subject is equally likely.
_SUBJECTS = """
認可保育園 | licensed nursery schools | hoiku | kosodate | facility | 保育 保育園 子育て・教育
保育所等の待機児童数 | children waiting for nursery places | hoiku | kosodate | stat | 保育 待機児童 子育て・教育
幼稚園 | kindergartens | gakumu | kosodate | facility | 幼稚園 子育て・教育
児童館 | children's centers | jido | kosodate | facility | 児童館 子育て・教育 子育て
育成室 | after-school clubs | jido | kosodate | facility | 育成室 放課後 子育て
子育てひろば | child-rearing plazas | kosodate | kosodate | facility | 子育て 子育て支援 親子
図書館 | libraries | toshokan | kanko-bunka | facility | 図書館 生涯学習 読書
図書館の蔵書数と貸出冊数 | library holdings and loans | toshokan | kanko-bunka | stat | 図書館 統計 読書
公園・児童遊園 | parks and playgrounds | midori | machizukuri | facility | 公園 みどり 遊具
区立公園の樹木 | trees in ward parks | midori | kankyo | stat | 公園 樹木 緑化
避難所 | evacuation shelters | bousai | bousai | facility | 防災 避難所 防災/避難所
指定緊急避難場所 | emergency evacuation sites | bousai | bousai | facility | 防災 避難場所 防災/避難所
AED設置場所 | AED locations | kenko | bousai | facility | AED 救命 防災/救命
公衆トイレ | public toilets | doboku | kurashi | facility | トイレ 公衆トイレ バリアフリー
自転車駐車場 | bicycle parking | kotsu | kotsu | facility | 自転車 駐輪場 交通
公衆無線LAN（Wi-Fi）アクセスポイント | public Wi-Fi access points | joho | kurashi | facility | Wi-Fi 公衆無線LAN 情報通信
医療機関 | medical institutions | kenko | kenko-fukushi | facility | 医療 医療機関 病院
薬局 | pharmacies | eisei | kenko-fukushi | facility | 薬局 医療 健康
介護サービス事業所 | care service providers | kaigo | kenko-fukushi | facility | 介護 介護サービス 高齢者
高齢者あんしん相談センター | elderly support centers | koreisha | kenko-fukushi | facility | 高齢者 高齢者福祉 福祉
区民センター集会室 | community center meeting rooms | kumin | kurashi | facility | 区民センター 集会室 施設予約
区立小学校 | ward elementary schools | gakumu | kosodate | facility | 小学校 学校 教育
区立中学校 | ward junior high schools | gakumu | kosodate | facility | 中学校 学校 教育
文化財 | cultural properties | academy | kanko-bunka | facility | 文化財 史跡 観光
観光スポット | sightseeing spots | kanko | kanko-bunka | facility | 観光 観光スポット 地図
スポーツ施設 | sports facilities | sports | kanko-bunka | facility | スポーツ 体育館 プール
コミュニティバス停留所 | community bus stops | kotsu | kotsu | facility | コミュニティバス バス停 交通
消火栓・防火水槽 | fire hydrants and water tanks | bousai | bousai | facility | 消火栓 防火水槽 防災/消防水利
防犯カメラ設置場所 | security camera locations | bousai | bousai | facility | 防犯 防犯カメラ 安全・安心
指定喫煙所 | designated smoking areas | kankyo | kankyo | facility | 喫煙所 環境
投票所 | polling stations | senkyo | gyosei | facility | 選挙 投票所
食品営業許可施設 | licensed food businesses | eisei | sangyo | facility | 食品衛生 食品営業 営業許可
資源回収拠点 | recycling collection points | seiso | kankyo | facility | 資源 リサイクル ごみ
公共施設 | public facilities | kikaku | shisetsu | facility | 公共施設 施設一覧 位置情報
区営住宅 | ward housing | jutaku | machizukuri | facility | 区営住宅 住宅
商店街 | shopping streets | keizai | sangyo | facility | 商店街 産業
人口（町丁別） | population by town | koseki | tokei | stat | 人口 人口（町丁別） 統計
世帯数（町丁別） | households by town | koseki | tokei | stat | 世帯 世帯数（町丁別） 統計
年齢別人口 | population by age | koseki | tokei | stat | 人口 人口（年齢別） 統計
外国人住民数（国籍別） | foreign residents by nationality | koseki | tokei | stat | 外国人住民 国籍別 統計
出生数・死亡数 | births and deaths | koseki | tokei | stat | 出生 死亡 人口動態
ごみ収集量 | waste collected | seiso | kankyo | stat | ごみ ごみ収集量 統計
ごみ・資源の収集日 | garbage and recycling collection days | seiso | kankyo | stat | ごみ 収集日 資源
予算 | budget | zaisei | gyosei | stat | 予算 財政 行政
決算 | settlement of accounts | zaisei | gyosei | stat | 決算 財政 行政
選挙の投票結果 | election results | senkyo | gyosei | stat | 選挙 投票結果 統計
区税収入 | ward tax revenue | zeimu | gyosei | stat | 区税 税 財政
観光客数 | visitor numbers | kanko | kanko-bunka | stat | 観光 観光客数 統計
イベント情報 | events | koho | kanko-bunka | stat | イベント 広報
浸水ハザードマップ | flood hazard map | bousai | bousai | stat | ハザードマップ 浸水 防災
都市計画図 | city planning maps | toshikeikaku | machizukuri | stat | 都市計画 用途地域 地図
道路工事予定 | planned road works | doboku | kotsu | stat | 道路 道路工事 交通
大気汚染測定結果 | air quality measurements | kankyo | kankyo | stat | 大気 環境 統計
創業支援施策 | startup support | keizai | sangyo | stat | 創業支援 中小企業 産業
"""  # noqa: E501


def _parse_subjects(table: str) -> tuple[Subject, ...]:
    subjects = []
    for line in table.strip().splitlines():
        ja, en, department, category, kind, tags = (cell.strip() for cell in line.split("|"))
        subjects.append(Subject(ja, en, department, category, kind, tuple(tags.split())))
    return tuple(subjects)


SUBJECTS = _parse_subjects(_SUBJECTS)

# Free tags as staff write them; besides its subject's tags a dataset picks a few of these.
EXTRA_TAGS = """
子育て支援 親子 教育 学校 通学路 生涯学習 みどり 遊具 樹木 防災/備蓄倉庫 防災/帰宅困難者
救命 消火栓 ハザードマップ 浸水 土砂災害 防犯 安全・安心 だれでもトイレ 放置自転車
シェアサイクル バス停 道路 橋梁 情報通信 人口（男女別） 人口動態 統計/人口 統計/世帯 病院
診療所 歯科 健康 健診 予防接種 介護保険 高齢者福祉 福祉 障害者福祉 集会室 施設予約 史跡
イベント 体育館 プール 運動場 財政 区税 税 リサイクル 粗大ごみ 収集日 大気 騒音 食品衛生
営業許可 住宅 空き家 都市計画 用途地域 地区計画 建築 産業 中小企業 就労 施設一覧 位置情報
推奨データセット 自治体標準オープンデータセット オープンデータ 地図 緯度経度 町丁 年度別
月別 広報 報道発表 行政 区議会 条例 計画 男女平等 国際交流 多文化共生 外国人 町会・自治会
地域活動 ボランティア NPO 生活保護 子ども食堂 ひとり親 妊娠・出産 母子保健 感染症 熱中症
暑さ対策 省エネルギー 再生可能エネルギー 気候変動 緑化 街路樹 景観 駐車場 自動車 歩道
電線共同溝 公衆電話 銭湯 文化施設 美術館 博物館 区民センター 地域センター
保健サービスセンター 児童相談 いじめ相談 学童 給食 アレルギー 奨学金 入札 契約 職員採用
人事 情報公開 個人情報 統計書 世論調査 区民意識調査 パブリックコメント 審議会 会議録 補助金
助成金 融資 商工 伝統工芸 農地 ごみ減量 食品ロス 動物愛護 ペット 狂犬病 空家対策 耐震化
""".split()
STAT_TOPICS = ("人口", "世帯", "外国人住民", "出生", "死亡", "転入", "転出")
STAT_BREAKDOWNS = ("町丁別", "年齢別", "男女別", "月別", "年度別")
DISASTER_TOPICS = ("給水拠点", "防災倉庫", "一時集合場所", "広域避難場所", "土のう置場")

FACILITY_TITLES = (
    "{muni}{subject}一覧",
    "{subject}一覧（{year}）",
    "{muni} {subject}の所在地",
    "{subject}（{muni}）",
    "{year} {muni}{subject}",
)
STAT_TITLES = (
    "{muni}の{subject}",
    "{subject}（{year}）",
    "{muni} {subject} {year}",
    "{year}{subject}",
)
FACILITY_DETAILS = (
    "名称、所在地、電話番号、緯度経度",
    "名称、住所、開設時間、バリアフリー対応の有無",
    "施設名、所在地、定員、利用できる時間帯",
)
STAT_DETAILS = ("町丁別・男女別の集計", "年度ごとの推移", "月別の集計値と前年同月比")
DESCRIPTION_EXTRAS = (
    "",
    "位置情報（緯度・経度）を含みます。",
    "毎月1日時点のデータを翌月に更新します。",
    "自治体標準オープンデータセットの項目定義に準拠しています。",
    "施設の休止・廃止に伴い随時更新します。",
    "Excel形式のファイルも併せて公開しています。",
    "集計方法は年度により異なる場合があります。",
    "地図アプリでの利用を想定しています。",
)
LICENSE_WEIGHTS = {
    "cc-by-4.0": 70,
    "gov-jp-2.0": 15,
    "cc0-1.0": 8,
    "cc-by-sa-4.0": 3,
    "odbl-1.0": 2,
    "other-closed": 2,
}
MEDIA_TYPES = {
    "CSV": "text/csv",
    "XLSX": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "PDF": "application/pdf",
}


def all_tags() -> list[str]:
    """About 300 distinct tag names, subjects' tags first."""
    names = [tag for subject in SUBJECTS for tag in subject.tags]
    names += EXTRA_TAGS
    names += [f"{topic}（{by}）" for topic in STAT_TOPICS for by in STAT_BREAKDOWNS]
    names += [f"防災/{topic}" for topic in DISASTER_TOPICS]
    names += [year for year, _ in YEARS]
    names += [muni for muni, _ in MUNICIPALITIES]
    return list(dict.fromkeys(names))


# --- Queries ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    label: str
    q: str = ""
    filters: dict[str, list[str]] = field(default_factory=dict)


QUERIES: tuple[Case, ...] = (
    Case("保育", "保育"),
    Case("保育園", "保育園"),
    Case("ひなんじょ", "ひなんじょ"),
    Case("避難所", "避難所"),
    Case("ＡＥＤ", "ＡＥＤ"),
    Case("Wi-Fi", "Wi-Fi"),
    Case("駐輪場", "駐輪場"),
    Case("人口 町丁別", "人口 町丁別"),
    Case("nursery", "nursery"),
    Case("bicycle parking", "bicycle parking"),
    Case("公園 文京区", "公園 文京区"),
    Case("図書館", "図書館"),
    Case("tag=子育て・教育", "", {"tag": ["子育て・教育"]}),
    Case("department=bousai 避難所", "避難所", {"department": ["bousai"]}),
    Case(
        "category=kosodate format=CSV 一覧", "一覧", {"category": ["kosodate"], "format": ["CSV"]}
    ),
    Case("(browse newest)", ""),
)


def percentile(values: Sequence[float], p: float) -> float:
    """Linear interpolation between closest ranks (numpy's default method)."""
    ordered = sorted(values)
    k = (len(ordered) - 1) * p / 100
    low = int(k)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (k - low)


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def pad(text: str, width: int) -> str:
    """Left-justify for a terminal, where kanji and kana take two columns."""
    used = sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)
    return text + " " * max(0, width - used)


def short(size: int) -> str:
    return f"{size // 1000}k" if size >= 1000 and size % 1000 == 0 else str(size)


# --- Worker: one engine in its own process -----------------------------------------------------
# Everything below imports Django lazily: settings must be in the environment first.


def cache_analysis() -> Any:
    """Make machi.lib.japanese.index_text analyze each distinct text only once.

    Sudachi is the slow part of loading, and titles, tags, department and resource names
    repeat a lot. index_text joins the tokens of each text in turn, so caching per text gives
    the same string; that is checked here on the vocabulary. Returns the cache, for its stats.
    """
    from machi.lib import japanese

    original = japanese.index_text

    @lru_cache(maxsize=100_000)
    def analyzed(text: str) -> str:
        return original([text])

    def index_text(texts: Iterable[str]) -> str:
        return " ".join(tokens for text in texts if text and (tokens := analyzed(text)))

    samples = [[s.ja, s.en, *s.tags] for s in SUBJECTS] + [list(d) for d in DEPARTMENTS]
    for texts in samples:
        if index_text(texts) != original(texts):
            raise SystemExit(f"index_text no longer analyzes text by text: {texts}")
    # search_document calls japanese.index_text through the module, so it gets this one.
    japanese.index_text = index_text
    return analyzed


@dataclass
class Draft:
    """A dataset before it is saved, with what goes in its other tables."""

    dataset: Any  # machi.catalog.models.Dataset
    tag_names: list[str]  # sorted, as Tag.Meta.ordering returns them
    categories: list[Any]  # by position, as Category.Meta.ordering returns them
    resources: list[tuple[str, str]]  # (name, format) by position


class Catalog:
    """Writes generated datasets straight into the tables.

    The catalog services audit, add news and re-index one dataset at a time; that would make
    loading 100k datasets take hours and measures nothing about search.
    """

    def __init__(self, engine: str) -> None:
        from django.utils import timezone

        from machi.accounts.models import Department
        from machi.catalog.models import Category, License, Tag

        self.engine = engine
        self.analysis = cache_analysis()
        self.rng = random.Random(SEED)  # same catalog on every engine and every run
        self.size = 0
        self.now = timezone.now()
        Department.objects.bulk_create(
            Department(slug=slug, name=name, name_en=name_en) for slug, name, name_en in DEPARTMENTS
        )
        self.departments = {d.slug: d for d in Department.objects.all()}
        Tag.objects.bulk_create(Tag(name=name) for name in all_tags())
        self.tags = {t.name: t.pk for t in Tag.objects.all()}
        self.tag_names = sorted(self.tags)
        # Licenses and categories come from the migrations, as on a fresh site.
        self.categories = {c.slug: c for c in Category.objects.all()}
        licenses = {lic.slug: lic for lic in License.objects.all()}
        if not self.categories or not licenses:
            raise SystemExit("the migrations loaded no categories or no licenses")
        missing = {s.category for s in SUBJECTS} - set(self.categories)
        if missing:
            # The defaults changed under us: still run, but say the facets look different.
            log(f"[{engine}] categories not in the database, using the first one: {missing}")
        self.licenses = list(licenses.values())
        self.license_weights = [LICENSE_WEIGHTS.get(slug, 1) for slug in licenses]
        self.home = next(m for m in MUNICIPALITIES if m[0] == HOME)

    def grow_to(self, size: int) -> None:
        started = time.perf_counter()
        while self.size < size:
            count = min(BATCH, size - self.size)
            self._add_batch(count)
            self.size += count
            info = self.analysis.cache_info()
            hits = info.hits / max(1, info.hits + info.misses)
            log(
                f"[{self.engine}] {self.size:>7}/{size} datasets, "
                f"{time.perf_counter() - started:6.1f} s, analysis cache hits {hits:.0%}"
            )

    def _add_batch(self, count: int) -> None:
        from django.db import transaction
        from django.db.models import OuterRef, Subquery

        from machi.catalog.models import (
            Dataset,
            DatasetFacets,
            DatasetSearch,
            Resource,
            ResourceVersion,
        )
        from machi.catalog.search import bump_version, search_document

        drafts = [self._draft(self.size + i) for i in range(count)]
        # What index_dataset stores, computed by the same function. Analyzed before the
        # transaction so that SQLite's write lock is held only for the inserts.
        documents = [
            search_document(
                d.dataset,
                tags=d.tag_names,
                categories=d.categories,
                resources=[
                    Resource(name=name, position=i, current=ResourceVersion(format=fmt))
                    for i, (name, fmt) in enumerate(d.resources)
                ],
            )
            for d in drafts
        ]
        with transaction.atomic():
            datasets = Dataset.objects.bulk_create([d.dataset for d in drafts])
            Dataset.tags.through.objects.bulk_create(
                Dataset.tags.through(dataset_id=d.dataset.pk, tag_id=self.tags[name])
                for d in drafts
                for name in d.tag_names
            )
            Dataset.categories.through.objects.bulk_create(
                Dataset.categories.through(dataset_id=d.dataset.pk, category_id=c.pk)
                for d in drafts
                for c in d.categories
            )
            resources = Resource.objects.bulk_create(
                Resource(dataset=d.dataset, name=name, position=position)
                for d in drafts
                for position, (name, _) in enumerate(d.resources)
            )
            formats = [fmt for d in drafts for _, fmt in d.resources]
            ResourceVersion.objects.bulk_create(
                ResourceVersion(
                    resource=resource,
                    number=1,
                    filename=f"{resource.uid}.{fmt.lower()}",
                    format=fmt,
                    media_type=MEDIA_TYPES[fmt],
                    size=self.rng.randint(2_000, 3_000_000),
                )
                for resource, fmt in zip(resources, formats, strict=True)
            )
            # One UPDATE for the batch rather than one per resource.
            version = ResourceVersion.objects.filter(resource=OuterRef("pk")).values("pk")[:1]
            Resource.objects.filter(
                pk__range=(resources[0].pk, resources[-1].pk), current__isnull=True
            ).update(current=Subquery(version))
            # The engine's full-text index follows these rows (FTS5 triggers, tsvector column).
            DatasetSearch.objects.bulk_create(
                DatasetSearch(dataset=dataset, **tokens)
                for dataset, (tokens, _) in zip(datasets, documents, strict=True)
            )
            DatasetFacets.objects.bulk_create(
                DatasetFacets(dataset=dataset, **facets)
                for dataset, (_, facets) in zip(datasets, documents, strict=True)
            )
            # As every index write does: search caches key on the version.
            bump_version()

    def _draft(self, index: int) -> Draft:
        from machi.catalog.models import Dataset, Frequency

        rng = self.rng
        subject = rng.choice(SUBJECTS)
        muni, muni_en = self.home if rng.random() < HOME_SHARE else rng.choice(MUNICIPALITIES)
        year, year_en = rng.choice(YEARS)
        facility = subject.kind == "facility"
        template = rng.choice(FACILITY_TITLES if facility else STAT_TITLES)
        title_en = f"{subject.en} ({muni_en}, {year_en})" if rng.random() < 0.3 else ""
        detail = rng.choice(FACILITY_DETAILS if facility else STAT_DETAILS)
        tag_names = set(subject.tags) | set(rng.sample(self.tag_names, rng.randint(0, 2)))
        if rng.random() < 0.5:
            tag_names.add(muni)
        category_slugs = {subject.category} | ({"shisetsu"} if facility else set())
        fallback = next(iter(self.categories.values()))
        categories = sorted(
            {self.categories.get(slug, fallback) for slug in category_slugs},
            key=lambda c: (c.position, c.slug),
        )
        main = rng.choice(("CSV", "CSV", "CSV", "XLSX"))
        if facility:
            resources = [(f"{subject.ja}一覧", main)]
            extras = (("データ項目定義書", "PDF", 0.3), (f"{subject.ja}位置図", "PDF", 0.2))
        else:
            resources = [(f"{subject.ja}（{year}）", main)]
            extras = (("集計表", "XLSX", 0.4), ("解説資料", "PDF", 0.2))
        resources += [(name, fmt) for name, fmt, share in extras if rng.random() < share]
        dataset = Dataset(
            name=f"bench-{index:06d}",
            title=template.format(muni=muni, subject=subject.ja, year=year),
            title_en=title_en,
            description=(
                f"{muni}の{subject.ja}について、{detail}をまとめたデータです。"
                f"{year}時点の情報です。{rng.choice(DESCRIPTION_EXTRAS)}"
            ),
            description_en=f"{subject.en.capitalize()} in {muni_en}." if title_en else "",
            department=self.departments[subject.department],
            license=rng.choices(self.licenses, self.license_weights)[0],
            update_frequency=rng.choice(Frequency.values),
            spatial=muni,
            is_public=rng.random() >= 0.02,
            modified=self.now - timedelta(seconds=rng.randint(0, 5 * 365 * 86400)),
        )
        return Draft(dataset, sorted(tag_names), categories, resources)


def prepare_for_queries(engine: str) -> None:
    from django.db import connection

    if engine == "postgresql":
        # Fresh statistics for the planner, and a visibility map so index-only scans work;
        # otherwise autovacuum would do it at some random point during the measurements.
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE")
    # SQLite is measured as the site runs it: machi never runs ANALYZE or FTS5 'optimize'.


def trace(q: str, filters: Any) -> list[tuple[float, str]]:
    """(ms, SQL) of every statement one search runs, to show where its time goes."""
    from django.db import connection

    from machi.catalog.queries import search_datasets

    statements: list[tuple[float, str]] = []

    def timed(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        start = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            statements.append(((time.perf_counter() - start) * 1000, sql))

    with connection.execute_wrapper(timed):
        search_datasets(q=q, filters=filters, page=1)
    return statements


def measure(repeats: int) -> dict[str, Any]:
    """Time every query case; all timings in milliseconds."""
    from machi.catalog.queries import Filters, search_datasets
    from machi.catalog.search import parse_query

    cases = []
    timings: list[float] = []
    for case in QUERIES:
        filters = Filters(**case.filters)
        for _ in range(WARMUPS):
            hits = search_datasets(q=case.q, filters=filters, page=1).count
        samples = []
        for _ in range(repeats):
            start = time.perf_counter()
            search_datasets(q=case.q, filters=filters, page=1)
            samples.append((time.perf_counter() - start) * 1000)
        timings += samples
        # Not part of the timings above: where one run's time goes (query parsing, each SQL).
        parse_samples = []
        for _ in range(5 if case.q else 0):
            start = time.perf_counter()
            parse_query(case.q)
            parse_samples.append((time.perf_counter() - start) * 1000)
        statements = trace(case.q, filters)
        slowest = max(statements, default=(0.0, ""))
        cases.append(
            {
                "label": case.label,
                "hits": hits,
                "p50": statistics.median(samples),
                "p95": percentile(samples, 95),
                "max": max(samples),
                "parse_ms": statistics.median(parse_samples) if parse_samples else 0.0,
                "sql_ms": sum(ms for ms, _ in statements),
                "statements": len(statements),
                "slowest_sql_ms": slowest[0],
                "slowest_sql": slowest[1],
            }
        )
    return {"p50": statistics.median(timings), "p95": percentile(timings, 95), "queries": cases}


def run_worker(engine: str, sizes: list[int], repeats: int, postgres_url: str) -> dict[str, Any]:
    # A terminated worker still removes its database (100k datasets take ~450 MB on SQLite).
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))
    data_dir = tempfile.mkdtemp(prefix=f"machi-bench-{engine}-")
    # Settings are read once, at django.setup(): the environment must be right before it.
    os.environ["MACHI_DATA_DIR"] = data_dir
    os.environ["DJANGO_SETTINGS_MODULE"] = "machi.settings"
    os.environ["MACHI_ENV"] = "development"
    os.environ["DEBUG"] = "false"  # DEBUG keeps every SQL query in memory
    if engine == "postgresql":
        os.environ["DATABASE_URL"] = postgres_url
    else:
        os.environ.pop("DATABASE_URL", None)
    sys.path.insert(0, str(ROOT))
    try:
        import django
        from django.core.management import call_command
        from django.db import connection

        django.setup()
        log(f"[{engine}] migrating {connection.settings_dict['NAME']}")
        call_command("migrate", verbosity=0, interactive=False)
        with connection.cursor() as cursor:
            cursor.execute("SELECT version()" if engine == "postgresql" else "SELECT 'SQLite '")
            server = cursor.fetchone()[0]
        if engine == "sqlite":
            import sqlite3

            server += sqlite3.sqlite_version
        catalog = Catalog(engine)
        results = []
        for size in sizes:
            started = time.perf_counter()
            catalog.grow_to(size)
            prepare_for_queries(engine)
            load_seconds = time.perf_counter() - started
            log(f"[{engine}] measuring {len(QUERIES)} queries x {repeats} at {size} datasets")
            result = measure(repeats)
            log(f"[{engine}] {size}: p50 {result['p50']:.1f} ms, p95 {result['p95']:.1f} ms")
            results.append({"size": size, "load_seconds": load_seconds, **result})
        connection.close()
        return {"engine": engine, "server": server, "results": results}
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)


# --- Parent: runs the workers and prints the table ---------------------------------------------


def prepare_postgres(url: str) -> str | None:
    """Drop and create the benchmark database; the reason to skip PostgreSQL, if any."""
    import psycopg
    from psycopg import sql

    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    if not name:
        return f"no database name in {url}"
    admin_url = urlunsplit(parts._replace(path="/postgres"))
    try:
        admin = psycopg.connect(admin_url, autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as error:
        detail = " ".join(str(error).split())
        return f"server unreachable at {parts.hostname}:{parts.port or 5432} ({detail})"
    with admin:
        exists = admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if exists:
            # Every run starts from an empty database; never wipe one that is not ours.
            if "bench" not in name:
                return f"database {name} exists and its name does not contain 'bench'"
            admin.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(name)))
        admin.execute(
            sql.SQL("CREATE DATABASE {} ENCODING 'UTF8' TEMPLATE template0").format(
                sql.Identifier(name)
            )
        )
    return None


def run_engine(engine: str, args: argparse.Namespace) -> dict[str, Any] | None:
    command = [
        sys.executable,
        str(Path(__file__).resolve()),
        "--worker",
        engine,
        "--sizes",
        ",".join(map(str, args.sizes)),
        "--queries",
        str(args.queries),
        "--postgres-url",
        args.postgres_url,
    ]
    # Progress goes to our stderr as it happens; the result comes back as JSON on stdout.
    process = subprocess.run(command, stdout=subprocess.PIPE, text=True, cwd=ROOT)
    if process.returncode != 0:
        status = process.returncode
        how = f"was killed by signal {-status}" if status < 0 else f"exited with status {status}"
        log(f"{engine}: worker {how}")
        return None
    return json.loads(process.stdout)


def report(runs: list[dict[str, Any]], skipped: dict[str, str]) -> bool:
    """Print the tables; whether the SQLite target is met (or could not be checked)."""
    print()
    for run in runs:
        print(f"{run['engine']}: {run['server']}")
    print()
    print(f"{'engine':<11} {'size':>7}  {'p50 ms':>7} {'p95 ms':>7}  {'load s':>7}")
    for run in runs:
        for r in run["results"]:
            print(
                f"{run['engine']:<11} {r['size']:>7}  {r['p50']:>7.2f} {r['p95']:>7.2f}"
                f"  {r['load_seconds']:>7.1f}"
            )
    for engine, reason in skipped.items():
        print(f"{engine:<11} skipped: {reason}")
    for run in runs:
        largest = run["results"][-1]
        queries = sorted(largest["queries"], key=lambda c: c["p95"], reverse=True)
        print()
        print(f"{run['engine']} per query at {largest['size']} datasets, slowest first")
        print("  hits: matching datasets; parse: parse_query alone; sql: time in SQL execute")
        if run["engine"] == "sqlite":
            print("  (SQLite computes most rows as they are fetched, so sql is a lower bound)")
        print(
            f"  {pad('query', 34)} {'hits':>6} {'p50 ms':>7} {'p95 ms':>7} {'max ms':>7}"
            f" {'parse':>6} {'sql':>6} {'stmts':>5}"
        )
        for case in queries:
            print(
                f"  {pad(case['label'], 34)} {case['hits']:>6} {case['p50']:>7.2f}"
                f" {case['p95']:>7.2f} {case['max']:>7.2f} {case['parse_ms']:>6.1f}"
                f" {case['sql_ms']:>6.1f} {case['statements']:>5}"
            )
        print(f"  slowest SQL statement of the {SHOWN_SQL} slowest queries:")
        for case in queries[:SHOWN_SQL]:
            sql = " ".join(case["slowest_sql"].split())
            print(f"  - {case['label']}: {case['slowest_sql_ms']:.1f} ms: {sql[:SQL_CHARS]}")
    print()
    for run in runs:
        results = run["results"]
        if len(results) >= 2:
            before, after = results[-2], results[-1]
            print(
                f"{run['engine']} p95 ratio {short(after['size'])}/{short(before['size'])}: "
                f"{after['p95'] / before['p95']:.2f} "
                f"(catalog grew {after['size'] / before['size']:g}x)"
            )
    sqlite = next((run for run in runs if run["engine"] == "sqlite"), None)
    at_target = None
    if sqlite is not None:
        at_target = next((r for r in sqlite["results"] if r["size"] == TARGET_SIZE), None)
    goal = f"p95 < {TARGET_P95_MS:g} ms at {short(TARGET_SIZE)} on SQLite"
    if at_target is None:
        print(f"NOT CHECKED: {goal} (SQLite at {TARGET_SIZE} datasets was not measured)")
        return True
    passed = at_target["p95"] < TARGET_P95_MS
    print(f"{'PASS' if passed else 'FAIL'}: {goal} (measured {at_target['p95']:.2f} ms)")
    return passed


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--sizes",
        default=",".join(map(str, DEFAULT_SIZES)),
        help="catalog sizes to measure, grown in this order (default: %(default)s)",
    )
    parser.add_argument(
        "--engines",
        default=",".join(DEFAULT_ENGINES),
        help="sqlite, postgresql or both (default: %(default)s)",
    )
    parser.add_argument(
        "--queries",
        type=int,
        default=20,
        help=f"timed runs of each query after {WARMUPS} warm-ups (default: %(default)s)",
    )
    parser.add_argument(
        "--postgres-url",
        default=DEFAULT_POSTGRES_URL,
        help="benchmark database, dropped and created again (default: %(default)s)",
    )
    parser.add_argument("--worker", choices=DEFAULT_ENGINES, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    try:
        args.sizes = sorted({int(size) for size in args.sizes.split(",") if size.strip()})
    except ValueError:
        parser.error("--sizes takes whole numbers separated by commas")
    if not args.sizes or args.sizes[0] < 1:
        parser.error("--sizes needs at least one positive size")
    args.engines = [engine.strip() for engine in args.engines.split(",") if engine.strip()]
    unknown = set(args.engines) - set(DEFAULT_ENGINES)
    if unknown or not args.engines:
        parser.error(f"--engines takes {' and/or '.join(DEFAULT_ENGINES)}")
    if args.queries < 1:
        parser.error("--queries must be at least 1")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if args.worker:
        # Anything Django or a library prints must not end up in the JSON on stdout.
        stdout = sys.stdout
        with contextlib.redirect_stdout(sys.stderr):
            result = run_worker(args.worker, args.sizes, args.queries, args.postgres_url)
        json.dump(result, stdout, ensure_ascii=False)
        return 0
    runs: list[dict[str, Any]] = []
    skipped: dict[str, str] = {}
    failed = False
    for engine in args.engines:
        if engine == "postgresql":
            reason = prepare_postgres(args.postgres_url)
            if reason:
                log(f"PostgreSQL skipped: {reason}")
                skipped[engine] = reason
                continue
        run = run_engine(engine, args)
        if run is None:
            skipped[engine] = "worker failed (see its output above)"
            failed = True
        else:
            runs.append(run)
    passed = report(runs, skipped)
    return 0 if passed and runs and not failed else 1


if __name__ == "__main__":
    sys.exit(main())
