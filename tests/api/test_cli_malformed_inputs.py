"""`mianshen rules check`, `match` and `events replay` given malformed files: located messages
in Chinese and a nonzero exit, never a traceback. The commands run as a user runs them, in a
process of their own."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.rules.malformed import MALFORMED, write_malformed

AS_OF = "2025-10-01"


def mianshen(*args: str | Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "200", "PYTHONIOENCODING": "utf-8"}
    return subprocess.run([sys.executable, "-c", "from api.cli import main; main()",
                           *map(str, args)], capture_output=True, text=True, timeout=300,
                          env=env, check=False)


def assert_refused(done: subprocess.CompletedProcess[str]) -> str:
    shown = done.stdout + done.stderr
    assert done.returncode != 0, shown
    assert "Traceback" not in shown and "Error:" not in shown, shown
    return shown


@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("malformed")
    write_malformed(folder / "policies")
    (folder / "profiles.csv").write_text("uscc,status\n91440101000000011X,存续\n",
                                         encoding="utf-8")
    (folder / "garbage.csv").write_bytes(bytes(range(256)) * 4)
    (folder / "garbage.parquet").write_bytes(b"PAR1" + bytes(range(256)))
    (folder / "ragged.csv").write_text('uscc,status\n1,2,3\n"x\n', encoding="utf-8")
    (folder / "garbage.jsonl").write_bytes(bytes(range(128, 256)))
    (folder / "events.jsonl").write_text('{"a":\n[1]\nnull\n{"entity_id": 5}\n',
                                         encoding="utf-8")
    return folder


def test_rules_check_lists_every_malformed_file_located_in_chinese(inputs):
    shown = assert_refused(mianshen("rules", "check", inputs / "policies"))
    for name in MALFORMED:
        assert f"{name}.yaml:" in shown
    assert "期望" in shown and "实际" in shown
    assert "internal-error" not in shown


def test_match_refuses_malformed_policies_without_a_traceback(inputs):
    shown = assert_refused(mianshen(
        "match", "--entity", "enterprise", "--profiles", inputs / "profiles.csv",
        "--as-of", AS_OF, "--out", inputs / "out.csv", "--policies", inputs / "policies"))
    assert "impossible-from.yaml:5:19: [schema] 期望 'from' 为日期" in shown


@pytest.mark.parametrize("profiles", ["garbage.csv", "garbage.parquet", "ragged.csv",
                                      "policies"])
def test_match_refuses_malformed_profiles_without_a_traceback(inputs, profiles):
    assert_refused(mianshen("match", "--entity", "enterprise", "--profiles",
                            inputs / profiles, "--as-of", AS_OF, "--out", inputs / "o.csv"))


def test_events_replay_refuses_malformed_policies_without_a_traceback(inputs):
    shown = assert_refused(mianshen(
        "events", "replay", "--entity", "enterprise", "--profiles", inputs / "profiles.csv",
        "--events", inputs / "events.jsonl", "--as-of", AS_OF, "--out", inputs / "out.csv",
        "--policies", inputs / "policies"))
    assert "impossible-from.yaml:5:19" in shown


@pytest.mark.parametrize("events", ["garbage.jsonl", "policies"])
def test_events_replay_refuses_a_malformed_events_file_without_a_traceback(inputs, events):
    shown = assert_refused(mianshen(
        "events", "replay", "--entity", "enterprise", "--profiles", inputs / "profiles.csv",
        "--events", inputs / events, "--as-of", AS_OF, "--out", inputs / "out.csv"))
    assert "期望" in shown
