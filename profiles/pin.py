"""Pinning a snapshot while a run reads it.

A rebuild renames a new snapshot over the old one (``profiles.build.write_atomically``,
``profiles.partitions.write_dataset``). A run that opened the path again mid-way would read
parts of two snapshots, so it reads a pin instead: a name for the snapshot as it was when the
run began, which no rename changes.

A pin is a folder beside the snapshot named ``.pin-<host>-<pid>-<random>``. The run removes it
when it ends, fails or is interrupted; what a run killed outright left is removed by the next
pin beside it (:mod:`profiles.leftovers`).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from profiles.leftovers import owned_prefix, remove_leftovers


@contextmanager
def pinned(path: Path) -> Iterator[Path]:
    """A name for the snapshot ``path`` names now, which a later rename over ``path`` does
    not change, removed afterwards.

    - A file: a hard link beside it; where no link can be made (another file system, a
      read-only folder), a private copy.
    - A partitioned dataset (a folder, replaced whole by a rebuild): a folder of hard links
      to its files beside it, where the workers of a cluster see it too. A rebuild that
      replaced the folder while it was being linked is noticed (the folder is another one
      after) and the links are made again. Where they cannot be made beside it, the dataset
      is read in place, as it is."""
    if path.is_dir():
        with _pinned_dataset(path) as pin:
            yield pin
        return
    with _pin_folder(_writable(path.parent)) as folder:
        pin = folder / path.name
        try:
            os.link(path, pin)
        except OSError:  # copied through one opening, so from one file
            with path.open("rb") as src, pin.open("wb") as dst:
                shutil.copyfileobj(src, dst, 1 << 20)
        yield pin


@contextmanager
def _pinned_dataset(path: Path, *, tries: int = 5) -> Iterator[Path]:
    if _writable(path.parent) is None:
        yield path
        return
    for _ in range(tries):
        with _pin_folder(path.parent) as folder:
            pin = folder / path.name
            before = _folder_id(path)
            try:
                shutil.copytree(path, pin, copy_function=os.link)
            except (OSError, shutil.Error):
                if before is not None and _folder_id(path) == before:
                    break  # not a rebuild: links cannot be made here
                continue
            if before is not None and _folder_id(path) == before:
                yield pin
                return
    yield path


@contextmanager
def _pin_folder(parent: Path | None) -> Iterator[Path]:
    """A new pin folder in ``parent`` (None: the system's temporary folder), made after the
    stale pins there are removed."""
    where = Path(parent if parent is not None else tempfile.gettempdir())
    remove_leftovers(where)
    with tempfile.TemporaryDirectory(prefix=owned_prefix("pin"), dir=where) as folder:
        yield Path(folder)


def _folder_id(path: Path) -> int | None:
    """The inode ``path`` names now (None in the instant a rebuild has moved the old folder
    away and not yet renamed the new one in)."""
    try:
        return path.stat().st_ino
    except FileNotFoundError:
        return None


def _writable(folder: Path) -> Path | None:
    """``folder`` when a pin can be made in it, else None (the system's temporary folder)."""
    return folder if os.access(folder, os.W_OK) else None
