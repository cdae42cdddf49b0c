"""`mianshen db upgrade`, `mianshen audit verify`, `mianshen policies import-library|list`."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

console = Console()
err_console = Console(stderr=True)

db_app = typer.Typer(no_args_is_help=True, help="数据库: 迁移 (migrate).")
audit_app = typer.Typer(no_args_is_help=True, help="审计日志: 校验哈希链 (verify).")
policies_app = typer.Typer(no_args_is_help=True, help="政策库: 导入内置政策、查看已发布版本。")

UrlOpt = Annotated[
    str | None,
    typer.Option("--database-url", help="数据库地址；默认取 MIANSHEN_DATABASE_URL 或数据目录"),
]


def _url(database_url: str | None) -> str:
    from api.settings import get_settings

    return database_url or get_settings().database_url


@db_app.command("upgrade")
def db_upgrade(database_url: UrlOpt = None) -> None:
    """把数据库迁移到最新版本 (Alembic)。"""
    from store.db import current_revision, make_engine, upgrade

    engine = make_engine(_url(database_url))
    upgrade(engine)
    console.print(f"数据库已是最新版本：{current_revision(engine)}")


@audit_app.command("verify")
def audit_verify(database_url: UrlOpt = None) -> None:
    """校验审计日志哈希链；发现被修改或删除的记录时退出码为 1。"""
    from store import audit
    from store.db import make_engine, transaction

    engine = make_engine(_url(database_url))
    with transaction(engine) as session:
        problems = audit.verify(session)
        head = audit.head(session)
    if not problems:
        if head is None:
            console.print("审计日志为空。")
        else:
            console.print(f"审计日志完整：共 {head[0]} 条，哈希链无误。")
            console.print(f"链头（请另行留存以便比对）：序号 {head[0]}，哈希 {head[1]}")
        return
    kinds = {"edited": "被修改", "missing": "缺失(被删除)", "chain_broken": "链断裂"}
    table = Table(title=f"审计日志发现 {len(problems)} 处问题")
    table.add_column("序号", justify="right")
    table.add_column("类型")
    table.add_column("说明")
    for p in problems:
        table.add_row(str(p.seq), kinds.get(p.kind, p.kind), p.message)
    err_console.print(table)
    raise typer.Exit(1)


@policies_app.command("import-library")
def import_library(database_url: UrlOpt = None) -> None:
    """把内置政策库导入为已发布版本（系统用户）；已导入的版本跳过。"""
    from api.scheduler import prepare_store
    from store.db import make_engine

    imported = prepare_store(make_engine(_url(database_url)))
    console.print(
        f"已导入 {imported} 个政策版本。" if imported else "内置政策库已是最新，无需导入。"
    )


@policies_app.command("list")
def list_policies(database_url: UrlOpt = None) -> None:
    """列出全部政策版本及其状态。"""
    from store import policies
    from store.db import make_engine, transaction

    labels = {"draft": "草稿", "in_review": "审核中", "published": "已发布", "retired": "已废止"}
    with transaction(make_engine(_url(database_url))) as session:
        versions = policies.list_versions(session)
    table = Table(title="政策版本")
    for col in ("政策", "版本", "状态", "起草人", "审核人", "生效期"):
        table.add_column(col)
    for v in versions:
        period = f"{v.effective_from} ~ {v.effective_to or ''}"
        table.add_row(v.policy_id, v.version, labels[v.status], v.author, v.reviewer or "-", period)
    console.print(table)


def register(app: typer.Typer) -> None:
    app.add_typer(db_app, name="db", help="数据库: 迁移 (migrate).")
    app.add_typer(audit_app, name="audit", help="审计日志: 校验 (verify).")
    app.add_typer(policies_app, name="policies", help="政策库: 导入、查看。")
