"""The exported heads of the audit chain: an append-only file outside the database.

After every commit that appended audit entries, the newest ``(seq, hash)`` is appended to
the file as one line ``<seq> <hash> <UTC time>``. Whoever can rewrite the database but not
this file cannot hide a rewrite, a truncation or an emptying of the log: each exported head
must still be an entry of the chain (:func:`store.audit.verify`). Lines may arrive out of
order when several processes commit at once; each is checked on its own.

>>> import tempfile, pathlib
>>> sink = HeadFile(pathlib.Path(tempfile.mkdtemp()) / "heads.log")
>>> sink.export(seq=3, digest="ab" * 32)
>>> [(h.seq, h.digest[:4], h.line) for h in sink.exported()]
[(3, 'abab', 1)]
"""

from __future__ import annotations

import datetime as dt
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

_LINE = re.compile(r"^(\d+) ([0-9a-f]{64})(?: \S+)?$")


@dataclass(frozen=True, kw_only=True)
class ExportedHead:
    seq: int
    digest: str
    line: int


class HeadFileDamaged(ValueError):
    """A line of the head file that is not ``<seq> <hash> [time]``."""

    def __init__(self, path: Path, line: int, text: str) -> None:
        self.path, self.line, self.text = path, line, text
        super().__init__(f"{path}:{line}: expected '<seq> <sha256 hex> [time]', got {text!r}")


class HeadSink(Protocol):
    """Where committed heads go. ``exported()`` reads them back, oldest first, or returns
    None when the sink cannot be read back (then verification relies on the heads that an
    operator passes to ``mianshen audit verify --head``)."""

    def export(self, *, seq: int, digest: str) -> None: ...

    def exported(self) -> list[ExportedHead] | None: ...


@dataclass(frozen=True)
class HeadFile:
    """An append-only text file (created 0600); put it on another volume, a WORM mount or a
    log shipper's input to keep it out of reach of whoever administers the database."""

    path: Path

    def export(self, *, seq: int, digest: str) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        at = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
        data = f"{seq} {digest} {at}\n".encode("ascii")
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            os.write(fd, data)  # one write of one short line: atomic under O_APPEND
            os.fsync(fd)
        finally:
            os.close(fd)

    def exported(self) -> list[ExportedHead] | None:
        """Every exported head; [] when the file does not exist yet;
        :class:`HeadFileDamaged` on a malformed line."""
        try:
            text = self.path.read_text(encoding="ascii", errors="replace")
        except FileNotFoundError:
            return []
        out = []
        for number, raw in enumerate(text.splitlines(), start=1):
            if not raw.strip():
                continue
            match = _LINE.match(raw.strip())
            if match is None:
                raise HeadFileDamaged(self.path, number, raw[:120])
            out.append(ExportedHead(seq=int(match[1]), digest=match[2], line=number))
        return out
