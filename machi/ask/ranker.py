"""Ranking FAQ entries for a question: BM25F over four kinds of tokens, and a confidence.

Each kind of token (machi.ask.analysis) is a channel with its own BM25F index over the
entry's fields (question and phrasings weigh most, then the answer, then category and
department). An entry's score is the weighted sum of its channel scores. The confidence says
how much of the question the best entry's question and phrasings cover, in words and in
reading, and how far it stands above the next entry; below `settings.ASK_MIN_CONFIDENCE` the
chatbot abstains.

The index is plain Python dictionaries, built from the tokens stored on each entry: a ward's
FAQ is hundreds to a few thousand short entries, and a question is scored in well under a
millisecond. Scores are the same on SQLite and PostgreSQL, so one calibration serves both.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from machi.ask.analysis import Analysis, analyze, english_words, is_english
from machi.lib import japanese

K1 = 1.2
# Stored tokens carry this number; entries analyzed by an older machi are analyzed again.
TOKENS_VERSION = 2

# field -> (weight, length normalization b). Phrasings are many short texts, so the
# question field is barely normalized for length.
_JA_FIELDS = {"q": (3.0, 0.3), "a": (1.0, 0.75), "c": (1.0, 0.5)}
_EN_FIELDS = {"qe": (3.0, 0.3), "ae": (1.0, 0.75)}
# channel -> weight in the sum
CHANNEL_WEIGHTS = {"word": 1.0, "reading": 0.35, "gram": 0.25, "english": 1.0}
# The question and each phrasing are also compared with the question one by one (Dice over
# words): an entry whose one phrasing says what the resident said beats an entry that
# repeats some of its words across many phrasings.
TEXT_WEIGHT = 6.0
RERANKED = 20


def entry_tokens(
    *,
    question: str,
    variants: Sequence[str],
    answer: str,
    category: str,
    department: str,
    question_en: str,
    answer_en: str,
) -> dict[str, dict[str, list[str]]]:
    """The tokens stored on an entry, by field and kind (JSON-ready)."""

    def merged(texts: Iterable[str], kinds: Sequence[str]) -> dict[str, Any]:
        result: dict[str, Any] = {kind: [] for kind in kinds}
        forms: list[str] = []
        each: list[list[str]] = []
        for text in texts:
            analysis = analyze(text)
            for kind in kinds:
                result[kind].extend(getattr(analysis, kind))
            forms.extend([*analysis.forms, "|"])  # "|" keeps phrases from spanning texts
            each.append(analysis.word)
        result["forms"] = forms
        result["texts"] = each
        return result

    return {
        "v": TOKENS_VERSION,
        "q": merged([question, *variants], ("word", "reading", "gram")),
        "a": merged([answer], ("word",)),
        "c": merged([category, department], ("word",)),
        "qe": {
            "english": [
                word
                for text in [question_en, *(v for v in variants if is_english(v))]
                for word in [*english_words(text), "|"]
            ]
        },
        "ae": {"english": english_words(answer_en)},
    }


class Bm25F:
    """BM25F over named fields of one token kind."""

    def __init__(
        self, docs: Sequence[Mapping[str, list[str]]], fields: Mapping[str, tuple[float, float]]
    ) -> None:
        n = len(docs)
        averages = {
            name: (sum(len(doc.get(name, ())) for doc in docs) / n if n else 0.0) or 1.0
            for name in fields
        }
        weighted: dict[str, dict[int, float]] = defaultdict(dict)
        self.first_field: dict[int, set[str]] = {}  # tokens of the question field, per doc
        first = next(iter(fields))
        for index, doc in enumerate(docs):
            for name, (weight, b) in fields.items():
                tokens = doc.get(name, ())
                norm = 1 - b + b * len(tokens) / averages[name]
                for token, count in Counter(tokens).items():
                    postings = weighted[token]
                    postings[index] = postings.get(index, 0.0) + weight * count / norm
            self.first_field[index] = set(doc.get(first, ()))
        self.postings = {
            token: {doc: tf / (K1 + tf) for doc, tf in postings.items()}
            for token, postings in weighted.items()
        }
        self.idf = {
            token: math.log(1 + (n - len(postings) + 0.5) / (len(postings) + 0.5))
            for token, postings in weighted.items()
        }
        self.unknown_idf = math.log(1 + (n + 0.5) / 0.5) if n else 1.0

    def scores(self, tokens: Iterable[str], into: dict[int, float], weight: float) -> None:
        for token in set(tokens):
            idf = self.idf.get(token)
            if idf is None:
                continue
            for doc, saturated in self.postings[token].items():
                into[doc] = into.get(doc, 0.0) + weight * idf * saturated

    def coverage(self, tokens: Iterable[str], doc: int, unknown_weight: float = 1.0) -> float:
        """Share of the question's tokens (by idf) found in the doc's question field."""
        unique = set(tokens)
        if not unique:
            return 0.0
        present = self.first_field.get(doc, set())
        total = found = 0.0
        for token in unique:
            idf = self.idf.get(token, self.unknown_idf * unknown_weight)
            total += idf
            if token in present:
                found += idf
        return found / total if total else 0.0


Phrase = tuple[str, ...]


def synonym_tokens(forms: Sequence[str], groups: Mapping[Phrase, int]) -> list[str]:
    """A token per synonym group whose phrase occurs in `forms` (words in order)."""
    if not groups:
        return []
    longest = max(len(phrase) for phrase in groups)
    found = []
    for start in range(len(forms)):
        for size in range(min(longest, len(forms) - start), 0, -1):
            group = groups.get(tuple(forms[start : start + size]))
            if group is not None:
                found.append(f"={group}")
                break
    return found


def _split_texts(words: Sequence[str]) -> list[frozenset[str]]:
    texts: list[frozenset[str]] = []
    current: list[str] = []
    for word in [*words, "|"]:
        if word == "|":
            if current:
                texts.append(frozenset(current))
            current = []
        else:
            current.append(word)
    return texts


def _best_dice(words: frozenset[str], texts: Sequence[frozenset[str]]) -> float:
    if not words:
        return 0.0
    return max((2 * len(words & text) / (len(words) + len(text)) for text in texts), default=0.0)


def synonym_groups(
    synonym_sets: Sequence[Sequence[str]],
) -> tuple[dict[Phrase, int], dict[Phrase, int]]:
    """Japanese and English phrases of each synonym set, mapped to the set's number."""
    japanese_groups: dict[Phrase, int] = {}
    english_groups: dict[Phrase, int] = {}
    for number, terms in enumerate(synonym_sets):
        for term in terms:
            if is_english(term):
                phrase = tuple(english_words(term))
                if phrase:
                    english_groups.setdefault(phrase, number)
            phrase = tuple(japanese.query_words(term))
            if phrase:
                japanese_groups.setdefault(phrase, number)
    return japanese_groups, english_groups


@dataclass(frozen=True, slots=True)
class Candidate:
    index: int
    score: float


@dataclass(slots=True)
class Ranking:
    candidates: list[Candidate]
    confidence: float
    english: bool
    details: dict[str, float] = field(default_factory=dict)


class FaqIndex:
    """The FAQ's entries ready to rank: built from the tokens stored on them."""

    def __init__(
        self,
        stored: Sequence[Mapping[str, Mapping[str, list[str]]]],
        synonym_sets: Sequence[Sequence[str]] = (),
    ) -> None:
        self.size = len(stored)
        self.groups, self.english_groups = synonym_groups(synonym_sets)
        docs: dict[str, list[dict[str, list[str]]]] = {
            "word": [],
            "reading": [],
            "gram": [],
            "english": [],
        }
        for tokens in stored:
            q, a, c = tokens.get("q", {}), tokens.get("a", {}), tokens.get("c", {})
            docs["word"].append(
                {
                    "q": [*q.get("word", []), *synonym_tokens(q.get("forms", []), self.groups)],
                    "a": [*a.get("word", []), *synonym_tokens(a.get("forms", []), self.groups)],
                    "c": list(c.get("word", [])),
                }
            )
            docs["reading"].append({"q": list(q.get("reading", []))})
            docs["gram"].append({"q": list(q.get("gram", []))})
            english = {name: list(tokens.get(name, {}).get("english", [])) for name in ("qe", "ae")}
            for words in english.values():
                words.extend(synonym_tokens(words, self.english_groups))
            docs["english"].append(
                {name: [w for w in words if w != "|"] for name, words in english.items()}
            )
        self.texts = [
            [frozenset(words) for words in tokens.get("q", {}).get("texts", []) if words]
            for tokens in stored
        ]
        self.english_texts = [
            _split_texts(tokens.get("qe", {}).get("english", [])) for tokens in stored
        ]
        self.word = Bm25F(docs["word"], _JA_FIELDS)
        self.reading = Bm25F(docs["reading"], {"q": (1.0, 0.3)})
        self.gram = Bm25F(docs["gram"], {"q": (1.0, 0.3)})
        self.english = Bm25F(docs["english"], _EN_FIELDS)

    def query_tokens(self, question: str) -> tuple[bool, Analysis]:
        if is_english(question):
            words = english_words(question)
            return True, Analysis(english=[*words, *synonym_tokens(words, self.english_groups)])
        analysis = analyze(question)
        analysis.word.extend(synonym_tokens(analysis.forms, self.groups))
        return False, analysis

    def rank(self, question: str, limit: int = 5) -> Ranking:
        english, query = self.query_tokens(question)
        scores: dict[int, float] = {}
        if english:
            self.english.scores(query.english, scores, CHANNEL_WEIGHTS["english"])
        else:
            self.word.scores(query.word, scores, CHANNEL_WEIGHTS["word"])
            self.reading.scores(query.reading, scores, CHANNEL_WEIGHTS["reading"])
            self.gram.scores(query.gram, scores, CHANNEL_WEIGHTS["gram"])
            # English words inside a Japanese question (AED, Wi-Fi) meet the English fields.
            self.english.scores(query.english, scores, 0.5)
        ordered = sorted(scores.items(), key=lambda item: (-item[1], item[0]))[:RERANKED]
        words = frozenset(query.english if english else query.word) - {"|"}
        texts = self.english_texts if english else self.texts
        ordered = sorted(
            (
                (index, score + TEXT_WEIGHT * _best_dice(words, texts[index]))
                for index, score in ordered
            ),
            key=lambda item: (-item[1], item[0]),
        )[:limit]
        candidates = [Candidate(index, score) for index, score in ordered]
        confidence, details = self._confidence(english, query, candidates)
        return Ranking(candidates, confidence, english, details)

    def _confidence(
        self, english: bool, query: Analysis, candidates: list[Candidate]
    ) -> tuple[float, dict[str, float]]:
        if not candidates:
            return 0.0, {}
        features = self.features(english, query, candidates)
        return calibrate(features), features

    def features(
        self, english: bool, query: Analysis, candidates: list[Candidate]
    ) -> dict[str, float]:
        """What the confidence is made of (also printed by `machi ask --explain`)."""
        best = candidates[0]
        runner_up = candidates[1].score if len(candidates) > 1 else 0.0
        channel = self.english if english else self.word
        tokens = set(query.english if english else query.word)
        present = channel.first_field.get(best.index, set())
        anchor = max((channel.idf[t] for t in tokens & present), default=0.0)
        unknown = sum(1 for t in tokens if t not in channel.idf)
        word_cover = channel.coverage(tokens, best.index)
        reading_cover = (
            0.0 if english else self.reading.coverage(query.reading, best.index, unknown_weight=0.5)
        )
        return {
            "score": math.log1p(best.score),
            "cover": max(word_cover, reading_cover),
            "margin": (best.score - runner_up) / best.score if best.score else 0.0,
            "anchor": anchor / channel.unknown_idf,
            "unknown": unknown / len(tokens) if tokens else 1.0,
            "english": 1.0 if english else 0.0,
            "kana": 1.0 if japanese.is_kana("".join(query.forms_text.split())) else 0.0,
        }


# Fitted by logistic regression on machi/ask/data/calibration.csv (bench/ask.py --fit),
# a question set kept apart from the benchmark's.
WEIGHTS = {
    "bias": -4.77,
    "score": 1.67,
    "cover": 2.37,
    "margin": 1.17,
    "anchor": -0.89,
    "unknown": -0.81,
    "english": 1.35,
    "kana": 0.5,
}


def calibrate(features: Mapping[str, float]) -> float:
    """A 0-1 confidence that the best entry answers the question."""
    z = WEIGHTS["bias"] + sum(WEIGHTS[name] * value for name, value in features.items())
    return 1 / (1 + math.exp(-z))
