"""`mianshen profiles ...` (owned by the profiles work): synthesise and build snapshots."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated, Any

import typer

app = typer.Typer(no_args_is_help=True)



def _progress_bar(description: str) -> Any:
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    return Progress(
        TextColumn(description),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        TimeElapsedColumn(),
        transient=True,
    )


@app.command("synth")
def synth(
    out: Annotated[Path, typer.Option("--out", help="输出目录 (output directory)")],
    enterprises: Annotated[int, typer.Option("--enterprises", min=0, help="企业数量")] = 1000,
    persons: Annotated[int, typer.Option("--persons", min=0, help="个人数量")] = 1000,
    seed: Annotated[int, typer.Option("--seed", help="随机种子")] = 0,
    bad_rows: Annotated[
        int, typer.Option("--bad-rows", min=0, help="故意写入的错误行数(演示隔离)")
    ] = 0,
    label_share: Annotated[
        float,
        typer.Option("--label-share", min=0.0, max=1.0, help="写入 labels.csv 的标注企业比例"),
    ] = 0.2,
) -> None:
    """生成合成画像数据源 (各部门 CSV 抽取文件) 及产业链标注表 labels.csv。"""
    from rich.console import Console

    from profiles.synth import synthesize

    console = Console()
    with _progress_bar("生成中") as bar:
        task = bar.add_task("synth", total=2)
        report = synthesize(
            out,
            enterprises=enterprises,
            persons=persons,
            seed=seed,
            bad_rows=bad_rows,
            label_share=label_share,
            progress=lambda _stage, done, total: bar.update(task, completed=done, total=total),
        )
    console.print(
        f"已生成 企业 {report.enterprises} 家、个人 {report.persons} 人 (种子 {seed})，写入 {out}"
    )
    for f in report.files:
        console.print(f"  {f.path.name}: {f.rows} 行 ({f.encoding})")
    if report.labels is not None:
        console.print(f"  {report.labels.path.name}: {report.labels.rows} 行 (产业链标注)")


@app.command("build")
def build(
    sources: Annotated[Path, typer.Option("--sources", help="数据源目录")],
    entity: Annotated[str, typer.Option("--entity", help="enterprise 或 person")],
    as_of: Annotated[str, typer.Option("--as-of", help="基准日期 YYYY-MM-DD")],
    out: Annotated[Path, typer.Option("--out", help="快照文件 (Parquet)")],
    rejects: Annotated[
        Path | None, typer.Option("--rejects", help="拒收行文件 (.parquet 或 .csv)")
    ] = None,
    tag_model: Annotated[
        Path | None, typer.Option("--tag-model", help="产业链标签模型 (train-tags 的输出)")
    ] = None,
) -> None:
    """校验、合并各部门数据源并生成画像快照。"""
    from rich.console import Console
    from rich.table import Table

    from profiles.build import build_snapshot
    from profiles.errors import ProfilesError
    from rules.model import ENTITY_LABELS

    console = Console()
    if entity not in ENTITY_LABELS:
        console.print(f"[red]--entity 应为 enterprise 或 person，收到 {entity!r}[/red]")
        raise typer.Exit(2)
    try:
        day = date.fromisoformat(as_of)
    except ValueError:
        console.print(f"[red]--as-of 应为日期 YYYY-MM-DD，收到 {as_of!r}[/red]")
        raise typer.Exit(2) from None
    try:
        with _progress_bar("构建中") as bar:
            task = bar.add_task("build", total=1)
            report = build_snapshot(
                sources,
                entity=entity,
                as_of=day,
                out=out,
                rejects=rejects,
                progress=lambda _stage, done, total: bar.update(task, completed=done, total=total),
                tag_model=tag_model,
            )
    except ProfilesError as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(1) from None
    table = Table(title=f"{ENTITY_LABELS[entity]}画像数据源 (基准日 {day.isoformat()})")
    for column in ("数据源", "文件", "编码", "读取", "接收", "拒收", "合并重复", "忽略列"):
        table.add_column(column)
    for s in report.sources:
        table.add_row(
            s.source,
            s.file,
            s.encoding,
            str(s.rows_read),
            str(s.rows_accepted),
            str(s.rows_rejected),
            str(s.duplicates_merged),
            ", ".join(s.ignored_columns) or "-",
        )
    console.print(table)
    for warning in report.warnings:
        console.print(f"[yellow]注意: {warning}[/yellow]")
    console.print(
        f"画像 {report.profiles} 条，拒收 {report.rows_rejected} 行"
        f" ({report.rejected_lines} 条原因)，"
        f"快照 {out}，哈希 {report.snapshot_hash[:16]}…"
    )
    if rejects is not None:
        console.print(f"拒收明细: {rejects}")
    if report.tag_model is not None:
        shares = report.tag_model["unknown_share"]
        assert isinstance(shares, dict)
        console.print(
            f"产业链标签模型 {report.tag_model['version']}；未定(UNKNOWN)比例: "
            + "，".join(f"{k} {v:.1%}" for k, v in shares.items())
        )


@app.command("train-tags")
def train_tags(
    labels: Annotated[Path, typer.Option("--labels", help="标注表 (uscc, business_scope, tags)")],
    out: Annotated[Path, typer.Option("--out", help="模型文件 (另写 <文件>.card.json 模型卡)")],
    seed: Annotated[int, typer.Option("--seed", help="随机种子 (划分与交叉验证)")] = 0,
    target_precision: Annotated[
        float | None,
        typer.Option("--target-precision", min=0.5, max=1.0, help="判为“是”所需的精确率"),
    ] = None,
    max_missed: Annotated[
        float | None,
        typer.Option("--max-missed", min=0.0, max=0.5, help="判为“否”时允许漏掉的正例比例"),
    ] = None,
) -> None:
    """用标注表训练产业链标签模型，在留出数据上确定阈值并写模型卡。"""
    import time

    from rich.console import Console
    from rich.table import Table

    from profiles.errors import ProfilesError
    from profiles.tags.training import card_path, read_labels, train_tag_model

    console = Console()
    started = time.perf_counter()
    try:
        data = read_labels(labels)
        with console.status("训练中"):
            model = train_tag_model(
                data, seed=seed, target_precision=target_precision, max_missed=max_missed
            )
    except ProfilesError as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(1) from None
    model.save(out)
    table = Table(title=f"产业链标签模型 {model.version} (留出测试集)")
    for column in ("标签", "精确率", "召回率", "未定比例", "低阈值", "高阈值", "测试正例"):
        table.add_column(column)

    def pct(v: object) -> str:
        return f"{v:.1%}" if isinstance(v, float) else "-"

    for name, m in model.card["tags"].items():
        table.add_row(
            f"{name} {m['label']}", pct(m["precision"]), pct(m["recall"]),
            pct(m["unknown_share"]), f"{m['threshold_low']:.3f}", f"{m['threshold_high']:.3f}",
            str(m["test_positives"]),
        )
    console.print(table)
    training = model.card["training"]
    console.print(
        f"标注 {training['rows']} 行 (无经营范围而舍弃 {training['dropped_without_scope']} 行)，"
        f"耗时 {time.perf_counter() - started:.1f} 秒；模型 {out}，模型卡 {card_path(out)}"
    )
