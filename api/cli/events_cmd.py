"""`mianshen events replay`: partial-update and life events applied in order through the
event engine (durable_rules); the final outcomes in the columns of `mianshen match`.

With ``--database`` every applied event also writes its entitlement changes and outbox
messages, in one transaction per event, through the same store and notifier path as a run;
the policies are then the ones published in that database (checked against their review
records, like a run's), never files: what changes entitlements has passed review.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console

from api.cli.match_cmd import (
    AsOfOpt,
    EntityOpt,
    built_snapshot,
    check_entity,
    load_policies,
    parse_date,
    read_table,
    write_table,
)

if TYPE_CHECKING:
    from matcher.events.engine import EventEngine

app = typer.Typer(no_args_is_help=True, add_completion=False)
LinksOpt = Annotated[Path | None, typer.Option(
    "--links", help="关联表目录(户籍家庭成员、就业参保登记)：按成员汇总的条件据此判断")]
PersonsOpt = Annotated[Path | None, typer.Option(
    "--persons", help="个人画像表(成员本人的字段；--entity person 时默认用 --profiles)")]
FollowOpt = Annotated[bool, typer.Option(
    "--follow", help="持续跟随事件文件：新追加的行到达即处理并写库；收到 SIGTERM 或 Ctrl-C 后"
                     "写完已到的事件再退出")]
MaxBatchOpt = Annotated[int, typer.Option(
    "--max-batch", min=1, help="每批最多写库的事件数(同一主体每批至多一条；一批一个事务)")]
console = Console()
err_console = Console(stderr=True)


def _read_lines(path: Path) -> Sequence[str]:
    if not path.exists():
        err_console.print(f"[red]找不到事件文件: {path}[/red]")
        raise typer.Exit(2)
    try:
        return path.read_text(encoding="utf-8-sig").splitlines()
    except UnicodeDecodeError as err:
        problem = f"第 {err.start + 1} 个字节处不是 UTF-8 文本"
    except OSError as err:
        problem = err.strerror or type(err).__name__
    err_console.print(f"事件文件 {path}: 期望 UTF-8 编码的 .jsonl 文本(每行一个事件)，"
                      f"实际{problem}", style="red", markup=False, highlight=False)
    raise typer.Exit(2)


@app.command("replay", help="按顺序回放事件(画像局部更新、生活事件)，输出最终匹配结果。")
def replay_command(
    entity: EntityOpt,
    profiles: Annotated[Path, typer.Option("--profiles", help="画像表 .csv 或 .parquet")],
    events: Annotated[Path, typer.Option("--events", help="事件文件 .jsonl，每行一个事件")],
    as_of: AsOfOpt,
    out: Annotated[Path, typer.Option("--out", help="输出 .csv 或 .parquet")],
    policies: Annotated[Path | None,
                        typer.Option("--policies", help="政策目录(默认内置库)")] = None,
    rejects: Annotated[Path | None, typer.Option("--rejects", help="被拒事件输出 .csv")] = None,
    database: Annotated[str | None, typer.Option(
        "--database", help="数据库 URL: 每个事件的资格变化与通知写入库(一个事务)")] = None,
    base_url: Annotated[str, typer.Option("--base-url", help="通知中链接的网址")] = (
        "http://localhost:8000"),
    links: LinksOpt = None,
    persons: PersonsOpt = None,
) -> None:
    import polars as pl

    from matcher.events.replay import replay

    kind = check_entity(entity)
    when = parse_date(as_of, option="--as-of")
    lines = _read_lines(events)
    clean, read_rows, rejected_rows = event_profiles(profiles, entity=kind)
    if database is not None:
        if policies is not None:
            err_console.print("[red]写入数据库时只使用库中已发布（经审核）的政策，"
                              "不能同时给出 --policies。[/red]")
            raise typer.Exit(2)
        policy_list, sets = _published(database, entity=kind, as_of=when)
    else:
        policy_list, sets = load_policies(policies)
    console.print(f"读取画像 {read_rows} 行，通过校验 {clean.height} 行，"
                  f"拒收 {rejected_rows} 行")
    related, ledger = _context(kind, clean, when, policy_list, links=links, persons=persons,
                               database=database)
    with _engine(policy_list, entity=kind, as_of=when, sets=sets, related=related,
                 ledger=ledger) as engine:
        engine.load(clean)
        on_applied = None
        if database is not None:
            from matcher.events.worker import AppliedEvent, applied_values

            write = _store_writer(engine, database, base_url=base_url, as_of=when,
                                  profiles=profiles)

            def on_applied(line: int, entity_id: str, event: Any, outcomes: Any,
                           redecided: Any) -> None:
                write([AppliedEvent(line=line, entity_id=entity_id, event=event,
                                    outcomes=outcomes, redecided=redecided,
                                    values=applied_values(engine, entity_id, event))])

        report = replay(engine, lines, on_applied=on_applied)
        outcomes = engine.outcomes()
    write_table(outcomes, out)
    console.print(f"事件 {report.applied} 条已应用，{len(report.rejected)} 条被拒；"
                  f"结果 {outcomes.height} 行已写入 {out}")
    for r in report.rejected[:10]:
        err_console.print(f"[yellow]{r.reason}[/yellow]", highlight=False)
    if rejects is not None:
        write_table(pl.DataFrame({"line": [r.line for r in report.rejected],
                                  "reason": [r.reason for r in report.rejected]},
                                 schema={"line": pl.Int64, "reason": pl.String}), rejects)


@app.command("consume", help="事件处理进程：按顺序应用事件并分批写库(断点续处理，可重复应用)。")
def consume_command(
    entity: EntityOpt,
    profiles: Annotated[Path, typer.Option("--profiles", help="画像表 .csv 或 .parquet")],
    events: Annotated[Path, typer.Option("--events", help="事件文件 .jsonl，每行一个事件")],
    as_of: AsOfOpt,
    database: Annotated[str, typer.Option("--database", help="数据库 URL")],
    checkpoint: Annotated[Path, typer.Option("--checkpoint", help="断点文件(已提交的事件行号)")],
    base_url: Annotated[str, typer.Option("--base-url", help="通知中链接的网址")] = (
        "http://localhost:8000"),
    pause_ms: Annotated[int, typer.Option("--pause-ms", help="每批写库后暂停(毫秒)")] = 0,
    max_batch: MaxBatchOpt = 64,
    links: LinksOpt = None,
    persons: PersonsOpt = None,
    follow: FollowOpt = False,
) -> None:
    from matcher.events.errors import StreamReplacedError
    from matcher.events.worker import STREAM_REPLACED_EXIT, consume

    kind = check_entity(entity)
    when = parse_date(as_of, option="--as-of")
    wait_for_more: Callable[[], bool] | None = None
    if follow:
        lines, wait_for_more = _follow(events)
    else:
        lines = _read_lines(events)
    policy_list, sets = _published(database, entity=kind, as_of=when)
    clean, _, _ = event_profiles(profiles, entity=kind)
    related, ledger = _context(kind, clean, when, policy_list, links=links, persons=persons,
                               database=database)
    with _engine(policy_list, entity=kind, as_of=when, sets=sets, related=related,
                 ledger=ledger) as engine:
        engine.load(clean)
        write = _store_writer(engine, database, base_url=base_url, as_of=when,
                              profiles=profiles)
        try:
            report = consume(engine, lines, checkpoint=checkpoint, write=write,
                             max_batch=max_batch, pause_s=pause_ms / 1000,
                             wait_for_more=wait_for_more)
        except StreamReplacedError as exc:  # what was read is committed and checkpointed
            err_console.print(f"[red]{exc}[/red]", highlight=False)
            raise typer.Exit(STREAM_REPLACED_EXIT) from None
    console.print(f"重建 {report.rebuilt} 条，写库 {report.applied} 条，被拒 {report.rejected} 条")


@app.command("serve", help="在受监护的子进程中处理事件：崩溃后自动重启，不丢失也不重复应用。")
def serve_command(
    entity: EntityOpt,
    profiles: Annotated[Path, typer.Option("--profiles", help="画像表 .csv 或 .parquet")],
    events: Annotated[Path, typer.Option("--events", help="事件文件 .jsonl，每行一个事件")],
    as_of: AsOfOpt,
    database: Annotated[str, typer.Option("--database", help="数据库 URL")],
    checkpoint: Annotated[Path, typer.Option("--checkpoint", help="断点文件(已提交的事件行号)")],
    base_url: Annotated[str, typer.Option("--base-url", help="通知中链接的网址")] = (
        "http://localhost:8000"),
    links: LinksOpt = None,
    persons: PersonsOpt = None,
    max_batch: MaxBatchOpt = 64,
    follow: FollowOpt = False,
) -> None:
    import signal
    import sys

    from matcher.events.errors import StreamReplacedError
    from matcher.events.worker import STREAM_REPLACED_EXIT, Supervisor

    command = [sys.executable, "-c", "from api.cli import main; main()", "events", "consume",
               "--entity", entity, "--profiles", str(profiles), "--events", str(events),
               "--as-of", as_of, "--database", database, "--checkpoint", str(checkpoint),
               "--base-url", base_url, "--max-batch", str(max_batch)]
    command += [a for opt, value in (("--links", links), ("--persons", persons))
                if value is not None for a in (opt, str(value))]
    supervisor = Supervisor(command + (["--follow"] if follow else []), checkpoint=checkpoint)
    if follow:  # the worker ends the stream on these (and exits normally): pass them on
        def forward(signum: int, _frame: object) -> None:
            if supervisor.process is not None and supervisor.process.poll() is None:
                supervisor.process.send_signal(signum)

        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, forward)
    try:
        restarts = supervisor.run()
    except StreamReplacedError as exc:  # the worker said why; a restart would not help
        err_console.print(f"[red]{exc}[/red]", highlight=False)
        raise typer.Exit(STREAM_REPLACED_EXIT) from None
    except RuntimeError as exc:
        err_console.print(f"[red]事件处理进程反复失败，已停止：{exc}[/red]")
        raise typer.Exit(1) from None
    console.print(f"事件处理完成，子进程重启 {restarts} 次")


def event_profiles(path: Path, *, entity: str) -> tuple[Any, int, int]:
    """The profiles the event engine starts from: (the frame, rows read, rejects). A snapshot built
    by ``mianshen build`` (or a nightly run's; Parquet with its metadata) is taken as it is,
    as the nightly run takes it: checked when it was built, its entities held on a data
    defect still held (``HELD_FIELDS``: their benefits are never revoked by an event). Any
    other table goes through the ingest's checks."""
    from profiles.ingest import validate_frame

    snapshot = built_snapshot(path, entity=entity)
    if snapshot is not None:
        return snapshot, snapshot.height, 0
    table = read_table(path)
    clean, rejected = validate_frame(table, entity=entity, source=path.name)
    return clean, table.height, rejected.height


def _follow(events: Path) -> tuple[Sequence[str], Callable[[], bool]]:
    """The event file's lines as they are appended, and the wait for more; SIGTERM and
    Ctrl-C end the stream (what has arrived is written first)."""
    import signal

    from matcher.events.follow import LineFollower

    if not events.exists():
        err_console.print(f"[red]找不到事件文件: {events}[/red]")
        raise typer.Exit(2)
    follower = LineFollower(events)
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: follower.stop())
    console.print(f"跟随事件文件 {events.name}：新事件到达即处理(SIGTERM 或 Ctrl-C 结束)")
    return follower.lines, follower.wait


def _published(url: str, *, entity: str, as_of: dt.date) -> tuple[list[Any], Any]:
    from api.settings import get_settings
    from api.storage import open_engine
    from matcher.runs import published_library
    from store.db import upgrade
    from store.policy_integrity import TamperedPolicyError

    engine = open_engine(get_settings(), url=url)
    upgrade(engine)
    try:
        loaded, sets = published_library(engine)
    except TamperedPolicyError as exc:
        err_console.print(f"[red]拒绝运行：{len(exc.problems)} 个已发布政策版本与审核发布记录"
                          "不符；请运行 mianshen audit verify 查看。[/red]")
        raise typer.Exit(1) from None
    finally:
        engine.dispose()
    if not any(p.entity == entity and p.in_effect(as_of) for p in loaded):
        err_console.print("[red]库中尚无已发布且在评估日生效的政策：请先导入"
                          "（mianshen policies import）并由审核人员批准。[/red]")
        raise typer.Exit(1)
    return loaded, sets


def _store_writer(engine: Any, url: str, *, base_url: str, as_of: dt.date,
                  profiles: Path) -> Any:
    """write(batch): a batch of applied events' changes and messages in one transaction,
    with the profile updates that caused them (recorded against the snapshot in
    ``profiles``)."""
    from api.delivery import LinkConfig, outbox_hook
    from api.settings import get_settings
    from api.storage import open_engine
    from matcher.events.delivery import batch_writer
    from matcher.runs import snapshot_hash
    from notifier.links import LinkSigner
    from store.db import upgrade

    settings = get_settings()
    db = open_engine(settings, url=url)
    upgrade(db)
    links = LinkConfig(base_url=base_url, signer=LinkSigner(
        secret=settings.link_key(), ttl_seconds=settings.link_ttl_seconds))
    # the messages explained, pre-filled and addressed with the data the engine decided on
    hook = outbox_hook(entity_kind=engine.entity, policies=engine.compiled.policies,
                       as_of=as_of, links=links, current=engine.current)
    return batch_writer(db, engine, as_of=as_of, on_changes=hook,
                        snapshot=snapshot_hash(profiles))


def register(app_: typer.Typer) -> None:
    app_.add_typer(app, name="events", help="实时事件: 回放画像更新与生活事件 (durable_rules)。")


def _context(kind: str, clean: Any, as_of: dt.date, policies: Sequence[Any], *,
             links: Path | None, persons: Path | None, database: str | None
             ) -> tuple[dict[str, Any], Any]:
    """What aggregates and ``received()`` read, as the nightly run reads them: the member
    frames of the link tables in ``links`` (members' own fields from the person profiles)
    and, with a database, the award ledger on record."""
    related: dict[str, Any] = {}
    if links is not None:
        if not links.is_dir():
            err_console.print(f"[red]关联表目录不存在: {links}[/red]")
            raise typer.Exit(2)
        from profiles.derive import derive
        from profiles.ingest import validate_frame
        from profiles.relations import load_relations

        people = clean if kind == "person" and persons is None else None
        if persons is not None:
            people, _ = validate_frame(read_table(persons), entity="person",
                                       source=persons.name)
        derived = (None if people is None
                   else derive(people, entity="person", as_of=as_of).collect())
        relations = load_relations(links, persons=derived)
        if relations.rejects.height:
            err_console.print(f"[yellow]关联表隔离 {relations.rejects.height} 行（数据缺陷，"
                              "相关成员按未知处理）[/yellow]")
        related = relations.frames
    ledger = None
    if database is not None:
        from sqlalchemy.orm import Session

        from api.settings import get_settings
        from api.storage import open_engine
        from matcher.award_import import load_ledger

        db = open_engine(get_settings(), url=database)
        try:
            with Session(db) as session:
                ledger = load_ledger(session, entity_kind=kind, library=policies, as_of=as_of)
        finally:
            db.dispose()
    return related, ledger


def _engine(policies: Any, *, entity: str, as_of: dt.date, sets: Any,
            related: Mapping[str, Any] | None = None, ledger: Any = None) -> EventEngine:
    """The event engine of these policies, or the reason it cannot hold them (no traceback)."""
    from matcher.events.compiler import FactTooWideError
    from matcher.events.engine import EventEngine

    try:
        return EventEngine(policies, entity=entity, as_of=as_of, sets=sets, related=related,
                           ledger=ledger)
    except FactTooWideError as exc:
        err_console.print(f"[red]{exc}[/red]", highlight=False)
        raise typer.Exit(2) from None
