from __future__ import annotations

import datetime as dt
import textwrap
from collections.abc import Callable
from pathlib import Path

import polars as pl
import pytest

from profiles.derive import derive
from profiles.idcheck import uscc_problem
from profiles.ingest import complete
from rules.loader import Library, bundled_library, load_library

USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"


def valid_uscc(first16: str) -> str:
    """A USCC with valid check characters, from a 16-character stem + org-code check + final."""
    for org in "0123456789X":
        for last in USCC_ALPHABET:
            code = first16 + org + last
            if len(code) == 18 and uscc_problem(code) is None:
                return code
    raise AssertionError(f"no valid USCC from {first16}")


@pytest.fixture(scope="session")
def library() -> Library:
    return bundled_library()


def enterprise_frame(rows: list[dict[str, object]], *, as_of: dt.date) -> pl.DataFrame:
    """Derived enterprise profiles from partial rows: every absent field is UNKNOWN."""
    base = complete(pl.DataFrame(rows, infer_schema_length=None), entity="enterprise")
    return derive(base, entity="enterprise", as_of=as_of).collect()


def person_frame(rows: list[dict[str, object]], *, as_of: dt.date) -> pl.DataFrame:
    base = complete(pl.DataFrame(rows, infer_schema_length=None), entity="person")
    return derive(base, entity="person", as_of=as_of).collect()


@pytest.fixture
def policy_dir(tmp_path: Path) -> Callable[[dict[str, str]], Library]:
    """Write YAML policies into a fresh directory and load them as a library."""

    def make(files: dict[str, str]) -> Library:
        folder = tmp_path / "policies"
        folder.mkdir(exist_ok=True)
        for name, text in files.items():
            (folder / f"{name}.yaml").write_text(textwrap.dedent(text), encoding="utf-8")
        return load_library([folder])

    return make
