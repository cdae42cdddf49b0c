"""Data defects in the source extracts, through the nightly pipeline, on SQLite and PostgreSQL.

- A bad cell in a list-type source (残联) holds the entity: its benefits are neither revoked
  nor downgraded, no revocation message is queued, and the report says how many entities
  were held and why. The corrected extract, rerun for the same date, is a new run and
  restores exactly the state a clean night gives.
- A bad line (invalid byte, extra field, unclosed quote) is a rejected line with its line
  number; the rest of the file is read and the run goes on; `mianshen run` exits 0.
"""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from api.cli import app
from api.scheduler import run_pipeline
from api.settings import Settings, get_settings
from api.storage import open_engine
from store.db import transaction
from store.schema import entitlements, outbox
from tests.conftest import publish_bundled_library

AS_OF = dt.date(2025, 11, 3)
runner = CliRunner()


@pytest.fixture
def sources(tmp_path: Path) -> Path:
    from profiles.synth import synthesize

    out = tmp_path / "sources"
    synthesize(out, enterprises=40, persons=400, seed=11)
    return out


@pytest.fixture
def settings(empty_db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    monkeypatch.setenv("MIANSHEN_ENVIRONMENT", "development")
    get_settings.cache_clear()
    return Settings(data_dir=tmp_path / "data", database_url=empty_db_url)


def _state(settings: Settings) -> dict[tuple[str, str, str], tuple[object, ...]]:
    engine = open_engine(settings)
    with transaction(engine, write=False) as s:
        rows = s.execute(select(
            entitlements.c.entity_id, entitlements.c.policy_id, entitlements.c.benefit_period,
            entitlements.c.status, entitlements.c.outcome, entitlements.c.amount_fen))
        return {(r[0], r[1], r[2]): tuple(r[3:]) for r in rows}


def _revocation_messages(settings: Settings) -> int:
    engine = open_engine(settings)
    with transaction(engine, write=False) as s:
        return int(s.execute(select(func.count()).select_from(outbox)
                             .where(outbox.c.kind.like("%revok%"))).scalar_one())


def _corrupt_list_rows(path: Path, *, ids: set[str]) -> int:
    """Make the disability grade of each of ``ids`` unparseable; returns how many."""
    lines = path.read_bytes().decode("gb18030").splitlines()
    out, n = [lines[0]], 0
    for line in lines[1:]:
        key, grade, *rest = line.split(",")
        if key in ids:
            grade, n = "二级?", n + 1
        out.append(",".join([key, grade, *rest]))
    path.write_bytes(("\n".join(out) + "\n").encode("gb18030"))
    return n


def test_a_bad_cell_in_a_list_source_holds_benefits_and_the_fix_restores_them(
    settings: Settings, sources: Path, tmp_path: Path
) -> None:
    engine = open_engine(settings)
    publish_bundled_library(engine)
    clean = run_pipeline(settings, engine=engine, sources_dir=sources, as_of=AS_OF,
                         entities=("person",))
    before = _state(settings)
    disabled = {k[0] for k, v in before.items()
                if "disability" in k[1] and v[0] != "revoked"}
    assert disabled, "the synthetic population should have disability benefits"
    original = tmp_path / "残联.orig.csv"
    shutil.copy(sources / "person_残联.csv", original)
    corrupted = _corrupt_list_rows(sources / "person_残联.csv", ids=disabled)
    # and one line with a stray byte after the key
    with (sources / "person_残联.csv").open("ab") as fh:
        fh.write(sorted(disabled)[0].encode() + b",\xff\xfe,\n")
    revocations_before = _revocation_messages(settings)

    bad = run_pipeline(settings, engine=engine, sources_dir=sources, as_of=AS_OF,
                       entities=("person",))
    report = bad.runs[0]
    assert report.status == "succeeded" and report.run_id != clean.runs[0].run_id
    assert report.revoked == 0
    assert report.held_entities >= len(disabled) and report.held_changes > 0
    assert report.held_reasons["残联"]["not_integer"] == corrupted
    after = _state(settings)
    for key, value in before.items():
        assert after[key] == value, f"{key} changed on a data defect"
    assert _revocation_messages(settings) == revocations_before

    shutil.copy(original, sources / "person_残联.csv")
    fixed = run_pipeline(settings, engine=engine, sources_dir=sources, as_of=AS_OF,
                         entities=("person",))
    assert fixed.runs[0].status == "succeeded"  # not "unchanged": another run came between
    assert _state(settings) == before
    again = run_pipeline(settings, engine=engine, sources_dir=sources, as_of=AS_OF,
                         entities=("person",))
    assert again.runs[0].status == "unchanged"


def test_bad_lines_are_rejected_with_their_number_and_the_run_goes_on(
    settings: Settings, sources: Path
) -> None:
    engine = open_engine(settings)
    publish_bundled_library(engine)
    police = sources / "person_公安.csv"
    lines = police.read_bytes().splitlines()
    lines[3] = lines[3].replace("，".encode(), b"") + b"\xff"  # invalid byte in the name
    lines[5] = lines[5] + b",extra"  # one field too many
    lines[7] = lines[7].replace(b",", b',"', 1)  # a quote never closed
    police.write_bytes(b"\n".join(lines) + b"\n")
    result = runner.invoke(app, ["run", "--sources", str(sources), "--as-of", AS_OF.isoformat(),
                                 "--entity", "person", "--database-url",
                                 settings.database_url or ""],
                           env={"MIANSHEN_DATA_DIR": str(settings.data_dir)})
    assert result.exit_code == 0, result.output
    assert "Traceback" not in result.output
    # the line with a bad byte still shows its key: that person is held, and the report says so
    said = "".join(result.output.split())
    assert "因数据缺陷暂缓3个主体" in said and "含无法解码的字节1个" in said
    rejects = (settings.snapshots_dir / f"person-{AS_OF.isoformat()}-rejects.csv").read_text(
        encoding="utf-8-sig")
    for line_no, code in ((4, "bad_encoding"), (6, "field_count"), (8, "unbalanced_quote")):
        assert f"第 {line_no} 行" in rejects and code in rejects
    snapshot = next(settings.snapshots_dir.glob(f"person-{AS_OF.isoformat()}-*.parquet"))
    import polars as pl

    assert pl.read_parquet(snapshot).height >= len(lines) - 1 - 3
