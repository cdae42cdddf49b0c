"""`mianshen rules propose` (clause text -> draft conditions) and `mianshen rules
propose-score` (how many conditions of the bundled library its clause texts yield exactly)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

console = Console()
err_console = Console(stderr=True)


def propose_cmd(
    text: Annotated[str, typer.Argument(help="条款原文，如：从业人数不超过300人")],
    entity: Annotated[str, typer.Option("--entity", help="enterprise(企业) 或 person(个人)")] = (
        "enterprise"),
) -> None:
    """由条款原文生成条件草案（按目录中文名称与单位规则，离线）。"""
    from rules.loader import bundled_library
    from rules.proposals import propose

    if entity not in ("enterprise", "person"):
        err_console.print(f"[red]--entity 应为 enterprise 或 person，实际为 {entity!r}[/red]")
        raise typer.Exit(2)
    library = bundled_library()
    titles = {p.id: p.title for p in library.policies.values()}
    proposals = propose(text, entity=entity, sets=library.sets, policies=titles)
    if not proposals:
        console.print("未从这段文字中识别出条件。")
        return
    table = Table(title=f"条件草案：{len(proposals)} 条")
    for col in ("字段", "条件表达式", "出处"):
        table.add_column(col, overflow="fold")
    for p in proposals:
        table.add_row(p.field_label, p.when, p.label)
    console.print(table)


def score_cmd(
    details: Annotated[bool, typer.Option("--details", help="逐条列出")] = False,
    policies: Annotated[Path | None, typer.Option("--policies", help="政策目录(默认内置库)")] = (
        None),
) -> None:
    """在政策库的条款文本上衡量条件草案：逐条比较生成的条件与库中条件，输出完全一致的比例。"""
    from rules.loader import bundled_library, load_library
    from rules.proposal_score import score_library

    library = bundled_library() if policies is None else load_library([policies])
    score = score_library(library)
    if details:
        table = Table(title="逐条结果")
        for col in ("政策", "条件", "文本", "库中条件", "生成的条件", "一致"):
            table.add_column(col, overflow="fold")
        for r in score.rows:
            table.add_row(r.policy_id, r.condition_id, r.text, r.expected,
                          "\n".join(r.proposed) or "—", "是" if r.exact else "否")
        console.print(table)
    console.print(
        f"条件 {score.conditions} 条，完全一致 {score.exact} 条（{score.share:.1%}）；"
        f"共生成 {score.proposals} 条草案。"
    )


def register(app: typer.Typer) -> None:
    app.command("propose")(propose_cmd)
    app.command("propose-score")(score_cmd)
