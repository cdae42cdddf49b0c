"""`mianshen awards import`: awards paid by earlier systems into the award ledger."""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape

from api.cli.store_cmd import UrlOpt, _engine

console = Console()
err_console = Console(stderr=True)

app = typer.Typer(no_args_is_help=True, help="奖励台账: 导入以往系统发放的奖励。")


@app.command("import")
def import_file(
    path: Annotated[Path, typer.Argument(help="CSV: policy_id,entity_id,benefit_period,"
                                              "amount,granted_on")],
    entity: Annotated[str, typer.Option("--entity", help="enterprise 或 person")],
    actor: Annotated[str, typer.Option("--actor", help="导入人账号")],
    complete_from: Annotated[
        str | None, typer.Option("--complete-from", help="自该日(YYYY-MM-DD)起，文件中各政策的"
                                 "发放记录已完整(含本系统发放的)；不给则不声明")] = None,
    rejects: Annotated[Path | None, typer.Option("--rejects", help="被拒行输出 CSV")] = None,
    database_url: UrlOpt = None,
) -> None:
    """校验并导入奖励记录；坏行隔离(行号与原因)，其余照常导入。"""
    from matcher.award_import import import_awards
    from rules.loader import bundled_library
    from store.db import transaction

    if entity not in ("enterprise", "person"):
        err_console.print(f"[red]--entity 应为 enterprise 或 person，实际为 {entity}[/red]")
        raise typer.Exit(2)
    since = None
    if complete_from is not None:
        try:
            since = dt.date.fromisoformat(complete_from)
        except ValueError:
            err_console.print(f"[red]--complete-from 应为 YYYY-MM-DD，实际为 "
                              f"{escape(complete_from)}[/red]")
            raise typer.Exit(2) from None
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        err_console.print(f"[red]无法读取 {path}（应为 UTF-8 编码的 CSV）："
                          f"{type(exc).__name__}[/red]")
        raise typer.Exit(2) from None
    engine = _engine(database_url)
    with transaction(engine) as session:
        report = import_awards(session, text, entity_kind=entity, library=bundled_library(),
                               source=path.name, actor=actor, today=dt.date.today(),
                               complete_from=since)
    console.print(f"导入 {report.imported} 条，已有相同记录跳过 {report.skipped} 条，"
                  f"拒收 {len(report.rejects)} 条")
    for pid, day in sorted(report.complete_from.items()):
        console.print(f"已声明：{pid} 自 {day} 起发放记录完整")
    for r in report.rejects[:20]:
        console.print(f"  第 {r.line} 行：{escape(r.reason)}")
    if rejects is not None and report.rejects:
        with rejects.open("w", encoding="utf-8", newline="") as fh:
            writer = csv.writer(fh)
            writer.writerow(["line", "reason", "text"])
            writer.writerows((r.line, r.reason, r.text) for r in report.rejects)
        console.print(f"被拒行明细见 {rejects}")
    engine.dispose()
