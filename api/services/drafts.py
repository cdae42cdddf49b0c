"""Policy texts from officers: check them with the rule loader (the same checks as the
bundled library, against the published policies for ``eligible()`` references) and turn them
into store documents; diffs between versions."""

from __future__ import annotations

import difflib
import tempfile
from pathlib import Path
from typing import Any

from ruamel.yaml.error import YAMLError

from api.services.errors import InvalidPolicy
from rules.errors import PolicyError
from rules.loader import Library, load_library
from rules.model import Policy
from store.policies import PolicyDocument

DRAFT_FILE = "policy.yaml"


def problem_dicts(error: PolicyError) -> list[dict[str, Any]]:
    """Problems as JSON-ready data, the file reduced to the name officers gave it."""
    return [
        {
            "line": p.line,
            "column": p.column,
            "code": p.code,
            "message": p.message,
            "suggestion": p.suggestion,
        }
        for p in error.problems
    ]


def parse_policy_text(text: str, *, base: Library | None) -> Policy:
    """Load one policy from YAML text; :class:`InvalidPolicy` lists its problems."""
    if not text.strip():
        raise InvalidPolicy(
            [{"line": 1, "column": 1, "code": "schema", "message": "expected a policy "
              "document, got empty text", "suggestion": None}]
        )
    with tempfile.TemporaryDirectory(prefix="draft-") as tmp:
        path = Path(tmp) / DRAFT_FILE
        path.write_text(text, encoding="utf-8")
        try:
            library = load_library([path], base=base, sets=base.sets if base else None)
        except PolicyError as err:
            raise InvalidPolicy(problem_dicts(err)) from None
        except YAMLError as err:  # e.g. a control character, which the loader lets through
            raise InvalidPolicy([{"line": 1, "column": 1, "code": "yaml-error",
                                  "message": f"expected valid YAML, got {err}",
                                  "suggestion": None}]) from None
    found = [p for p in library.policies.values() if p.source and Path(p.source).name == DRAFT_FILE]
    if len(found) != 1:
        raise InvalidPolicy([{"line": 1, "column": 1, "code": "schema",
                              "message": "expected one policy document", "suggestion": None}])
    return found[0]


def document_of(policy: Policy, text: str) -> PolicyDocument:
    return PolicyDocument(
        policy_id=policy.id,
        title=policy.title,
        entity=policy.entity,
        text=text,
        version=policy.version,
        effective_from=policy.effective_from,
        effective_to=policy.effective_to,
        verified=policy.verified,
    )


def policy_summary(policy: Policy) -> dict[str, Any]:
    return {
        "id": policy.id,
        "title": policy.title,
        "entity": policy.entity,
        "version": policy.version,
        "delivery": policy.delivery,
        "effective_from": policy.effective_from.isoformat(),
        "effective_to": policy.effective_to.isoformat() if policy.effective_to else None,
        "conditions": [c.label for c in policy.conditions],
        "fields": sorted(policy.fields_read),
    }


def text_diff(old: str, new: str, *, old_name: str, new_name: str) -> str:
    """A unified diff of two policy texts.

    >>> print(text_diff("a: 1\\n", "a: 2\\n", old_name="v1", new_name="v2"))
    --- v1
    +++ v2
    @@ -1 +1 @@
    -a: 1
    +a: 2
    <BLANKLINE>
    """
    return "".join(
        difflib.unified_diff(
            old.splitlines(keepends=True), new.splitlines(keepends=True),
            fromfile=old_name, tofile=new_name,
        )
    )


def diff_lines(old: str, new: str) -> list[dict[str, Any]]:
    r"""A line diff for display: each line with its kind and its numbers on either side.

    >>> [(d["kind"], d["old"], d["new"]) for d in diff_lines("a\nb\n", "a\nc\n")]
    [('same', 1, 1), ('del', 2, None), ('add', None, 2)]
    """
    a, b = old.splitlines(), new.splitlines()
    out: list[dict[str, Any]] = []
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(a=a, b=b, autojunk=False).get_opcodes():
        if tag == "equal":
            out += [{"kind": "same", "old": i1 + k + 1, "new": j1 + k + 1, "text": a[i1 + k]}
                    for k in range(i2 - i1)]
            continue
        out += [{"kind": "del", "old": i + 1, "new": None, "text": a[i]} for i in range(i1, i2)]
        out += [{"kind": "add", "old": None, "new": j + 1, "text": b[j]} for j in range(j1, j2)]
    return out
