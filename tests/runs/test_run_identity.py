"""A run is identified by every input that can change an outcome: changing any one of them
makes a new run; changing none finds the run done."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from sqlalchemy import Engine

import matcher.runs as runs_module
from matcher.run_inputs import RunInputs, engine_version
from matcher.runs import execute_run
from profiles.build import META_KEY
from rules.sets import NamedSet, NamedSets
from tests.conftest import sealed_engine
from tests.runs.runkit import outcomes, passthrough_match, policy

AS_OF = dt.date(2025, 11, 3)
BASE_META: dict[str, Any] = {
    "snapshot_hash": "a" * 64,
    "sources": [{"source": "税务", "file": "enterprise_税务.csv", "sha256": "1" * 64}],
    "catalog_version": 1,
    "tag_model": {"version": "m1"},
}


def _snapshot(path: Path, meta: dict[str, Any]) -> Path:
    frame = outcomes([("E1", "p1", "eligible", 100, "once")])
    frame.write_parquet(path, metadata={META_KEY: json.dumps(meta)})
    return path


def _sets(items: tuple[str, ...] = ("C39",)) -> NamedSets:
    return NamedSets({"s": NamedSet(name="s", label="集合", kind="industry_prefix",
                                    items=items)})


def _run(engine: Engine, tmp_path: Path, *, meta: dict[str, Any], as_of: dt.date = AS_OF,
         version: str = "v1", sets: NamedSets | None = None) -> Any:
    snap = _snapshot(tmp_path / f"s-{json.dumps(meta, sort_keys=True).__hash__()}.parquet",
                     meta)
    return execute_run(engine=engine, snapshot_path=snap, as_of=as_of,
                       policies=[policy("p1", version=version)], outcomes_dir=tmp_path / "out",
                       entity="enterprise", sets=sets or _sets(), match=passthrough_match)


def _meta(**changes: Any) -> dict[str, Any]:
    return {**BASE_META, **changes}


CHANGES: dict[str, Callable[[], dict[str, Any]]] = {
    "snapshot content": lambda: {"meta": _meta(snapshot_hash="b" * 64)},
    "a source file": lambda: {"meta": _meta(sources=[{"source": "税务",
                                                       "file": "enterprise_税务.csv",
                                                       "sha256": "2" * 64}])},
    "policy version": lambda: {"version": "v2"},
    "named sets": lambda: {"sets": _sets(("C39", "C40"))},
    "catalog version": lambda: {"meta": _meta(catalog_version=2)},
    "tag-model version": lambda: {"meta": _meta(tag_model={"version": "m2"})},
    "as-of date": lambda: {"as_of": AS_OF + dt.timedelta(days=1)},
}


@pytest.mark.parametrize("what", sorted(CHANGES))
def test_changing_one_input_makes_a_new_run(
    what: str, db_url: str, tmp_path: Path
) -> None:
    engine = sealed_engine(db_url, tmp_path / "seal")
    first = _run(engine, tmp_path, meta=BASE_META)
    same = _run(engine, tmp_path, meta=dict(BASE_META))
    assert first.status == "succeeded" and same.status == "unchanged"
    assert same.run_id == first.run_id
    kwargs: dict[str, Any] = {"meta": BASE_META, **CHANGES[what]()}
    changed = _run(engine, tmp_path, **kwargs)
    assert changed.status == "succeeded" and changed.run_id != first.run_id


@pytest.mark.parametrize("what", ["reference tables", "engine version"])
def test_changed_code_or_reference_tables_make_a_new_run(
    what: str, db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = sealed_engine(db_url, tmp_path / "seal")
    first = _run(engine, tmp_path, meta=BASE_META)
    name = "reference_tables_hash" if what == "reference tables" else "engine_version"
    monkeypatch.setattr(runs_module, name, lambda: "changed")
    changed = _run(engine, tmp_path, meta=BASE_META)
    assert changed.status == "succeeded" and changed.run_id != first.run_id


@pytest.mark.parametrize("field", [f.name for f in dataclasses.fields(RunInputs)])
def test_every_field_of_the_inputs_is_in_the_id(field: str) -> None:
    base = RunInputs(entity="person", as_of=AS_OF, snapshot="s", sources={"f": "1"},
                     policies={"p": "v1"}, sets="x", reference_tables="r", catalog_version=1,
                     tag_model="m", engine="e")
    other = {"entity": "enterprise", "as_of": AS_OF + dt.timedelta(days=1), "snapshot": "t",
             "sources": {"f": "2"}, "policies": {"p": "v2"}, "sets": "y",
             "reference_tables": "q", "catalog_version": 2, "tag_model": "n", "engine": "f"}
    assert dataclasses.replace(base, **{field: other[field]}).run_id() != base.run_id()


def test_engine_version_comes_from_the_installed_package_and_the_code() -> None:
    from importlib import metadata

    version = engine_version()
    assert version.startswith(metadata.version("mianshen") + "+src.")
    assert len(version) <= 32  # runs.engine_version column


def test_a_rerun_of_earlier_inputs_after_another_run_of_the_date_applies_again(
    db_url: str, tmp_path: Path
) -> None:
    engine = sealed_engine(db_url, tmp_path / "seal")
    x = _run(engine, tmp_path, meta=BASE_META)
    y = _run(engine, tmp_path, meta=_meta(snapshot_hash="b" * 64))
    x_again = _run(engine, tmp_path, meta=BASE_META)
    assert x_again.status == "succeeded" and x_again.run_id not in (x.run_id, y.run_id)
    assert _run(engine, tmp_path, meta=BASE_META).status == "unchanged"


def test_the_run_records_its_inputs(db_url: str, tmp_path: Path) -> None:
    from store import runs as run_store
    from store.db import transaction

    engine = sealed_engine(db_url, tmp_path / "seal")
    report = _run(engine, tmp_path, meta=BASE_META)
    with transaction(engine, write=False) as s:
        record = run_store.get_run(s, report.run_id)
    inputs = (record.counts or {})["inputs"]
    assert inputs["sources"] == {"enterprise_税务.csv": "1" * 64}
    assert inputs["tag_model"] == "m1" and inputs["engine"] == engine_version()
    assert pl.Series([record.engine_version]).str.contains(r"\+src\.").all()


def test_a_snapshot_renamed_over_during_the_run_is_not_what_it_matches(
    db_url: str, tmp_path: Path
) -> None:
    """A rebuild renames a new snapshot over the run's path after the run hashed it: the run
    matches the snapshot it hashed, not the new one; the next run takes the new one."""
    from profiles.build import write_atomically

    engine = sealed_engine(db_url, tmp_path / "seal")
    snap = _snapshot(tmp_path / "snap.parquet", BASE_META)
    newer = outcomes([("E2", "p1", "eligible", 200, "once")])

    def rebuild_meanwhile(stage: str, _message: str) -> None:
        if stage == "match":
            write_atomically(snap, lambda tmp: newer.write_parquet(
                tmp, metadata={META_KEY: json.dumps(_meta(snapshot_hash="b" * 64))}))

    def run(**kwargs: Any) -> Any:
        return execute_run(engine=engine, snapshot_path=snap, as_of=AS_OF,
                           policies=[policy("p1")], outcomes_dir=tmp_path / "out",
                           entity="enterprise", sets=_sets(), match=passthrough_match,
                           **kwargs)

    first = run(progress=rebuild_meanwhile)
    assert first.snapshot_hash == "a" * 64
    assert pl.read_parquet(first.outcomes_path)["entity_id"].to_list() == ["E1"]
    second = run()
    assert second.snapshot_hash == "b" * 64 and second.status == "succeeded"
    assert pl.read_parquet(second.outcomes_path)["entity_id"].to_list() == ["E2"]
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # the pin is gone
