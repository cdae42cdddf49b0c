"""The `mianshen` command line. Each command group lives in its own module; heavy imports
(polars, the store) happen inside the commands, never at import time."""

from __future__ import annotations

import typer

from api.cli import (
    awards_cmd,
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
app.add_typer(awards_cmd.app, name="awards", help="奖励台账: 导入以往系统发放的奖励。")
app.add_typer(notify_cmd.app, name="notify", help="消息投递: 投递一次 (deliver once), 死信。")


def main() -> None:
    quiet_logs()
    try:
        app()
    except Exception as exc:
        if not _is_configuration_error(exc):
            raise
        from rich.console import Console

        Console(stderr=True).print(f"[red]配置有误，未执行：{_configuration_message(exc)}[/red]")
        raise SystemExit(2) from None


def _is_configuration_error(exc: Exception) -> bool:
    """Settings that fail validation (a default secret …) or a key file that cannot be used:
    the operator gets the reason in Chinese, not a traceback."""
    from pydantic import ValidationError

    from api.keys import KeyFileError
    from api.storage import AuditKeyLostError

    return isinstance(exc, ValidationError | KeyFileError | AuditKeyLostError)


def _configuration_message(exc: Exception) -> str:
    from pydantic import ValidationError

    if isinstance(exc, ValidationError):
        return "；".join(str(e.get("msg", "")).removeprefix("Value error, ")
                        for e in exc.errors())
    return str(exc)


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
