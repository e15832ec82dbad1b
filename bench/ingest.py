"""Ingest of a generated 1,000,000-row CP932 staff file, against sqlite-utils and a floor.

Run on demand (not in CI). The first run generates the files (about a minute) and installs
sqlite-utils; a full run took about 20 minutes on 2 CPUs (--rows 100000 for a quick look):

    .venv/bin/python bench/ingest.py [--rows 1000000] [--prefix-rows N] [--standard SLUG]
                                     [--no-detect-row] [--quiet-timeout S] [--keep]

What it does:

1. Generates (seeded) a facility list as a ward's staff export it: 20 columns, CP932, CRLF,
   with Japanese names, kana (some half-width), addresses with full-width 番地, 和暦 dates
   (令和5年4月1日, R5.4.1, H30/4/1, 昭和…, full-width ones), times such as １７：００, 定員
   １２０人, 面積 1,234.5㎡, 有/無 and ○/× columns, phone numbers in three styles, 〒 codes.
   The same cell texts are also written as UTF-8 for sqlite-utils. Both are kept in
   var/bench-ingest/ by seed, row count and a hash of the generator, so reruns skip this.
2. machi: `machi ingest FILE --dataset bench --department bench --standard public-facility`
   in a child process, on a fresh data directory (SQLite; migrate and an admin account made
   first, not timed). It reads the CP932 file, normalises every cell, types the columns and
   checks them against the national standard (公共施設一覧), writes the clean CSV and
   publishes it (loads it into the datastore with its column indexes). A large table is
   served before its full-text index is written, by a task the ingest queues: so then
   `machi worker --batch` runs that task, and machi's total is both runs, until the table
   is served and searchable (the ingest alone is shown too). Both runs import a copy of
   machi/ taken at the start, so edits made meanwhile do not mix code versions. Wall time;
   CPU time (its worker processes included); memory of each child with the workers it
   forks (a large file converts in one per processor), sampled from /proc as proportional
   sizes, so pages a worker shares with its parent count once: private (Pss_Anon) and
   mapped-file (Pss_File: Sudachi's dictionary, SQLite's memory map) memory, and the peak
   (the larger of that sum's Pss and the largest process's ru_maxrss). Again on the first
   --prefix-rows rows, for memory against row count.
3. sqlite-utils (in its own virtualenv, var/bench-venv; never a project dependency):
   `sqlite-utils insert db rows FILE.csv --csv --no-detect-types` on the UTF-8 file: every
   cell as TEXT, no normalisation (what `--csv` did before sqlite-utils 4 detected types by
   default). For information, also with 4.x's default type detection (--no-detect-row skips).
4. The floor: the same rows, generated in this process beforehand, inserted by plain
   sqlite3 executemany into a fresh file (20 TEXT columns, one transaction); only the insert
   and its commit are timed.

Targets (exit status 1 when one fails), on machi's total: >= 1.0x sqlite-utils rows/s,
>= 0.4x the floor, memory under 300 MB and flat in row count (the full run's peak within
1.2x of the prefix run's), each judged twice: on private memory (as bench/datastore.py
judges its export) and on peak RSS, which adds page cache of mapped files.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import datetime
import hashlib
import inspect
import os
import random
import re
import resource
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import unicodedata
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CACHE = ROOT / "var" / "bench-ingest"
BENCH_VENV = ROOT / "var" / "bench-venv"  # shared with bench/datastore.py (Datasette)
SQLITE_UTILS_REQUIREMENT = "sqlite-utils>=4.1,<5"
MACHI = ROOT / ".venv" / "bin" / "machi"
DATA_VERSION = 1  # bump when the generated rows change in a way the hash cannot see
SEED = 20240601
DEFAULT_ROWS = 1_000_000
# The national standard the generated columns follow (13 of its 24 fields; 7 columns more):
# matched, checked cell by cell, written in its column order. `none`: types by inference only.
DEFAULT_STANDARD = "public-facility"
DEPARTMENT = "bench"
TARGET_VS_SQLITE_UTILS = 1.0
TARGET_VS_FLOOR = 0.4
TARGET_PEAK_MB = 300.0
QUIET_CORES = 0.15  # other processes' CPU below which the machine counts as quiet
SAMPLE_SECONDS = 0.5  # between two readings of the machi process tree's memory
FLAT_RATIO = 1.2  # peak memory at --rows within 1.2x of the peak at --prefix-rows

# --- Generated rows ---------------------------------------------------------------------------
# A ward's facility list as staff keep it in Excel and export it: mixed widths, 和暦, units.

TOWNS: tuple[tuple[str, str, str, int], ...] = (  # 町名, 読み, 郵便番号, 丁目の数
    ("大塚", "オオツカ", "112-0012", 6),
    ("音羽", "オトワ", "112-0013", 2),
    ("春日", "カスガ", "112-0003", 2),
    ("小石川", "コイシカワ", "112-0002", 5),
    ("後楽", "コウラク", "112-0004", 2),
    ("小日向", "コヒナタ", "112-0006", 4),
    ("水道", "スイドウ", "112-0005", 2),
    ("関口", "セキグチ", "112-0014", 3),
    ("千石", "センゴク", "112-0011", 4),
    ("千駄木", "センダギ", "113-0022", 5),
    ("西片", "ニシカタ", "113-0024", 2),
    ("根津", "ネヅ", "113-0031", 2),
    ("白山", "ハクサン", "112-0001", 5),
    ("本駒込", "ホンコマゴメ", "113-0021", 6),
    ("本郷", "ホンゴウ", "113-0033", 7),
    ("弥生", "ヤヨイ", "113-0032", 2),
    ("湯島", "ユシマ", "113-0034", 4),
    ("向丘", "ムコウガオカ", "113-0023", 2),
    ("目白台", "メジロダイ", "112-0015", 3),
)
KANJI_DIGITS = "一二三四五六七八九"


@dataclass(frozen=True)
class Kind:
    name: str  # 種別
    slug: str  # in the facility's URL
    weight: int
    cores: tuple[tuple[str, str], ...]  # the end of a facility's name, and its reading
    capacity: tuple[int, int] | None  # 定員
    area: tuple[int, int]  # 面積 (㎡)
    public: float  # share run by the ward (文京区立…)


FACILITY_KINDS: tuple[Kind, ...] = (
    Kind(
        "認可保育所",
        "hoikuen",
        8,
        (("保育園", "ホイクエン"), ("こども園", "コドモエン"), ("保育所", "ホイクショ")),
        (30, 200),
        (150, 1200),
        0.3,
    ),
    Kind("幼稚園", "youchien", 4, (("幼稚園", "ヨウチエン"),), (60, 300), (300, 2500), 0.4),
    Kind("児童館", "jidoukan", 3, (("児童館", "ジドウカン"),), (20, 100), (150, 600), 1.0),
    Kind(
        "育成室",
        "ikuseishitsu",
        4,
        (("育成室", "イクセイシツ"), ("学童クラブ", "ガクドウクラブ")),
        (30, 80),
        (60, 300),
        1.0,
    ),
    Kind(
        "図書館",
        "toshokan",
        2,
        (("図書館", "トショカン"), ("図書室", "トショシツ")),
        (50, 400),
        (200, 4000),
        1.0,
    ),
    Kind(
        "公園",
        "koen",
        10,
        (("公園", "コウエン"), ("児童遊園", "ジドウユウエン"), ("緑地", "リョクチ")),
        None,
        (100, 40000),
        1.0,
    ),
    Kind(
        "避難所",
        "hinanjo",
        5,
        (
            ("小学校", "ショウガッコウ"),
            ("中学校", "チュウガッコウ"),
            ("地域活動センター", "チイキカツドウセンター"),
        ),
        (200, 1500),
        (800, 12000),
        1.0,
    ),
    Kind(
        "区民センター",
        "kumin",
        2,
        (("区民センター", "クミンセンター"), ("地域センター", "チイキセンター")),
        (30, 500),
        (300, 5000),
        1.0,
    ),
    Kind(
        "高齢者施設",
        "koureisha",
        4,
        (
            ("高齢者あんしん相談センター", "コウレイシャアンシンソウダンセンター"),
            ("デイサービスセンター", "デイサービスセンター"),
            ("ケアハウス", "ケアハウス"),
        ),
        (10, 60),
        (80, 900),
        0.5,
    ),
    Kind(
        "スポーツ施設",
        "sports",
        2,
        (
            ("総合体育館", "ソウゴウタイイクカン"),
            ("運動場", "ウンドウジョウ"),
            ("プール", "プール"),
        ),
        (100, 1500),
        (500, 15000),
        0.8,
    ),
    Kind(
        "集会所",
        "shukaijo",
        3,
        (("集会所", "シュウカイジョ"), ("会議室", "カイギシツ")),
        (20, 120),
        (40, 400),
        1.0,
    ),
    Kind(
        "自転車駐車場",
        "churinjo",
        5,
        (("自転車駐車場", "ジテンシャチュウシャジョウ"), ("駐輪場", "チュウリンジョウ")),
        (50, 600),
        (100, 2000),
        0.7,
    ),
    Kind(
        "公衆トイレ",
        "toilet",
        4,
        (("公衆便所", "コウシュウベンジョ"), ("公園トイレ", "コウエントイレ")),
        None,
        (10, 60),
        1.0,
    ),
)
BRANDS: tuple[tuple[str, str], ...] = (
    ("さくら", "サクラ"),
    ("ひまわり", "ヒマワリ"),
    ("あおぞら", "アオゾラ"),
    ("みらい", "ミライ"),
    ("こもれび", "コモレビ"),
    ("にじいろ", "ニジイロ"),
    ("すこやか", "スコヤカ"),
    ("ふれあい", "フレアイ"),
    ("ひかり", "ヒカリ"),
    ("わかば", "ワカバ"),
    ("つばさ", "ツバサ"),
    ("たんぽぽ", "タンポポ"),
)
ORDINALS: tuple[tuple[str, str], ...] = (
    ("", ""),
    ("", ""),
    ("第一", "ダイイチ"),
    ("第二", "ダイニ"),
    ("第三", "ダイサン"),
    ("東", "ヒガシ"),
    ("西", "ニシ"),
    ("南", "ミナミ"),
    ("北", "キタ"),
    ("駅前", "エキマエ"),
)
REMARKS = (
    "一時保育あり",
    "延長保育実施",
    "駐車場なし",
    "駐輪場あり（有料）",
    "土曜休館",
    "日曜・祝日休館",
    "改修工事のため休止中",
    "駅から徒歩５分",
    "車いす用トイレあり",
    "授乳室あり",
    "ＡＥＤ設置",
    "災害時は避難所として開設",
    "予約制",
    "定員は年度ごとに変わる",
    "０歳児保育あり",
    "給食は自園調理",
    "多目的室あり",
    "夜間は閉鎖",
    "年末年始（１２月２９日～１月３日）は休み",
    "詳しくは　ホームページをご覧ください",
)
OPENING = ("9:00", "9:00", "8:30", "9:30", "10:00", "９：００", "８：３０", "午前9時", "7:00")
CLOSING = ("17:00", "17:00", "18:00", "17:30", "19:00", "１７：００", "２０：００", "午後5時")
UPDATED = ("2024-04-01", "2024-10-01", "2025-03-31", "2025-04-01")
HEADER = (
    "都道府県コード又は市区町村コード",
    "NO",
    "名称",
    "名称_カナ",
    "種別",
    "郵便番号",
    "住所",
    "緯度",
    "経度",
    "電話番号",
    "開設日",
    "開始時間",
    "終了時間",
    "定員",
    "面積",
    "駐車場",
    "バリアフリー情報",
    "URL",
    "備考",
    "更新日",
)
LG_CODE = "13105"  # 文京区; 131059 with its check digit
ERAS = (  # name, alias, first day
    ("令和", "R", datetime.date(2019, 5, 1)),
    ("平成", "H", datetime.date(1989, 1, 8)),
    ("昭和", "S", datetime.date(1926, 12, 25)),
)
FIRST_OPENED = datetime.date(1965, 1, 1)
OPENED_SPAN = (datetime.date(2024, 12, 31) - FIRST_OPENED).days
WIDE = str.maketrans("0123456789,.-:", "０１２３４５６７８９，．－：")


def _half_kana() -> dict[str, str]:
    """Full-width katakana to the half-width forms (ｶﾞ for ガ) CP932 files often hold."""
    table = {}
    for code in range(0xFF66, 0xFF9E):
        half = chr(code)
        table[unicodedata.normalize("NFKC", half)] = half
        for mark in ("\uff9e", "\uff9f"):
            full = unicodedata.normalize("NFKC", half + mark)
            if len(full) == 1:
                table[full] = half + mark
    return table


HALF_KANA = _half_kana()


def wide(text: str) -> str:
    return text.translate(WIDE)


def wareki(day: datetime.date, style: int) -> str:
    """A date as staff type it: 令和5年4月1日, R5.4.1, H30/4/1, 令和５年４月１日, 2023/04/01."""
    name, alias, first = next(era for era in ERAS if day >= era[2])
    year = day.year - first.year + 1
    if style == 0:
        return f"{name}{'元' if year == 1 else year}年{day.month}月{day.day}日"
    if style == 1:
        return f"{alias}{year}.{day.month}.{day.day}"
    if style == 2:
        return f"{alias}{year}/{day.month}/{day.day}"
    if style == 3:
        return wide(f"{name}{year}年{day.month}月{day.day}日")
    return f"{day.year}/{day.month:02d}/{day.day:02d}"


def degrees(value: float, style: float) -> str:
    if style < 0.01:
        return wide(f"{value:.6f}")
    if style < 0.015:
        whole, rest = divmod(value * 3600, 3600)
        minutes, seconds = divmod(rest, 60)
        return f"{int(whole)}度{int(minutes)}分{seconds:.1f}秒"
    return f"{value:.6f}"


def generate_rows(count: int, seed: int = SEED) -> Iterator[list[str]]:
    """Cell texts in HEADER order; the first n rows are the same whatever the count."""
    rng = random.Random(seed)
    kinds = FACILITY_KINDS
    weights = [k.weight for k in kinds]
    chome = [(town, n) for town in TOWNS for n in range(1, town[3] + 1)]
    for number in range(1, count + 1):
        kind = rng.choices(kinds, weights)[0]
        (town, town_kana, postcode, _top), n = rng.choice(chome)
        core, core_kana = rng.choice(kind.cores)
        if rng.random() < kind.public:
            ordinal, ordinal_kana = rng.choice(ORDINALS)
            name = f"文京区立{town}{ordinal}{core}"
            kana = f"ブンキョウクリツ{town_kana}{ordinal_kana}{core_kana}"
        else:
            brand, brand_kana = rng.choice(BRANDS)
            name = f"{brand}{town}{core}"
            kana = f"{brand_kana}{town_kana}{core_kana}"
        if rng.random() < 0.05:
            kana = "".join(HALF_KANA.get(ch, ch) for ch in kana)
        block, lot = rng.randint(1, 40), rng.randint(1, 30)
        style = rng.random()
        if style < 0.5:
            address = f"東京都文京区{town}{wide(str(n))}丁目{wide(str(block))}番{wide(str(lot))}号"
        elif style < 0.8:
            address = f"東京都文京区{town}{n}-{block}-{lot}"
        else:
            address = f"東京都文京区{town}{KANJI_DIGITS[n - 1]}丁目{wide(f'{block}-{lot}')}"
        style = rng.random()
        if style < 0.6:
            postcode_text = f"〒{postcode}"
        elif style < 0.9:
            postcode_text = postcode
        else:
            postcode_text = wide(postcode)
        exchange, line = rng.randint(3811, 5999), rng.randint(0, 9999)
        style = rng.random()
        if style < 0.6:
            phone = f"03-{exchange}-{line:04d}"
        elif style < 0.85:
            phone = f"(03){exchange}-{line:04d}"
        elif style < 0.95:
            phone = wide(f"03-{exchange}-{line:04d}")
        else:
            phone = f"03({exchange}){line:04d}"
        opened = FIRST_OPENED + datetime.timedelta(rng.randrange(OPENED_SPAN))
        opened_text = "" if rng.random() < 0.03 else wareki(opened, rng.choice((0, 0, 1, 2, 3, 4)))
        if kind.capacity is None or rng.random() < 0.05:
            capacity = ""
        else:
            people = rng.randint(*kind.capacity)
            capacity = rng.choice((wide(f"{people}人"), f"{people}人", str(people)))
        area = rng.uniform(*kind.area)
        style = rng.random()
        if style < 0.1:
            area_text = ""
        elif style < 0.55:
            area_text = f"{area:,.1f}㎡"
        elif style < 0.75:
            area_text = f"{area:.1f}"
        elif style < 0.9:
            area_text = wide(f"{area:,.1f}") + "㎡"
        else:
            area_text = f"{area:,.1f}m2"
        if rng.random() < 0.55:
            remark = ""
        elif rng.random() < 0.7:
            remark = rng.choice(REMARKS)
        else:
            remark = "。".join(rng.sample(REMARKS, 2))
        no_hours = rng.random() < 0.05
        yield [
            LG_CODE + "9" if rng.random() < 0.9 else LG_CODE,
            wide(str(number)),
            name,
            kana,
            kind.name,
            postcode_text,
            address,
            degrees(35.70 + rng.random() * 0.03, rng.random()),
            degrees(139.72 + rng.random() * 0.05, rng.random()),
            phone,
            opened_text,
            "" if no_hours else rng.choice(OPENING),
            "" if no_hours else rng.choice(CLOSING),
            capacity,
            area_text,
            rng.choice(("有", "無", "有", "無", "あり", "なし", "")),
            rng.choice(("○", "○", "×", "")),
            ""
            if rng.random() < 0.1
            else f"https://www.city.bunkyo.lg.jp/shisetsu/{kind.slug}/{rng.randint(1, 3000)}.html",
            remark,
            rng.choice(UPDATED),
        ]


def generator_digest() -> str:
    """Changes when the generator's code or vocabulary does: the cached files are remade."""
    digest = hashlib.sha256(str(DATA_VERSION).encode())
    for part in (_half_kana, wide, wareki, degrees, generate_rows):
        digest.update(inspect.getsource(part).encode())
    vocabulary = (TOWNS, FACILITY_KINDS, BRANDS, ORDINALS, REMARKS, OPENING, CLOSING, UPDATED)
    digest.update(repr((vocabulary, HEADER, LG_CODE, ERAS, FIRST_OPENED, OPENED_SPAN)).encode())
    return digest.hexdigest()[:8]


@dataclass(frozen=True)
class Files:
    rows: int
    cp932: Path
    utf8: Path


def ensure_files(rows: int, seed: int) -> Files:
    """The CP932 file and its UTF-8 twin, generated once per seed, size and generator."""
    folder = CACHE / f"v{DATA_VERSION}-{seed}-{generator_digest()}"
    files = Files(rows, folder / f"facilities-{rows}.cp932.csv", folder / f"facilities-{rows}.csv")
    if files.cp932.exists() and files.utf8.exists():
        return files
    if CACHE.exists():
        for stale in CACHE.glob("v*-*-*"):
            if stale.is_dir() and stale != folder:
                log(f"removing {stale} (made by another generator)")
                shutil.rmtree(stale)
    folder.mkdir(parents=True, exist_ok=True)
    log(f"generating {rows:,} rows in {folder} (once; reruns reuse them)")
    started = time.perf_counter()
    parts = [files.cp932.with_suffix(".partial"), files.utf8.with_suffix(".partial")]
    with (
        parts[0].open("w", encoding="cp932", errors="strict", newline="") as sjis,
        parts[1].open("w", encoding="utf-8", newline="") as utf8,
    ):
        # Excel's CSV: CRLF, quotes only where needed; the same text in both files.
        writers = [csv.writer(sjis, lineterminator="\r\n"), csv.writer(utf8, lineterminator="\n")]
        for writer in writers:
            writer.writerow(HEADER)
        for row in generate_rows(rows, seed):
            for writer in writers:
                writer.writerow(row)
    parts[0].rename(files.cp932)
    parts[1].rename(files.utf8)
    log(
        f"generated in {time.perf_counter() - started:.1f} s: {files.cp932.name} "
        f"{megabytes(files.cp932):,.0f} MB, {files.utf8.name} {megabytes(files.utf8):,.0f} MB"
    )
    return files


# --- Small helpers ----------------------------------------------------------------------------


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def pad(text: str, width: int) -> str:
    """Left-justify for a terminal, where kanji and kana take two columns."""
    used = sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)
    return text + " " * max(0, width - used)


def megabytes(path: Path) -> float:
    return path.stat().st_size / 1e6


def short(n: int) -> str:
    if n >= 1_000_000 and n % 1_000_000 == 0:
        return f"{n // 1_000_000}M"
    return f"{n // 1000}k" if n % 1000 == 0 else f"{n:,}"


def busy_seconds() -> float:
    """CPU time all processes of the machine have used (/proc/stat), in seconds."""
    with open("/proc/stat") as stat:
        values = [int(v) for v in stat.readline().split()[1:9]]
    return (sum(values) - values[3] - values[4]) / os.sysconf("SC_CLK_TCK")


def wait_quiet(timeout: float) -> None:
    """Wait until other processes use less than QUIET_CORES, for at most `timeout` seconds.

    The machine may be shared (tests of other work, builds): a measurement taken while
    something else runs says little. Each result shows what others used meanwhile.
    """
    deadline = time.monotonic() + timeout
    told = False
    quiet = 0
    while quiet < 3:
        before = busy_seconds()
        time.sleep(1)
        used = busy_seconds() - before
        quiet = quiet + 1 if used < QUIET_CORES else 0
        if time.monotonic() > deadline:
            log(f"the machine is still busy ({used:.2f} cores used by others): measuring anyway")
            return
        if not told and not quiet:
            log(f"waiting for a quiet machine (others use {used:.2f} cores)")
            told = True


def process_tree(pid: int) -> list[int]:
    """A process and its descendants (machi converts a large file in worker processes)."""
    pids = [pid]
    for parent in pids:
        for children in Path(f"/proc/{parent}/task").glob("*/children"):
            with contextlib.suppress(OSError):
                pids += [int(child) for child in children.read_text().split()]
    return pids


def tree_memory(pid: int) -> dict[str, int]:
    """Pss, Pss_Anon, Pss_File summed over a process and its descendants, in kB.

    Proportional sizes: pages a forked worker shares with its parent count once in all,
    not once per process; for a lone process Pss_Anon is its RssAnon.
    """
    total = {"Pss": 0, "Pss_Anon": 0, "Pss_File": 0}
    for member in process_tree(pid):
        with contextlib.suppress(OSError), open(f"/proc/{member}/smaps_rollup") as rollup:
            for line in rollup:
                key, _sep, rest = line.partition(":")
                if key in total:
                    total[key] += int(rest.split()[0])
    return total


@dataclass
class Measured:
    """One timed command: wall time, its own CPU and peak memory, and what others used."""

    label: str
    rows: int
    seconds: float
    peak_kb: int = 0  # largest of ru_maxrss and the sampled Pss of the process tree (0: here)
    anon_kb: int = 0  # largest private (anonymous) memory of the tree (Pss_Anon), sampled
    file_kb: int = 0  # largest resident pages of mapped files of the tree (Pss_File), sampled
    cpu_seconds: float = 0.0
    other_cores: float = 0.0  # CPU used meanwhile by everything else on the machine
    status: int = 0
    output: list[tuple[float, str]] = field(default_factory=list)  # (seconds from start, line)

    @property
    def rate(self) -> float:
        return self.rows / self.seconds if self.seconds else 0.0

    @property
    def peak_mb(self) -> float:
        return self.peak_kb / 1024

    @property
    def anon_mb(self) -> float:
        return self.anon_kb / 1024

    @property
    def file_mb(self) -> float:
        return self.file_kb / 1024


def run_measured(
    label: str, rows: int, command: Sequence[str], env: dict[str, str] | None = None
) -> Measured:
    """Run a command to its end: wall time, its rusage (wait4), its output lines timed."""
    busy = busy_seconds()
    started = time.perf_counter()
    process = subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        env=env,
        cwd=ROOT,
    )
    lines: list[tuple[float, str]] = []
    anon = [0, 0, 0]  # Pss_Anon, Pss_File, Pss of the process and its workers
    done = threading.Event()

    def read() -> None:
        assert process.stdout is not None
        for raw in process.stdout:
            lines.append((time.perf_counter() - started, raw.decode(errors="replace").rstrip()))

    def sample() -> None:
        while not done.is_set():
            with contextlib.suppress(OSError, KeyError, ValueError):
                memory = tree_memory(process.pid)
                anon[0] = max(anon[0], memory["Pss_Anon"])
                anon[1] = max(anon[1], memory["Pss_File"])
                anon[2] = max(anon[2], memory["Pss"])
            # smaps_rollup walks the page tables of a process holding a 2 GB memory map:
            # read every 50 ms it took a tenth of a core and slowed the processes measured.
            done.wait(SAMPLE_SECONDS)

    threads = [threading.Thread(target=read, daemon=True)]
    threads.append(threading.Thread(target=sample, daemon=True))
    for thread in threads:
        thread.start()
    _pid, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - started
    done.set()
    process.returncode = os.waitstatus_to_exitcode(status)  # reaped here, not by Popen
    for thread in threads:
        thread.join()
    cpu = usage.ru_utime + usage.ru_stime
    others = max(0.0, busy_seconds() - busy - cpu) / seconds
    return Measured(
        label=label,
        rows=rows,
        seconds=seconds,
        peak_kb=max(usage.ru_maxrss, anon[2]),  # ru_maxrss: the largest single process
        anon_kb=anon[0],
        file_kb=anon[1],
        cpu_seconds=cpu,
        other_cores=others,
        status=process.returncode,
        output=lines,
    )


# --- machi ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Snapshot:
    """A copy of machi's package that both ingest runs import, whatever is edited meanwhile."""

    path: Path  # the folder on PYTHONPATH, holding machi/
    digest: str  # of its .py files


def snapshot_machi(work: Path) -> Snapshot:
    """Copy machi/ (code, templates, standards ...) as it is now; the runs import the copy.

    The working tree may be edited while a run of many minutes goes on: without a copy the
    two runs (and the modules one run imports late) could run different code. The console
    script's editable-install finder comes after PYTHONPATH, so the copy wins.
    """
    target = work / "src"
    shutil.copytree(ROOT / "machi", target / "machi", ignore=shutil.ignore_patterns("__pycache__"))
    digest = hashlib.sha256()
    for path in sorted((target / "machi").rglob("*.py")):
        digest.update(str(path.relative_to(target)).encode() + b"\0" + path.read_bytes())
    return Snapshot(target, digest.hexdigest()[:12])


def machi_environment(data_dir: Path, snapshot: Snapshot) -> dict[str, str]:
    """What machi reads, for the child processes: SQLite under data_dir, DEBUG off."""
    env = dict(os.environ)
    for name in ("DATABASE_URL", "DATASTORE_URL", "REDIS_URL", "SECRET_KEY", "DEBUG"):
        env.pop(name, None)
    env.update(
        MACHI_DATA_DIR=str(data_dir),
        DJANGO_SETTINGS_MODULE="machi.settings",
        MACHI_ENV="development",
        MACHI_LOG_LEVEL="WARNING",
        # The clean CSV of a million rows is larger than the 100 MB upload cap, which the
        # publish step applies to it as to an upload (catalog.services._check_upload_size).
        MACHI_MAX_UPLOAD_MB="100000",
        PYTHONUNBUFFERED="1",  # the report's lines arrive when written: the time split
        PYTHONPATH=str(snapshot.path),
    )
    return env


SETUP = """
from django.contrib.auth import get_user_model
from machi.accounts.models import Department
get_user_model().objects.create_superuser("admin", "admin@example.jp", None)
Department.objects.create(slug="{slug}", name="企画政策部 情報政策課", name_en="Information Policy")
import machi
print("machi from", machi.__file__)
"""


CHECK = """
from machi.datastore.models import Table
tables = list(Table.objects.all())
print("search ready:", bool(tables) and all(t.search_ready for t in tables))
"""


def search_ready(env: dict[str, str]) -> bool:
    """Whether every loaded table has its full-text index (not timed)."""
    check = [str(MACHI), "shell", "-c", CHECK]
    done = subprocess.run(check, env=env, cwd=ROOT, capture_output=True)
    return b"search ready: True" in done.stdout


@dataclass
class Ingest:
    measured: Measured  # `machi ingest`
    data_dir: Path
    converted: float = 0.0  # seconds until the report was printed (start-up + conversion)
    published_rows: int | None = None
    worker: Measured | None = None  # `machi worker --batch`: work the ingest left queued
    search_ready: bool = False  # every table's full-text index written
    datastore_mb: float = 0.0

    @property
    def ok(self) -> bool:
        return (
            self.measured.status == 0
            and self.published_rows == self.measured.rows
            and (self.worker is None or self.worker.status == 0)
            and self.search_ready
        )

    @property
    def seconds(self) -> float:
        """Until the table is served and searchable: the ingest, then its queued tasks."""
        return self.measured.seconds + (self.worker.seconds if self.worker else 0.0)

    @property
    def rate(self) -> float:
        return self.measured.rows / self.seconds

    @property
    def peak_mb(self) -> float:
        return max(m.peak_mb for m in (self.measured, self.worker) if m is not None)

    @property
    def anon_mb(self) -> float:
        return max(m.anon_mb for m in (self.measured, self.worker) if m is not None)

    @property
    def file_mb(self) -> float:
        return max(m.file_mb for m in (self.measured, self.worker) if m is not None)

    def summary(self) -> Measured:
        """Both processes as one line of the table."""
        parts = [m for m in (self.measured, self.worker) if m is not None]
        return Measured(
            label=f"machi total ({short(self.measured.rows)})",
            rows=self.measured.rows,
            seconds=self.seconds,
            peak_kb=max(m.peak_kb for m in parts),
            anon_kb=max(m.anon_kb for m in parts),
            file_kb=max(m.file_kb for m in parts),
            cpu_seconds=sum(m.cpu_seconds for m in parts),
            other_cores=sum(m.other_cores * m.seconds for m in parts) / self.seconds,
        )


PUBLISHED = re.compile(r"公開しました \(published\): .*?([\d,]+) 行 \(rows\)")


def machi_ingest(
    files: Files, standard: str, work: Path, snapshot: Snapshot, quiet: float
) -> Ingest:
    data_dir = Path(tempfile.mkdtemp(prefix=f"machi-{short(files.rows)}-", dir=work))
    env = machi_environment(data_dir, snapshot)
    log(f"[machi {short(files.rows)}] migrate and an admin account in {data_dir} (not timed)")
    for step in (["migrate", "--verbosity", "0"], ["shell", "-c", SETUP.format(slug=DEPARTMENT)]):
        done = subprocess.run([str(MACHI), *step], env=env, cwd=ROOT, capture_output=True)
        if done.returncode != 0:
            log(done.stdout.decode() + done.stderr.decode())
            raise SystemExit(f"machi {step[0]} failed (status {done.returncode})")
    if step[0] == "shell" and str(snapshot.path) not in done.stdout.decode():
        raise SystemExit(f"machi was not imported from {snapshot.path}: {done.stdout.decode()}")
    wait_quiet(quiet)
    command = [str(MACHI), "ingest", str(files.cp932), "--dataset", "bench"]
    command += ["--department", DEPARTMENT, "--title", "ベンチ", "--standard", standard]
    log(f"[machi {short(files.rows)}] {' '.join(command[1:])}")
    label = f"  machi ingest ({short(files.rows)})"
    measured = run_measured(label, files.rows, command, env)
    result = Ingest(measured, data_dir)
    # The report starts when the conversion is done (a line before it may say the dataset
    # was created).
    report = [at for at, line in measured.output if line.startswith(("ファイル:", "File:"))]
    if report:
        result.converted = report[0]
    for _at, line in measured.output:
        match = PUBLISHED.search(line)
        if match:
            result.published_rows = int(match.group(1).replace(",", ""))
    log(
        f"[machi {short(files.rows)}] {measured.seconds:.1f} s, {measured.rate:,.0f} rows/s, "
        f"peak {measured.peak_mb:.0f} MB, exit {measured.status}"
    )
    if measured.status != 0:
        return result
    # Larger tables are published before their full-text index is written: a task does it.
    # The table is complete when that is done, so the worker's run counts too.
    result.search_ready = search_ready(env)
    if not result.search_ready:
        # As `machi serve` runs its worker, but stopping once the queue is empty.
        command = [str(MACHI), "worker", "--batch", "--no-startup-delay", "--queue-name", "*"]
        log(f"[machi {short(files.rows)}] {' '.join(command[1:])} (tasks the ingest queued)")
        label = "  queued tasks (worker --batch)"
        worker = result.worker = run_measured(label, files.rows, command, env)
        result.search_ready = search_ready(env)
        log(
            f"[machi {short(files.rows)}] tasks {worker.seconds:.1f} s, peak "
            f"{worker.peak_mb:.0f} MB, exit {worker.status}; search ready: "
            f"{result.search_ready}; total {result.seconds:.1f} s, {result.rate:,.0f} rows/s"
        )
    datastore = data_dir / "datastore.sqlite3"
    if datastore.exists():
        result.datastore_mb = megabytes(datastore)
    return result


# --- sqlite-utils and the floor -------------------------------------------------------------


def ensure_sqlite_utils() -> Path:
    """sqlite-utils in the benchmarks' own virtualenv, installed on first use."""
    binary = BENCH_VENV / "bin" / "sqlite-utils"
    if not binary.exists():
        log(f"installing sqlite-utils into {BENCH_VENV} (for this benchmark only)")
        if not (BENCH_VENV / "bin" / "python").exists():
            subprocess.run([sys.executable, "-m", "venv", str(BENCH_VENV)], check=True)
        pip = [str(BENCH_VENV / "bin" / "pip"), "install", "--quiet"]
        subprocess.run([*pip, SQLITE_UTILS_REQUIREMENT], check=True)
    return binary


def sqlite_utils_version(binary: Path) -> str:
    out = subprocess.run([str(binary), "--version"], capture_output=True, text=True, check=True)
    return out.stdout.strip().rsplit(" ", 1)[-1]


def sqlite_utils_insert(
    binary: Path, files: Files, work: Path, detect: bool, quiet: float
) -> Measured:
    db = work / f"sqlite-utils-{'detect' if detect else 'text'}.sqlite"
    db.unlink(missing_ok=True)
    command = [str(binary), "insert", str(db), "rows", str(files.utf8), "--csv"]
    if not detect:
        command.append("--no-detect-types")
    label = "sqlite-utils --csv" + ("" if detect else " --no-detect-types")
    wait_quiet(quiet)
    log(f"[sqlite-utils] {' '.join(command[1:])}")
    measured = run_measured(label, files.rows, command)
    log(f"[sqlite-utils] {measured.seconds:.1f} s, {measured.rate:,.0f} rows/s")
    if measured.status != 0:
        log("\n".join(line for _at, line in measured.output[-20:]))
    return measured


def floor_insert(rows: int, seed: int, work: Path, quiet: float) -> Measured:
    """sqlite3 executemany of rows already in memory: one transaction, TEXT columns."""
    log(f"[floor] generating {rows:,} rows in memory (not timed)")
    data = list(generate_rows(rows, seed))
    db = work / "floor.sqlite"
    db.unlink(missing_ok=True)
    conn = sqlite3.connect(db, isolation_level=None)
    columns = ", ".join(f'"{name}" TEXT' for name in HEADER)
    conn.execute(f"CREATE TABLE rows ({columns})")
    sql = f"INSERT INTO rows VALUES ({', '.join('?' for _ in HEADER)})"
    wait_quiet(quiet)
    busy = busy_seconds()
    before = resource.getrusage(resource.RUSAGE_SELF)
    started = time.perf_counter()
    conn.execute("BEGIN")
    conn.executemany(sql, data)
    conn.execute("COMMIT")
    seconds = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_SELF)
    conn.close()
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    others = max(0.0, busy_seconds() - busy - cpu) / seconds
    log(f"[floor] {seconds:.2f} s, {rows / seconds:,.0f} rows/s")
    del data
    return Measured(
        "sqlite3 executemany (floor)", rows, seconds, cpu_seconds=cpu, other_cores=others
    )


# --- The report -------------------------------------------------------------------------------


def print_output(title: str, measured: Measured, tail: int) -> None:
    lines = [line for _at, line in measured.output]
    print(f"--- {title} ({len(lines)} lines{', last ' + str(tail) if len(lines) > tail else ''})")
    for line in lines[-tail:]:
        print(f"  {line}")
    print()


def report(
    args: argparse.Namespace,
    files: Files,
    prefix: Files,
    full: Ingest,
    small: Ingest,
    utils: Measured,
    detected: Measured | None,
    floor: Measured,
    utils_version: str,
    snapshot: Snapshot,
) -> bool:
    print()
    print_output(f"machi ingest {short(full.measured.rows)}: its report", full.measured, 120)
    if full.worker is not None and (full.worker.status or not full.search_ready):
        print_output(f"machi worker {short(full.measured.rows)}", full.worker, 40)
    if not small.ok:
        print_output(f"machi ingest {short(small.measured.rows)}", small.measured, 40)
        if small.worker is not None:
            print_output(f"machi worker {short(small.measured.rows)}", small.worker, 40)
    print(
        f"{files.rows:,} rows x {len(HEADER)} columns: {files.cp932.name} "
        f"{megabytes(files.cp932):,.0f} MB (CP932), {files.utf8.name} "
        f"{megabytes(files.utf8):,.0f} MB (UTF-8); SQLite {sqlite3.sqlite_version}, "
        f"Python {sys.version.split()[0]}, {os.cpu_count()} CPUs"
    )
    print(
        f"machi: ingest --standard {args.standard} (read CP932, normalise, validate, clean CSV, "
        "load into the datastore), then the tasks it queued (the full-text index of a large "
        "table); total: both, until the table is served and searchable"
    )
    print(f"machi code: a copy of machi/ taken at the start, .py digest {snapshot.digest}")
    print(f"sqlite-utils {utils_version}: insert --csv, every cell TEXT, no indexes")
    print("floor: sqlite3 executemany of rows already in memory, 20 TEXT columns, one transaction")
    print()
    print(
        f"{'':38} {'seconds':>8} {'rows/s':>9} {'peak RSS':>9} {'private':>8} {'mapped':>8}"
        f" {'cpu s':>7} {'others':>6}"
    )
    rows: list[Measured] = []
    for run in (full, small):
        rows += [run.summary(), run.measured]
        if run.worker is not None:
            rows.append(run.worker)
    rows.append(utils)
    if detected is not None:
        rows.append(detected)
    rows.append(floor)
    for m in rows:
        peak = f"{m.peak_mb:,.0f} MB" if m.peak_kb else "-"
        private = f"{m.anon_mb:,.0f} MB" if m.anon_kb else "-"
        mapped = f"{m.file_mb:,.0f} MB" if m.file_kb else "-"
        print(
            f"{pad(m.label, 38)} {m.seconds:>8.1f} {m.rate:>9,.0f} {peak:>9} {private:>8} "
            f"{mapped:>8} {m.cpu_seconds:>7.1f} {m.other_cores:>5.2f}c"
        )
        if m is full.measured and full.converted:
            publish = m.seconds - full.converted
            print(f"{pad('    start-up + convert', 38)} {full.converted:>8.1f}")
            print(f"{pad('    publish (copy, load, indexes)', 38)} {publish:>8.1f}")
    print("  with the worker processes machi forks, in proportional sizes (shared pages once):")
    print("  private: the largest anonymous memory (Pss_Anon); mapped: the largest resident")
    print("  pages of mapped files (Pss_File: Sudachi's 202 MB dictionary, SQLite's memory map")
    print("  of the datastore file), both sampled every 0.5 s; peak RSS: the larger of their")
    print("  sampled sum (Pss) and the largest process's ru_maxrss; cpu s: CPU time, workers")
    print("  included; others: cores other processes used meanwhile")
    size = f"{full.datastore_mb:,.0f} MB"
    print(f"  machi's datastore file after the {short(files.rows)} load: {size}")
    print()
    vs_utils = full.rate / utils.rate if utils.rate else 0.0
    vs_floor = full.rate / floor.rate if floor.rate else 0.0
    print(f"machi total / sqlite-utils (--no-detect-types)  {vs_utils:6.3f}x")
    if detected is not None and detected.rate:
        print(f"machi total / sqlite-utils (detecting types)     {full.rate / detected.rate:6.3f}x")
    print(f"machi total / floor                              {vs_floor:6.3f}x")
    if full.worker is not None and utils.rate:
        alone = full.measured.rate / utils.rate
        print(f"machi ingest alone / sqlite-utils                {alone:6.3f}x (search not ready)")
    flat = full.peak_mb / small.peak_mb if small.peak_mb else 0.0
    print(
        f"machi peak RSS: {full.peak_mb:.0f} MB at {short(files.rows)}, "
        f"{small.peak_mb:.0f} MB at {short(prefix.rows)} ({flat:.2f}x); private "
        f"{full.anon_mb:.0f} MB and {small.anon_mb:.0f} MB; mapped {full.file_mb:.0f} MB and "
        f"{small.file_mb:.0f} MB"
    )
    print()
    passed = True

    def verdict(ok: bool, text: str) -> None:
        nonlocal passed
        passed = passed and ok
        print(f"{'PASS' if ok else 'FAIL'}: {text}")

    for run in (full, small):
        verdict(
            run.ok,
            f"machi published {run.measured.rows:,} rows, searchable (ingest exit "
            f"{run.measured.status}, published {run.published_rows or 'nothing'}; tasks exit "
            f"{run.worker.status if run.worker else '-'}, search ready {run.search_ready})",
        )
    verdict(utils.status == 0, f"sqlite-utils loaded the file (exit {utils.status})")
    verdict(
        full.ok and vs_utils >= TARGET_VS_SQLITE_UTILS,
        f"machi >= {TARGET_VS_SQLITE_UTILS:g}x sqlite-utils rows/s ({vs_utils:.3f}x)",
    )
    verdict(
        full.ok and vs_floor >= TARGET_VS_FLOOR,
        f"machi >= {TARGET_VS_FLOOR:g}x the floor's rows/s ({vs_floor:.3f}x)",
    )
    # Private memory is what the process itself holds; RSS adds resident pages of mapped
    # files (page cache the kernel can drop), which grow with the table SQLite maps.
    verdict(
        full.ok and full.anon_mb < TARGET_PEAK_MB,
        f"machi private memory < {TARGET_PEAK_MB:g} MB ({full.anon_mb:.0f} MB)",
    )
    verdict(
        full.ok and full.peak_mb < TARGET_PEAK_MB,
        f"machi peak RSS < {TARGET_PEAK_MB:g} MB ({full.peak_mb:.0f} MB, mapped files included)",
    )
    flat_anon = full.anon_mb / small.anon_mb if small.anon_mb else 0.0
    verdict(
        full.ok and small.ok and flat_anon <= FLAT_RATIO,
        f"machi private memory flat in row count ({short(files.rows)} within {FLAT_RATIO:g}x "
        f"of {short(prefix.rows)}: {flat_anon:.2f}x)",
    )
    verdict(
        full.ok and small.ok and flat <= FLAT_RATIO,
        f"machi peak RSS flat in row count ({short(files.rows)} within {FLAT_RATIO:g}x of "
        f"{short(prefix.rows)}: {flat:.2f}x)",
    )
    if max(m.other_cores for m in rows) >= 0.25:
        print("WARNING: other processes used the CPUs during some measurements (see others)")
    return passed


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=DEFAULT_ROWS, help="(default: %(default)s)")
    parser.add_argument(
        "--prefix-rows", type=int, help="rows of the second machi run (default: --rows / 10)"
    )
    parser.add_argument("--seed", type=int, default=SEED, help=argparse.SUPPRESS)
    parser.add_argument(
        "--standard",
        default=DEFAULT_STANDARD,
        help="machi ingest --standard: a slug, or none to skip matching (default: %(default)s)",
    )
    parser.add_argument(
        "--no-detect-row",
        action="store_true",
        help="skip sqlite-utils with type detection (shown for information only)",
    )
    parser.add_argument(
        "--quiet-timeout",
        type=float,
        default=120,
        help="seconds to wait for other processes to leave the CPUs before each measurement",
    )
    parser.add_argument("--keep", action="store_true", help="keep the data directories")
    args = parser.parse_args(argv)
    if args.rows < 10_000:
        parser.error("--rows must be at least 10000")
    args.prefix_rows = args.prefix_rows or args.rows // 10
    if not 0 < args.prefix_rows < args.rows:
        parser.error("--prefix-rows must be less than --rows")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if not MACHI.exists():
        raise SystemExit(f"{MACHI} is missing: run `make install` (or pip install -e .) first")
    files = ensure_files(args.rows, args.seed)
    prefix = ensure_files(args.prefix_rows, args.seed)
    binary = ensure_sqlite_utils()
    CACHE.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="run-", dir=CACHE))
    try:
        quiet = args.quiet_timeout
        snapshot = snapshot_machi(work)
        log(f"machi/ copied to {snapshot.path} (.py digest {snapshot.digest}); both runs use it")
        full = machi_ingest(files, args.standard, work, snapshot, quiet)
        small = machi_ingest(prefix, args.standard, work, snapshot, quiet)
        utils = sqlite_utils_insert(binary, files, work, False, quiet)
        detected = None
        if not args.no_detect_row:
            detected = sqlite_utils_insert(binary, files, work, True, quiet)
        floor = floor_insert(args.rows, args.seed, work, quiet)
        passed = report(
            args,
            files,
            prefix,
            full,
            small,
            utils,
            detected,
            floor,
            sqlite_utils_version(binary),
            snapshot,
        )
    finally:
        if args.keep:
            log(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
