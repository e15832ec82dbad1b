"""Open a staff file of any usual shape and stream its rows: the first stage of publishing.

A text file is decoded with the encoding that reads the whole file, found by streaming it
once through incremental decoders (a candidate leaves the race at its first bad byte, so a
Shift_JIS file costs about one decode pass). When no candidate reads it cleanly, every bad
place is reported with its row and column and shown as \\xNN escapes, never replaced silently.
Workbooks are read with calamine, after the ZIP directory has been checked so that a
compressed bomb is refused before anything is inflated.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
import zipfile
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import time, timedelta
from itertools import islice
from pathlib import Path
from typing import IO
from xml.etree import ElementTree

import python_calamine
from django.conf import settings
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext as _

from machi.publish.problems import Problem, column_letter, cut

CHUNK = 1 << 20
SNIFF_BYTES = 1 << 16
DECODE_PROBLEMS = 100  # undecodable places listed one by one; then one summary
MAX_EXPANDED_BYTES = 4 << 30  # all parts of a workbook archive together, as declared
MAX_RATIO = 200  # declared / compressed size of one part; real sheets compress 5–50 times
RATIO_FLOOR = 1 << 20  # parts smaller than this may compress as well as they like
MAX_PARTS = 10_000
EXACT_FLOAT = 2**53  # larger integral floats are not exact integers

# Label -> codec. Plain UTF-8 is strict about a BOM-less file; the BOM one strips it.
CODECS = {
    "UTF-8 (BOM)": "utf-8-sig",
    "UTF-8": "utf-8",
    "EUC-JP": "euc_jp",
    "Shift_JIS": "cp932",
    "UTF-16": "utf-16",
}
# Without a BOM, in order of preference when several read the file cleanly. EUC-JP goes
# before Shift_JIS: EUC-JP text nearly always "decodes" as CP932 half-width katakana, while a
# real CP932 file dies in EUC-JP at its first hiragana.
CANDIDATES = ("UTF-8", "EUC-JP", "Shift_JIS")
_KANA = re.compile("[\u3041-\u30ff]")
_CONTROL = re.compile(rb"[\x01-\x08\x0e-\x19\x1c-\x1f]")
_BLANK_BYTES = b" \t\r\n\x0b\x0c\x1a"
_MARK, _MARK_END = "\ufdd0", "\ufdd1"  # noncharacters: never in a real file
_MARKED = re.compile(f"{_MARK}(.*?){_MARK_END}")

TEXT_SUFFIXES = {".csv": ",", ".txt": ",", ".tsv": "\t"}
WORKBOOK_SUFFIXES = {".xlsx", ".xlsm", ".xlsb", ".xls", ".ods"}
ZIP_MAGIC = b"PK\x03\x04"
OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"


def _mark_undecodable(error: UnicodeError) -> tuple[str, int]:
    if not isinstance(error, UnicodeDecodeError):
        raise error
    bad = error.object[error.start : error.end]
    return _MARK + "".join(f"\\x{b:02x}" for b in bad) + _MARK_END, error.end


codecs.register_error("machi-publish-mark", _mark_undecodable)


class ReadError(Exception):
    """The whole file cannot be read; str(error) is the translated message."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class SheetInfo:
    index: int
    name: str  # "" for text files
    rows: int | None  # when cheaply known
    columns: int | None


def place(file: str, sheet: str = "", row: int | None = None, column: str = "") -> str:
    """Where something is, as staff would look for it: file, sheet, row, column."""
    parts = [file] if file else []
    if sheet:
        parts.append(_("sheet “%(sheet)s”") % {"sheet": sheet})
    if row is not None:
        parts.append(_("row %(row)d") % {"row": row})
    if column:
        parts.append(_("column %(column)s") % {"column": column})
    return _(", ").join(parts)


class Source:
    """An opened file: its facts and its rows. Use as a context manager."""

    format: str
    encoding: str = ""
    delimiter: str = ""

    def __init__(self, path: Path, name: str) -> None:
        self.path = path
        self.name = name
        self.sheets: list[SheetInfo] = []
        self.problems: list[Problem] = []
        self._files: list[IO[bytes]] = []

    def rows(self, sheet: int = 0) -> Iterator[tuple[int, list[object]]]:
        """(row number, cells); can be called again to re-read from the top."""
        raise NotImplementedError

    def hidden_columns(self, sheet: int = 0) -> frozenset[int]:
        """The sheet's 0-based columns that its workbook hides (none in a text file)."""
        return frozenset()

    def hidden_rows(self, sheet: int = 0) -> frozenset[int]:
        """The sheet's row numbers (1-based) that its workbook hides, a filter's included."""
        return frozenset()

    def close(self) -> None:
        for handle in self._files:
            handle.close()
        self._files.clear()

    def __enter__(self) -> Source:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class TextSource(Source):
    """CSV, TSV or TXT: decoded and split while streaming, never held in memory."""

    def __init__(self, path: Path, name: str, encoding: str, delimiter: str) -> None:
        super().__init__(path, name)
        self.format = "TSV" if delimiter == "\t" else "CSV"
        self.encoding = encoding
        self.delimiter = delimiter
        self.sheets = [SheetInfo(index=0, name="", rows=None, columns=None)]

    def rows(self, sheet: int = 0) -> Iterator[tuple[int, list[object]]]:
        if sheet != 0:
            raise IndexError(sheet)
        # Undecodable bytes (already reported) show as \xNN: visible, never guessed.
        return self._rows("backslashreplace")  # type: ignore[return-value]

    def _rows(self, errors: str) -> Iterator[tuple[int, list[str]]]:
        raw = open(self.path, "rb", buffering=CHUNK)  # closed below, or by close()
        self._files.append(raw)
        text = io.TextIOWrapper(raw, encoding=CODECS[self.encoding], errors=errors, newline="")
        text._CHUNK_SIZE = 1 << 16  # type: ignore[attr-defined] - fewer, larger decodes
        # strict: a quote left open to the end of the file is an error, whatever the
        # process-wide field size limit (frictionless raises it to the maximum).
        reader = csv.reader(text, delimiter=self.delimiter, strict=True)
        start = 1
        try:
            for cells in reader:
                yield start, cells
                start = reader.line_num + 1
        except csv.Error as error:
            raise ReadError(
                "corrupt",
                _(
                    "%(where)s: the row cannot be split into cells (%(detail)s). "
                    'Often a double quote (") is never closed.'
                )
                % {"where": place(self.name, row=start), "detail": error},
            ) from error
        finally:
            text.close()
            if raw in self._files:
                self._files.remove(raw)

    def locate_undecodable(self) -> None:
        """Add a "decode" problem for every undecodable place (rows and columns)."""
        shown = 0
        total = 0
        for number, cells in self._rows("machi-publish-mark"):
            for index, cell in enumerate(cells):
                if _MARK not in cell:
                    continue
                places = _MARKED.findall(cell)
                total += 1
                if shown >= DECODE_PROBLEMS:
                    continue
                shown += 1
                value = _MARKED.sub(r"\1", cell)
                column = column_letter(index)
                self.problems.append(
                    Problem(
                        code="decode",
                        row=number,
                        column=column,
                        value=cut(value),
                        message=_(
                            "%(where)s: the bytes %(bytes)s are not valid %(encoding)s, and no "
                            "other Japanese encoding reads the file cleanly. The cell reads "
                            "“%(value)s”; correct the character or save the file as UTF-8."
                        )
                        % {
                            "where": place(self.name, row=number, column=column),
                            "bytes": " ".join(places),
                            "encoding": self.encoding,
                            "value": cut(value),
                        },
                    )
                )
        if total > shown:
            self.problems.append(
                Problem(
                    code="decode",
                    message=_(
                        "%(file)s: %(count)d more cells hold bytes that are not valid "
                        "%(encoding)s; only the first %(shown)d are listed."
                    )
                    % {
                        "file": self.name,
                        "count": total - shown,
                        "encoding": self.encoding,
                        "shown": shown,
                    },
                )
            )


class WorkbookSource(Source):
    """XLSX, XLS, ODS (and XLSB) through calamine; the sheet being read is kept in memory."""

    def __init__(self, path: Path, name: str, format: str) -> None:
        super().__init__(path, name)
        self.format = format
        self._book = _calamine(path, name)
        self._cached: tuple[int, python_calamine.CalamineSheet] | None = None
        worksheets = [
            (meta.visible != python_calamine.SheetVisibleEnum.Visible, meta.name)
            for meta in self._book.sheets_metadata
            if meta.typ == python_calamine.SheetTypeEnum.WorkSheet
        ]
        # Visible sheets first: a hidden helper sheet should not be the default choice.
        for index, (_hidden, sheet_name) in enumerate(sorted(worksheets, key=lambda w: w[0])):
            sheet = self._load(index, sheet_name)
            end = sheet.end
            self.sheets.append(
                SheetInfo(
                    index=index,
                    name=sheet_name,
                    rows=end[0] + 1 if end else 0,
                    columns=end[1] + 1 if end else 0,
                )
            )
        if not any(info.rows for info in self.sheets):
            self._book.close()
            raise ReadError(
                "no-sheets", _("%(file)s has no worksheet with any cells.") % {"file": name}
            )

    def _load(self, index: int, sheet_name: str) -> python_calamine.CalamineSheet:
        if self._cached is not None and self._cached[0] == index:
            return self._cached[1]
        try:
            sheet = self._book.get_sheet_by_name(sheet_name)
        except (KeyboardInterrupt, SystemExit):
            raise
        except BaseException as error:  # calamine panics (pyo3) on some damaged files
            raise _corrupt(self.name, error) from error
        if self._cached is None or index == 0:
            self._cached = (index, sheet)  # the default sheet is read soon after opening
        return sheet

    def rows(self, sheet: int = 0) -> Iterator[tuple[int, list[object]]]:
        info = self.sheets[sheet]
        loaded = self._load(sheet, info.name)
        self._cached = (sheet, loaded)
        return _sheet_rows(loaded)

    def hidden_columns(self, sheet: int = 0) -> frozenset[int]:
        if self.format != "XLSX":
            return frozenset()  # calamine does not tell; .xls and .ods are not read for it
        return _xlsx_hidden_columns(self.path, self.sheets[sheet].name)

    def hidden_rows(self, sheet: int = 0) -> frozenset[int]:
        if self.format != "XLSX":
            return frozenset()
        return _xlsx_hidden_rows(self.path, self.sheets[sheet].name)

    def close(self) -> None:
        self._cached = None
        self._book.close()
        super().close()


_MAX_COLUMNS = 16_384  # Excel's last column, XFD


def _xlsx_hidden_columns(path: Path, sheet_name: str) -> frozenset[int]:
    """Columns an .xlsx sheet hides (<col min max hidden="1">), read from the sheet's XML up
    to its data, where Excel writes them."""

    def read(stream: IO[bytes]) -> set[int]:
        hidden: set[int] = set()
        for _event, element in ElementTree.iterparse(stream, events=("start",)):
            tag = element.tag.rpartition("}")[2]
            if tag == "sheetData":
                break
            if tag == "col" and element.get("hidden") in ("1", "true"):
                first = int(element.get("min", "0"))
                last = min(int(element.get("max", "0")), _MAX_COLUMNS)
                hidden.update(range(first - 1, last))
        return hidden

    return _read_xlsx_sheet(path, sheet_name, read)


_HIDDEN = re.compile(rb"""hidden\s*=\s*["'](?:1|true)["']""")
_ROW_NUMBER = re.compile(rb"""\sr\s*=\s*["'](\d+)["']""")


def _xlsx_hidden_rows(path: Path, sheet_name: str) -> frozenset[int]:
    """Rows an .xlsx sheet hides (<row r="5" hidden="1">). The sheet's XML is searched as
    bytes, not parsed: rows are many and hidden ones few, so each hit's tag is read alone."""

    def read(stream: IO[bytes]) -> set[int]:
        hidden: set[int] = set()
        tail = b""
        while chunk := stream.read(CHUNK):
            text = tail + chunk
            for match in _HIDDEN.finditer(text):
                start = text.rfind(b"<", 0, match.start())
                end = text.find(b">", match.end())
                if start < 0 or end < 0:
                    continue  # cut by the chunk: the tail holds it again
                tag = text[start:end]
                name = tag[1:].split(None, 1)[0] if len(tag) > 1 else b""
                number = _ROW_NUMBER.search(tag)
                if name.rpartition(b":")[2] == b"row" and number:
                    hidden.add(int(number[1]))
            tail = text[-4096:]
        return hidden

    return _read_xlsx_sheet(path, sheet_name, read)


def _read_xlsx_sheet(
    path: Path, sheet_name: str, read: Callable[[IO[bytes]], set[int]]
) -> frozenset[int]:
    """What `read` finds in a sheet's XML. Anything unexpected reads as nothing found: the
    hidden rows and columns only add a question or a warning; the cells come from calamine."""
    try:
        with zipfile.ZipFile(path) as book:
            member = _xlsx_sheet_member(book, sheet_name)
            if member is None:
                return frozenset()
            with book.open(member) as stream:
                return frozenset(read(stream))
    except (KeyError, ValueError, OSError, EOFError, zipfile.BadZipFile, ElementTree.ParseError):
        return frozenset()


_RELATIONSHIPS = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}id"


def _xlsx_sheet_member(book: zipfile.ZipFile, sheet_name: str) -> str | None:
    """The ZIP member holding a sheet: workbook.xml names it, its relationships locate it."""
    workbook = ElementTree.fromstring(book.read("xl/workbook.xml"))
    ids = [
        sheet.get(_RELATIONSHIPS)
        for sheet in workbook.iter()
        if sheet.tag.rpartition("}")[2] == "sheet" and sheet.get("name") == sheet_name
    ]
    if not ids:
        return None
    relationships = ElementTree.fromstring(book.read("xl/_rels/workbook.xml.rels"))
    for relationship in relationships:
        if relationship.get("Id") == ids[0]:
            target = relationship.get("Target", "")
            return target.lstrip("/") if target.startswith("/") else f"xl/{target}"
    return None


def _sheet_rows(sheet: python_calamine.CalamineSheet) -> Iterator[tuple[int, list[object]]]:
    # iter_rows starts at row 1 but at the first used column: pad so index == column.
    start = sheet.start
    pad: list[object] = [""] * (start[1] if start else 0)
    merges = sorted(sheet.merged_cell_ranges or [])
    waiting = 0
    active: list[tuple[int, int, int, object]] = []  # last row, first column, last column, value
    for index, raw in enumerate(sheet.iter_rows()):
        cells = [v if type(v) is str else _cell(v) for v in raw]
        if pad:
            cells = pad + cells
        while waiting < len(merges) and merges[waiting][0][0] <= index:
            (first_row, first_col), (last_row, last_col) = merges[waiting]
            waiting += 1
            if first_row == index:
                value = cells[first_col] if first_col < len(cells) else ""
                active.append((last_row, first_col, last_col, value))
        if active:
            width = max(a[2] for a in active) + 1
            if len(cells) < width:
                cells.extend([""] * (width - len(cells)))
            for _last, first_col, last_col, value in active:
                cells[first_col : last_col + 1] = [value] * (last_col - first_col + 1)
            active = [a for a in active if a[0] > index]
        yield index + 1, cells


def _cell(value: object) -> object:
    if type(value) is float:
        if value.is_integer() and -EXACT_FLOAT <= value <= EXACT_FLOAT:
            return int(value)
        return value
    if type(value) is timedelta:
        # A duration cell ("30:00"); under a day it is a time of day.
        seconds = int(value.total_seconds())
        if 0 <= seconds < 86400:
            return time(seconds // 3600, seconds // 60 % 60, seconds % 60)
        return f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"
    if value is None:
        return ""
    return value


def open_source(
    path: str | Path, name: str | None = None, *, max_bytes: int | None = None
) -> Source:
    """Open a staff file; ReadError when it cannot be read at all."""
    path = Path(path)
    name = name or path.name
    if max_bytes is None:
        max_bytes = getattr(settings, "PUBLISH_MAX_FILE_BYTES", 1 << 30)
    size = path.stat().st_size
    if size == 0:
        raise ReadError("empty", _("%(file)s is empty.") % {"file": name})
    if size > max_bytes:
        raise ReadError(
            "too-big",
            _("%(file)s is %(size)s; files up to %(limit)s can be published.")
            % {"file": name, "size": filesizeformat(size), "limit": filesizeformat(max_bytes)},
        )
    with open(path, "rb") as stream:
        head = stream.read(SNIFF_BYTES)
    suffix = Path(name).suffix.lower() or path.suffix.lower()
    if head.startswith(ZIP_MAGIC):
        return WorkbookSource(path, name, _zip_format(path, name))
    if head.startswith(OLE_MAGIC):
        return WorkbookSource(path, name, "XLS")
    if suffix in WORKBOOK_SUFFIXES:
        _not_a_workbook(name, head)
    elif suffix not in TEXT_SUFFIXES:
        raise ReadError(
            "unsupported",
            _(
                "%(file)s is not a file that can be published as a table; "
                "upload CSV, TSV, TXT, XLSX, XLS or ODS."
            )
            % {"file": name},
        )
    encoding, clean = detect_encoding(path, name)
    default = TEXT_SUFFIXES.get(suffix, ",")
    delimiter = "\t" if suffix == ".tsv" else sniff_delimiter(path, encoding, default)
    source = TextSource(path, name, encoding, delimiter)
    if not clean:
        source.locate_undecodable()
    return source


def detect_encoding(path: Path, name: str) -> tuple[str, bool]:
    """(label, clean): the encoding that reads the whole file, or the one with fewest errors."""
    with open(path, "rb") as stream:
        start = stream.read(4)
        if start.startswith(codecs.BOM_UTF8):
            candidates: tuple[str, ...] = ("UTF-8 (BOM)",)
        elif start.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
            candidates = ("UTF-16",)
        else:
            candidates = CANDIDATES
        stream.seek(0)
        decoders = {label: codecs.getincrementaldecoder(CODECS[label])() for label in candidates}
        offset = 0
        content = False
        euc_kana = False
        while chunk := stream.read(CHUNK):
            if candidates[0] != "UTF-16":
                _check_binary(name, chunk, offset)
            if chunk.isascii() and all(d.getstate()[0] == b"" for d in decoders.values()):
                content = content or bool(chunk.strip(_BLANK_BYTES))
                offset += len(chunk)
                continue
            for label, decoder in list(decoders.items()):
                try:
                    text = decoder.decode(chunk)
                except UnicodeDecodeError:
                    del decoders[label]
                    continue
                content = content or bool(text.strip())
                if label == "EUC-JP" and not euc_kana:
                    euc_kana = _KANA.search(text) is not None
            offset += len(chunk)
        for label, decoder in list(decoders.items()):
            try:
                content = bool(decoder.decode(b"", final=True).strip()) or content
            except UnicodeDecodeError:
                del decoders[label]
    if not content and decoders:
        raise ReadError(
            "empty",
            _("%(file)s has no data: it holds only spaces and blank lines.") % {"file": name},
        )
    if "EUC-JP" in decoders and "Shift_JIS" in decoders and not euc_kana:
        del decoders["EUC-JP"]  # no kana at all as EUC-JP: half-width katakana in CP932
    for label in candidates:
        if label in decoders:
            return label, True
    if len(candidates) == 1:
        return candidates[0], False
    return _fewest_errors(path), False


def _check_binary(name: str, chunk: bytes, offset: int) -> None:
    at = chunk.find(b"\x00")
    if at < 0 and offset == 0:
        controls = _CONTROL.findall(chunk[:SNIFF_BYTES])
        if len(controls) > 8 and len(controls) * 100 > min(len(chunk), SNIFF_BYTES):
            at = _CONTROL.search(chunk).start()  # type: ignore[union-attr]
    if at >= 0:
        raise ReadError(
            "binary",
            _("%(file)s is not a text file: it contains binary data near byte %(offset)d.")
            % {"file": name, "offset": offset + at},
        )


def _fewest_errors(path: Path) -> str:
    """The candidate with the fewest undecodable places (a second pass, only when all fail)."""
    decoders = {
        label: codecs.getincrementaldecoder(CODECS[label])(errors="replace") for label in CANDIDATES
    }
    errors: Counter[str] = Counter()
    with open(path, "rb") as stream:
        while chunk := stream.read(CHUNK):
            real = chunk.count("\ufffd".encode())  # a U+FFFD typed in a UTF-8 file
            for label, decoder in decoders.items():
                errors[label] += decoder.decode(chunk).count("\ufffd")
            errors["UTF-8"] -= real
    for label, decoder in decoders.items():
        errors[label] += decoder.decode(b"", final=True).count("\ufffd")
    if _mostly_utf8(path):
        return "UTF-8"
    return min(CANDIDATES, key=lambda label: (errors[label], CANDIDATES.index(label)))


def _mostly_utf8(path: Path) -> bool:
    """Whether most lines with Japanese in them read as UTF-8. Shift_JIS reads UTF-8 bytes
    with few faults (as other characters), but a Shift_JIS line almost never reads as
    UTF-8: such a file is UTF-8 with a few rows pasted from elsewhere, which are the ones
    to report."""
    read = failed = 0
    with open(path, "rb") as stream:
        for line in stream:
            if line.isascii():
                continue
            try:
                line.decode("utf-8")
            except UnicodeDecodeError:
                failed += 1
            else:
                read += 1
    return read >= UTF8_MAJORITY * failed and read > failed


UTF8_MAJORITY = 2  # lines that read as UTF-8 per line that does not


def sniff_delimiter(path: Path, encoding: str, default: str) -> str:
    """Comma or tab: the one that splits the first records into the most same-width rows."""
    with open(path, "rb") as stream:
        sample = stream.read(SNIFF_BYTES)
    text = codecs.getincrementaldecoder(CODECS[encoding])(errors="replace").decode(sample)
    if len(sample) == SNIFF_BYTES and "\n" in text:
        text = text[: text.rindex("\n") + 1]  # no half line at the end

    def score(delimiter: str) -> tuple[int, int]:
        rows = islice(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter), 50)
        widths = Counter(len(row) for row in rows if any(row))
        if not widths:
            return 0, 0
        width, count = max(widths.items(), key=lambda item: (item[1], item[0]))
        return (count, width) if width > 1 else (0, 0)

    other = "\t" if default == "," else ","
    try:
        return other if score(other) > score(default) else default
    except csv.Error:
        return default


def _zip_format(path: Path, name: str) -> str:
    """XLSX, XLSB or ODS from the archive's directory; refuse bombs before inflating."""
    try:
        with zipfile.ZipFile(path) as archive:
            parts = archive.infolist()
            mimetype = b""
            if "mimetype" in archive.namelist():
                info = archive.getinfo("mimetype")
                if info.file_size < 200:
                    mimetype = archive.read(info)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, EOFError) as error:
        raise _corrupt(name, error) from error
    _check_bomb(name, parts)
    names = {part.filename for part in parts}
    if "xl/workbook.xml" in names:
        return "XLSX"
    if "xl/workbook.bin" in names:
        return "XLSB"
    if mimetype.strip() == b"application/vnd.oasis.opendocument.spreadsheet":
        return "ODS"
    if any(n.startswith("word/") for n in names):
        kind = _("a Word document")
    elif any(n.startswith("ppt/") for n in names):
        kind = _("a PowerPoint presentation")
    else:
        kind = _("a ZIP archive")
    raise ReadError(
        "unsupported",
        _("%(file)s is %(kind)s, not a spreadsheet; upload CSV, TSV, TXT, XLSX, XLS or ODS.")
        % {"file": name, "kind": kind},
    )


def _check_bomb(name: str, parts: list[zipfile.ZipInfo]) -> None:
    if len(parts) > MAX_PARTS:
        raise ReadError(
            "zip-bomb",
            _("%(file)s looks like a compressed bomb: it holds %(count)d parts.")
            % {"file": name, "count": len(parts)},
        )
    total = 0
    for part in parts:
        total += part.file_size
        if part.file_size > RATIO_FLOOR and part.file_size > MAX_RATIO * max(part.compress_size, 1):
            raise ReadError(
                "zip-bomb",
                _(
                    "%(file)s looks like a compressed bomb: its part %(part)s would expand "
                    "from %(compressed)s to %(size)s."
                )
                % {
                    "file": name,
                    "part": part.filename,
                    "compressed": filesizeformat(part.compress_size),
                    "size": filesizeformat(part.file_size),
                },
            )
    if total > MAX_EXPANDED_BYTES:
        raise ReadError(
            "zip-bomb",
            _(
                "%(file)s looks like a compressed bomb: its parts would expand to %(size)s, "
                "more than the %(limit)s allowed."
            )
            % {
                "file": name,
                "size": filesizeformat(total),
                "limit": filesizeformat(MAX_EXPANDED_BYTES),
            },
        )


def _not_a_workbook(name: str, head: bytes) -> None:
    """A workbook name on something else: read it as text when it is text, else say why not."""
    start = head.lstrip(codecs.BOM_UTF8 + _BLANK_BYTES)[:1000].lower()
    if start.startswith(b"<"):
        if b"urn:schemas-microsoft-com:office:spreadsheet" in head.lower():
            message = _(
                "%(file)s is an Excel 2003 XML spreadsheet; open it in Excel and save it as .xlsx."
            )
        else:
            message = _(
                "%(file)s is a web page (HTML or XML) saved under a spreadsheet name; "
                "open it in Excel and save it as .xlsx or CSV."
            )
        raise ReadError("unsupported", message % {"file": name})
    if b"\x00" in head or not _textual(head):
        raise ReadError(
            "corrupt",
            _(
                "%(file)s cannot be opened as a workbook: it is damaged, or it is not "
                "really an Excel or ODS file."
            )
            % {"file": name},
        )


def _textual(head: bytes) -> bool:
    for label in CANDIDATES:
        try:
            codecs.getincrementaldecoder(CODECS[label])().decode(head)
        except UnicodeDecodeError:
            continue
        return True
    return False


def _calamine(path: Path, name: str) -> python_calamine.CalamineWorkbook:
    try:
        return python_calamine.CalamineWorkbook.from_path(str(path))
    except (KeyboardInterrupt, SystemExit):
        raise
    except BaseException as error:  # calamine panics (pyo3) on some damaged files
        if isinstance(error, python_calamine.PasswordError) or _encrypted(path):
            raise ReadError(
                "unsupported",
                _(
                    "%(file)s is protected by a password; save it without a password "
                    "and upload it again."
                )
                % {"file": name},
            ) from error
        raise _corrupt(name, error) from error


def _encrypted(path: Path) -> bool:
    """An encrypted .xlsx is an OLE file holding an EncryptionInfo stream."""
    needle = "EncryptionInfo".encode("utf-16-le")
    with open(path, "rb") as stream:
        if stream.read(8) != OLE_MAGIC:
            return False
        stream.seek(0)
        tail = b""
        while chunk := stream.read(CHUNK):
            if needle in tail + chunk:
                return True
            tail = chunk[-len(needle) :]
    return False


def _corrupt(name: str, error: BaseException) -> ReadError:
    return ReadError(
        "corrupt",
        _(
            "%(file)s cannot be opened as a workbook: it is damaged, or it is not really an "
            "Excel or ODS file (%(detail)s)."
        )
        % {"file": name, "detail": cut(error, 200)},
    )
