"""Source extracts on disk: naming scheme, encoding detection, reading as text columns.

Naming scheme (one directory holds the extracts of one date):

* ``{entity}_{部门}.csv`` / ``.parquet`` -- one extract per department, keyed by the entity's
  key (``uscc`` or ``id_number``), e.g. ``enterprise_市场监管.csv``, ``enterprise_税务.csv``,
  ``person_公安.parquet``. The department part is free text (``[A-Za-z0-9_\\u4e00-\\u9fff-]``);
  by convention it is the catalog's ``source`` of the fields in the file.
* ``{entity}.csv`` / ``.parquet`` -- one wide table with any catalog fields.

Columns may be named by catalog name (``employees``) or Chinese label (``从业人数``).
CSV files are UTF-8 (with or without BOM) or GB18030; the encoding is decided per file, and
a line that is malformed (bad bytes, wrong number of fields, unclosed quote) is left out with
its line number and reason (``profiles.csv_lines``). Everything is read as text; parsing and
validation happen in ``profiles.ingest``.

>>> source_name(Path("enterprise_税务.csv"), entity="enterprise")
'税务'
>>> source_name(Path("person.parquet"), entity="person")
'wide'
>>> source_name(Path("person_公安.csv"), entity="enterprise") is None
True
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from profiles.csv_lines import BadLine, UnreadableHeaderError, read_csv_bytes
from profiles.errors import SourceError

SUFFIXES = (".csv", ".parquet")
_NAME = re.compile(r"^(?P<entity>enterprise|person)(?:_(?P<dept>[\w\-]+))?$")


def source_name(path: Path, *, entity: str) -> str | None:
    """The source (department) name of ``path`` for ``entity``, ``'wide'`` for a wide table,
    or None when the file is not an extract of that entity."""
    if path.suffix.lower() not in SUFFIXES:
        return None
    match = _NAME.match(path.stem)
    if match is None or match.group("entity") != entity:
        return None
    return match.group("dept") or "wide"


def find_sources(directory: Path, *, entity: str) -> list[tuple[str, Path]]:
    """(source name, path) of every extract of ``entity`` in ``directory``, sorted by name."""
    found = []
    for path in sorted(directory.iterdir()):
        name = source_name(path, entity=entity) if path.is_file() else None
        if name is not None:
            found.append((name, path))
    return found


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


@dataclass(frozen=True, kw_only=True)
class Extract:
    """One extract read as text: its records, each record's data-row number, the encoding,
    and the lines that could not be read (``profiles.csv_lines``)."""

    frame: pl.DataFrame
    rows: pl.Series
    encoding: str
    bad_lines: tuple[BadLine, ...] = ()


def read_extract(path: Path) -> Extract:
    """The extract at ``path`` with every column as text; a bad CSV line is left out and
    listed, never fatal. :class:`SourceError` only when the file cannot be used at all."""
    suffix = path.suffix.lower()
    try:
        if suffix == ".parquet":
            frame = pl.read_parquet(path).select(pl.all().cast(pl.String))
            rows = pl.Series("row", range(1, frame.height + 1), dtype=pl.Int64)
            return Extract(frame=frame, rows=rows, encoding="parquet")
        read = read_csv_bytes(path.read_bytes())
    except UnreadableHeaderError as exc:
        raise SourceError(path.name, exc.problem, expected="CSV 表头行") from None
    except (OSError, pl.exceptions.PolarsError) as exc:
        raise SourceError(
            path.name, f"无法读取 ({type(exc).__name__})", expected="CSV 或 Parquet"
        ) from None
    return Extract(frame=read.frame, rows=read.rows, encoding=read.encoding,
                   bad_lines=read.bad_lines)


def read_source(path: Path) -> tuple[pl.DataFrame, str]:
    """The extract at ``path`` with every column as text, and the encoding it was read in
    (bad lines left out; :func:`read_extract` lists them)."""
    extract = read_extract(path)
    return extract.frame, extract.encoding
