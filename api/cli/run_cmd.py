"""`mianshen run` (one pass of the nightly pipeline, with progress) and `mianshen scheduler`
(the nightly job as a service)."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Table

if TYPE_CHECKING:
    from api.scheduler import PipelineReport

console = Console()
err_console = Console(stderr=True)
EXIT_REFUSED = 3  # some entity was not run (missing sources); 1: failed; 2: bad arguments


def run(
    as_of: Annotated[str, typer.Option("--as-of", help="评估日期 YYYY-MM-DD")],
    sources: Annotated[
        Path | None, typer.Option("--sources", help="源数据目录 (CSV / Parquet)")
    ] = None,
    snapshot: Annotated[
        Path | None,
        typer.Option("--snapshot", help="已构建的画像快照（文件或分区数据集目录），代替 --sources"),
    ] = None,
    entity: Annotated[
        str | None, typer.Option("--entity", help="enterprise 或 person；默认两者")
    ] = None,
    partitions: Annotated[
        int | None, typer.Option("--partitions", help="把构建的快照按主体代码散列分成 N 个分区")
    ] = None,
    scheduler: Annotated[
        str | None,
        typer.Option("--scheduler", help="Dask 调度器地址，如 tcp://HOST:8786（分区在集群上匹配）"),
    ] = None,
    workers: Annotated[
        int | None, typer.Option("--workers", help="在本机启动 N 个 Dask 工作进程匹配分区")
    ] = None,
    links: Annotated[
        Path | None,
        typer.Option("--links",
                     help="与 --snapshot 同用：关联表目录（户籍家庭成员、就业参保登记）"),
    ] = None,
    persons: Annotated[
        Path | None,
        typer.Option("--persons",
                     help="与 --snapshot --links 同用：个人画像快照（关联成员的个人字段）"),
    ] = None,
    database_url: Annotated[str | None, typer.Option("--database-url")] = None,
    json_out: Annotated[Path | None, typer.Option("--json", help="把运行报告写成 JSON")] = None,
) -> None:
    """运行一次：读取源数据、构建画像（或用已构建的快照）、匹配已发布政策、写入资格变化。"""
    from api.cli.store_cmd import POLICY_PROBLEMS
    from api.scheduler import run_pipeline, run_snapshot
    from api.settings import get_settings
    from api.storage import AuditKeyLostError, open_engine
    from matcher.runs import RunLockedError
    from store.policy_integrity import TamperedPolicyError

    try:
        day = dt.date.fromisoformat(as_of)
    except ValueError:
        err_console.print(f"[red]--as-of 应为日期 YYYY-MM-DD，实际为 {as_of!r}[/red]")
        raise typer.Exit(2) from None
    if entity not in (None, "enterprise", "person"):
        err_console.print(f"[red]--entity 应为 enterprise 或 person，实际为 {entity!r}[/red]")
        raise typer.Exit(2)
    if (sources is None) == (snapshot is None):
        err_console.print(
            "[red]应给出 --sources（源数据目录）或 --snapshot（已构建的快照）之一[/red]")
        raise typer.Exit(2)
    if sources is not None and not sources.is_dir():
        err_console.print(f"[red]--sources 应为目录，实际不存在或不是目录：{sources}[/red]")
        raise typer.Exit(2)
    if snapshot is not None and (entity is None or not snapshot.exists()):
        err_console.print("[red]--snapshot 应为已存在的快照文件或数据集目录，"
                          f"并用 --entity 指明主体类型，实际为 {snapshot}"
                          f"（--entity {entity}）[/red]")
        raise typer.Exit(2)
    if (links is not None or persons is not None) and snapshot is None:
        err_console.print("[red]--links、--persons 只与 --snapshot 同用"
                          "（--sources 目录中的关联表会自动读取）[/red]")
        raise typer.Exit(2)
    for name, folder in (("--links", links), ("--persons", persons)):
        if folder is not None and not folder.exists():
            err_console.print(f"[red]{name} 不存在：{folder}[/red]")
            raise typer.Exit(2)
    if scheduler and workers:
        err_console.print("[red]--scheduler 与 --workers 只能选一个[/red]")
        raise typer.Exit(2)
    for name, value in (("--partitions", partitions), ("--workers", workers)):
        if value is not None and value < 1:
            err_console.print(f"[red]{name} 应为正整数，实际为 {value}[/red]")
            raise typer.Exit(2)
    settings = get_settings()
    try:
        engine = open_engine(settings, url=database_url)
    except AuditKeyLostError as exc:
        err_console.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from None
    entities = (entity,) if entity else ("enterprise", "person")
    try:
        with _StageBars() as bars:
            if snapshot is not None:
                report = run_snapshot(
                    settings, engine=engine, snapshot=snapshot, entity=str(entity), as_of=day,
                    progress=bars.message, scheduler=scheduler, workers=workers,
                    part_progress=bars.advance, links=links, persons=persons,
                )
            else:
                assert sources is not None
                report = run_pipeline(
                    settings,
                    engine=engine,
                    sources_dir=sources,
                    as_of=day,
                    entities=entities,
                    progress=bars.message,
                    partitions=partitions,
                    scheduler=scheduler,
                    workers=workers,
                    part_progress=bars.advance,
                )
    except RunLockedError as exc:
        err_console.print(f"[red]另一个运行正在进行（{exc.holder}），请稍后重试。[/red]")
        raise typer.Exit(1) from None
    except TamperedPolicyError as exc:
        err_console.print(
            f"[red]拒绝运行：{len(exc.problems)} 个已发布政策版本与审核发布时的记录不符"
            "（数据库中的政策可能被直接改动）。未匹配任何政策，未改动任何待遇。[/red]")
        for p in exc.problems:
            err_console.print(f"[red]  · {p.policy_id}（版本 {p.version}，编号 {p.version_id}）："
                              f"{POLICY_PROBLEMS.get(p.kind, p.kind)}[/red]")
        err_console.print("[red]请运行 mianshen audit verify 查看详情。[/red]")
        raise typer.Exit(1) from None
    except Exception as exc:  # a failed run is recorded as failed; monitoring sees exit 1
        err_console.print(f"[red]运行失败：{type(exc).__name__}: {exc}[/red]")
        raise typer.Exit(1) from None
    _print_report(report)
    if json_out is not None:
        json_out.write_text(
            json.dumps(report.to_dict(), ensure_ascii=False, indent=2), encoding="utf-8"
        )
    if report.skipped:
        # a refused entity (missing sources) is not a success: monitoring must see it
        err_console.print(
            f"[red]未运行：{'、'.join(report.skipped)}（见上方原因）；退出码 {EXIT_REFUSED}[/red]"
        )
        raise typer.Exit(EXIT_REFUSED)


STAGE_WORDS = {"build": "构建画像", "load": "读取", "match": "匹配", "allocate": "分配预算",
               "current": "读取现有资格", "diff": "比对", "write": "写入", "notify": "生成通知",
               "total": "合计"}


class _StageBars:
    """Progress of a run: a line per message, and per partitioned stage a bar of partitions
    done, with its elapsed time."""

    def __init__(self) -> None:
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
        )

        self.progress = Progress(TextColumn("{task.description}"), BarColumn(),
                                 MofNCompleteColumn(), TimeElapsedColumn(), console=console)
        self.tasks: dict[str, object] = {}

    def __enter__(self) -> _StageBars:
        self.progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.progress.stop()

    def message(self, stage: str, text: str) -> None:
        self.progress.console.log(text)

    def advance(self, stage: str, done: int, total: int) -> None:
        if stage not in self.tasks:
            self.tasks[stage] = self.progress.add_task(
                f"{STAGE_WORDS.get(stage, stage)}（分区）", total=total)
        self.progress.update(self.tasks[stage], completed=done)  # type: ignore[arg-type]


def _print_report(report: PipelineReport) -> None:
    from api.services.labels import zh

    for entity, reason in report.skipped.items():
        console.print(f"[yellow]{zh('entity', entity)}：未运行 — {reason}[/yellow]")
    for r in report.runs:
        state = "已完成（重复运行，无变化）" if r.status == "unchanged" else "已完成"
        console.print(
            f"[bold]{zh('entity', r.entity)}[/bold] 运行 {r.run_id} {state}：新增 {r.new}，"
            f"更新 {r.updated}，撤销 {r.revoked}，隔离行 {r.rejects}"
        )
        if r.held_entities:
            from api.scheduler import held_reasons_text

            console.print(
                f"[yellow]因数据缺陷暂缓 {r.held_entities} 个主体"
                f"（{held_reasons_text(r.held_reasons) or '源数据行被隔离'}）：其相关字段"
                f"本次按“未知”处理，现有待遇保留，暂不变更 {r.held_changes} 项，"
                "未因数据缺陷撤销任何待遇。"
                "更正源数据后重新运行同一日期即可恢复。[/yellow]"
            )
        table = Table(title=f"{zh('entity', r.entity)} 各政策结果")
        for col in ("政策", "符合", "待确认", "被更优政策替代", "超预算"):
            table.add_column(col, justify="right" if col != "政策" else "left")
        for pid, counts in sorted(r.counts_per_policy.items()):
            table.add_row(
                pid,
                *(
                    str(counts.get(k, 0))
                    for k in ("eligible", "undetermined", "superseded", "over_budget")
                ),
            )
        console.print(table)
        if r.timings:
            console.print("耗时（秒）：" + "，".join(
                f"{STAGE_WORDS.get(k, k)} {v}" for k, v in sorted(r.timings.items())))


def scheduler() -> None:
    """以服务方式运行夜间任务（cron 取自 MIANSHEN_NIGHTLY_CRON，默认每天 02:00 北京时间）。"""
    import logging

    from api.scheduler import serve
    from api.settings import get_settings

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    settings = get_settings()
    console.print(
        f"夜间任务已启动：cron “{settings.nightly_cron}”，时区 {settings.timezone}。"
        "按 Ctrl+C 停止。"
    )
    try:
        serve(settings)
    except (KeyboardInterrupt, SystemExit):
        console.print("夜间任务已停止。")


def register(app: typer.Typer) -> None:
    app.command("run")(run)
    app.command("scheduler")(scheduler)
