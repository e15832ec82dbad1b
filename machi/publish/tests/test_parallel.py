"""A large file's records converted in worker processes give what one process gives.

Each test converts the same file twice, once in this process and once cut into small
chunks that two forked workers convert, and compares the clean CSV and the whole report
(counts, samples, problems, privacy findings, messages) byte for byte.
"""

import gc
import json
import multiprocessing
import random
import signal
from pathlib import Path
from typing import Any

import pytest
from django.utils import translation

from machi.publish import normalize, pipeline

pytestmark = pytest.mark.skipif(not pipeline._can_fork(), reason="needs fork() (Linux, macOS)")


def convert_both(
    path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, settings: Any, **options: Any
) -> tuple[pipeline.Result, pipeline.Result]:
    results = []
    forked = []
    real = pipeline._write_in_processes

    def spied(*args: Any, **kwargs: Any) -> int:
        forked.append(True)
        return real(*args, **kwargs)

    monkeypatch.setattr(pipeline, "_write_in_processes", spied)
    monkeypatch.setattr(pipeline, "PARALLEL_RECORDS", 1)
    monkeypatch.setattr(pipeline, "CHUNK_RECORDS", 7)  # many chunks, many hand-overs
    for processes in (1, 2):
        settings.PUBLISH_PROCESSES = processes
        output = tmp_path / f"out-{processes}.csv"
        results.append(
            pipeline.convert(path, path.name, output, pipeline.Options(**options), lambda *a: None)
        )
    assert forked == [True], "the second conversion ran in worker processes"
    one, two = results
    assert (tmp_path / "out-1.csv").read_bytes() == (tmp_path / "out-2.csv").read_bytes()
    assert _report(one) == _report(two)
    assert (one.row_count, one.error_count, one.warning_count) == (
        two.row_count,
        two.error_count,
        two.warning_count,
    )
    return one, two


def _report(result: pipeline.Result) -> str:
    return json.dumps(result.report, ensure_ascii=False, sort_keys=True, default=str)


HEADER = "名称,住所,氏名,電話番号,メール,開設日,定員,緯度,経度,備考,個人番号"
SURNAMES = ["佐藤", "鈴木", "高橋", "田中", "伊藤", "渡辺", "山本", "中村"]
GIVEN = ["太郎", "花子", "一郎", "美咲", "健太", "陽子"]


def _messy_file(path: Path, rows: int, bad_from: int = 5_000, bad_every: int = 4) -> None:
    """A staff list with something to count or report in every column, on many rows."""
    rng = random.Random(7)
    lines = [HEADER]
    for n in range(1, rows + 1):
        swapped = n % 97 == 0
        lat, lon = f"35.{7000 + n % 300}", f"139.{7400 + n % 500}"
        if swapped:
            lat, lon = lon, lat
        lines.append(
            ",".join(
                [
                    f"施設{n % 400}　{'ＡＢＣ'[n % 3]}",
                    f"東京都文京区春日{n % 3 + 1}丁目{n % 20 + 1}番",
                    rng.choice(SURNAMES) + rng.choice(GIVEN),
                    rng.choice(["03-3812-7111", "０３（３８１２）７１１１", "090-1234-5678"]),
                    "info@example.jp" if n % 11 == 0 else "",
                    # Impossible dates (by default past the sampled rows: more than a column keeps).
                    "令和5年2月30日"
                    if n > bad_from and n % bad_every == 0
                    else f"令和{n % 5 + 2}年4月{n % 28 + 1}日",
                    f"{n % 90 + 10}人" if n % 3 else f"{n % 90 + 10}",
                    lat,
                    lon,
                    "見学可\x1f要予約" if n == 1234 else ("" if n % 4 else " 駐車場  あり "),
                    "123456789018" if n % 500 == 0 else "",
                ]
            )
        )
    path.write_text("\r\n".join(lines) + "\r\n", encoding="cp932")


def test_a_large_messy_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, settings: Any) -> None:
    source = tmp_path / "messy.csv"
    _messy_file(source, 6_000)
    one, _two = convert_both(source, tmp_path, monkeypatch, settings, standard="")
    report = one.report
    # The file had what the caps and the chunk hand-overs must get right.
    assert one.row_count == 6_000
    dates = next(c for c in report["columns"] if c["name"] == "開設日")
    assert dates["type"] == "date"
    assert report["problem_counts"]["bad-date"] == 250  # counted past the kept 200
    kept = [p for p in report["problems"] if p["code"] == "bad-date"]
    assert len(kept) == normalize.PROBLEM_LIMIT
    kinds = {(f["column"], f["kind"]) for f in report["privacy"]}
    assert {("メール", "email"), ("電話番号", "mobile-phone"), ("氏名", "personal-name")} <= kinds
    assert ("個人番号", "my-number") in kinds
    warnings = [p for p in report["problems"] if p.get("level") == "warning"]
    assert any("緯度" in p["message"] for p in warnings)


def test_this_process_leaves_what_the_workers_share_frozen_until_they_are_done(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, settings: Any
) -> None:
    """A collector's pass over the objects a forked worker shares would copy their pages
    (1,000,000 rows: 45 MB more when this process collected them again at once)."""
    source = tmp_path / "messy.csv"
    _messy_file(source, 300)
    frozen = []
    take = pipeline._take

    def taken(*args: Any) -> None:
        frozen.append(gc.get_freeze_count())
        take(*args)

    monkeypatch.setattr(pipeline, "_take", taken)
    monkeypatch.setattr(pipeline, "PARALLEL_RECORDS", 1)
    monkeypatch.setattr(pipeline, "CHUNK_RECORDS", 7)
    settings.PUBLISH_PROCESSES = 2
    output = tmp_path / "out.csv"
    result = pipeline.convert(source, source.name, output, pipeline.Options(), lambda *a: None)
    assert result.row_count == 300
    assert len(frozen) == 43 and min(frozen) > 10_000
    assert gc.get_freeze_count() == 0


def test_messages_in_the_language_of_the_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, settings: Any
) -> None:
    source = tmp_path / "messy.csv"
    _messy_file(source, 300, bad_from=0, bad_every=60)
    with translation.override("ja"):
        one, _two = convert_both(source, tmp_path, monkeypatch, settings, standard="")
    bad = next(p for p in one.report["problems"] if p["code"] == "bad-date")
    assert "日付" in bad["message"]


@pytest.mark.parametrize(
    "name",
    [
        "bunkyo/bunkyoku_metadata.xlsx",  # Excel cells: numbers and dates, not text
        "takamatsu/public_toilet__data.csv",  # lg-code completed; 24:00 per cell
        "saitama/【さいたま市】AED設置場所一覧.csv",
        "minato/13103hoikuen201612.csv",  # a title row
    ],
)
def test_real_files(
    name: str, shared_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, settings: Any
) -> None:
    convert_both(shared_dir / "realdata" / name, tmp_path, monkeypatch, settings)


def test_bunkyo_sections(
    shared_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, settings: Any
) -> None:
    path = shared_dir / "realdata/bunkyo/bunkyoku_metadata.xlsx"
    for mode in ("column", "drop"):
        convert_both(path, tmp_path, monkeypatch, settings, section_mode=mode)


def test_workers_stop_when_a_conversion_fails_inside_a_task_worker(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, settings: Any
) -> None:
    # django-tasks' db_worker catches SIGTERM (to stop after its task); workers forked from
    # it inherit the handler, and Pool.terminate must still stop them.
    def too_slow(*args: Any) -> None:
        for child in multiprocessing.active_children():
            child.kill()  # so the test fails instead of hanging
        raise TimeoutError("the workers did not stop")

    source = tmp_path / "messy.csv"
    _messy_file(source, 300)
    settings.PUBLISH_PROCESSES = 2
    monkeypatch.setattr(pipeline, "PARALLEL_RECORDS", 1)
    monkeypatch.setattr(pipeline, "CHUNK_RECORDS", 7)
    taken = []

    def failing_take(job: Any, handed: Any) -> None:
        taken.append(handed)
        if len(taken) == 3:
            raise RuntimeError("disk full")

    monkeypatch.setattr(pipeline, "_take", failing_take)
    kept = {sig: signal.signal(sig, handler) for sig, handler in
            [(signal.SIGTERM, lambda *a: None), (signal.SIGALRM, too_slow)]}  # fmt: skip
    signal.alarm(60)
    try:
        with pytest.raises(RuntimeError, match="disk full"):
            pipeline.convert(
                source, source.name, tmp_path / "out.csv", pipeline.Options(), lambda *a: None
            )
    finally:
        signal.alarm(0)
        for sig, handler in kept.items():
            signal.signal(sig, handler)
    assert multiprocessing.active_children() == []
