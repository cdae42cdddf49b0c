"""What a process killed outright leaves beside the files it was writing or reading, and
its removal.

Snapshot writes go through a temporary name (``.tmp-…``; a dataset also moves the one it
replaces aside, ``.old-…``) and runs read a pin (``.pin-…``, :mod:`profiles.pin`). Each is
removed when its work ends, fails or is interrupted; a process killed by SIGKILL or the
out-of-memory killer cannot, and what it left holds disk space (a whole snapshot, for a
dataset) for ever. So these names carry the host and process that made them
(``.<kind>-<host>-<pid>-<rest>``), and whoever makes a new one first removes, in the same
folder, those that this host's processes that no longer exist left. Another host's (a
cluster's shared folder) and a live process's are left alone.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import socket
from pathlib import Path

log = logging.getLogger(__name__)

KINDS = ("pin", "tmp", "old")
_NAME = re.compile(r"^\.(?P<kind>pin|tmp|old)-(?P<host>[A-Za-z0-9_.]+)-(?P<pid>\d+)-")


def owned_prefix(kind: str) -> str:
    """The start of a name of ``kind`` made by this process: ``.<kind>-<host>-<pid>-``."""
    if kind not in KINDS:
        raise ValueError(f"expected one of {KINDS}, got {kind!r}")
    return f".{kind}-{_host()}-{os.getpid()}-"


def remove_leftovers(folder: Path) -> list[Path]:
    """Remove what this host's killed processes left in ``folder`` (a pin, a temporary
    write, a replaced dataset). Returns what was removed."""
    removed: list[Path] = []
    try:
        entries = [e for e in os.scandir(folder) if e.name.startswith(".")]
    except OSError:
        return removed
    host = _host()
    for entry in entries:
        found = _NAME.match(entry.name)
        if found is None or found["host"] != host or _alive(int(found["pid"])):
            continue
        path = Path(entry.path)
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)
        if not path.exists():
            removed.append(path)
            log.info("removed a %s left by process %s, which no longer exists: %s",
                     found["kind"], found["pid"], path)
    return removed


def _host() -> str:
    """This host's name as the names carry it (no '-': it separates their parts)."""
    return re.sub(r"[^A-Za-z0-9_.]", "_", socket.gethostname()) or "host"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    return True
