"""Whatever a policy file holds, loading it ends in located problems (文件:行:列, 期望…实际…),
never in another exception: impossible dates, value errors of every YAML tag, shapes the
schema does not expect, and random damage to the bundled policies."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rules.errors import PolicyError
from rules.loader import bundled_library, library_dir, load_library
from tests.rules.malformed import MALFORMED, write_malformed


def problems_of(path: Path) -> list[str]:
    with pytest.raises(PolicyError) as caught:
        load_library([path], base=bundled_library())
    problems = caught.value.problems
    assert problems
    for p in problems:
        assert p.line >= 1 and p.column >= 1
        assert p.code != "internal-error", str(p)
    return [str(p) for p in problems]


def test_an_impossible_date_in_the_effective_period_is_a_located_problem(tmp_path):
    folder = write_malformed(tmp_path)
    shown = problems_of(folder / "impossible-from.yaml")
    assert shown == [f"{folder / 'impossible-from.yaml'}:5:19: [schema] 期望 'from' 为日期 "
                     "YYYY-MM-DD，实际为 '2025-02-30'(日历上没有这一天)"]


def test_an_impossible_parameter_date_is_located_at_its_key(tmp_path):
    folder = write_malformed(tmp_path)
    (shown,) = problems_of(folder / "impossible-parameter-date.yaml")
    assert ":11:10: [schema]" in shown and "'2023-02-29'(日历上没有这一天)" in shown


@pytest.mark.parametrize("name", sorted(MALFORMED))
def test_every_malformed_file_gives_located_problems(tmp_path, name):
    folder = write_malformed(tmp_path)
    problems_of(folder / f"{name}.yaml")


def test_a_directory_of_malformed_files_gives_all_their_problems_at_once(tmp_path):
    folder = write_malformed(tmp_path)
    with pytest.raises(PolicyError) as caught:
        load_library([folder])
    files = {Path(p.file).stem for p in caught.value.problems}
    assert files == set(MALFORMED)


_TOKENS = [":", "-", "[", "]", "{", "}", "!!int", "!!float", "!!binary", "&a", "*a", "<<: *a",
           "2025-02-30", "2025-13-01", "\t", "\n", "  ", "'", '"', "%", "|", ">", "?", "1e999",
           ".nan", "~", "万", "eligible(\"x\")", "years_since(", ",", "#", "!foo", "- ",
           "all:", "any:", "not:", "when:", "cases:", "tiers:", "order: 5", "\x00"]


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 2**32 - 1))
def test_damaged_bundled_policies_give_only_located_problems(tmp_path_factory, seed):
    rng = random.Random(seed)
    files = sorted(library_dir().glob("*.yaml"))
    text = rng.choice(files).read_text(encoding="utf-8")
    for _ in range(rng.randint(1, 4)):
        i = rng.randrange(len(text))
        j = min(len(text), i + rng.randint(0, 12))
        text = text[:i] + "".join(rng.choice(_TOKENS) for _ in range(rng.randint(0, 3))) + text[j:]
    path = tmp_path_factory.mktemp("damaged") / "p.yaml"
    path.write_text(text, encoding="utf-8")
    try:
        load_library([path], base=bundled_library())
    except PolicyError as err:
        assert all(p.code != "internal-error" for p in err.problems), err


def test_a_clause_number_yaml_reads_as_a_float_is_refused_not_rewritten(tmp_path):
    """`clause: 1.` is the float 1.0 to YAML; taken as text it would become "1.0"."""
    text = (library_dir() / "xj-hardship-new-enterprise-cit.yaml").read_text(encoding="utf-8")
    assert 'clause: "1."' in text
    path = tmp_path / "float-clause.yaml"
    path.write_text(text.replace('clause: "1."', "clause: 1."), encoding="utf-8")
    (shown,) = problems_of(path)
    assert "[schema] 期望 'clause' 为文本，实际为数字 1.0" in shown
