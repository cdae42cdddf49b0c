"""The `mianshen` command line. Each command group lives in its own module; heavy imports
(polars, the store) happen inside the commands, never at import time."""

from __future__ import annotations

import typer

from api.cli import (
    events_cmd,
    match_cmd,
    notify_cmd,
    profiles_cmd,
    proposals_cmd,
    rules_cmd,
    run_cmd,
    serve_cmd,
    store_cmd,
)

app = typer.Typer(
    name="mianshen",
    help="mianshen 免申即享政策匹配引擎 (policy-matching engine for proactive benefits).",
    no_args_is_help=True,
    add_completion=False,
)
proposals_cmd.register(rules_cmd.app)
app.add_typer(rules_cmd.app, name="rules", help="政策规则: 检查 (check policy files).")
app.add_typer(profiles_cmd.app, name="profiles", help="画像: 合成、构建 (synthesise, build).")
match_cmd.register(app)
events_cmd.register(app)
store_cmd.register(app)
run_cmd.register(app)
serve_cmd.register(app)
app.add_typer(notify_cmd.app, name="notify", help="消息投递: 投递一次 (deliver once), 死信。")


def main() -> None:
    quiet_logs()
    app()


def quiet_logs() -> None:
    """Logs are English and meant for operators: a command shows its user only Chinese lines,
    and logs only when ``MIANSHEN_LOG_LEVEL`` asks for them (e.g. INFO, WARNING)."""
    import logging
    import os

    level = os.environ.get("MIANSHEN_LOG_LEVEL", "").strip().upper()
    if level:
        logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    elif not logging.getLogger().handlers:
        logging.getLogger().addHandler(logging.NullHandler())
