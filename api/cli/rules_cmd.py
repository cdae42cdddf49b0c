"""`mianshen rules ...` (owned by the rule-language work): check policy files, show a policy.

Heavy imports happen inside the commands, never at import time.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

app = typer.Typer(no_args_is_help=True)

_DELIVERY = {"direct": "免申即享", "notice": "申报即享", "apply": "依申请"}
_PERIOD = {"once": "一次性", "month": "每月", "year": "每年"}


@app.command("check")
def check(
    paths: Annotated[
        list[Path] | None,
        typer.Argument(help="政策文件或目录 (policy files or directories); 默认: 内置政策库"),
    ] = None,
) -> None:
    """检查政策文件: 语法、类型、单位、引用 (check policy files; exit 1 on any problem)."""
    from rich.console import Console
    from rich.table import Table

    from rules.errors import PolicyError
    from rules.loader import bundled_library, library_dir, load_library, policy_files
    from rules.model import ENTITY_LABELS

    try:
        if paths:
            lib = load_library(paths, base=bundled_library())
            wanted = {str(p.resolve()) for p in policy_files(paths)}
            checked = [p for p in lib if p.source and str(Path(p.source).resolve()) in wanted]
        else:
            lib = load_library([library_dir()])
            checked = list(lib)
    except PolicyError as err:
        for problem in err.problems:
            typer.echo(str(problem))
        typer.echo(f"检查未通过: 共 {len(err.problems)} 个问题", err=True)
        raise typer.Exit(code=1) from None
    table = Table(title=f"政策检查通过: {len(checked)} 项")
    for column in ("编号", "名称", "对象", "交付方式", "条件数", "金额", "核验", "版本"):
        table.add_column(column, overflow="fold")
    for policy in checked:
        amount = _PERIOD[policy.amount.period] if policy.amount else "—"
        table.add_row(policy.id, policy.title, ENTITY_LABELS[policy.entity],
                      _DELIVERY[policy.delivery], str(len(policy.conditions)), amount,
                      policy.verification, policy.version)
    Console().print(table)


@app.command("show")
def show(policy_id: Annotated[str, typer.Argument(help="政策编号 (policy id)")]) -> None:
    """显示一项内置政策: 依据、读取的字段、各条件 (show a bundled policy)."""
    from rich.console import Console
    from rich.table import Table

    from rules.errors import PolicyError
    from rules.loader import bundled_library
    from rules.printer import to_source

    try:
        policy = bundled_library()[policy_id]
    except PolicyError as err:
        typer.echo(str(err.problems[0]), err=True)
        raise typer.Exit(code=1) from None
    console = Console()
    basis = "；".join(b.cite for b in policy.bases)
    end = policy.effective_to.isoformat() if policy.effective_to else "长期"
    console.print(f"[bold]{policy.title}[/bold] ({policy.id}, 版本 {policy.version})")
    console.print(f"依据: {basis}")
    console.print(f"有效期: {policy.effective_from.isoformat()} 至 {end}; "
                  f"交付方式: {_DELIVERY[policy.delivery]}")
    console.print(f"读取字段: {', '.join(sorted(policy.fields_read))}")
    table = Table(title="条件")
    for column in ("编号", "说明", "表达式", "条款"):
        table.add_column(column, overflow="fold")
    for cond in policy.conditions:
        table.add_row(cond.id, cond.label, to_source(cond.expr), cond.clause or "")
    console.print(table)


DEFAULT_TABLE = Path("docs/library.md")


@app.command("table")
def table(
    out: Annotated[Path, typer.Option("--out", help="输出文件")] = DEFAULT_TABLE,
    as_of: Annotated[
        str | None,
        typer.Option("--as-of", help="统计日期 YYYY-MM-DD(默认今天)；此前结束的为已到期"),
    ] = None,
) -> None:
    """生成政策库覆盖表(编号、名称、地区、文号、原文链接、有效期、兑现方式、金额、所需数据、核验)。"""
    import datetime as dt

    from rules.coverage import coverage_markdown
    from rules.errors import PolicyError
    from rules.loader import bundled_library

    try:
        when = dt.date.fromisoformat(as_of) if as_of else dt.date.today()
    except ValueError:
        typer.echo(f"统计日期应为 YYYY-MM-DD，收到 {as_of!r}", err=True)
        raise typer.Exit(code=2) from None
    try:
        library = bundled_library()
    except PolicyError as err:  # the library does not pass the checker: say where, no table
        typer.echo(f"内置政策库未通过检查，未生成覆盖表：\n{err}", err=True)
        raise typer.Exit(code=1) from None
    text = coverage_markdown(library, as_of=when)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text, encoding="utf-8")
    typer.echo(f"已生成 {out}（统计日期 {when.isoformat()}，{len(library)} 项政策）")
