"""A JSON-lines event file that grows while the worker reads it (``tail -F`` for one file
that is only ever appended to): the complete lines so far, and a wait for more.

A line counts once its newline is written, so a writer that appends ``line + "\\n"`` is
never read half-way; a line that is not UTF-8 is kept as a line that the worker refuses
(it names the line), never decoded with substitutes. The file is not expected to be
truncated or rotated: a new stream is a new file and a new checkpoint.
"""

from __future__ import annotations

import threading
from pathlib import Path

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
        self.read()

    def read(self) -> int:
        """Take in what has been appended since the last read; how many lines it completed."""
        try:
            with self.path.open("rb") as f:
                f.seek(self._offset)
                data = f.read()
        except FileNotFoundError:
            return 0
        if not data:
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
