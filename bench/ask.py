"""How well the resident Q&A answers: a labelled question set against the demo FAQ.

    .venv/bin/python bench/ask.py [--questions bench/ask_questions.csv] [--fit] [--no-timing]

Runs machi itself on a fresh SQLite database in a temporary folder: migrates, imports the
demo FAQ (machi/ask/data/faq.csv, 95 entries) and the demo synonym sets as `machi demo`
does, then asks every question of the labelled set through machi.ask.services.ask.

The set (bench/ask_questions.csv: kind, expected FAQ id or empty, question) was written by
the team as residents would write, before the ranker was tuned, and is kept as written.
The confidence weights and the threshold were fitted on a separate set
(machi/ask/data/calibration.csv, `--fit` refits and prints them), never on this one.

Printed per kind of question, for machi and for a plain character-bigram BM25 baseline
(question, phrasings and answer as one text; its abstention threshold chosen on the same
calibration set):
  top-1     the best-ranked entry is the expected one
  answered  the answer shown is the expected one (abstaining counts as wrong)
  MRR@5     mean reciprocal rank of the expected entry among the first five
and for unanswerable questions the share that abstained. Targets: answered >= 0.85 on
answerable questions, >= 0.80 abstention, >= 15 points above the baseline.

Timing: the FAQ is grown to 1,000 entries with generated ones, and every question is asked
again through services.ask (logging included); p50/p95 per question. Target p95 < 100 ms.
"""

from __future__ import annotations

import argparse
import csv
import math
import os
import random
import statistics
import sys
import tempfile
import time
import unicodedata
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
QUESTIONS = ROOT / "bench" / "ask_questions.csv"
CALIBRATION = ROOT / "machi" / "ask" / "data" / "calibration.csv"
KINDS = ("paraphrase", "colloquial", "kana", "keyword", "typo", "long", "english")
TIMING_SIZE = 1000


def setup_django(data_dir: str) -> None:
    os.environ["MACHI_DATA_DIR"] = data_dir
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "machi.settings")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", interactive=False, verbosity=0)


def load_faq() -> None:
    from django.contrib.auth import get_user_model

    from machi.ask.demo import load_demo
    from machi.catalog.demo import ADMIN_USERNAME

    get_user_model().objects.create_superuser(ADMIN_USERNAME, password="bench-password-1")
    load_demo()


def read_questions(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8") as file:
        return list(csv.DictReader(file))


# --- The baseline: character-bigram BM25 -----------------------------------------------------


class BigramBM25:
    def __init__(self, texts: list[str], k1: float = 1.2, b: float = 0.75) -> None:
        self.k1, self.b = k1, b
        self.docs = [Counter(self.grams(text)) for text in texts]
        self.lengths = [sum(doc.values()) for doc in self.docs]
        self.average = sum(self.lengths) / len(self.lengths)
        df: Counter[str] = Counter()
        for doc in self.docs:
            df.update(doc.keys())
        n = len(self.docs)
        self.idf = {t: math.log(1 + (n - f + 0.5) / (f + 0.5)) for t, f in df.items()}

    @staticmethod
    def grams(text: str) -> list[str]:
        text = "".join(unicodedata.normalize("NFKC", text).lower().split())
        return [text[i : i + 2] for i in range(len(text) - 1)] or [text]

    def rank(self, question: str) -> tuple[list[int], float]:
        """Entry indexes best first, and the best score over the question's best possible."""
        grams = set(self.grams(question))
        scores = []
        for index, doc in enumerate(self.docs):
            norm = self.k1 * (1 - self.b + self.b * self.lengths[index] / self.average)
            score = sum(
                self.idf[g] * doc[g] * (self.k1 + 1) / (doc[g] + norm) for g in grams if g in doc
            )
            scores.append((score, index))
        scores.sort(key=lambda item: (-item[0], item[1]))
        best_possible = sum(self.idf.get(g, 0.0) for g in grams) * (self.k1 + 1) or 1.0
        return [index for score, index in scores[:5] if score > 0], scores[0][0] / best_possible


def baseline_runs(rows: list[dict[str, Any]], questions: list[dict[str, str]]) -> list[dict]:
    texts = [
        " ".join(
            [
                row["question"],
                row["variants"].replace("\n", " "),
                row["answer"],
                row["question_en"],
                row["answer_en"],
            ]
        )
        for row in rows
    ]
    model = BigramBM25(texts)
    runs = []
    for question in questions:
        ranked, confidence = model.rank(question["question"])
        runs.append(
            {
                **question,
                "ranked": [rows[i]["public_id"] for i in ranked],
                "confidence": confidence,
            }
        )
    return runs


def best_threshold(runs: list[dict]) -> float:
    """The abstention threshold that gets most calibration questions right."""
    best, best_right = 0.0, -1
    for step in range(0, 101):
        threshold = step / 100
        right = sum(
            (run["ranked"][:1] == [run["expected"]] and run["confidence"] >= threshold)
            if run["expected"]
            else run["confidence"] < threshold
            for run in runs
        )
        if right > best_right:
            best, best_right = threshold, right
    return best


# --- machi --------------------------------------------------------------------------------


def machi_runs(questions: list[dict[str, str]]) -> list[dict]:
    from machi.ask import index, services

    loaded = index.load()
    runs = []
    for question in questions:
        ranking = loaded.index.rank(question["question"], limit=5)
        result = services.ask(question=question["question"], log=False)
        runs.append(
            {
                **question,
                "ranked": [loaded.entries[c.index]["public_id"] for c in ranking.candidates],
                "answered": result.answer.faq_id if result.answer else None,
                "abstained": result.abstained,
                "confidence": result.confidence,
            }
        )
    return runs


def score(runs: list[dict], threshold: float | None = None) -> dict[str, dict[str, float]]:
    """Per kind: top-1, answered (after abstention), MRR@5, count; and abstention on none."""
    table: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    for run in runs:
        kind = run["kind"]
        abstained = run.get("abstained")
        if threshold is not None:
            abstained = run["confidence"] < threshold
        answered = None if abstained else (run.get("answered") or (run["ranked"] or [None])[0])
        if run["expected"]:
            rank = (
                run["ranked"].index(run["expected"]) + 1 if run["expected"] in run["ranked"] else 0
            )
            for key in (kind, "answerable"):
                table[key]["top1"].append(float(rank == 1))
                table[key]["answered"].append(float(answered == run["expected"]))
                table[key]["mrr"].append(1 / rank if rank else 0.0)
        else:
            table["none"]["abstained"].append(float(bool(abstained)))
    return {
        kind: {name: statistics.mean(values) for name, values in metrics.items()}
        | {"n": len(next(iter(metrics.values())))}
        for kind, metrics in table.items()
    }


def print_table(ours: dict, baseline: dict) -> None:
    print()
    print(
        "| kind | n | machi top-1 | machi answered | machi MRR@5 | baseline top-1 "
        "| baseline answered | baseline MRR@5 |"
    )
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for kind in (*KINDS, "answerable"):
        if kind not in ours:
            continue
        a, b = ours[kind], baseline[kind]
        label = f"**{kind}**" if kind == "answerable" else kind
        print(
            f"| {label} | {a['n']} | {a['top1']:.2f} | {a['answered']:.2f} | {a['mrr']:.2f} "
            f"| {b['top1']:.2f} | {b['answered']:.2f} | {b['mrr']:.2f} |"
        )
    if "none" in ours:
        print(
            f"| unanswerable: abstained | {ours['none']['n']} | | {ours['none']['abstained']:.2f} "
            f"| | | {baseline['none']['abstained']:.2f} | |"
        )
    print()


# --- Timing with 1,000 entries ------------------------------------------------------------

_TOWNS = (
    "大塚 音羽 春日 小石川 後楽 水道 関口 小日向 目白台 白山 千石 本駒込 向丘 弥生 根津 "
    "千駄木 西片 本郷 湯島"
).split()
_FACILITIES = (
    "地域活動センター 区民センター 図書館 児童館 育成室 保育園 幼稚園 小学校 中学校 体育館 "
    "プール 公園 高齢者在宅サービスセンター 福祉センター 交流館 シルバーセンター 自転車駐車場 "
    "ふれあいいきいきサロン 子育てひろば 保健サービスセンター"
).split()
_TOPICS = (
    ("の利用時間は？", "の利用時間は9時から21時までです。休館日は施設によって異なります。"),
    ("の休館日はいつですか？", "の休館日は毎月第3月曜日と年末年始です。"),
    ("の予約方法は？", "は文京区施設予約システムまたは窓口で予約できます。"),
    ("に駐車場はありますか？", "には駐車場がありません。公共交通機関でお越しください。"),
    ("の利用料金は？", "の利用料金は施設の案内をご覧ください。区民の方は割引があります。"),
    ("へのアクセスを教えて", "へは最寄り駅から徒歩10分程度です。"),
    ("で開かれる講座は？", "では季節ごとに講座を開いています。区報でお知らせします。"),
    ("のバリアフリー設備は？", "には多機能トイレとエレベーターがあります。"),
)


def grow_faq(size: int) -> int:
    from django.contrib.auth import get_user_model

    from machi.ask import services
    from machi.ask.models import FaqEntry
    from machi.catalog.demo import ADMIN_USERNAME

    admin = get_user_model().objects.get(username=ADMIN_USERNAME)
    combos = [(t, f, q) for t in _TOWNS for f in _FACILITIES for q in _TOPICS]
    random.Random(20261126).shuffle(combos)
    missing = size - FaqEntry.objects.count()
    lines = ["id,question,answer,category,department,url"]
    for number, (town, facility, (question, answer)) in enumerate(combos[:missing], 1):
        name = f"{town}{facility}"
        lines.append(
            f"gen-{number:04d},{name}{question},{name}{answer},施設,施設管理部 施設管理課,"
            "https://www.city.bunkyo.lg.jp/"
        )
    services.import_faq(actor=admin, data="\n".join(lines).encode())
    return FaqEntry.objects.count()


def timing(questions: list[dict[str, str]]) -> dict[str, float]:
    from machi.ask import services

    services.ask(question="ウォームアップ", log=False)  # the index is built once per process
    times = []
    for question in questions:
        start = time.perf_counter()
        services.ask(question=question["question"])  # logged, as on the site
        times.append((time.perf_counter() - start) * 1000)
    times.sort()
    return {
        "n": len(times),
        "p50": statistics.median(times),
        "p95": times[max(0, math.ceil(len(times) * 0.95) - 1)],
        "max": times[-1],
    }


def fit(runs: list[dict]) -> dict[str, float]:
    """Logistic regression of "the answer is right" on the confidence features."""
    from machi.ask import index

    loaded = index.load()
    names = list(loaded.index.rank("住民票").details)
    samples = []
    for run in runs:
        ranking = loaded.index.rank(run["question"], limit=5)
        features = ranking.details or dict.fromkeys(names, 0.0)
        right = bool(run["expected"]) and run["ranked"][:1] == [run["expected"]]
        samples.append(([features[name] for name in names], 1.0 if right else 0.0))
    weights, bias = [0.0] * len(names), 0.0
    for _ in range(20000):
        grad_w, grad_b = [0.0] * len(names), 0.0
        for x, y in samples:
            z = bias + sum(w * v for w, v in zip(weights, x, strict=True))
            error = 1 / (1 + math.exp(-z)) - y
            grad_b += error
            grad_w = [g + error * v for g, v in zip(grad_w, x, strict=True)]
        bias -= 0.1 * grad_b / len(samples)
        weights = [
            w - 0.1 * (g / len(samples) + 0.01 * w) for w, g in zip(weights, grad_w, strict=True)
        ]
    return {"bias": round(bias, 2)} | {n: round(w, 2) for n, w in zip(names, weights, strict=True)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--questions", type=Path, default=QUESTIONS)
    parser.add_argument("--fit", action="store_true", help="Refit the confidence weights.")
    parser.add_argument("--no-timing", action="store_true")
    options = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="machi-bench-ask-") as data_dir:
        setup_django(data_dir)
        load_faq()
        from machi.ask.models import FaqEntry

        rows = list(FaqEntry.objects.order_by("pk").values())
        questions = read_questions(options.questions)
        calibration = read_questions(CALIBRATION)
        print(
            f"FAQ: {len(rows)} entries; questions: {len(questions)} "
            f"({', '.join(f'{k} {v}' for k, v in Counter(q['kind'] for q in questions).items())})"
        )
        if options.fit:
            print("fitted weights:", fit(machi_runs(calibration)))
        threshold = best_threshold(baseline_runs(rows, calibration))
        ours = score(machi_runs(questions))
        theirs = score(baseline_runs(rows, questions), threshold=threshold)
        print(
            f"baseline abstains below {threshold:.2f} of its best possible score "
            "(chosen on the calibration set)"
        )
        print_table(ours, theirs)
        gain = 100 * (ours["answerable"]["answered"] - theirs["answerable"]["answered"])
        print(
            f"answered on answerable questions: machi {ours['answerable']['answered']:.2f} "
            f"(target 0.85), baseline {theirs['answerable']['answered']:.2f}, "
            f"+{gain:.0f} points (target +15); abstention on unanswerable: "
            f"{ours['none']['abstained']:.2f} (target 0.80)"
        )
        if not options.no_timing:
            size = grow_faq(TIMING_SIZE)
            numbers = timing(questions)
            print(
                f"answer time with {size} FAQ entries over {numbers['n']} questions: "
                f"p50 {numbers['p50']:.1f} ms, p95 {numbers['p95']:.1f} ms, "
                f"max {numbers['max']:.1f} ms (target p95 < 100 ms)"
            )


if __name__ == "__main__":
    main()
