"""`mianshen match`, `mianshen explain` and `mianshen demo`: the batch matcher from the shell."""

from __future__ import annotations

import contextlib
import datetime as dt
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

import typer
from rich.console import Console

if TYPE_CHECKING:
    import polars as pl

    from rules.model import Policy

console = Console()
err_console = Console(stderr=True)

EntityOpt = Annotated[
    str, typer.Option("--entity", help="enterprise 或 person", case_sensitive=False)
]
AsOfOpt = Annotated[str, typer.Option("--as-of", help="评估日期 YYYY-MM-DD")]
LinksOpt = Annotated[
    Path | None,
    typer.Option("--links", help="关联表目录（户籍家庭成员 households_*.csv、"
                                 "就业参保登记 employment_links_*.csv）"),
]
PersonsOpt = Annotated[
    Path | None,
    typer.Option("--persons", help="个人画像表：关联成员的个人字段（--entity person 时默认即 "
                                   "--profiles）"),
]
AwardsOpt = Annotated[
    Path | None, typer.Option("--awards", help="奖励台账文件（mianshen awards import 的格式）"),
]
AwardsFromOpt = Annotated[
    str | None,
    typer.Option("--awards-complete-from",
                 help="台账文件自该日起记录完整（YYYY-MM-DD）；不给则未列出的奖励视为未知"),
]


def parse_date(text: str, *, option: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        err_console.print(f"[red]{option} 应为日期 YYYY-MM-DD，实际为 {text!r}[/red]")
        raise typer.Exit(2) from None


def check_entity(entity: str) -> Literal["enterprise", "person"]:
    if entity not in ("enterprise", "person"):
        err_console.print(f"[red]--entity 应为 enterprise 或 person，实际为 {entity!r}[/red]")
        raise typer.Exit(2)
    return entity  # type: ignore[return-value]


def read_table(path: Path) -> pl.DataFrame:
    """A raw profile table, every column as text (CSV in UTF-8 or GB18030, or Parquet), read
    as the ingest reads source extracts (``profiles.sources.read_source``)."""
    from profiles.errors import SourceError
    from profiles.sources import read_source

    if not path.exists():
        err_console.print(f"[red]找不到文件: {path}[/red]")
        raise typer.Exit(2)
    if path.suffix.lower() not in (".csv", ".parquet"):
        err_console.print(
            f"[red]不支持的文件类型 {path.suffix!r}：应为 .csv 或 .parquet ({path})[/red]"
        )
        raise typer.Exit(2)
    try:
        frame, _encoding = read_source(path)
    except SourceError as exc:
        err_console.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from None
    return frame


def write_table(frame: pl.DataFrame, path: Path) -> None:
    import polars as pl

    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix.lower() == ".parquet":
        frame.write_parquet(path)
        return
    from store.money import yuan_text_expr

    flat = frame.with_columns(
        [pl.col(c).list.join(";") for c, t in frame.schema.items() if isinstance(t, pl.List)]
    )
    if "amount_fen" in flat.columns:  # exact yuan beside the fen, for readers of the CSV
        flat = flat.with_columns(yuan_text_expr(pl.col("amount_fen")).alias("amount_yuan"))
    flat.write_csv(path)


def load_policies(policies_dir: Path | None) -> tuple[list[Policy], object]:
    from rules.errors import PolicyError
    from rules.loader import bundled_library, load_library

    try:
        lib = bundled_library() if policies_dir is None else load_library([policies_dir])
    except PolicyError as exc:
        err_console.print("政策文件有误，未执行匹配:", style="red")
        err_console.print(str(exc), markup=False, highlight=False, soft_wrap=True)
        raise typer.Exit(1) from None
    # a policy marked 待核 is a draft: never matched as if published
    return [p for p in lib.policies.values() if p.verified], lib.sets


def built_snapshot(path: Path, *, entity: str) -> pl.DataFrame | None:
    """A snapshot built by ``mianshen build`` (or a nightly run's; Parquet with its metadata),
    as it is, the way the nightly run takes it: checked when it was built, its entities held
    on a data defect still held (``HELD_FIELDS``: their affected fields UNKNOWN). None for any
    other table; a snapshot of the other entity is refused (exit 2)."""
    from polars.exceptions import PolarsError

    from profiles.build import read_built_snapshot

    built: tuple[pl.DataFrame, dict[str, object]] | None = None
    if path.suffix.lower() == ".parquet" and path.exists():
        # a plain table has no snapshot metadata (its rows are left to read_table); an
        # unreadable file is refused by read_table; the frame and its metadata come from one
        # reading of the file
        with contextlib.suppress(PolarsError, OSError):
            built = read_built_snapshot(path)
    if built is None:
        return None
    frame, meta = built
    built_for = meta.get("entity")
    if built_for != entity:
        from api.services.labels import ENTITY_LABELS as label

        err_console.print(f"[red]画像快照 {path.name} 是{label.get(str(built_for), built_for)}"
                          f"画像，与 --entity {entity}({label.get(entity, entity)})不符[/red]")
        raise typer.Exit(2)
    return frame


def match_profiles(
    path: Path, *, entity: str, as_of: dt.date
) -> tuple[pl.DataFrame, int, pl.DataFrame | None]:
    """The profiles ``mianshen match`` and ``explain`` decide on: (frame, rows read, rejects).
    A built snapshot is taken as it is (:func:`built_snapshot`; nothing to refuse: None);
    any other table is checked by the ingest's rules and its tags derived as of ``as_of``."""
    snapshot = built_snapshot(path, entity=entity)
    if snapshot is not None:
        return snapshot, snapshot.height, None
    table = read_table(path)
    frame, rejected = derived_profiles(table, entity=entity, as_of=as_of, source=path.name)
    return frame, table.height, rejected


def derived_profiles(
    table: pl.DataFrame, *, entity: str, as_of: dt.date, source: str
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Validate a wide raw table and derive tags as of ``as_of``: (profiles, rejects)."""
    from profiles.derive import derive
    from profiles.ingest import validate_frame

    clean, rejects = validate_frame(table, entity=entity, source=source)
    return derive(clean, entity=entity, as_of=as_of).collect(), rejects


def match_context(kind: str, frame: pl.DataFrame, policy_list: list[Policy], *,
                  links: Path | None, persons: Path | None, awards: Path | None,
                  awards_complete_from: str | None, when: dt.date) -> dict[str, Any]:
    """What a match reads besides the profiles, from files: the relations of ``--links``
    (members' own fields from ``--persons``, or the profiles themselves for persons) and
    the award ledger of ``--awards``. ``mianshen match`` and ``mianshen explain`` decide
    with the same context."""
    complete = (parse_date(awards_complete_from, option="--awards-complete-from")
                if awards_complete_from else None)
    for name, path in (("--links", links), ("--persons", persons), ("--awards", awards)):
        if path is not None and not path.exists():
            err_console.print(f"[red]{name} 不存在：{path}[/red]")
            raise typer.Exit(2)
    extra: dict[str, Any] = {}
    if links is not None:
        from profiles.relations import load_relations

        members = frame if kind == "person" and persons is None else (
            match_profiles(persons, entity="person", as_of=when)[0]
            if persons is not None else None)
        relations = load_relations(links, persons=members)
        extra["related"] = relations.frames
        console.print(f"关联表：{'、'.join(sorted(relations.frames)) or '无'}，"
                      f"隔离 {relations.rejects.height} 行")
    if awards is not None:
        from matcher.award_import import file_ledger

        ledger, checked = file_ledger(
            awards.read_text(encoding="utf-8"), entity_kind=kind,
            library={p.id: p for p in policy_list}, source=awards.name, today=dt.date.today(),
            complete_from=complete)
        extra["ledger"] = ledger
        console.print(f"奖励台账：{len(checked.accepted)} 笔，隔离 {len(checked.rejects)} 行")
        for bad in checked.rejects:
            err_console.print(f"  第 {bad.line} 行：{bad.reason}", markup=False)
    return extra


def register(app: typer.Typer) -> None:
    app.command("match", help="批量匹配: 对画像表评估全部生效政策，输出结果。")(match)
    app.command("explain", help="解释: 某主体为什么符合 / 差在哪。")(explain)
    app.command("demo", help="演示: 合成人群、构建画像、匹配内置政策库并汇总。")(demo)


def match(
    entity: EntityOpt,
    profiles: Annotated[Path, typer.Option("--profiles", help="画像表 .csv 或 .parquet")],
    as_of: AsOfOpt,
    out: Annotated[Path, typer.Option("--out", help="输出 .csv 或 .parquet")],
    policies: Annotated[
        Path | None, typer.Option("--policies", help="政策目录(默认内置库)")
    ] = None,
    rejects: Annotated[Path | None, typer.Option("--rejects", help="被拒行输出文件")] = None,
    streaming: Annotated[bool, typer.Option("--streaming", help="使用流式引擎")] = False,
    links: LinksOpt = None,
    persons: PersonsOpt = None,
    awards: AwardsOpt = None,
    awards_complete_from: AwardsFromOpt = None,
) -> None:
    from api.cli.tables import print_summary
    from matcher.evaluate import match_frame

    kind = check_entity(entity)
    when = parse_date(as_of, option="--as-of")
    frame, read, rejected = match_profiles(profiles, entity=kind, as_of=when)
    policy_list, sets = load_policies(policies)
    if rejected is None:
        import polars as pl

        from profiles.catalog import HELD_FIELDS

        held = (frame.filter(pl.col(HELD_FIELDS).list.len() > 0).height
                if HELD_FIELDS in frame.columns else 0)
        console.print(f"画像快照 {profiles.name}：{read} 条(构建时已校验；"
                      f"其中 {held} 个主体因源数据缺陷，相关字段按未知判定)")
        if rejects is not None:
            console.print(f"画像快照的坏行已在构建时隔离，未写出 {rejects}")
    else:
        if rejects is not None:
            write_table(rejected, rejects)
        console.print(
            f"读取 {read} 行，通过校验 {frame.height} 行，拒收 {rejected.height} 行"
            + (f"(明细见 {rejects})" if rejects is not None and rejected.height else "")
        )
    extra = match_context(kind, frame, policy_list, links=links, persons=persons,
                          awards=awards, awards_complete_from=awards_complete_from, when=when)
    outcomes = match_frame(frame, entity=kind, policies=policy_list, as_of=when, sets=sets,
                           streaming=streaming, **extra)
    write_table(outcomes, out)
    from api.services.labels import zh

    shown = [p for p in policy_list if p.entity == kind and p.in_effect(when)
             and p.trigger is None]  # trigger policies are matched by events only
    print_summary(console, outcomes, shown, title=f"匹配结果 {zh('entity', kind)} · {when}")
    console.print(f"结果已写入 {out}")
    if frame.height == 0:
        err_console.print("[red]没有可匹配的有效行[/red]")
        raise typer.Exit(1)


def explain(
    entity: EntityOpt,
    profiles: Annotated[Path, typer.Option("--profiles", help="画像表 .csv 或 .parquet")],
    entity_id: Annotated[str, typer.Option("--id", help="统一社会信用代码或公民身份号码")],
    as_of: AsOfOpt,
    policy: Annotated[str | None, typer.Option("--policy", help="只解释这一项政策")] = None,
    policies: Annotated[
        Path | None, typer.Option("--policies", help="政策目录(默认内置库)")
    ] = None,
    links: LinksOpt = None,
    persons: PersonsOpt = None,
    awards: AwardsOpt = None,
    awards_complete_from: AwardsFromOpt = None,
) -> None:
    from matcher.evaluate import match_frame
    from matcher.explain import (
        EntityNotFoundError,
        PolicyNotFoundError,
        explain_entity,
        render_text,
    )
    kind = check_entity(entity)
    when = parse_date(as_of, option="--as-of")
    policy_list, sets = load_policies(policies)
    frame, _, _ = match_profiles(profiles, entity=kind, as_of=when)
    extra = match_context(kind, frame, policy_list, links=links, persons=persons,
                          awards=awards, awards_complete_from=awards_complete_from, when=when)
    outcomes = match_frame(frame, entity=kind, policies=policy_list, as_of=when, sets=sets,
                           **extra)
    try:
        explanations = explain_entity(
            frame, entity=kind, policies=policy_list, as_of=when, entity_id=entity_id,
            policy_id=policy, sets=sets, outcomes=outcomes, **extra,
        )
    except (EntityNotFoundError, PolicyNotFoundError) as exc:
        err_console.print(f"[red]{exc}[/red]")
        raise typer.Exit(1) from None
    from profiles.masking import mask_id

    shown = mask_id(entity_id) if kind == "person" else entity_id
    console.print(f"[bold]{shown}[/bold] 评估日 {when}\n")
    for e in explanations:
        console.print(render_text(e), highlight=False, soft_wrap=True, markup=False)
        console.print()


def demo(
    enterprises: Annotated[int, typer.Option(help="合成企业数")] = 200_000,
    persons: Annotated[int, typer.Option(help="合成人口数")] = 200_000,
    out: Annotated[
        Path | None, typer.Option(help="输出目录(默认新建 mianshen-demo-时间戳)")
    ] = None,
    seed: Annotated[int, typer.Option(help="随机种子")] = 20251001,
) -> None:
    from api.demo import run_demo

    folder = out or Path(f"mianshen-demo-{dt.datetime.now():%Y%m%d-%H%M%S}")
    run_demo(folder, enterprises=enterprises, persons=persons, seed=seed, console=console)
