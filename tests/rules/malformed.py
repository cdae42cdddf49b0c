"""Malformed policy files: each text is something a policy file may hold by mistake. Shared by
the loader tests and the command-line tests (no command shows a traceback on any of them)."""

from __future__ import annotations

from pathlib import Path

HEAD = """id: malformed-x
title: 示例政策
entity: enterprise
basis: {document: 示例文件}
effective: {from: 2025-01-01}
delivery: notice
eligibility:
  all:
    - {when: employees > 1, label: 从业人数大于1人}
"""


def _with(old: str, new: str) -> str:
    assert old in HEAD
    return HEAD.replace(old, new)


MALFORMED: dict[str, str | bytes] = {
    "impossible-from": _with("{from: 2025-01-01}", "{from: 2025-02-30}"),
    "impossible-to": _with("{from: 2025-01-01}", "{from: 2025-01-01, to: 2025-02-29}"),
    "impossible-month": _with("{from: 2025-01-01}", "{from: 2025-13-01}"),
    "impossible-hour": _with("{from: 2025-01-01}", "{from: 2025-01-01 25:00}"),
    "five-digit-year": _with("{from: 2025-01-01}", "{from: 99999-01-01}"),
    "impossible-parameter-date": HEAD + "parameters:\n  rate: {2023-02-29: 20%}\n",
    "impossible-date-in-condition": _with("employees > 1", "founded_on > 2024-02-30"),
    "impossible-date-in-function": _with("employees > 1", "years_since(2025-02-29) > 1"),
    "tagged-int": HEAD + "description: !!int abc\n",
    "tagged-float": HEAD + "description: !!float abc\n",
    "tagged-binary": HEAD + "description: !!binary ===\n",
    "tagged-timestamp": HEAD + "description: !!timestamp yesterday\n",
    "budget-order-number": HEAD + "budget: {total: 100, order: 5}\n",
    "budget-total-nan": HEAD + "budget: {total: .nan}\n",
    "budget-total-infinite": HEAD + "budget: {total: .inf}\n",
    "budget-total-negative": HEAD + "budget: {total: -5}\n",
    "budget-total-text": HEAD + "budget: {total: 很多}\n",
    "tier-from-nan": HEAD + "amount: {tiers: {by: employees, table: [[.nan, 1]]}, "
    "period: once}\n",
    "number-too-large": _with("employees > 1", "employees > " + "9" * 400),
    "expression-too-long": _with("employees > 1", " + ".join(["employees"] * 3000) + " > 1"),
    "merge-key": "base: &b {id: malformed-y}\n<<: *b\n" + HEAD.replace("id: malformed-x\n", ""),
    "self-reference": _with("employees > 1", 'eligible("malformed-x")'),
    "nested-too-deep": HEAD + "description: " + "[" * 5000 + "]" * 5000 + "\n",
    "two-documents": HEAD + "---\n" + HEAD,
    "unclosed-flow": HEAD.replace("label: 从业人数大于1人}", "label: 从业人数大于1人"),
    "tab-indent": HEAD.replace("  all:", "\tall:"),
    "empty": "",
    "only-comment": "# 空\n",
    "list-document": "- a\n- b\n",
    "eligibility-number": HEAD.split("eligibility")[0] + "eligibility: 5\n",
    "not-utf8": "id: 政策\n".encode("gb18030"),
    "binary-garbage": bytes(range(256)),
}


def write_malformed(folder: Path) -> Path:
    """Every malformed text as ``<name>.yaml`` in ``folder``; returns ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in MALFORMED.items():
        path = folder / f"{name}.yaml"
        if isinstance(text, bytes):
            path.write_bytes(text)
        else:
            path.write_text(text, encoding="utf-8")
    return folder
