"""`mianshen notify`: one pass of the delivery loop; dead letters for operators."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Table

if TYPE_CHECKING:
    from sqlalchemy.orm import Session, sessionmaker

    from notifier.settings import NotifierSettings

console = Console()
err_console = Console(stderr=True)

app = typer.Typer(help="消息投递: 运行一次投递循环、查看与重投死信。")


def _sessions(database_url: str | None) -> tuple[NotifierSettings, sessionmaker[Session]]:
    from api.settings import Settings
    from notifier.settings import NotifierSettings
    from store.db import make_engine, session_factory

    url = database_url or Settings().database_url
    settings = NotifierSettings().model_copy(update={"database_url": url})
    return settings, session_factory(make_engine(url))


DbOpt = Annotated[
    str | None, typer.Option("--database-url", help="数据库地址 (默认 MIANSHEN_DATABASE_URL)")
]


@app.callback(invoke_without_command=True)
def run_once(
    ctx: typer.Context,
    database_url: DbOpt = None,
    limit: Annotated[int | None, typer.Option("--limit", help="本次最多认领的消息数")] = None,
) -> None:
    """运行一次投递循环：认领到期消息、发送、标记。"""
    if ctx.invoked_subcommand is not None:
        return
    from sqlalchemy.exc import DBAPIError

    from api.settings import Settings
    from notifier.errors import NotifierError
    from notifier.settings import NotifierSettings, run_configured_delivery_once

    # the same database as `mianshen run` / `serve` unless one is named here
    url = database_url or Settings().database_url
    settings = NotifierSettings().model_copy(update={"database_url": url})
    try:
        report = run_configured_delivery_once(settings=settings, limit=limit)
    except DBAPIError as exc:
        err_console.print(
            f"[red]无法读取发件箱: 数据库不可用或尚未迁移 ({type(exc.orig).__name__})[/red]"
        )
        raise typer.Exit(1) from None
    except NotifierError as exc:
        err_console.print(f"[red]投递配置有误: {exc}[/red]")
        raise typer.Exit(2) from None
    console.print(
        f"认领 {report.claimed} 条：已发送 {report.sent}（其中接收方已有 {report.duplicates}），"
        f"稍后重试 {report.retried}，推迟 {report.deferred}，转入死信 {report.dead}，"
        f"租约丢失 {report.lease_lost}"
    )


@app.command("dead-letters")
def dead_letters(database_url: DbOpt = None) -> None:
    """列出死信（多次投递失败或无法投递的消息）。"""
    from store import outbox

    _, sessions = _sessions(database_url)
    with sessions() as session:
        rows = outbox.dead_letters(session)
    table = Table("编号", "渠道", "类型", "尝试次数", "最后错误")
    for r in rows:
        table.add_row(str(r.id), r.channel, r.kind, str(r.attempts), r.last_error or "")
    console.print(table)
    console.print(f"共 {len(rows)} 条死信")


@app.command("requeue")
def requeue(
    message_id: Annotated[int, typer.Argument(help="死信编号")],
    database_url: DbOpt = None,
) -> None:
    """把一条死信放回队列，立即到期。"""
    from store import outbox
    from store.errors import StoreError

    _, sessions = _sessions(database_url)
    try:
        with sessions() as session, session.begin():
            outbox.requeue(session, message_id)
    except StoreError as exc:
        err_console.print(f"[red]无法重投: {exc}[/red]")
        raise typer.Exit(1) from None
    console.print(f"消息 {message_id} 已放回队列")
