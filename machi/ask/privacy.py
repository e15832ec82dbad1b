"""Personal data out of logged questions: e-mail, phone numbers, My Number, people's names.

Residents write things like "山田花子です。090-1234-5678に連絡ください" into a chat box.
The log keeps the question for staff to learn from, never the person: each match becomes a
marker (［電話番号］). Names are what Sudachi tags 固有名詞・人名 (the same reading of names
as machi.publish.privacy); a place that Sudachi also reads as a name is masked too, which
costs a little of the log's value and none of anyone's privacy.
"""

import re

from machi.lib import japanese

EMAIL_MARK = "［メール］"
PHONE_MARK = "［電話番号］"
NUMBER_MARK = "［番号］"
NAME_MARK = "［氏名］"

_EMAIL = re.compile(r"[A-Za-z0-9._%+-]+[@＠][A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+")
# Japanese phone numbers in any common writing: 03-3812-7111, 090 1234 5678, +81 90..., (03)...
_PHONE = re.compile(
    r"(?<![0-9])(?:\+81[- ]?|0)\(?[0-9]{1,4}\)?[- ]?[0-9]{1,4}[- ]?[0-9]{3,4}(?![0-9])"
)
_LONG_NUMBER = re.compile(r"(?<![0-9])[0-9]{4}[- ]?[0-9]{4}[- ]?[0-9]{4}(?![0-9])")
# Bunkyo's towns and stations that Sudachi also reads as names; a name followed by one of
# the place suffixes is a place too (大塚駅, 関口三丁目).
PLACES = frozenset(
    "大塚 音羽 春日 小石川 後楽 水道 関口 小日向 目白台 白山 千石 本駒込 向丘 弥生 根津 "
    "千駄木 西片 本郷 湯島 茗荷谷 護国寺 江戸川橋 後楽園 東大前 新大塚 飯田橋 水道橋 "
    "御茶ノ水 文京".split()
)
_PLACE_SUFFIXES = (
    "駅",
    "町",
    "区",
    "丁目",
    "通り",
    "坂",
    "橋",
    "公園",
    "小学校",
    "中学校",
    "図書館",
)
_WIDE_DIGITS = str.maketrans("０１２３４５６７８９－＋（）", "0123456789-+()")


def mask(text: str) -> str:
    """The text with personal data replaced by markers."""
    text = text.translate(_WIDE_DIGITS)
    text = _EMAIL.sub(EMAIL_MARK, text)
    text = _LONG_NUMBER.sub(NUMBER_MARK, text)
    text = _PHONE.sub(lambda m: PHONE_MARK if _is_phone(m.group()) else m.group(), text)
    return _mask_names(text)


def _is_phone(candidate: str) -> bool:
    digits = re.sub(r"\D", "", candidate)
    if candidate.startswith("+81"):
        return len(digits) in (11, 12)
    return len(digits) in (10, 11)


def _mask_names(text: str) -> str:
    if not any(ord(ch) > 0x3000 for ch in text):
        return text
    # Surfaces of the text as written, so the rest of it stays as the resident typed it.
    tokens = [(m.surface(), m.part_of_speech()) for m in japanese._tokenizer().tokenize(text)]
    parts = []
    previous_name = False
    for index, (surface, pos) in enumerate(tokens):
        following = tokens[index + 1][0] if index + 1 < len(tokens) else ""
        is_name = (
            pos[:3] == ("名詞", "固有名詞", "人名")
            and surface not in PLACES
            and not following.startswith(_PLACE_SUFFIXES)
        )
        if is_name:
            if not previous_name:
                parts.append(NAME_MARK)
        else:
            parts.append(surface)
        previous_name = is_name
    return "".join(parts)
