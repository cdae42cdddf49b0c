"""A real server for the browser tests: the demo data in a temporary folder, the app under
uvicorn on an ephemeral port, and Debian's Chromium driven by Playwright (never a downloaded
browser). Without Chromium the tests skip outside CI and fail in CI."""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]


def require_browser() -> None:
    missing = None
    if not CHROMIUM.exists():
        missing = f"{CHROMIUM} is not installed (apt-get install chromium)"
    else:
        try:
            import playwright.sync_api  # noqa: F401
        except ImportError:
            missing = "the playwright package is not installed (pip install -e '.[test]')"
    if missing:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"browser test needs Chromium in CI: {missing}")
        pytest.skip(f"browser test skipped: {missing}")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def demo_server(folder: Path, *, prepare: Callable[[Any, Any], None] | None = None,
                enterprises: int = 120, persons: int = 60,
                ) -> Iterator[tuple[str, dict[str, str], Any]]:
    """(base URL, password by role, settings) of a server on the demo data in ``folder``
    (a demo of that many enterprises and persons); ``prepare(settings, engine)`` runs on
    the data before the server starts."""
    import uvicorn

    from api.app import create_app
    from api.services.demo_data import load_demo
    from api.settings import Settings
    from api.storage import open_engine

    # no configured secret: the keys are generated into the data directory on first start
    settings = Settings(data_dir=folder / "data", environment="test")
    engine = open_engine(settings)
    accounts = load_demo(settings, engine, enterprises=enterprises, persons=persons, seed=5,
                         say=lambda _m: None)
    if prepare is not None:
        prepare(settings, engine)
    port = free_port()
    config = uvicorn.Config(create_app(settings, engine=engine), host="127.0.0.1", port=port,
                            log_level="warning")
    uv = uvicorn.Server(config)
    thread = threading.Thread(target=uv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not uv.started and time.monotonic() < deadline:
        time.sleep(0.1)
    assert uv.started, "server did not start"
    try:
        yield f"http://127.0.0.1:{port}", {a.role: a.password for a in accounts}, settings
    finally:
        uv.should_exit = True
        thread.join(timeout=10)


def login(page: Any, base: str, user: str, password: str) -> None:
    page.goto(f"{base}/login")
    page.fill("input[name=username]", user)
    page.fill("input[name=password]", password)
    page.click("#login-submit")
