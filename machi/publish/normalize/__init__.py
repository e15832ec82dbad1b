"""Per-column normalisers: clean every cell, infer each column's type, count every change.

Staff see what was changed (counts and samples per rule), so each rule is deliberate:

- width: full-width letters and digits become ASCII everywhere. Full-width symbols
  (：－％…) become ASCII only next to ASCII text (`22：00` → `22:00`), and brackets only
  as a pair around ASCII text (`（０５４）` → `(054)`), so Japanese prose keeps its
  `（有料）`. ～ stays (it is the range mark of CP932 text). Half-width katakana become
  full width. NFKC is not used: it would also rewrite ㈱, ①, ㎡ and 〜, which are
  meaningful as typed.
- space: cells are trimmed and runs of spaces collapse to one. A 全角スペース between two
  Japanese characters stays 全角 (it is the usual word gap in names and addresses); next to
  ASCII text, or when a run mixed both kinds, the gap becomes one ASCII space.
- times past midnight: Table Schema's `time` cannot hold 24:00 or 25:30, which opening hours
  use; a column with such a value stays `string` holding normalised `HH:MM` text.
- coordinates: a row whose 緯度 is in Japan's longitude range and 経度 in its latitude
  range is swapped back by `check_coordinates`, with a warning saying so; coordinates outside
  Japan (latitude 20–46, longitude 122–154) only get a warning.
- empty cells are None; in typed columns a lone dash (-, －, ―) means "none" and is None too.
- a boolean column's empty cells stay None: a ○ column's blanks are not turned into False.
- codes (コード headers, and digits with leading zeros) stay text.

Layout: `text` (the width and space rules), `parsers` (dates and 和暦, times, numbers, flags,
degrees, phone numbers, postcodes, header hints), `plans` (`ColumnPlan`: one column's cleaning,
typing and counts), `inference` (`plan_columns`), `coordinates` (`check_coordinates`).
"""

from machi.publish.normalize.coordinates import check_coordinates
from machi.publish.normalize.inference import nearly_typed, plan_columns
from machi.publish.normalize.parsers import header_hint
from machi.publish.normalize.plans import PROBLEM_LIMIT, Change, ColumnPlan
from machi.publish.normalize.text import tidy_spaces, to_half_width

__all__ = [
    "PROBLEM_LIMIT",
    "Change",
    "ColumnPlan",
    "check_coordinates",
    "header_hint",
    "nearly_typed",
    "plan_columns",
    "tidy_spaces",
    "to_half_width",
]
