"""`mianshen serve`: the HTTP API and the pages. On an empty database (nothing configured)
it loads demo data first (the library imported by the demo officer and approved by the demo
reviewer) and prints the demo account of each role.

The client address is the connection's peer: uvicorn's own ``X-Forwarded-For`` handling (which
believes 127.0.0.1 by default) is off; the app believes the header only from
``MIANSHEN_TRUSTED_PROXIES``."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

console = Console()


def serve(
    host: Annotated[str, typer.Option("--host", help="监听地址")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", help="监听端口")] = 8000,
    demo: Annotated[
        bool, typer.Option("--demo/--no-demo", help="数据库为空时载入演示数据（默认是）")
    ] = True,
) -> None:
    """启动 API 与网页（数据库为空时自动载入演示数据并打印演示账号）。"""
    import uvicorn

    from api.app import create_app
    from api.auth import ROLE_LABELS
    from api.services.demo_data import DemoAccount, load_demo, store_is_empty
    from api.settings import get_settings
    from api.storage import open_engine
    from profiles.masking import mask_id
    from store.db import upgrade

    settings = get_settings()
    engine = open_engine(settings)
    upgrade(engine)
    accounts: list[DemoAccount] = []
    if demo and store_is_empty(engine):
        if settings.environment == "production":
            console.print("[red]生产环境不载入演示数据；请先导入政策并创建账号。[/red]")
            raise typer.Exit(2)
        accounts = load_demo(settings, engine, enterprises=settings.demo_enterprises,
                             persons=settings.demo_persons, seed=settings.demo_seed,
                             say=console.print)
        if "metrics_public" not in settings.model_fields_set:
            settings = settings.model_copy(update={"metrics_public": True})
    app = create_app(settings, engine=engine)
    if accounts:
        table = Table(title="演示账号（仅用于本机演示）")
        for col in ("角色", "用户名", "密码", "对应主体"):
            table.add_column(col)
        for a in accounts:
            entity = a.entity_id or "-"
            if a.role == "citizen":
                entity = mask_id(entity) or "-"
            table.add_row(ROLE_LABELS[a.role], a.user_id, a.password, entity)
        console.print(table)
    console.print(f"[bold green]已启动：http://{host}:{port}/ （接口文档 /docs）[/bold green]")
    if settings.metrics_public:
        console.print("指标 /metrics：对所有人开放" + ("（演示模式）" if accounts else "")
                      + "；正式环境请关闭（MIANSHEN_METRICS_PUBLIC=0）"
                      "并设置 MIANSHEN_METRICS_TOKEN。")
    else:
        console.print("指标 /metrics：需携带 MIANSHEN_METRICS_TOKEN 或以管理员身份访问。")
    # No access log: paths can carry ID numbers (/api/matches/entities/person/<id>), which
    # must never reach a log. Request counts are in /metrics.
    uvicorn.run(app, host=host, port=port, log_level="info", access_log=False,
                proxy_headers=False)


def register(app: typer.Typer) -> None:
    app.command("serve")(serve)
