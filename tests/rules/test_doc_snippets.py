"""Every YAML example in the officer docs (docs/adding-a-policy.md, docs/grammar.md) parses
and checks: a whole policy as it is, a fragment (conditions, parameters, an amount, declared
conditions, a cap, several documents) inside a minimal policy, a named set as a sets file.
Templates with ``…`` placeholders are the only ones left out."""

from __future__ import annotations

import re
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

from rules.errors import PolicyError
from rules.loader import bundled_library, load_library
from rules.sets import NamedSets, load_sets

DOCS = Path(__file__).resolve().parents[2] / "docs"
BLOCK = re.compile(r"```yaml\n(.*?)```", re.DOTALL)
SNIPPETS = [(f"{name}#{i + 1}", text) for name in ("adding-a-policy.md", "grammar.md")
            for i, text in enumerate(BLOCK.findall((DOCS / name).read_text(encoding="utf-8")))]
CHECKED = [(where, text) for where, text in SNIPPETS if "…" not in text]
#: a condition every entity's minimal policy holds, so a fragment without one still loads
_FIRST = {"enterprise": '{when: status = "存续", label: 登记状态为存续}',
          "person": "{when: alive, label: 健在}"}


def _yaml(text: str) -> Any:
    return YAML(typ="safe").load(StringIO(text))


def _is_sets(data: Any) -> bool:
    return isinstance(data, dict) and all(
        isinstance(v, dict) and ("items" in v or "editions" in v) for v in data.values())


def _policy(text: str, data: Any, entity: str) -> str:
    """A minimal policy around a fragment (kept as written, indented under its key)."""
    if isinstance(data, dict) and "id" in data:
        return text
    head = ["id: doc-snippet", "title: 文档示例", f"entity: {entity}",
            "effective: {from: 2020-01-01}", "delivery: apply"]
    if not (isinstance(data, dict) and "basis" in data):
        head.append("basis: {document: 文档示例}")
    if isinstance(data, list):  # conditions: the children of an all
        body = "\n".join("    " + line for line in text.splitlines())
        return "\n".join([*head, "eligibility:", "  all:", f"    - {_FIRST[entity]}", body])
    if "eligibility" not in data:
        head += ["eligibility:", "  all:", f"    - {_FIRST[entity]}"]
    return "\n".join([*head, text])


def _sets(tmp: Path, text: str) -> NamedSets:
    path = tmp / "sets.yaml"
    path.write_text(text, encoding="utf-8")
    return load_sets(path)


def test_the_docs_have_yaml_examples_and_most_are_checked() -> None:
    assert len(SNIPPETS) >= 15
    assert len(CHECKED) >= len(SNIPPETS) - 3


@pytest.mark.parametrize(("where", "text"), CHECKED, ids=[w for w, _ in CHECKED])
def test_doc_yaml_example_parses_and_checks(where: str, text: str, tmp_path: Path) -> None:
    data = _yaml(text)
    if _is_sets(data):
        assert set(_sets(tmp_path, text)) == set(data)
        return
    # a list of example conditions may mix entities: each one is checked on its own
    parts = re.split(r"\n(?=- )", text.strip()) if isinstance(data, list) else [text]
    for part in parts:
        _check(where, part, _yaml(part), tmp_path)


def _check(where: str, text: str, data: Any, tmp_path: Path) -> None:
    base = bundled_library()
    problems: dict[str, str] = {}
    for entity in ("enterprise", "person"):  # a fragment reads one entity's fields
        path = tmp_path / f"{entity}.yaml"
        path.write_text(_policy(text, data, entity), encoding="utf-8")
        try:
            lib = load_library([path], sets=base.sets, base=base)
        except PolicyError as err:
            problems[entity] = str(err)
            continue
        assert (data["id"] if isinstance(data, dict) and "id" in data
                else "doc-snippet") in lib
        return
    pytest.fail(f"{where} does not check as a policy of either entity: {problems}")


def test_a_broken_example_would_be_caught(tmp_path: Path) -> None:
    text = "- {when: employes >= 10, label: 从业人数不少于10人}\n"
    with pytest.raises(pytest.fail.Exception, match="employees"):
        _check("example", text, _yaml(text), tmp_path)
