"""Source extracts on disk: naming scheme, encoding detection, reading as text columns.

Naming scheme (one directory holds the extracts of one date):

* ``{entity}_{部门}.csv`` / ``.parquet`` -- one extract per department, keyed by the entity's
  key (``uscc`` or ``id_number``), e.g. ``enterprise_市场监管.csv``, ``enterprise_税务.csv``,
  ``person_公安.parquet``. The department part is free text (``[A-Za-z0-9_\\u4e00-\\u9fff-]``);
  by convention it is the catalog's ``source`` of the fields in the file.
* ``{entity}.csv`` / ``.parquet`` -- one wide table with any catalog fields.

Columns may be named by catalog name (``employees``) or Chinese label (``从业人数``).
CSV files are UTF-8 (with or without BOM) or GB18030; the encoding is detected. Everything
is read as text; parsing and validation happen in ``profiles.ingest``.

>>> source_name(Path("enterprise_税务.csv"), entity="enterprise")
'税务'
>>> source_name(Path("person.parquet"), entity="person")
'wide'
>>> source_name(Path("person_公安.csv"), entity="enterprise") is None
True
"""

from __future__ import annotations

import hashlib
import io
import re
from pathlib import Path

import polars as pl

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


def detect_encoding(data: bytes) -> str:
    """``'utf-8'`` when ``data`` decodes as UTF-8 (a BOM is allowed), else ``'gb18030'``.

    >>> detect_encoding("企业".encode("gb18030"))
    'gb18030'
    >>> detect_encoding("企业".encode())
    'utf-8'
    """
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return "gb18030"
    return "utf-8"


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def read_source(path: Path) -> tuple[pl.DataFrame, str]:
    """The extract at ``path`` with every column as text, and the encoding it was read in."""
    suffix = path.suffix.lower()
    try:
        if suffix == ".parquet":
            frame = pl.read_parquet(path)
            return frame.select(pl.all().cast(pl.String)), "parquet"
        data = path.read_bytes()
        encoding = detect_encoding(data)
        if encoding != "utf-8":
            data = data.decode(encoding).encode("utf-8")
        if data.startswith(b"\xef\xbb\xbf"):
            data = data[3:]
        frame = pl.read_csv(io.BytesIO(data), infer_schema=False, raise_if_empty=False)
        # polars keeps a quoted header's doubled quotes ("" in 专精特新"小巨人"认定日期): undo that
        frame = frame.rename({c: c.replace('""', '"') for c in frame.columns if '""' in c})
    except (OSError, pl.exceptions.PolarsError, UnicodeDecodeError) as exc:
        raise SourceError(
            path.name, f"无法读取 ({type(exc).__name__})", expected="CSV 或 Parquet"
        ) from None
    return frame, encoding
