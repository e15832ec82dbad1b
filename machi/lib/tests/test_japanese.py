"""The analyzer that indexing and queries share."""

from sudachipy import SplitMode

from machi.lib.japanese import index_tokens, normalize, query_words, word_parts, words


def test_width_case_and_old_kanji_are_folded() -> None:
    assert normalize("ＡＥＤ　設置") == "aed 設置"
    assert normalize("國學院") == "国学院"


def test_compounds_are_indexed_by_their_parts() -> None:
    tokens = index_tokens("認可保育園一覧")
    assert {"認可", "保育", "園", "一覧"} <= set(tokens)
    assert word_parts("保育園") == ["保育", "園"]


def test_katakana_is_folded_to_hiragana_and_readings_are_marked() -> None:
    tokens = index_tokens("ハザードマップ")
    assert "はざーど" in tokens and "まっぷ" in tokens
    assert "~ひなんしょ" in index_tokens("避難所")  # 避難+所, devoiced for ひなんじょ


def test_variants_meet_on_normalized_forms() -> None:
    assert list(query_words("子ども")) == list(query_words("子供"))
    assert list(query_words("申込")) == list(query_words("申し込み"))


def test_latin_words_stay_latin() -> None:
    assert list(query_words("Nursery Schools")) == ["nursery", "schools"]


def test_particles_and_punctuation_are_not_indexed() -> None:
    tokens = index_tokens("文京区の人口（町丁別）")
    assert "の" not in tokens and "(" not in tokens


def test_tokens_never_carry_query_syntax() -> None:
    for token in index_tokens('it\'s "quoted" \\ ~tilde'):
        assert not set(token) & {"'", '"', "\\", " "}
        assert not token.startswith("~") or token[1:].isalpha()


def test_indexed_words_are_the_mode_a_words_of_the_text() -> None:
    # index_tokens splits each mode-C word itself, in one analysis; the result must stay
    # what Sudachi's own mode A gives (a dictionary or SudachiPy upgrade could change that).
    texts = [
        "認可保育園一覧",
        "東京都文京区本郷４丁目１６番１４号",
        "文京区立小石川保育園（０歳児）",
        "(03)3812-8123",
        "ハザードマップと避難所",
        "Nursery School 本駒込",
        "高齢者あんしん相談センター富坂分室",
        "令和5年4月1日から一時預かり事業を開始",
    ]
    for text in texts:
        forms = [word.form for word in words(text, SplitMode.A)]
        assert index_tokens(text)[: len(forms)] == forms
        assert index_tokens(text) == index_tokens(text)  # the same, from the per-word cache
