"""`mianshen db upgrade`, `mianshen audit verify`, `mianshen policies import|list|attest`."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Table

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from store.policy_integrity import VersionProblem

console = Console()
err_console = Console(stderr=True)

db_app = typer.Typer(no_args_is_help=True, help="数据库: 迁移 (migrate).")
audit_app = typer.Typer(no_args_is_help=True, help="审计日志: 校验 (verify).")
policies_app = typer.Typer(no_args_is_help=True,
                           help="政策库: 导入待审核、查看版本、为升级前发布的版本补签。")

UrlOpt = Annotated[
    str | None,
    typer.Option("--database-url", help="数据库地址；默认取 MIANSHEN_DATABASE_URL 或数据目录"),
]
# What each kind of audit problem means, for the operator ({seq}: the entry concerned).
AUDIT_PROBLEMS = {
    "edited": ("被修改", "第 {seq} 条写入后被修改（密钥签名不符）"),
    "missing": ("缺失", "第 {seq} 条附近有记录被删除（序号不连续或链头超出末尾）"),
    "chain_broken": ("链断裂", "第 {seq} 条与前一条接不上（前一条被删除、调换或修改）"),
    "unkeyed": ("未签名", "第 {seq} 条没有用审计密钥签名（有人绕过本系统写入）"),
    "truncated": ("被截断或清空", "库外留存的链头到第 {seq} 条，库中已没有这些记录"),
    "rewritten": ("被改写", "第 {seq} 条与写入时留存在库外的链头不同"),
    "head_file": ("链头文件异常", "库外留存的链头文件缺失、被清空、损坏，或不是本库的"),
}
# What each kind of policy-version problem means.
POLICY_PROBLEMS = {
    "hash_mismatch": "文本与其内容哈希不符",
    "unattested": "审计日志中没有审核发布记录（未经审核即发布，或为升级前发布：可用 "
                  "mianshen policies attest 补签）",
    "changed_since_review": "文本与审核人员发布时的文本不同",
    "status_changed": "状态被改动（审计日志中没有相应的审核记录）",
}


def _engine(database_url: str | None) -> Engine:
    """The database, opened with the audit seal of the settings (key and head file)."""
    from api.keys import KeyFileError
    from api.settings import get_settings
    from api.storage import AuditKeyLostError, open_engine

    try:
        return open_engine(get_settings(), url=database_url)
    except (AuditKeyLostError, KeyFileError) as exc:
        err_console.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from None


@db_app.command("upgrade")
def db_upgrade(database_url: UrlOpt = None) -> None:
    """把数据库迁移到最新版本 (Alembic)。"""
    from store.db import current_revision, upgrade

    engine = _engine(database_url)
    upgrade(engine)
    console.print(f"数据库已是最新版本：{current_revision(engine)}")


def _parse_head(text: str) -> tuple[int, str]:
    seq, _, digest = text.partition(":")
    if not seq.isdigit() or len(digest) != 64:
        raise typer.BadParameter(f"应为 序号:哈希（64 位十六进制），实际为 {text!r}")
    return int(seq), digest.lower()


@audit_app.command("verify")
def audit_verify(
    database_url: UrlOpt = None,
    heads: Annotated[list[str] | None, typer.Option(
        "--head", help="另行留存的链头 序号:哈希（可多次给出），一并比对")] = None,
) -> None:
    """校验审计日志（密钥签名的哈希链、库外留存的链头）和已发布政策（与审核发布时的文本一致）；
    发现被修改、删除、截断、清空或改写时退出码为 1。"""
    from store import audit, policy_integrity
    from store.db import transaction, upgrade

    extra = [_parse_head(h) for h in heads or []]
    engine = _engine(database_url)
    upgrade(engine)
    with transaction(engine, write=False) as session:
        problems = audit.verify(session, extra_heads=extra)
        policy_problems = policy_integrity.check(session)
        head = audit.head(session)
    if not problems and not policy_problems:
        if head is None:
            console.print("审计日志为空，库外也没有留存的链头。")
        else:
            console.print(f"审计日志完整：共 {head[0]} 条，密钥签名与哈希链无误，"
                          "与库外留存的链头一致；已发布政策与审核发布时的文本一致。")
            console.print(f"当前链头：序号 {head[0]}，哈希 {head[1]}")
        return
    if problems:
        table = Table(title=f"审计日志发现 {len(problems)} 处问题")
        table.add_column("序号", justify="right")
        table.add_column("类型", overflow="fold")
        table.add_column("说明", overflow="fold")
        for p in problems:
            label, text = AUDIT_PROBLEMS.get(p.kind, (p.kind, "{seq}"))
            table.add_row(str(p.seq), label, text.format(seq=p.seq))
        err_console.print(table)
    if policy_problems:
        _print_policy_problems(policy_problems)
    raise typer.Exit(1)


def _print_policy_problems(problems: Sequence[VersionProblem]) -> None:
    table = Table(title=f"{len(problems)} 个政策版本与审核发布记录不符")
    for col in ("政策", "版本", "编号", "问题"):
        table.add_column(col, overflow="fold")
    for p in problems:
        table.add_row(p.policy_id, p.version, str(p.version_id),
                      POLICY_PROBLEMS.get(p.kind, p.kind))
    err_console.print(table)


def _check_password(engine: Engine, user: str, password: str) -> None:
    from api.services.accounts import authenticate

    if authenticate(engine, user, password) is None:
        err_console.print(f"[red]账号 {user!r} 的密码不正确（或账号不存在）。[/red]")
        raise typer.Exit(2)


PasswordOpt = Annotated[str, typer.Option(
    "--password", prompt="密码", hide_input=True, envvar="MIANSHEN_PASSWORD",
    help="该账号的密码（默认交互输入）")]


@policies_app.command("import")
def import_policies(
    author: Annotated[str, typer.Option("--author", help="导入人（政策业务人员账号）")],
    password: PasswordOpt,
    paths: Annotated[list[Path] | None, typer.Argument(
        help="政策文件或目录；默认导入本软件包内置的政策库")] = None,
    database_url: UrlOpt = None,
) -> None:
    """把政策导入为待审核版本（导入人署名；须由另一位审核人员逐项批准后才生效）。"""
    from api.services.library_import import ImportRefused, import_library
    from rules.errors import PolicyError
    from store.db import upgrade

    engine = _engine(database_url)
    upgrade(engine)
    _check_password(engine, author, password)
    try:
        result = import_library(engine, author=author, paths=paths or ())
    except ImportRefused as exc:
        err_console.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from None
    except PolicyError as exc:
        err_console.print(f"[red]政策文件有误，未导入任何版本：{exc}[/red]")
        raise typer.Exit(1) from None
    if result.created:
        console.print(f"已导入 {len(result.in_review)} 个政策版本，状态为“审核中”"
                      f"（导入人 {author}）；跳过已存在的 {result.skipped} 个。"
                      "须由另一位审核人员逐项批准后才生效。")
        if result.unverified:
            console.print(f"另有 {len(result.unverified)} 个标记为“待核”的政策导入为草稿，"
                          "不会提交审核或发布，须先核对原文（文号、日期、金额）并改为 "
                          "verification: 已核：" + "、".join(v.policy_id
                                                             for v in result.unverified))
    else:
        console.print(f"没有新的政策版本（{result.skipped} 个均已存在），无需导入。")


@policies_app.command("attest")
def attest_policies(
    reviewer: Annotated[str, typer.Option("--reviewer", help="审核人员账号")],
    password: PasswordOpt,
    database_url: UrlOpt = None,
) -> None:
    """为升级前已发布、尚无密钥签名发布记录的版本补签（审核人员确认其文本即当初审核的文本）。"""
    from store import audit, policy_integrity
    from store.db import transaction, upgrade
    from store.policies import get_version

    engine = _engine(database_url)
    upgrade(engine)
    _check_password(engine, reviewer, password)
    with transaction(engine) as session:
        problems = policy_integrity.check(session)
        unattested = [p for p in problems if p.kind == "unattested"]
        others = [p for p in problems if p.kind != "unattested"]
        if others:
            _print_policy_problems(others)
            err_console.print("[red]存在文本或状态被改动的版本，不予补签；请先查明原因。[/red]")
            raise typer.Exit(1)
        for p in unattested:
            version = get_version(session, p.version_id)
            audit.append(session, actor=reviewer, action="policy.attested",
                         subject=f"policy:{version.policy_id}",
                         detail={"version_id": version.id, "version": version.version,
                                 "content_hash": version.content_hash})
    console.print(f"已补签 {len(unattested)} 个已发布版本（审核人 {reviewer}）。")


@policies_app.command("list")
def list_policies(database_url: UrlOpt = None) -> None:
    """列出全部政策版本及其状态。"""
    from store import policies
    from store.db import transaction

    labels = {"draft": "草稿", "in_review": "审核中", "published": "已发布", "retired": "已废止"}
    with transaction(_engine(database_url), write=False) as session:
        versions = policies.list_versions(session)
    table = Table(title="政策版本")
    for col in ("政策", "版本", "状态", "起草人", "审核人", "生效期"):
        table.add_column(col)
    for v in versions:
        period = f"{v.effective_from} ~ {v.effective_to or ''}"
        table.add_row(v.policy_id, v.version, labels.get(v.status, v.status), v.author,
                      v.reviewer or "-", period)
    console.print(table)


def register(app: typer.Typer) -> None:
    app.add_typer(db_app, name="db", help="数据库: 迁移 (migrate).")
    app.add_typer(audit_app, name="audit", help="审计日志: 校验 (verify).")
    app.add_typer(policies_app, name="policies", help="政策库: 导入待审核、查看、补签。")
