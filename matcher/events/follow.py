"""A JSON-lines event file that grows while the worker reads it (``tail -F`` for one file
that is only ever appended to): the complete lines so far, and a wait for more.

A line counts once its newline is written, so a writer that appends ``line + "\\n"`` is
never read half-way; a line that is not UTF-8 is kept as a line that the worker refuses
(it names the line), never decoded with substitutes.

A stream is one file, numbered by its lines (the checkpoint counts them), so it is never
truncated or rotated: a new stream is a new file and a new checkpoint. A file that is
anyway is not followed on silently (from the middle of the new file, or past events never
read): the follower reads the old file to its end through the handle it holds (a renamed
file keeps its content), then raises :class:`StreamReplacedError`, so the worker commits
what it read and stops with the reason instead of losing or misnumbering events. A file
truncated in place (``copytruncate``) cannot be read to its end: that is reported at once.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import BinaryIO

from matcher.events.errors import StreamReplacedError

_BOM = b"\xef\xbb\xbf"


class LineFollower:
    """``lines``: the complete lines of ``path`` read so far (it grows); :meth:`wait`
    blocks until at least one more complete line is there (True) or :meth:`stop` was
    called (False), polling every ``poll_s`` seconds."""

    def __init__(self, path: Path, *, poll_s: float = 0.005) -> None:
        self.path = path
        self.poll_s = poll_s
        self.lines: list[str] = []
        self._offset = 0
        self._partial = b""
        self._stopped = threading.Event()
        self._file: BinaryIO | None = None  # held open: a renamed file is read to its end
        self.read()

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None

    def _replaced(self) -> bool:
        """Whether ``path`` now names another file than the one being read."""
        assert self._file is not None
        mine = os.fstat(self._file.fileno())
        try:
            there = os.stat(self.path)
        except FileNotFoundError:
            return True
        return (there.st_dev, there.st_ino) != (mine.st_dev, mine.st_ino)

    def _refuse(self, what: str) -> StreamReplacedError:
        partial = "；其最后一行没有换行符，不完整，未处理" if self._partial.strip() else ""
        return StreamReplacedError(
            f"事件文件 {self.path.name} {what}(已读到第 {len(self.lines)} 行{partial})：断点按"
            "行号计数，新内容无法续接。已读到的事件已写库；新的事件文件请配新的断点文件"
            "(--checkpoint)重新启动。")

    def read(self) -> int:
        """Take in what has been appended since the last read; how many lines it completed.
        Raises :class:`StreamReplacedError` once the file was truncated, or replaced and
        read to its end."""
        if self._file is None:
            try:
                self._file = self.path.open("rb")
            except FileNotFoundError:
                return 0
        if os.fstat(self._file.fileno()).st_size < self._offset:
            raise self._refuse("被截断")
        data = self._file.read()
        if not data:
            if self._replaced():
                raise self._refuse("已被替换或轮换")
            return 0
        if self._offset == 0 and data.startswith(_BOM):
            data = data[len(_BOM):]
            self._offset = len(_BOM)
        self._offset += len(data)
        *complete, self._partial = (self._partial + data).split(b"\n")
        for raw in complete:
            try:
                self.lines.append(raw.rstrip(b"\r").decode("utf-8"))
            except UnicodeDecodeError as err:
                # refused by the worker as not JSON, with its line number
                self.lines.append(f"第 {err.start + 1} 个字节处不是 UTF-8 文本")
        return len(complete)

    def wait(self) -> bool:
        """Block until more complete lines are there (True) or the stream stops (False)."""
        while not self._stopped.is_set():
            if self.read():
                return True
            self._stopped.wait(self.poll_s)
        return False

    def stop(self) -> None:
        """End the stream: :meth:`wait` returns False (from a signal handler or a thread)."""
        self._stopped.set()
