"""The one Japanese text analyzer machi uses for indexing and for queries.

Built on SudachiPy with sudachidict_core. Every piece of text goes through
`normalize` (NFKC, old kanji to new, lower case), then Sudachi. A field's
index tokens are the normalized forms of split mode A (the smallest words, so
`保育` finds `保育園`), with katakana folded to hiragana, plus "reading tokens"
that let a query typed in kana alone (`ひなんじょ`) meet the kanji it stands for.
"""

import multiprocessing
import os
import threading
import unicodedata
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from sudachipy import Dictionary, Morpheme, SplitMode

# Parts of speech that carry no meaning for search.
_SKIPPED_POS = {"助詞", "助動詞", "補助記号", "空白", "記号"}

# Reading tokens start with a mark that no normalized word can contain, so a
# reading never collides with a word of the same spelling.
READING_MARK = "~"

# Old (旧字体) and variant forms that NFKC leaves alone, mapped to the forms in
# everyday use. Place names and facility names in ward data use these.
_OLD_KANJI = str.maketrans(
    {
        "國": "国",
        "區": "区",
        "學": "学",
        "會": "会",
        "舊": "旧",
        "體": "体",
        "醫": "医",
        "圖": "図",
        "廣": "広",
        "濱": "浜",
        "澤": "沢",
        "邊": "辺",
        "邉": "辺",
        "齋": "斎",
        "齊": "斉",
        "髙": "高",
        "﨑": "崎",
        "嵜": "崎",
        "德": "徳",
        "櫻": "桜",
        "萬": "万",
        "與": "与",
        "驛": "駅",
        "鐵": "鉄",
        "號": "号",
        "縣": "県",
        "營": "営",
        "禮": "礼",
        "兒": "児",
        "齒": "歯",
        "發": "発",
        "點": "点",
        "對": "対",
        "當": "当",
        "聽": "聴",
        "實": "実",
        "寶": "宝",
        "戰": "戦",
        "藝": "芸",
        "傳": "伝",
        "條": "条",
        "變": "変",
        "廳": "庁",
        "淺": "浅",
        "壽": "寿",
        "專": "専",
        "勞": "労",
        "燒": "焼",
        "龍": "竜",
        "籠": "篭",
        "瀧": "滝",
        "槇": "槙",
        "檜": "桧",
        "塚": "塚",
        "增": "増",
        "惠": "恵",
    }
)

# Voiced kana to unvoiced, for reading tokens only: a compound's reading
# often voices its second part (避難所 is ひなんじょ, but Sudachi reads 所 as しょ).
_DEVOICE = str.maketrans(
    "がぎぐげござじずぜぞだぢづでどばびぶべぼぱぴぷぺぽゔ",
    "かきくけこさしすせそたちつてとはひふへほはひふへほう",
)

_local = threading.local()
_loading = threading.Lock()
_dictionaries: list[Dictionary] = []


def _tokenizer():  # type: ignore[no-untyped-def]
    # A Sudachi tokenizer is not safe to share between threads: one each, all from
    # one dictionary, so its 200 MB file is mapped once however many threads analyse.
    tokenizer = getattr(_local, "tokenizer", None)
    if tokenizer is None:
        with _loading:
            if not _dictionaries:
                _dictionaries.append(Dictionary(dict="core"))
        tokenizer = _dictionaries[0].tokenizer()
        _local.tokenizer = tokenizer
    return tokenizer


def normalize(text: str) -> str:
    """NFKC, old kanji to new forms, lower case."""
    return unicodedata.normalize("NFKC", text).translate(_OLD_KANJI).lower()


@lru_cache(maxsize=4096)
def reading(text: str) -> str:
    """The katakana reading Sudachi gives `text` (its words' readings joined)."""
    return "".join(m.reading_form() for m in _tokenizer().tokenize(text, SplitMode.C))


def morphemes(text: str, mode: SplitMode = SplitMode.C) -> list[tuple[str, tuple[str, ...]]]:
    """(surface, part of speech) of every morpheme of normalized `text`, symbols and spaces too."""
    return [(m.surface(), m.part_of_speech()) for m in _tokenizer().tokenize(normalize(text), mode)]


_HIRAGANA = str.maketrans({chr(c): chr(c - 0x60) for c in range(ord("ァ"), ord("ヶ") + 1)})


def to_hiragana(text: str) -> str:
    return text.translate(_HIRAGANA)


def is_kana(text: str) -> bool:
    return bool(text) and all(
        "ぁ" <= ch <= "ゖ" or "ァ" <= ch <= "ヺ" or ch in "ーゝゞヽヾ" for ch in text
    )


def reading_token(kana: str) -> str:
    return READING_MARK + _devoiced(kana)


def _devoiced(kana: str) -> str:
    return to_hiragana(kana).translate(_DEVOICE)


@dataclass(frozen=True, slots=True)
class Word:
    """One content word of a text: its search form and its reading."""

    form: str
    reading: str
    pos: str


# Characters that would need escaping in an engine's query syntax carry no
# meaning inside a word; dropping them keeps every token a plain string.
_UNSAFE = str.maketrans("", "", "'\"\\ \t\n" + READING_MARK)


@lru_cache(maxsize=65536)
def _form(surface: str, normalized: str) -> str:
    # Sudachi turns Latin words into katakana (nursery -> ナーサリー); keep
    # them as typed so English matches English.
    form = surface if surface.isascii() else to_hiragana(normalize(normalized))
    return form.translate(_UNSAFE)


def _word(morpheme: Morpheme) -> Word | None:
    """The content word a morpheme is, or None for particles, punctuation and spaces."""
    pos = morpheme.part_of_speech()[0]
    if pos in _SKIPPED_POS:
        return None
    surface = morpheme.surface()
    form = _form(surface, morpheme.normalized_form())
    if not form.strip():
        return None
    # Latin words have no useful reading.
    reading = "" if surface.isascii() else morpheme.reading_form()
    return Word(form=form, reading=reading, pos=pos)


def words(text: str, mode: SplitMode = SplitMode.C) -> list[Word]:
    """Content words of `text` (particles, punctuation and spaces dropped)."""
    text = normalize(text)
    if not text.strip():
        return []
    found = (_word(morpheme) for morpheme in _tokenizer().tokenize(text, mode))
    return [word for word in found if word is not None]


def index_tokens(text: str) -> list[str]:
    """Tokens to index for a field: the smallest words, and readings.

    Words are indexed in split mode A (認可保育園 -> 認可/保育/園) and queries
    are split the same way, so a compound and its parts meet on equal terms
    whatever the split of the text around them. Readings come from whole
    words (mode C), and from adjacent noun pairs for compounds Sudachi
    splits (避難+所 -> ひなんしょ).
    """
    text = normalize(text)
    if not text.strip():
        return []
    tokens: list[str] = []
    whole: list[tuple[str, str]] = []  # content words: (part of speech, _devoiced reading)
    # One analysis: mode A is each mode-C word split further (Sudachi's own
    # tokenize in mode A splits the same best path the same way).
    for morpheme in _tokenizer().tokenize(text, SplitMode.C):
        parts, word = _analysed(morpheme)
        tokens.extend(parts)
        if word is not None:
            whole.append(word)
    tokens.extend(READING_MARK + kana for _pos, kana in whole if kana)
    for (pos, kana), (next_pos, next_kana) in zip(whole, whole[1:], strict=False):
        if kana and next_kana and pos == "名詞" and next_pos in {"名詞", "接尾辞"}:
            # reading_token(reading + next reading): _devoiced maps letter by letter.
            tokens.append(READING_MARK + kana + next_kana)
    return tokens


_ANALYSED_LIMIT = 65536
_analysed_words: dict[tuple[str, int], tuple[tuple[str, ...], tuple[str, str] | None]] = {}


def _analysed(morpheme: Morpheme) -> tuple[tuple[str, ...], tuple[str, str] | None]:
    """A mode-C morpheme's mode-A forms, and its part of speech and _devoiced reading
    (None when it is no content word).

    All follow from its surface and dictionary entry, and a table repeats its
    words (区, 保育園, 丁目) far more than its texts, so they are kept per word.
    """
    key = (morpheme.surface(), morpheme.word_id())
    found = _analysed_words.get(key)
    if found is None:
        # Not add_single=True: SudachiPy 0.7.0 panics reading such a list's surfaces.
        split = morpheme.split(SplitMode.A) or (morpheme,)
        forms = tuple(word.form for word in map(_word, split) if word is not None)
        word = _word(morpheme)
        found = (forms, None if word is None else (word.pos, _devoiced(word.reading)))
        if len(_analysed_words) < _ANALYSED_LIMIT:
            _analysed_words[key] = found
    return found


def query_words(text: str) -> Iterator[str]:
    """Search forms of the whole words in a query, in order."""
    for word in words(text, SplitMode.C):
        yield word.form


def word_parts(word: str) -> list[str]:
    """The mode-A parts of one word, as indexed (保育園 -> 保育, 園)."""
    return [part.form for part in words(word, SplitMode.A)] or [word]


def index_tokens_tuple(text: str) -> tuple[str, ...]:
    return tuple(index_tokens(text))


# index_tokens, kept per text: published tables repeat values (ward names, categories).
cached_index_tokens = lru_cache(maxsize=65536)(index_tokens_tuple)
ANALYSIS_PROCESS_TEXTS = 16384


def tsvector_text(tokens: Sequence[str]) -> str:
    """Tokens as PostgreSQL tsvector text: quoted lexemes, so its parser never splits Japanese."""
    return " ".join("'" + t.replace("\\", "\\\\").replace("'", "''") + "'" for t in tokens)


def row_index_text(texts: Iterable[str], *, tsvector: bool) -> str:
    """One row's index text: every text's tokens in order, space-separated or as
    tsvector text."""
    tokens = [t for text in texts if text for t in cached_index_tokens(text)]
    return tsvector_text(tokens) if tsvector else " ".join(tokens)


def rows_index_text(rows: Sequence[Sequence[Any]], *, tsvector: bool) -> list[tuple[str, Any]]:
    """(index text, key) for rows of (key, text, text, ...).

    The datastore's search processes run this (machi.datastore.engine.fill_search): it
    needs nothing but this module, no Django and no database.
    """
    return [(row_index_text(row[1:], tsvector=tsvector), row[0]) for row in rows]


def start_analysis_process() -> None:
    """Initializer of a pool's process that analyses text (datastore.engine.fill_search):
    load the dictionary, and exit with the parent. A parent killed outright (SIGKILL)
    would otherwise leave the pool's processes waiting for work for ever. Each process
    keeps a smaller cache of analysed texts than a web process: a pool holds one per
    core, and 65,536 texts took about 90 MB in each (the values that repeat in a table,
    kinds and place names, still fit)."""
    global cached_index_tokens
    cached_index_tokens = lru_cache(maxsize=ANALYSIS_PROCESS_TEXTS)(index_tokens_tuple)
    _tokenizer()
    parent = multiprocessing.parent_process()
    if parent is None:
        return

    def follow() -> None:
        parent.join()
        os._exit(0)

    threading.Thread(target=follow, daemon=True).start()


def index_text(texts: Iterable[str]) -> str:
    """Space-separated index tokens for several texts of one field."""
    return " ".join(token for text in texts if text for token in index_tokens(text))
