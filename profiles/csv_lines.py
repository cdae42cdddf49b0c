"""Reading a CSV extract so that one bad line never makes the file unreadable (DESIGN §5, §9).

The encoding is decided once per file: UTF-8 when it has a BOM or when at least as many of its
non-ASCII lines decode as UTF-8 as do not, else GB18030 -- so one stray byte no longer flips a
whole UTF-8 file to GB18030. Then each line that does not decode in that encoding, has more or
fewer fields than the header, or opens a quote it never closes is a *bad line*: it is left
out with its line number and reason, and every other line is read.

A quoted field may span lines (a business scope with a line break); a quote still open after
:data:`MAX_RECORD_LINES` lines, or at the end of the file, makes only its first line bad.

Fast path: a file that decodes whole and has no quote character is read by polars in one
call; the line-by-line reader is used for everything else, and whenever the fast path fails.

>>> data = "uscc,name\\nA,甲\\nB,乙,x\\nC,\\"丙\\n".encode() + b"D,\\xff\\n" + "E,戊\\n".encode()
>>> read = read_csv_bytes(data)
>>> read.frame.rows(), read.rows.to_list()
([('A', '甲'), ('E', '戊')], [1, 5])
>>> [(b.line, b.code) for b in read.bad_lines]
[(3, 'field_count'), (4, 'unbalanced_quote'), (5, 'bad_encoding')]

(line numbers count the header as line 1; rows count data lines from 1.)
"""

from __future__ import annotations

import codecs
import csv
import re
from dataclasses import dataclass

import numpy as np
import polars as pl

BOM = b"\xef\xbb\xbf"
MAX_RECORD_LINES = 50
_SLICE = 1 << 20
_FIRST_LINE = re.compile(rb"[^\r\n]*")
#: what ``str.splitlines`` breaks at besides \r and \n, in UTF-8
_TEXT_ONLY_BREAKS = (b"\x0b", b"\x0c", b"\x1c", b"\x1d", b"\x1e", b"\xc2\x85", b"\xe2\x80\xa8",
                     b"\xe2\x80\xa9")


class UnreadableHeaderError(Exception):
    """The header line itself cannot be read: the file cannot be used at all."""

    def __init__(self, problem: str) -> None:
        self.problem = problem
        super().__init__(problem)


@dataclass(frozen=True, kw_only=True)
class BadLine:
    line: int  # physical line number, the header is line 1
    code: str  # bad_encoding, field_count, unbalanced_quote
    reason: str  # Chinese, what was expected and what came
    fields: tuple[str, ...] = ()  # best-effort split (bad bytes replaced): to find its key


@dataclass(frozen=True, kw_only=True)
class CsvRead:
    frame: pl.DataFrame  # every column as text
    rows: pl.Series  # each record's data-row number (its first line minus the header)
    encoding: str
    bad_lines: tuple[BadLine, ...] = ()


def decide_encoding(data: bytes) -> str:
    """``'utf-8'`` or ``'gb18030'`` for the whole file, by a vote of its non-ASCII lines.

    >>> decide_encoding("企业\\n名称\\n".encode("gb18030")), decide_encoding("企业".encode())
    ('gb18030', 'utf-8')
    >>> decide_encoding("企业\\n名称\\n".encode() + b"\\xff\\n")
    'utf-8'
    """
    return _encoding(data)[0]


def _encoding(data: bytes) -> tuple[str, bool]:
    """:func:`decide_encoding`, and whether the whole file is known to decode in it (so the
    fast path need not decode it again). A BOM decides without decoding anything."""
    if data.startswith(BOM):
        return "utf-8", False
    if data.isascii() or _decodes(data, "utf-8"):
        return "utf-8", True  # every non-ASCII line decodes as UTF-8: the vote is theirs
    good = bad = 0
    for line in data.splitlines():
        if line.isascii():
            continue
        try:
            line.decode("utf-8")
            good += 1
        except UnicodeDecodeError:
            bad += 1
    return ("utf-8" if good >= bad else "gb18030"), False


def _header(raw: bytes, encoding: str) -> list[str]:
    try:
        text = raw.decode(encoding)
    except UnicodeDecodeError:
        raise UnreadableHeaderError(f"第 1 行(表头)无法按 {encoding} 解码") from None
    try:
        fields = next(csv.reader([text], strict=True))
    except (csv.Error, StopIteration):
        raise UnreadableHeaderError("第 1 行(表头)不是有效的 CSV 行") from None
    return [f.strip() for f in fields]


def _decodes(data: bytes, encoding: str) -> bool:
    """Whether the whole of ``data`` decodes, checked a slice at a time (no text of the whole
    file is made)."""
    decoder = codecs.getincrementaldecoder(encoding)()
    try:
        for at in range(0, len(data), _SLICE):
            decoder.decode(data[at:at + _SLICE])
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return False
    return True


def _line_count(data: bytes) -> int:
    """``len(data.splitlines())`` without the lines: breaks are ``\\r\\n``, ``\\r``, ``\\n``.

    >>> [_line_count(d) == len(d.splitlines()) for d in (b"", b"a", b"a\\n", b"a\\r\\nb\\rc\\n\\n")]
    [True, True, True, True]
    """
    breaks = data.count(b"\n") + data.count(b"\r") - data.count(b"\r\n")
    return breaks + (1 if data and not data.endswith((b"\n", b"\r")) else 0)


def _blank_line_after_header(body: bytes) -> bool:
    """Whether a line after the first of UTF-8 ``body`` is blank (``not line.strip()``), as
    ``body.decode().splitlines()[1:]`` would say. Vectorised: only the lines without a
    printable ASCII character are decoded and looked at."""
    if any(b in body for b in _TEXT_ONLY_BREAKS) or body.count(b"\r") != body.count(b"\r\n"):
        return any(not ln.strip() for ln in body.decode().splitlines()[1:])  # rare: exact
    if body.endswith(b"\n"):
        body = body[:-1]  # splitlines() makes no empty line after the last break
    arr = np.frombuffer(body, dtype=np.uint8)
    breaks = np.flatnonzero(arr == ord("\n"))
    if breaks.shape[0] == 0:
        return False
    starts = np.concatenate(([0], breaks + 1))
    if starts[-1] == arr.shape[0]:
        return True  # the last line is empty
    ends = np.concatenate((breaks, [arr.shape[0]]))
    # a line with a printable ASCII character (33-126) is not blank; any other line is
    # looked at (an empty line's segment reads its own break: a candidate too)
    printable = (arr - np.uint8(33)) < 94
    marked = np.maximum.reduceat(printable, starts)
    return any(not body[starts[i]:ends[i]].decode().strip()
               for i in np.flatnonzero(marked[1:] == 0) + 1)


def _fast(data: bytes, encoding: str, n_lines: int, *, decodes: bool) -> CsvRead | None:
    """The whole file in one polars read, when that reads what the careful reader would: no
    quote, every line decodes, no blank line, one record per line. The file is given to
    polars as bytes (re-encoded to UTF-8 only from GB18030); its lines are counted and
    looked at without making them (the text and the lines of a 120 MB extract were ~1 GB)."""
    if b'"' in data:
        return None
    if encoding == "utf-8":
        if not (decodes or _decodes(data, encoding)):
            return None
        body = data
    else:
        try:
            body = data.decode(encoding).encode("utf-8")
        except UnicodeDecodeError:
            return None
    try:
        frame = pl.read_csv(body, infer_schema=False, raise_if_empty=False)
    except pl.exceptions.PolarsError:
        return None
    if _blank_line_after_header(body) or frame.height != n_lines - 1:
        return None  # blank lines or a count mismatch: let the careful reader number them
    rows = pl.Series("row", range(1, frame.height + 1), dtype=pl.Int64)
    return CsvRead(frame=frame, rows=rows, encoding=encoding)


def read_csv_bytes(data: bytes) -> CsvRead:
    """The records of a CSV file's bytes, as text columns, and its bad lines."""
    encoding, decodes = _encoding(data)
    if data.startswith(BOM):
        data = data[len(BOM):]
    if not data:
        return CsvRead(frame=pl.DataFrame(), rows=pl.Series("row", [], pl.Int64),
                       encoding=encoding)
    columns = _header(_FIRST_LINE.match(data).group(), encoding)  # type: ignore[union-attr]
    fast = _fast(data, encoding, _line_count(data), decodes=decodes)
    if fast is not None:
        return fast
    physical = data.splitlines()
    width = len(columns)
    records: list[list[str]] = []
    rows: list[int] = []
    bad: list[BadLine] = []
    i = 1
    while i < len(physical):
        line_no = i + 1
        try:
            text = physical[i].decode(encoding)
        except UnicodeDecodeError as exc:
            bad.append(BadLine(line=line_no, code="bad_encoding",
                               reason=f"第 {line_no} 行第 {exc.start + 1} 个字节无法按 "
                                      f"{encoding} 解码，整行拒收",
                               fields=_guess(physical[i].decode(encoding, errors="replace"))))
            i += 1
            continue
        if not text.strip():
            i += 1
            continue
        record, used, problem = _record(text, physical, i, encoding)
        if problem is not None:
            bad.append(BadLine(line=line_no, code=problem[0], reason=problem[1],
                               fields=_guess(text)))
            i += 1
            continue
        assert record is not None
        if used > 1 and len(record) != width:
            # a quote left open swallowed the next lines: only this line is bad
            bad.append(BadLine(line=line_no, code="unbalanced_quote",
                               reason=f"第 {line_no} 行的引号未闭合，整行拒收",
                               fields=_guess(text)))
            i += 1
            continue
        if len(record) != width:
            bad.append(BadLine(line=line_no, code="field_count",
                               reason=f"第 {line_no} 行有 {len(record)} 个字段，应为 {width} "
                                      "个(与表头一致)，整行拒收", fields=tuple(record)))
        else:
            records.append(record)
            rows.append(line_no - 1)
        i += used
    return CsvRead(frame=_frame(columns, records), rows=pl.Series("row", rows, dtype=pl.Int64),
                   encoding=encoding, bad_lines=tuple(bad))


def _record(
    text: str, physical: list[bytes], i: int, encoding: str
) -> tuple[list[str] | None, int, tuple[str, str] | None]:
    """One record starting at physical line ``i``: (fields, lines used, problem)."""
    line_no = i + 1
    used = 1
    while text.count('"') % 2 == 1:
        if used >= MAX_RECORD_LINES or i + used >= len(physical):
            return None, 1, ("unbalanced_quote",
                             f"第 {line_no} 行的引号未闭合，整行拒收")
        try:
            nxt = physical[i + used].decode(encoding)
        except UnicodeDecodeError:
            return None, 1, ("unbalanced_quote", f"第 {line_no} 行的引号未闭合，整行拒收")
        text = text + "\n" + nxt
        used += 1
    try:
        fields = next(csv.reader([text], strict=True))
    except (csv.Error, StopIteration):
        return None, 1, ("unbalanced_quote",
                         f"第 {line_no} 行引号使用不当(应为 \"...\"，内部引号写作 \"\")，整行拒收")
    return fields, used, None


def _guess(text: str) -> tuple[str, ...]:
    return tuple(next(csv.reader([text]), []))


def _frame(columns: list[str], records: list[list[str]]) -> pl.DataFrame:
    """Text columns; a repeated header name gets polars' suffix (``name_duplicated_0``)."""
    seen: dict[str, int] = {}
    names = []
    for c in columns:
        if c in seen:
            names.append(f"{c}_duplicated_{seen[c]}")
            seen[c] += 1
        else:
            names.append(c)
            seen[c] = 0
    return pl.DataFrame({n: [r[j] for r in records] for j, n in enumerate(names)},
                        schema={n: pl.String for n in names})
