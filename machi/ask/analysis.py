"""Questions and FAQ entries as the ranker sees them: tokens of four kinds.

- word: content words in Sudachi's normalized forms, split mode A (申込/申し込み and
  子ども/子供 meet), katakana folded to hiragana; question words and colloquial endings
  (教えて, どうすればいい, って, んだけど) carry no topic and are dropped;
- reading: character bigrams of the whole text's reading, voiced kana devoiced, so a
  question typed in kana alone (`そだいごみ`) or with a conversion mistake (`住民表`,
  `非難所`) meets the kanji of an entry;
- gram: character bigrams of the normalized content words, for typos that change the
  reading too (`粗大護美`);
- english: lower-cased English words, lightly stemmed, for the English fields.

Built on `machi.lib.japanese` (the one analyzer); nothing here changes it.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from sudachipy import SplitMode

from machi.lib import japanese

# Parts of speech that name a topic; the rest (particles, auxiliaries, pronouns,
# adverbs, interjections, conjunctions) is how residents phrase a question.
_TOPIC_POS = {"名詞", "動詞", "形容詞", "形状詞", "接尾辞"}
# Words that ask rather than say what about: in normalized form, hiragana-folded.
STOP_FORMS = frozenset(
    """為る 居る 有る 成る 来る 行く 出来る 良い 下さる 教える 知る 分かる 思う 言う 遣る
    貰う 呉れる 頂く 欲しい 方法 仕方 やり方 場合 事 物 何 何時 何処 誰 如何 様 為 訳
    です ます 御座る 済む 見る 聞く 問い合わせる 問い合わせ 質問 知りたい 困る 大丈夫
    いい 今 時 皆 自分 私 僕 うち 達 方 たち さん 様 手続く ちゃう 仕舞う 置く
    下さい どう どこ いつ なに なん 何人 何処 良し 無い 居 可能 必要 一 二 三""".split()
)
_SKIPPED_READING_POS = {"補助記号", "空白", "記号"}
_ENGLISH_WORD = re.compile(r"[a-z0-9]+")
ENGLISH_STOP = frozenset(
    """a an the i me my we our you your he she it its they them is are was were be been
    am do does did doing have has had can could should would will shall may might must
    to of in on at for from by with about into as and or but if so than then there here
    what when where which who whom why how this that these those any some not no yes
    please want need get got just there tell know like also only one ward city bunkyo
    s t""".split()
)


@dataclass(slots=True)
class Analysis:
    """One text's tokens, by kind; `words` keeps the query's words in order."""

    word: list[str] = field(default_factory=list)
    reading: list[str] = field(default_factory=list)
    gram: list[str] = field(default_factory=list)
    english: list[str] = field(default_factory=list)
    forms: list[str] = field(default_factory=list)  # mode-C forms in order, for synonyms
    forms_text: str = ""  # the normalized text without punctuation


def _bigrams(text: str) -> list[str]:
    if len(text) == 1:
        return [text]
    return [text[i : i + 2] for i in range(len(text) - 1)]


def reading_of(text: str) -> str:
    """The reading of a whole text in hiragana, devoiced; punctuation splits it."""
    parts = []
    for morpheme in japanese._tokenizer().tokenize(japanese.normalize(text), SplitMode.C):
        if morpheme.part_of_speech()[0] in _SKIPPED_READING_POS:
            parts.append(" ")
            continue
        surface = morpheme.surface()
        if surface.isascii():
            parts.append(" ")
            continue
        reading = morpheme.reading_form()
        if reading == "キゴウ" or not japanese.is_kana(reading):
            reading = surface  # no reading known: keep the characters
        parts.append(japanese.to_hiragana(reading).translate(japanese._DEVOICE))
    return "".join(parts)


def stem(word: str) -> str:
    """A light English stemmer: plural and common endings, enough for FAQ questions."""
    for suffix, keep in (("ies", "y"), ("sses", "ss"), ("ing", ""), ("ed", ""), ("es", "")):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            return word[: -len(suffix)] + keep
    if word.endswith("s") and not word.endswith("ss") and len(word) > 3:
        return word[:-1]
    return word


def english_words(text: str) -> list[str]:
    text = unicodedata.normalize("NFKC", text).lower().replace("'", "")
    return [stem(w) for w in _ENGLISH_WORD.findall(text) if w not in ENGLISH_STOP]


def is_english(text: str) -> bool:
    """Mostly Latin letters: a question to answer from the English fields."""
    letters = [ch for ch in unicodedata.normalize("NFKC", text) if ch.isalpha()]
    return bool(letters) and sum(ch.isascii() for ch in letters) / len(letters) > 0.8


def analyze(text: str) -> Analysis:
    """Tokens of a Japanese text (an FAQ field or a question); a fresh copy to change."""
    word, reading, gram, english, forms, forms_text = _analyzed(text)
    return Analysis(list(word), list(reading), list(gram), list(english), list(forms), forms_text)


@lru_cache(maxsize=8192)
def _analyzed(text: str) -> tuple[tuple[str, ...], ...] | Any:
    # Sudachi costs ~0.2 ms a phrase; FAQ fields and common questions repeat.
    result = _analyze(text)
    return (
        tuple(result.word),
        tuple(result.reading),
        tuple(result.gram),
        tuple(result.english),
        tuple(result.forms),
        result.forms_text,
    )


def _analyze(text: str) -> Analysis:
    result = Analysis()
    if not text or not text.strip():
        return result
    for word in japanese.words(text, SplitMode.C):
        result.forms.append(word.form)
    result.forms_text = "".join(
        surface for surface, pos in japanese.morphemes(text) if pos[0] not in _SKIPPED_READING_POS
    )
    for part in japanese.words(text, SplitMode.A):
        if part.pos not in _TOPIC_POS or part.form in STOP_FORMS:
            continue
        result.word.append(part.form)
        if not part.form.isascii():
            result.gram.extend(_bigrams(part.form))
        else:
            result.english.append(stem(part.form))
    for chunk in reading_of(text).split():
        result.reading.extend(_bigrams(chunk))
    return result
