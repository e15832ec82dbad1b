"""Datastore API against Datasette on one generated 1,000,000-row table, on SQLite.

Run on demand (not in CI); needs `wrk` (Debian: apt-get install -y wrk). The first run loads
the table (about 4 minutes) and installs Datasette; later runs reuse both (about 8 minutes):

    .venv/bin/python bench/datastore.py [--rows 1000000] [--seconds 12] [--clients 8]
                                        [--kinds filter,fts,facet,cursor,offset] [--keep]
                                        [--rebuild] [--machi-settings FILE]

What it does:

1. Builds a machi data directory (main database + datastore file) in a child process of this
   script (`--worker build`): migrate, a department, a dataset and a resource made through
   machi's services, and the generated rows (Japanese facility-like records, seeded) loaded by
   machi.datastore.services.load_table. Kept in var/bench-datastore/ by row count,
   DATA_VERSION and a hash of LAYOUT_FILES, so reruns skip the load until the generator or
   the tables' layout changes.
2. Serves it twice: machi with gunicorn (as `machi serve` does, DEBUG off, rate limits raised
   out of the way) and Datasette on the SAME datastore file, installed only here, in its own
   virtualenv (var/bench-venv; never a project dependency). Both share the machine's CPUs
   with the load generator; only one is loaded at a time.
3. Checks that both answer each URL alike (row counts, pages, facet counts), then for each
   query kind loads each server with 8 clients (wrk, keep-alive connections, one URL after
   another from a fixed seeded list): after a warm-up, in slices taken in turn (machi,
   Datasette, Datasette, machi ...) so that anything else running on the machine weighs on
   both alike; it waits for a quiet machine before each kind and reports what others used.
   Requests per second, p50/p99 latency, and the CPU each server used.
4. Cursor against offset paging at growing depth (one client), and the memory of the process
   serving a full CSV export.

Targets (exit status 1 when one fails): throughput >= 1.0x Datasette on every query kind
(the deep page judged on cursors, since Datasette's table API has no offset), p99 under
100 ms for the filter query, cursor paging flat with depth, export under 200 MB of the
serving process's own memory.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import hashlib
import http.client
import json
import os
import random
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import unicodedata
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

ROOT = Path(__file__).resolve().parent.parent
CACHE = ROOT / "var" / "bench-datastore"
DATASETTE_VENV = ROOT / "var" / "bench-venv"
DATASETTE_REQUIREMENT = "datasette>=0.65,<1.0"  # the stable line; 1.0 alphas change the JSON
DATA_VERSION = 1  # bump when the generated rows or the schema change
SEED = 20240501
DEFAULT_ROWS = 1_000_000
KINDS = ("filter", "fts", "facet", "cursor", "offset")
KIND_LABELS = {
    "filter": "filter + sort + 100 rows",
    "fts": "full-text query",
    "facet": "facet counts (種別)",
    "cursor": "deep page, cursor",
    "offset": "deep page, offset",
}
VARIANTS = 64  # distinct URLs per kind, taken in turn
TARGET_RATIO = 1.0
TARGET_FILTER_P99_MS = 100.0
TARGET_EXPORT_MB = 200.0
FLAT_RATIO = 1.5  # cursor pages: slowest depth within 1.5x the fastest (+ FLAT_SLACK_MS)
FLAT_SLACK_MS = 1.0
DEPTH_SAMPLES = 20
QUIET_CORES = 0.15  # other processes' CPU below which the machine counts as quiet
DISTURBED_CORES = 0.25  # others using more than this during a measurement: a warning
ROUNDS = 4  # slices per server and kind, taken in turn
MACHI_TIME_LIMIT_MS = 1000  # machi's default DATASTORE_TIME_LIMIT_MS, also given to Datasette

# --- Generated rows ---------------------------------------------------------------------------
# Facility lists as Bunkyo publishes them: names built from town names, a kind and a brand,
# addresses in the ward, coordinates inside it, capacities where a facility has one.

TOWNS: tuple[tuple[str, int], ...] = (  # 文京区の町名と丁目の数
    ("大塚", 6),
    ("音羽", 2),
    ("春日", 2),
    ("小石川", 5),
    ("後楽", 2),
    ("小日向", 4),
    ("水道", 2),
    ("関口", 3),
    ("千石", 4),
    ("千駄木", 5),
    ("西片", 2),
    ("根津", 2),
    ("白山", 5),
    ("本駒込", 6),
    ("本郷", 7),
    ("弥生", 2),
    ("湯島", 4),
    ("向丘", 2),
    ("目白台", 3),
)
KANJI_DIGITS = "一二三四五六七八九"


@dataclass(frozen=True)
class Kind:
    name: str  # 種別
    weight: int
    cores: tuple[str, ...]  # the end of a facility's name
    capacity: tuple[int, int] | None  # 定員, when the kind has one
    public: float  # share run by the ward (文京区立…)


FACILITY_KINDS: tuple[Kind, ...] = (
    Kind("認可保育所", 8, ("保育園", "こども園", "保育所"), (30, 200), 0.3),
    Kind("小規模保育事業", 4, ("保育室", "ちいさな保育園"), (6, 19), 0.0),
    Kind("認証保育所", 3, ("保育園", "保育ルーム"), (20, 80), 0.0),
    Kind("幼稚園", 4, ("幼稚園",), (60, 300), 0.4),
    Kind("認定こども園", 2, ("こども園",), (80, 250), 0.5),
    Kind("児童館", 3, ("児童館",), (20, 100), 1.0),
    Kind("育成室", 4, ("育成室", "学童クラブ"), (30, 80), 1.0),
    Kind("図書館", 2, ("図書館", "図書室"), (50, 400), 1.0),
    Kind("公園", 10, ("公園", "児童遊園", "緑地"), None, 1.0),
    Kind("避難所", 5, ("小学校", "中学校", "地域活動センター"), (200, 1500), 1.0),
    Kind("AED設置場所", 8, ("交番", "郵便局", "地域活動センター", "商店会事務所"), None, 0.3),
    Kind("公衆トイレ", 5, ("公衆便所", "公園トイレ"), None, 1.0),
    Kind("自転車駐車場", 5, ("自転車駐車場", "駐輪場"), (50, 600), 0.7),
    Kind("区民センター", 2, ("区民センター", "地域センター"), (30, 500), 1.0),
    Kind("高齢者あんしん相談センター", 2, ("高齢者あんしん相談センター",), None, 1.0),
    Kind(
        "介護サービス事業所",
        6,
        ("デイサービス", "ケアセンター", "訪問介護ステーション"),
        (10, 60),
        0.1,
    ),
    Kind("医療機関", 9, ("クリニック", "診療所", "内科医院", "歯科医院"), None, 0.0),
    Kind("薬局", 6, ("薬局", "調剤薬局"), None, 0.0),
    Kind("集会所", 3, ("集会所", "会議室"), (20, 120), 1.0),
    Kind("小学校", 2, ("小学校",), (200, 900), 1.0),
    Kind("中学校", 1, ("中学校",), (200, 700), 1.0),
    Kind("スポーツ施設", 2, ("総合体育館", "運動場", "プール"), (100, 1500), 0.8),
)
BRANDS = (
    "さくら",
    "ひまわり",
    "あおぞら",
    "みらい",
    "こもれび",
    "にじいろ",
    "ポピンズ",
    "アスク",
    "グローバルキッズ",
    "すこやか",
    "ふれあい",
    "ゆうあい",
    "ライフ",
    "メディカル",
    "ひかり",
    "わかば",
)
ORDINALS = ("", "", "", "第一", "第二", "第三", "東", "西", "南", "北", "駅前")
REMARKS = (
    "一時保育あり",
    "延長保育実施",
    "駐車場なし",
    "駐輪場あり",
    "バリアフリー対応",
    "土曜休館",
    "日曜・祝日休館",
    "改修工事のため休止中",
    "駅から徒歩5分",
    "車いす用トイレあり",
    "授乳室あり",
    "AED設置",
    "災害時は避難所として開設",
    "予約制",
    "定員は年度ごとに変わる",
    "0歳児保育あり",
    "送迎バスあり",
    "給食は自園調理",
    "多目的室あり",
    "夜間は閉鎖",
    "英語対応可",
    "オムツ替え台あり",
    "介護予防教室を開催",
    "診療時間は要確認",
    "Wi-Fi利用可",
)
SCHEMA: dict[str, Any] = {
    "fields": [
        {"name": "名称", "type": "string"},
        {"name": "種別", "type": "string"},
        {"name": "町丁目", "type": "string"},
        {"name": "住所", "type": "string"},
        {"name": "定員", "type": "integer"},
        {"name": "人数", "type": "integer"},
        {"name": "金額", "type": "number"},
        {"name": "開設日", "type": "date"},
        {"name": "緯度", "type": "number"},
        {"name": "経度", "type": "number"},
        {"name": "備考", "type": "string"},
    ]
}
# Analyzed tokens (single words for both machi's analyzer and FTS5's unicode61), so
# Datasette's `_search` and machi's `q` find the same rows; the run checks the counts agree.
FTS_TERMS = ("保育", "公園", "児童", "図書", "駐輪", "学校", "薬局", "休館", "介護", "予約")
FILTER_KINDS = tuple(k.name for k in FACILITY_KINDS if k.capacity is not None)
FILTER_MINIMUMS = (20, 50, 80, 100, 150, 200, 300)
EPOCH = datetime.date(1950, 1, 1)
DATE_SPAN = (datetime.date(2025, 3, 31) - EPOCH).days


def generate_rows(count: int, seed: int = SEED) -> Iterator[list[str]]:
    """Rows as a clean CSV file would give them: text cells in schema order, "" when empty."""
    rng = random.Random(seed)
    kinds = FACILITY_KINDS
    weights = [k.weight for k in kinds]
    chome = [(town, n) for town, top in TOWNS for n in range(1, top + 1)]
    for _ in range(count):
        kind = rng.choices(kinds, weights)[0]
        town, n = rng.choice(chome)
        core = rng.choice(kind.cores)
        if rng.random() < kind.public:
            name = f"文京区立{town}{rng.choice(ORDINALS)}{core}"
        else:
            name = f"{rng.choice(BRANDS)}{town}{core}"
        capacity = rng.randint(*kind.capacity) if kind.capacity else None
        people = rng.randint(0, capacity + capacity // 5) if capacity else rng.randint(0, 3000)
        remark = rng.choice(REMARKS) if rng.random() < 0.6 else ""
        opened = (
            "" if rng.random() < 0.02 else str(EPOCH + datetime.timedelta(rng.randrange(DATE_SPAN)))
        )
        yield [
            name,
            kind.name,
            f"{town}{KANJI_DIGITS[n - 1]}丁目",
            f"東京都文京区{town}{n}丁目{rng.randint(1, 40)}番{rng.randint(1, 30)}号",
            "" if capacity is None else str(capacity),
            str(people),
            f"{rng.lognormvariate(14, 1.2):.1f}",
            opened,
            f"{35.70 + rng.random() * 0.04:.6f}",
            f"{139.72 + rng.random() * 0.05:.6f}",
            remark,
        ]


# --- Small helpers ----------------------------------------------------------------------------


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def pad(text: str, width: int) -> str:
    """Left-justify for a terminal, where kanji and kana take two columns."""
    used = sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)
    return text + " " * max(0, width - used)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def tilde_encode(name: str) -> str:
    """Datasette's encoding of table names in URLs (`@` becomes `~40`)."""
    safe = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-"
    out = []
    for char in name:
        if char in safe:
            out.append(char)
        elif char == " ":
            out.append("+")
        else:
            out.append("".join(f"~{byte:02X}" for byte in char.encode()))
    return "".join(out)


def query(params: Sequence[tuple[str, Any]]) -> str:
    return urlencode([(k, str(v)) for k, v in params], quote_via=quote)


def short(n: int) -> str:
    return f"{n // 1_000_000}M" if n >= 1_000_000 and n % 1_000_000 == 0 else f"{n // 1000}k"


# --- Worker: build the data directory ------------------------------------------------------


def django_environment(data_dir: Path) -> dict[str, str]:
    """What machi reads, for the child processes: SQLite under data_dir, DEBUG off."""
    env = dict(os.environ)
    for name in ("DATABASE_URL", "DATASTORE_URL", "REDIS_URL", "SECRET_KEY"):
        env.pop(name, None)
    env.update(
        MACHI_DATA_DIR=str(data_dir),
        DJANGO_SETTINGS_MODULE="machi.settings",
        MACHI_ENV="development",
        DEBUG="false",  # DEBUG keeps every SQL query in memory
        MACHI_LOG_LEVEL="WARNING",
        # Out of the way: every request still counts itself (one upsert in the main
        # database, as on a site without Redis), but none is ever refused.
        MACHI_RATE_LIMIT_ANON="1000000000",
        MACHI_RATE_LIMIT_KEY="1000000000",
        PYTHONPATH=str(ROOT),
    )
    return env


def run_build(data_dir: Path, rows: int) -> dict[str, Any]:
    os.environ.update(django_environment(data_dir))
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.contrib.auth.models import User
    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.core.management import call_command
    from django.db import connections

    from machi.accounts.models import Department
    from machi.catalog import services as catalog
    from machi.datastore import services

    log(f"[build] migrating {data_dir}")
    call_command("migrate", verbosity=0, interactive=False)
    admin = User.objects.create_superuser("bench-admin", password="bench correct horse")
    department = Department.objects.create(
        slug="bench", name="企画政策部 情報政策課", name_en="Information Policy Division"
    )
    dataset = catalog.create_dataset(
        actor=admin,
        department=department,
        name="bench-facilities",
        title="施設一覧（ベンチマーク）",
    )
    header = ",".join(f["name"] for f in SCHEMA["fields"]) + "\n"
    resource_ = catalog.add_resource(
        actor=admin,
        dataset=dataset,
        name="施設一覧",
        upload=SimpleUploadedFile("facilities.csv", header.encode(), content_type="text/csv"),
    )
    started = time.perf_counter()

    def progress(source: Iterator[list[str]]) -> Iterator[list[str]]:
        for n, row in enumerate(source, start=1):
            if n % 100_000 == 0:
                elapsed = time.perf_counter() - started
                log(f"[build] {n:>9,} rows read, {elapsed:6.1f} s, {n / elapsed:,.0f} rows/s")
            yield row

    table = services.load_table(
        actor=admin,
        version=resource_.current,
        schema=SCHEMA,
        rows=progress(generate_rows(rows)),
        source="generated",
    )
    seconds = time.perf_counter() - started
    with connections["datastore"].cursor() as cursor:
        cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    connections.close_all()
    return {
        "rows": table.row_count,
        "resource": str(resource_.uid),
        "table": table.name,
        "load_seconds": seconds,
        "built": datetime.datetime.now().isoformat(timespec="seconds"),
    }


# --- Data directory cache --------------------------------------------------------------------


# What decides the tables' layout and tokens: a change to them means loading again.
LAYOUT_FILES = ("machi/datastore/engine.py", "machi/lib/japanese.py")


def data_dir_for(rows: int) -> Path:
    digest = hashlib.sha256()
    for name in LAYOUT_FILES:
        digest.update((ROOT / name).read_bytes())
    return CACHE / f"v{DATA_VERSION}-{rows}-{digest.hexdigest()[:8]}"


def ensure_data(rows: int, rebuild: bool) -> tuple[Path, dict[str, Any], bool]:
    """The built data directory and its description; whether it was built now."""
    final = data_dir_for(rows)
    meta_path = final / "bench.json"
    if rebuild and final.exists():
        log(f"removing {final}")
        shutil.rmtree(final)
    if meta_path.exists():
        return final, json.loads(meta_path.read_text()), False
    CACHE.mkdir(parents=True, exist_ok=True)
    for stale in CACHE.glob(f"v*-{rows}-*"):
        log(f"removing {stale} (built by other code)")
        shutil.rmtree(stale)
    partial = CACHE / f"{final.name}.partial"
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    log(f"building {rows:,} rows in {partial} (once; reruns reuse {final})")
    command = [sys.executable, str(Path(__file__).resolve()), "--worker", "build"]
    command += ["--data", str(partial), "--rows", str(rows)]
    process = subprocess.run(command, stdout=subprocess.PIPE, text=True, cwd=ROOT)
    if process.returncode != 0:
        raise SystemExit(f"the build worker failed (status {process.returncode})")
    meta = json.loads(process.stdout)
    meta["data_version"] = DATA_VERSION
    (partial / "bench.json").write_text(json.dumps(meta, ensure_ascii=False, indent=2))
    partial.rename(final)
    return final, meta, True


def ensure_datasette() -> Path:
    """Datasette in its own virtualenv, created on first use."""
    binary = DATASETTE_VENV / "bin" / "datasette"
    if not binary.exists():
        log(f"installing Datasette into {DATASETTE_VENV} (for this benchmark only)")
        subprocess.run([sys.executable, "-m", "venv", str(DATASETTE_VENV)], check=True)
        pip = [str(DATASETTE_VENV / "bin" / "pip"), "install", "--quiet"]
        subprocess.run([*pip, DATASETTE_REQUIREMENT], check=True)
    return DATASETTE_VENV / "bin" / "python"


def ensure_inspect_file(data_dir: Path, python: Path) -> Path:
    """`datasette inspect`: the row counts Datasette serves an immutable file with."""
    path = data_dir / "datasette-inspect.json"
    if not path.exists():
        log("datasette inspect (counts every table once)")
        datasette = str(python.parent / "datasette")
        db = str(data_dir / "datastore.sqlite3")
        subprocess.run([datasette, "inspect", db, "--inspect-file", str(path)], check=True)
    return path


# --- Servers ---------------------------------------------------------------------------------


def proc_status(pid: int) -> dict[str, int]:
    """VmRSS, VmHWM, RssAnon ... of a process, in kB."""
    values = {}
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            key, _sep, rest = line.partition(":")
            if key.startswith(("Vm", "Rss")):
                values[key] = int(rest.split()[0])
    return values


def cpu_ticks(pid: int) -> int:
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rpartition(")")[2].split()
    return int(fields[11]) + int(fields[12])  # utime + stime


def busy_ticks() -> int:
    """CPU time all processes of the machine have used (/proc/stat), in clock ticks."""
    with open("/proc/stat") as stat:
        values = [int(v) for v in stat.readline().split()[1:9]]
    return sum(values) - values[3] - values[4]  # all but idle and iowait


def wait_quiet(threshold: float, timeout: float) -> float:
    """Wait until other processes use less than `threshold` cores; what they used last.

    The machine may be shared (tests of other work, builds): a measurement taken while
    something else runs says little. Our servers are idle while this waits.
    """
    hz = os.sysconf("SC_CLK_TCK")
    deadline = time.monotonic() + timeout
    told = False
    quiet = 0
    while True:
        before = busy_ticks()
        time.sleep(1)
        used = (busy_ticks() - before) / hz
        quiet = quiet + 1 if used < threshold else 0
        if quiet >= 3:
            return used
        if time.monotonic() > deadline:
            log(f"the machine is still busy ({used:.2f} cores used by others): measuring anyway")
            return used
        if not told and not quiet:
            log(f"waiting for a quiet machine (others use {used:.2f} cores)")
            told = True


def children(pid: int) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as stat:
                ppid = int(stat.read().rpartition(")")[2].split()[1])
        except OSError:
            continue
        if ppid == pid:
            found.append(int(entry))
    return sorted(found)


@dataclass
class Server:
    name: str
    port: int
    process: subprocess.Popen[bytes]
    log_path: Path
    setup: str
    paths: dict[str, list[str]] = field(default_factory=dict)
    labels: dict[str, list[str]] = field(default_factory=dict)

    def pids(self) -> list[int]:
        """The processes doing the work: gunicorn's workers, Datasette's one process."""
        return children(self.process.pid) or [self.process.pid]

    def all_pids(self) -> list[int]:
        return [self.process.pid, *children(self.process.pid)]

    def cpu(self) -> int:
        total = 0
        for pid in self.all_pids():
            with contextlib.suppress(OSError):
                total += cpu_ticks(pid)
        return total

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def start_machi(
    data_dir: Path, workers: int, threads: int, settings: Path | None, logs: Path
) -> Server:
    port = free_port()
    env = django_environment(data_dir)
    if settings is not None:
        env["PYTHONPATH"] = f"{settings.resolve().parent}{os.pathsep}{env['PYTHONPATH']}"
        env["DJANGO_SETTINGS_MODULE"] = settings.stem
    log_path = logs / "machi.log"
    command = [sys.executable, "-m", "gunicorn", "machi.wsgi:application"]
    command += ["--bind", f"127.0.0.1:{port}", "--workers", str(workers)]
    command += ["--threads", str(threads), "--timeout", "600", "--keep-alive", "30"]
    process = subprocess.Popen(
        command,
        cwd=ROOT,
        env=env,
        stdout=log_path.open("wb"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    kind = "gthread" if threads > 1 else "sync (no keep-alive)"
    setup = f"gunicorn {workers} workers x {threads} threads ({kind}), no access log"
    if settings is not None:
        setup += f", settings {settings}"
    return Server("machi", port, process, log_path, setup)


# `datasette serve` itself, with uvicorn's access log off (machi's gunicorn keeps none either).
DATASETTE_LAUNCHER = """
import sys, uvicorn
from datasette import cli
run = uvicorn.run
def quiet(app, **kwargs):
    kwargs["access_log"] = False
    run(app, **kwargs)
uvicorn.run = quiet
sys.argv = ["datasette", *sys.argv[1:]]
cli.cli()
"""


def start_datasette(
    data_dir: Path, python: Path, inspect_file: Path, threads: int, immutable: bool, logs: Path
) -> Server:
    port = free_port()
    db = str(data_dir / "datastore.sqlite3")
    command = [str(python), "-c", DATASETTE_LAUNCHER, "serve"]
    command += ["-i", db, "--inspect-file", str(inspect_file)] if immutable else [db]
    command += ["-h", "127.0.0.1", "-p", str(port)]
    settings = {
        "num_sql_threads": threads,
        # Facet suggestions run a query per column on every table page: machi has none.
        "suggest_facets": "off",
        # machi's one time limit (DATASTORE_TIME_LIMIT_MS) for facets too, so that the
        # facet query finishes rather than being cut at Datasette's 200 ms default.
        "facet_time_limit_ms": MACHI_TIME_LIMIT_MS,
        "sql_time_limit_ms": MACHI_TIME_LIMIT_MS,
        "max_csv_mb": 0,  # the whole table, as machi exports it
    }
    for name, value in settings.items():
        command += ["--setting", name, str(value)]
    log_path = logs / "datasette.log"
    process = subprocess.Popen(
        command,
        cwd=data_dir,
        stdout=log_path.open("wb"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    mode = "immutable (-i, counts from datasette inspect)" if immutable else "read-only"
    setup = (
        f"1 process, num_sql_threads={threads}, {mode}, suggest_facets off, "
        f"facet/sql time limit {MACHI_TIME_LIMIT_MS} ms, no access log"
    )
    return Server("Datasette", port, process, log_path, setup)


def wait_ready(server: Server, path: str, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise SystemExit(f"{server.name} exited; see {server.log_path}")
        with contextlib.suppress(OSError, http.client.HTTPException):
            status, _body = get(server, path)
            if status == 200:
                return
        time.sleep(0.3)
    raise SystemExit(f"{server.name} did not answer {path} within {timeout:.0f} s")


_connections: dict[int, http.client.HTTPConnection] = {}


def get(server: Server, path: str) -> tuple[int, bytes]:
    """One GET on a kept-alive connection (reconnecting once if the server closed it)."""
    for attempt in range(2):
        conn = _connections.get(server.port)
        if conn is None:
            conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=600)
            _connections[server.port] = conn
        try:
            conn.request("GET", path)
            response = conn.getresponse()
            body = response.read()
            if response.getheader("Connection", "").lower() == "close":
                conn.close()
                _connections.pop(server.port, None)
            return response.status, body
        except (OSError, http.client.HTTPException):
            conn.close()
            _connections.pop(server.port, None)
            if attempt:
                raise
    raise AssertionError("unreachable")


def get_json(server: Server, path: str) -> Any:
    status, body = get(server, path)
    if status != 200:
        raise SystemExit(f"{server.name} answered {status} to {path}: {body[:300]!r}")
    return json.loads(body)


def timed_get(server: Server, path: str) -> float:
    started = time.perf_counter()
    status, body = get(server, path)
    elapsed = (time.perf_counter() - started) * 1000
    if status != 200:
        raise SystemExit(f"{server.name} answered {status} to {path}: {body[:300]!r}")
    return elapsed


# --- The requests ------------------------------------------------------------------------------


@dataclass
class Endpoints:
    """How to ask each server the same thing."""

    rows: int
    resource: str
    table: str

    @property
    def machi_base(self) -> str:
        return f"/api/v1/datastore/{self.resource}"

    @property
    def datasette_table(self) -> str:
        return f"/datastore/{tilde_encode(self.table)}"

    def machi(self, kind: str, variant: dict[str, Any]) -> str:
        base = self.machi_base
        if kind == "filter":
            params = [("種別", variant["kind"]), ("定員__gte", variant["min"])]
            return f"{base}/rows?" + query([*params, ("sort", "-開設日"), ("limit", 100)])
        if kind == "fts":
            return f"{base}/rows?" + query([("q", variant["term"]), ("limit", 100)])
        if kind == "facet":
            return f"{base}/facets?" + query([("columns", "種別")])
        if kind == "cursor":
            return f"{base}/rows?" + query([("limit", 100), ("next", variant["token"])])
        if kind == "offset":
            return f"{base}/rows?" + query([("limit", 100), ("offset", variant["depth"])])
        raise ValueError(kind)

    def datasette(self, kind: str, variant: dict[str, Any]) -> str:
        # `_nocol=_search`: the same columns as machi returns (not the token column).
        table = f"{self.datasette_table}.json?"
        same = [("_nocol", "_search")]
        if kind == "filter":
            params = [("種別", variant["kind"]), ("定員__gte", variant["min"])]
            return table + query([*params, ("_sort_desc", "開設日"), ("_size", 100), *same])
        if kind == "fts":
            return table + query([("_search", variant["term"]), ("_size", 100), *same])
        if kind == "facet":
            return table + query([("_facet", "種別"), ("_size", 0), *same])
        if kind == "cursor":
            # Keyset on the primary key (_id, the rowid): rows after _id = depth.
            return table + query([("_next", variant["depth"]), ("_size", 100), *same])
        if kind == "offset":
            # The table API has no offset (only _next): the same SQL as machi's, as a query.
            columns = ", ".join(f'"{f["name"]}"' for f in SCHEMA["fields"])
            sql = (
                f'select _id, {columns} from "{self.table}" order by _id '
                f"limit 101 offset {variant['depth']}"
            )
            return "/datastore.json?" + query([("sql", sql)])
        raise ValueError(kind)


def variants(kind: str, rows: int) -> list[dict[str, Any]]:
    rng = random.Random(f"{SEED}-{kind}")
    if kind == "filter":
        return [
            {"kind": rng.choice(FILTER_KINDS), "min": rng.choice(FILTER_MINIMUMS)}
            for _ in range(VARIANTS)
        ]
    if kind == "fts":
        return [{"term": FTS_TERMS[i % len(FTS_TERMS)]} for i in range(VARIANTS)]
    if kind == "facet":
        return [{}]
    # Deep pages around the middle of the table, a page apart.
    middle = rows // 2
    depths = sorted(
        {max(100, middle + 100 * rng.randint(-VARIANTS, VARIANTS)) for _ in range(VARIANTS)}
    )
    return [{"depth": depth} for depth in depths]


def cursor_at(machi: Server, endpoints: Endpoints, depth: int) -> str:
    """machi's cursor for the rows after row `depth` (one offset request, not timed)."""
    offset = max(0, depth - 100)
    path = f"{endpoints.machi_base}/rows?" + query([("limit", depth - offset), ("offset", offset)])
    page = get_json(machi, path)
    if not page["next"] or page["records"][-1]["_id"] != depth:
        raise SystemExit(f"machi gave no cursor at depth {depth}")
    return page["next"]


def build_paths(
    machi: Server, datasette: Server, endpoints: Endpoints, kinds: Sequence[str]
) -> None:
    for kind in kinds:
        chosen = variants(kind, endpoints.rows)
        if kind == "cursor":
            for variant in chosen:
                variant["token"] = cursor_at(machi, endpoints, variant["depth"])
        machi.paths[kind] = [endpoints.machi(kind, v) for v in chosen]
        machi.labels[kind] = [label(kind, v) for v in chosen]
        datasette.paths[kind] = [endpoints.datasette(kind, v) for v in chosen]


def label(kind: str, variant: dict[str, Any]) -> str:
    if kind == "filter":
        return f"種別={variant['kind']} 定員>={variant['min']}"
    if kind == "fts":
        return f"q={variant['term']}"
    if kind in {"cursor", "offset"}:
        return f"depth {variant['depth']}"
    return "種別"


def check_answers(
    machi: Server, datasette: Server, kinds: Sequence[str]
) -> tuple[list[str], list[str]]:
    """Ask every URL once on each server: (problems: different answers, notes)."""
    problems, notes = [], []
    for kind in kinds:
        estimated = 0
        seen = set()
        for m_path, d_path, name in zip(
            machi.paths[kind], datasette.paths[kind], machi.labels[kind], strict=True
        ):
            if m_path in seen:
                continue
            seen.add(m_path)
            m, d = get_json(machi, m_path), get_json(datasette, d_path)
            if kind in {"filter", "fts"}:
                theirs = d.get("filtered_table_rows_count")
                if not m["total_exact"]:
                    estimated += 1
                elif theirs is not None and m["total"] != theirs:
                    problems.append(f"{kind} {name}: machi counts {m['total']}, Datasette {theirs}")
                if len(m["records"]) != len(d["rows"]):
                    problems.append(
                        f"{kind} {name}: {len(m['records'])} rows against {len(d['rows'])}"
                    )
            elif kind == "facet":
                ours = {v["value"]: v["count"] for v in m["種別"]}
                facet = d.get("facet_results", {}).get("種別", {}).get("results", [])
                if d.get("facets_timed_out") or ours != {v["value"]: v["count"] for v in facet}:
                    problems.append("facet: counts differ, or Datasette's facet timed out")
            else:
                ours = [r["_id"] for r in m["records"]]
                theirs = [r[0] for r in d["rows"]][: len(ours)]
                if ours != theirs or len(ours) != 100:
                    problems.append(f"{kind} {name}: the pages differ")
        if estimated:
            notes.append(
                f"{kind}: machi estimated the total of {estimated} of {len(seen)} queries "
                "(its count took longer than DATASTORE_COUNT_TIME_LIMIT_MS); Datasette counted"
            )
    return problems, notes


# --- Load generation: wrk ------------------------------------------------------------------------

WRK_SCRIPT = """
local paths = {
%s
}
local n = 0
request = function()
  n = n + 1
  return wrk.format("GET", paths[(n - 1) %% #paths + 1])
end
done = function(summary, latency, requests)
  local e = summary.errors
  local q = {}
  for i = 1, 200 do q[i] = string.format("%%d", latency:percentile(i / 2)) end
  io.write(string.format(
    "WRKJSON {\\"requests\\": %%d, \\"duration_us\\": %%d, \\"errors\\": %%d, " ..
    "\\"status_errors\\": %%d, \\"quantiles\\": [%%s]}\\n",
    summary.requests, summary.duration, e.connect + e.read + e.write + e.timeout, e.status,
    table.concat(q, ",")))
end
"""


@dataclass
class Slice:
    """One wrk run: its counts, its latency at every half percent (us), and the CPU used."""

    requests: int
    seconds: float
    errors: int
    quantiles: list[int]
    wall: float
    server_cpu: float  # seconds
    client_cpu: float
    all_cpu: float  # every process on the machine


@dataclass
class Load:
    """Slices of one server and kind, taken in turn with the other server's, combined."""

    slices: list[Slice]

    @property
    def requests(self) -> int:
        return sum(s.requests for s in self.slices)

    @property
    def seconds(self) -> float:
        return sum(s.seconds for s in self.slices)

    @property
    def rate(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    @property
    def errors(self) -> int:
        return sum(s.errors for s in self.slices)

    def latency_ms(self, p: float) -> float:
        """Percentile of all requests: each slice's quantiles weighted by its requests."""
        points = sorted(
            (value, s.requests / len(s.quantiles)) for s in self.slices for value in s.quantiles
        )
        total = sum(weight for _value, weight in points)
        running = 0.0
        for value, weight in points:
            running += weight
            if running >= total * p / 100 - 1e-9:
                return value / 1000
        return points[-1][0] / 1000 if points else 0.0

    @property
    def p50_ms(self) -> float:
        return self.latency_ms(50)

    @property
    def p99_ms(self) -> float:
        return self.latency_ms(99)

    def _cores(self, used: float) -> float:
        wall = sum(s.wall for s in self.slices)
        return used / wall if wall else 0.0

    @property
    def cores(self) -> float:
        """Cores the server used while loaded."""
        return self._cores(sum(s.server_cpu for s in self.slices))

    @property
    def client_cores(self) -> float:
        return self._cores(sum(s.client_cpu for s in self.slices))

    @property
    def other_cores(self) -> float:
        """Cores every other process on the machine used meanwhile."""
        rest = sum(s.all_cpu - s.server_cpu - s.client_cpu for s in self.slices)
        return max(0.0, self._cores(rest))


def wrk(server: Server, paths: Sequence[str], clients: int, seconds: float, work: Path) -> Slice:
    script = work / f"{server.name}.lua"
    lines = ",\n".join(json.dumps(p) for p in paths)  # ASCII: the paths are percent-encoded
    script.write_text(WRK_SCRIPT % lines)
    command = ["wrk", "-t1", f"-c{clients}", f"-d{max(1, round(seconds))}s", "--timeout", "30s"]
    command += ["-s", str(script), f"http://127.0.0.1:{server.port}"]
    hz = os.sysconf("SC_CLK_TCK")
    before_cpu = server.cpu()
    before_busy = busy_ticks()
    before_children = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True)
    wall = time.perf_counter() - started
    used = server.cpu() - before_cpu
    busy = busy_ticks() - before_busy
    after_children = resource.getrusage(resource.RUSAGE_CHILDREN)
    client = (after_children.ru_utime - before_children.ru_utime) + (
        after_children.ru_stime - before_children.ru_stime
    )
    line = next((x for x in done.stdout.splitlines() if x.startswith("WRKJSON ")), None)
    if done.returncode != 0 or line is None:
        raise SystemExit(f"wrk failed: {done.stdout}\n{done.stderr}")
    data = json.loads(line.removeprefix("WRKJSON "))
    return Slice(
        requests=data["requests"],
        seconds=data["duration_us"] / 1e6,
        errors=data["errors"] + data["status_errors"],
        quantiles=data["quantiles"],
        wall=wall,
        server_cpu=used / hz,
        client_cpu=client,
        all_cpu=busy / hz,
    )


def measure(
    servers: tuple[Server, Server], kind: str, args: argparse.Namespace, work: Path
) -> tuple[Load, Load]:
    """Warm both up, then load them in turn, ROUNDS slices each (ABBA...).

    Taking turns in short slices spreads whatever else the machine does over both
    servers alike, which one long run each would not.
    """
    wait_quiet(QUIET_CORES, args.quiet_timeout)
    for server in servers:
        wrk(server, server.paths[kind], args.clients, args.warmup, work)
    slices: dict[str, list[Slice]] = {server.name: [] for server in servers}
    seconds = max(1, round(args.seconds / ROUNDS))  # wrk takes whole seconds
    for n in range(ROUNDS):
        for server in servers if n % 2 == 0 else servers[::-1]:
            piece = wrk(server, server.paths[kind], args.clients, seconds, work)
            slices[server.name].append(piece)
    loads = (Load(slices[servers[0].name]), Load(slices[servers[1].name]))
    for server, load in zip(servers, loads, strict=True):
        log(
            f"{kind:7} {server.name:10} {load.rate:8.1f} req/s  p50 {load.p50_ms:7.1f} ms"
            f"  p99 {load.p99_ms:7.1f} ms  cpu {load.cores:.2f}  others {load.other_cores:.2f}"
            f"  errors {load.errors}"
        )
    return loads


# --- Depth series and export -------------------------------------------------------------------


def depths_for(rows: int) -> list[int]:
    return sorted({max(100, d) for d in (rows // 1000, rows // 10, rows // 2, rows * 9 // 10)})


def depth_series(
    machi: Server, datasette: Server, endpoints: Endpoints
) -> dict[str, dict[int, float]]:
    """Median ms of one client's page at each depth: machi cursor, machi offset, Datasette."""
    series: dict[str, dict[int, float]] = {
        "machi cursor": {},
        "machi offset": {},
        "Datasette _next": {},
    }
    for depth in depths_for(endpoints.rows):
        paths = {
            "machi cursor": (
                machi,
                endpoints.machi("cursor", {"token": cursor_at(machi, endpoints, depth)}),
            ),
            "machi offset": (machi, endpoints.machi("offset", {"depth": depth})),
            "Datasette _next": (datasette, endpoints.datasette("cursor", {"depth": depth})),
        }
        for label, (server, path) in paths.items():
            for _ in range(3):
                timed_get(server, path)
            samples = [timed_get(server, path) for _ in range(DEPTH_SAMPLES)]
            series[label][depth] = statistics.median(samples)
    return series


def is_flat(values: dict[int, float]) -> bool:
    return max(values.values()) <= FLAT_RATIO * min(values.values()) + FLAT_SLACK_MS


@dataclass
class Export:
    status: int
    peak_mb: float = 0.0  # VmHWM of the serving process during the export
    before_mb: float = 0.0  # its RSS just before
    anon_mb: float = 0.0  # the most private (anonymous) memory seen, sampled
    seconds: float = 0.0
    megabytes: float = 0.0
    lines: int = 0

    @property
    def added_mb(self) -> float:
        return self.peak_mb - self.before_mb


def export_memory(server: Server, path: str) -> Export:
    """Stream a full export; the serving process's peak resident memory meanwhile.

    VmHWM (reset first through clear_refs) is the peak of all resident pages, including
    those of memory-mapped files (machi's Sudachi dictionary); RssAnon, sampled every
    20 ms, is the process's own heap.
    """
    pids = server.pids()
    before = {}
    for pid in pids:
        with open(f"/proc/{pid}/clear_refs", "w") as refs:
            refs.write("5")  # resets VmHWM to the current RSS
        before[pid] = proc_status(pid)["VmRSS"]
    anon = dict.fromkeys(pids, 0)
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            for pid in pids:
                with contextlib.suppress(OSError, KeyError):
                    anon[pid] = max(anon[pid], proc_status(pid)["RssAnon"])
            done.wait(0.02)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=600)
    started = time.perf_counter()
    try:
        conn.request("GET", path)
        response = conn.getresponse()
        size = lines = 0
        while chunk := response.read(1 << 20):
            size += len(chunk)
            lines += chunk.count(b"\n")
    finally:
        seconds = time.perf_counter() - started
        conn.close()
        done.set()
        sampler.join()
    if response.status != 200:
        return Export(response.status)
    peaks = {pid: proc_status(pid)["VmHWM"] for pid in pids}
    worker = max(peaks, key=lambda pid: peaks[pid] - before[pid])
    return Export(
        status=200,
        peak_mb=peaks[worker] / 1024,
        before_mb=before[worker] / 1024,
        anon_mb=anon[worker] / 1024,
        seconds=seconds,
        megabytes=size / 1e6,
        lines=lines,
    )


# --- The run -----------------------------------------------------------------------------------


@dataclass
class Result:
    kind: str
    machi: Load
    datasette: Load

    @property
    def ratio(self) -> float:
        return self.machi.rate / self.datasette.rate if self.datasette.rate else float("inf")


def versions(datasette_python: Path) -> dict[str, str]:
    import sqlite3
    from importlib.metadata import version

    probe = "import datasette.version as v, sqlite3; print(v.__version__, sqlite3.sqlite_version)"
    out = subprocess.run(
        [str(datasette_python), "-c", probe], capture_output=True, text=True, check=True
    ).stdout.split()
    return {
        "django": version("django"),
        "gunicorn": version("gunicorn"),
        "sqlite_machi": sqlite3.sqlite_version,
        "datasette": out[0],
        "sqlite_datasette": out[1],
        "python": sys.version.split()[0],
    }


def report(
    args: argparse.Namespace,
    meta: dict[str, Any],
    servers: tuple[Server, Server],
    info: dict[str, str],
    results: list[Result],
    depths: dict[str, dict[int, float]] | None,
    exports: tuple[Export, Export] | None,
    problems: list[str],
    notes: list[str],
) -> bool:
    machi, datasette = servers
    print()
    print(
        f"{meta['rows']:,} rows, SQLite {info['sqlite_machi']}, Python {info['python']}, "
        f"{os.cpu_count()} CPUs shared by servers and load generator; {args.clients} clients "
        f"(wrk, keep-alive), {args.seconds:g} s per kind and server after {args.warmup:g} s "
        "warm-up"
    )
    print(f"machi:     Django {info['django']}, {machi.setup}")
    print(f"Datasette: {info['datasette']} (SQLite {info['sqlite_datasette']}), {datasette.setup}")
    for note in notes:
        print(f"note: {note}")
    if problems:
        print("WARNING: the two servers do not answer alike, so ratios may mislead:")
        for problem in problems[:10]:
            print(f"  - {problem}")
    print()
    print(f"{'':26} {'machi':>28}  {'Datasette':>28}  {'machi/Datasette':>18}")
    print(
        f"{pad('kind', 26)} {'req/s':>7} {'p50':>7} {'p99':>7} {'cpu':>4}"
        f"  {'req/s':>7} {'p50':>7} {'p99':>7} {'cpu':>4}  {'req/s':>6} {'p50':>5} {'p99':>5}"
    )
    for r in results:
        m, d = r.machi, r.datasette
        print(
            f"{pad(KIND_LABELS[r.kind], 26)} {m.rate:>7.1f} {m.p50_ms:>7.1f} {m.p99_ms:>7.1f}"
            f" {m.cores:>4.1f}  {d.rate:>7.1f} {d.p50_ms:>7.1f} {d.p99_ms:>7.1f} {d.cores:>4.1f}"
            f"  {r.ratio:>5.2f}x {m.p50_ms / d.p50_ms:>5.2f} {m.p99_ms / d.p99_ms:>5.2f}"
        )
        for server, load in ((machi, m), (datasette, d)):
            if load.errors:
                print(f"  {server.name}: {load.errors} failed requests (not 2xx, or socket errors)")
    loads = [x.machi for x in results] + [x.datasette for x in results]
    print(
        "  latency in ms; cpu: cores the server used. The load generator used at most "
        f"{max((x.client_cores for x in loads), default=0):.2f} cores, other processes "
        f"at most {max((x.other_cores for x in loads), default=0):.2f}."
    )
    if any(x.other_cores >= DISTURBED_CORES for x in loads):
        print("  WARNING: other processes used the CPUs during some measurements")
    if "offset" in {r.kind for r in results}:
        print("  Datasette's table API has no offset (only _next): its offset row runs the same")
        print("  SQL as machi's through its query API; no target is set on it")
    if depths:
        print()
        print("one client, median ms of a 100-row page at each depth")
        print(f"  {'':18}" + "".join(f"{short(d):>9}" for d in depths["machi cursor"]))
        for name, values in depths.items():
            print(f"  {name:18}" + "".join(f"{v:>9.1f}" for v in values.values()))
    if exports:
        print()
        print("full CSV export (every column but _search): memory of the process serving it")
        print("  private: its own memory (RssAnon, sampled every 20 ms), at most; RSS: peak of")
        print("  all its resident pages (VmHWM), memory-mapped files included; added: RSS peak")
        print("  less RSS just before the export")
        for server, e in zip(servers, exports, strict=True):
            if e.status != 200:
                print(f"  {server.name:10} HTTP {e.status}")
                continue
            print(
                f"  {server.name:10} private {e.anon_mb:6.1f} MB, RSS {e.peak_mb:6.1f} MB, "
                f"added {e.added_mb:5.1f} MB; {e.lines - 1:,} rows, {e.megabytes:,.0f} MB in "
                f"{e.seconds:.1f} s"
            )
        m_export, d_export = exports
        if m_export.status == d_export.status == 200:
            print(
                f"  machi/Datasette: private {m_export.anon_mb / d_export.anon_mb:.2f}, "
                f"RSS {m_export.peak_mb / d_export.peak_mb:.2f}"
            )
    print()
    passed = True

    def verdict(ok: bool, text: str) -> None:
        nonlocal passed
        passed = passed and ok
        print(f"{'PASS' if ok else 'FAIL'}: {text}")

    for r in results:
        if r.kind == "offset":
            continue  # no like-for-like Datasette route; shown above for information
        failed = r.machi.errors
        verdict(
            r.ratio >= TARGET_RATIO and not failed,
            f"throughput >= {TARGET_RATIO:g}x Datasette, {KIND_LABELS[r.kind]} ({r.ratio:.2f}x"
            + (f", {failed} failed requests)" if failed else ")"),
        )
    filter_result = next((r for r in results if r.kind == "filter"), None)
    if filter_result is not None:
        p99 = filter_result.machi.p99_ms
        verdict(p99 < TARGET_FILTER_P99_MS, f"filter p99 < {TARGET_FILTER_P99_MS:g} ms ({p99:.1f})")
    if depths:
        values = depths["machi cursor"]
        verdict(
            is_flat(values),
            f"cursor paging flat with depth (slowest {max(values.values()):.1f} ms within "
            f"{FLAT_RATIO:g}x fastest {min(values.values()):.1f} ms + {FLAT_SLACK_MS:g})",
        )
    if exports:
        e = exports[0]
        complete = e.status == 200 and e.lines - 1 >= meta["rows"]
        verdict(
            complete and e.anon_mb < TARGET_EXPORT_MB,
            f"export memory < {TARGET_EXPORT_MB:g} MB (private {e.anon_mb:.1f} MB; RSS with "
            f"mapped files {e.peak_mb:.1f} MB; HTTP {e.status}, {max(e.lines - 1, 0):,} rows)",
        )
    if problems:
        verdict(False, "both servers give the same answers")
    return passed


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    sys.path.insert(0, str(ROOT))
    from machi import cli  # the server setup machi serve uses

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=DEFAULT_ROWS, help="(default: %(default)s)")
    parser.add_argument(
        "--seconds",
        type=float,
        default=12,
        help=f"measured seconds per kind and server, in {ROUNDS} slices (default: %(default)s)",
    )
    parser.add_argument("--warmup", type=float, default=3, help="seconds of warm-up per kind")
    parser.add_argument("--clients", type=int, default=8, help="concurrent connections")
    parser.add_argument(
        "--kinds", default=",".join(KINDS), help="query kinds to load (default: %(default)s)"
    )
    parser.add_argument(
        "--quiet-timeout",
        type=float,
        default=120,
        help="seconds to wait for other processes to leave the CPUs before each kind",
    )
    parser.add_argument("--no-depth", action="store_true", help="skip the depth series")
    parser.add_argument("--no-export", action="store_true", help="skip the export measurement")
    parser.add_argument(
        "--machi-workers", type=int, default=cli.workers(), help="default: as machi serve"
    )
    parser.add_argument(
        "--machi-threads", type=int, default=cli.threads(), help="default: as machi serve"
    )
    parser.add_argument(
        "--datasette-threads", type=int, default=3, help="num_sql_threads (Datasette's default)"
    )
    parser.add_argument(
        "--datasette-mutable",
        action="store_true",
        help="serve the file read-only instead of immutable (-i with inspected counts)",
    )
    parser.add_argument("--keep", action="store_true", help="keep both servers running at the end")
    parser.add_argument("--rebuild", action="store_true", help="load the table again")
    parser.add_argument(
        "--machi-settings",
        type=Path,
        help="a settings file to try a configuration change on machi (it would start with "
        "`from machi.settings import *`); default: machi.settings as shipped",
    )
    parser.add_argument("--worker", choices=("build",), help=argparse.SUPPRESS)
    parser.add_argument("--data", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    args.kinds = [k.strip() for k in args.kinds.split(",") if k.strip()]
    if set(args.kinds) - set(KINDS):
        parser.error(f"--kinds takes some of {', '.join(KINDS)}")
    if args.rows < 10_000:
        parser.error("--rows must be at least 10000")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if args.worker:
        # Anything Django or a library prints must not end up in the JSON on stdout.
        stdout = sys.stdout
        with contextlib.redirect_stdout(sys.stderr):
            result = run_build(args.data, args.rows)
        json.dump(result, stdout, ensure_ascii=False)
        return 0
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is needed (Debian: apt-get install -y wrk)")
    data_dir, meta, built = ensure_data(args.rows, args.rebuild)
    if built:
        rows, seconds = meta["rows"], meta["load_seconds"]
        log(f"loaded {rows:,} rows in {seconds:.1f} s ({rows / seconds:,.0f} rows/s)")
    else:
        log(f"reusing {data_dir} (built {meta['built']}; --rebuild to load again)")
    python = ensure_datasette()
    inspect_file = ensure_inspect_file(data_dir, python)
    info = versions(python)
    endpoints = Endpoints(meta["rows"], meta["resource"], meta["table"])
    work = Path(tempfile.mkdtemp(prefix="machi-bench-datastore-"))
    machi = start_machi(data_dir, args.machi_workers, args.machi_threads, args.machi_settings, work)
    datasette = start_datasette(
        data_dir, python, inspect_file, args.datasette_threads, not args.datasette_mutable, work
    )
    servers = (machi, datasette)
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))
    try:
        wait_ready(machi, endpoints.machi_base)
        wait_ready(datasette, f"{endpoints.datasette_table}.json?_size=1")
        log(f"machi on :{machi.port}, Datasette on :{datasette.port}; logs in {work}")
        build_paths(machi, datasette, endpoints, args.kinds)
        log("asking every URL once on each server, comparing the answers")
        problems, notes = check_answers(machi, datasette, args.kinds)
        for problem in problems:
            log(f"WARNING: {problem}")
        results = []
        for kind in args.kinds:
            results.append(Result(kind, *measure(servers, kind, args, work)))
        depths = None
        if not args.no_depth:
            wait_quiet(QUIET_CORES, args.quiet_timeout)
            log("depth series")
            depths = depth_series(machi, datasette, endpoints)
        exports = None
        if not args.no_export:
            wait_quiet(QUIET_CORES, args.quiet_timeout)
            log("full CSV exports")
            ours = export_memory(machi, f"{endpoints.machi_base}/export.csv")
            theirs = export_memory(
                datasette,
                f"{endpoints.datasette_table}.csv?"
                + query([("_stream", "on"), ("_size", "max"), ("_nocol", "_search")]),
            )
            exports = (ours, theirs)
        passed = report(args, meta, servers, info, results, depths, exports, problems, notes)
        if args.keep:
            print()
            print(f"machi:     http://127.0.0.1:{machi.port}{endpoints.machi_base}/rows")
            print(f"Datasette: http://127.0.0.1:{datasette.port}{endpoints.datasette_table}")
            print("serving until Ctrl-C")
            with contextlib.suppress(KeyboardInterrupt):
                while all(s.process.poll() is None for s in servers):
                    time.sleep(1)
        return 0 if passed else 1
    finally:
        for conn in _connections.values():
            conn.close()
        for server in servers:
            server.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
