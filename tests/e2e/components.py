"""The real components the acceptance story runs on, each started by the test on an ephemeral
127.0.0.1 port: an SMTP server (aiosmtpd), an SMS gateway and a webhook receiver over HTTP
(both honour Idempotency-Key; the webhook receiver checks the HMAC signature), the web app
under uvicorn, and the operator's commands (``mianshen run``, ``mianshen notify``) run as
separate processes, as in production."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from notifier.channels.webhook import verify_signature

LINK = re.compile(r"https?://127\.0\.0\.1:\d+/l/[0-9A-Za-z]+")
ROOT = Path(__file__).resolve().parents[2]


# ---- HTTP receivers ---------------------------------------------------------------------


@dataclass
class HttpPeer:
    """An HTTP endpoint that records what it is sent. A key seen before is answered 409 (the
    sender then knows it was delivered). ``hang_next()`` makes the next request wait after it
    was recorded, until ``release()``: a sender can be killed in the middle of a delivery."""

    name: str
    secret: bytes | None = None  # a webhook's HMAC secret: signatures are checked
    url: str = ""
    delivered: list[dict[str, Any]] = field(default_factory=list)
    duplicates: list[str] = field(default_factory=list)
    bad_signatures: int = 0
    _seen: dict[str, str] = field(default_factory=dict)
    _hang: threading.Event = field(default_factory=threading.Event)
    hanging: threading.Event = field(default_factory=threading.Event)
    _release: threading.Event = field(default_factory=threading.Event)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def hang_next(self) -> None:
        self._release.clear()
        self.hanging.clear()
        self._hang.set()

    def release(self) -> None:
        self._release.set()

    def bodies(self) -> list[dict[str, Any]]:
        return [d["json"] for d in self.delivered]

    def keys(self) -> list[str]:
        return [d["key"] for d in self.delivered]


def _handler(peer: HttpPeer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            pass

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            key = self.headers.get("Idempotency-Key") or ""
            if peer.secret is not None and not verify_signature(
                peer.secret, timestamp=self.headers.get("X-Mianshen-Timestamp", ""),
                body=body, signature=self.headers.get("X-Mianshen-Signature", ""),
                now=time.time(),
            ):
                peer.bad_signatures += 1
                self._answer(401, {"error": "bad signature"})
                return
            with peer._lock:
                if key in peer._seen:
                    peer.duplicates.append(key)
                    self._answer(409, {"message_id": peer._seen[key], "id": peer._seen[key]})
                    return
                ident = f"{peer.name}-{len(peer.delivered) + 1}"
                peer._seen[key] = ident
                peer.delivered.append({"key": key, "json": json.loads(body)})
                hang = peer._hang.is_set()
                peer._hang.clear()
            if hang:  # recorded; the sender is still waiting for the answer
                peer.hanging.set()
                peer._release.wait(timeout=60)
            try:
                self._answer(200, {"message_id": ident, "id": ident})
            except OSError:  # the sender is gone
                pass

        def _answer(self, status: int, body: dict[str, Any]) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    return Handler


def serve_peer(peer: HttpPeer) -> Iterator[HttpPeer]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(peer))
    server.daemon_threads = True
    peer.url = f"http://127.0.0.1:{server.server_address[1]}/{peer.name}"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                              daemon=True)
    thread.start()
    try:
        yield peer
    finally:
        peer.release()
        server.shutdown()
        server.server_close()


# ---- SMTP -------------------------------------------------------------------------------


@dataclass
class Mailbox:
    """An aiosmtpd server keeping every message it accepts."""

    port: int
    messages: list[Message] = field(default_factory=list)

    def to(self, address: str) -> list[Message]:
        return [m for m in self.messages if m["To"] == address]


def serve_mailbox() -> Iterator[Mailbox]:
    from aiosmtpd.controller import Controller
    from aiosmtpd.handlers import Message as MessageHandler

    from tests.browser.conftest import free_port

    box = Mailbox(port=free_port())

    class Collect(MessageHandler):  # type: ignore[misc]
        def handle_message(self, message: Message) -> None:
            box.messages.append(message)

    controller = Controller(Collect(), hostname="127.0.0.1", port=box.port)
    controller.start()
    try:
        yield box
    finally:
        controller.stop()


def mail_parts(message: Message) -> tuple[str, str]:
    """(text, html) of a multipart/alternative message, decoded."""
    text = html = ""
    for part in message.walk():
        if part.get_content_type() == "text/plain":
            text = part.get_payload(decode=True).decode(part.get_content_charset() or "utf-8")
        elif part.get_content_type() == "text/html":
            html = part.get_payload(decode=True).decode(part.get_content_charset() or "utf-8")
    return text, html


# ---- the platform: app, runs, notifier ----------------------------------------------------


@dataclass
class Platform:
    """The operator's side: environment, the web app under uvicorn, and the commands."""

    data_dir: Path
    database_url: str
    base_url: str
    env: dict[str, str]
    log: list[str] = field(default_factory=list)

    def command(self, *args: str, timeout: float = 240) -> subprocess.CompletedProcess[str]:
        """``mianshen <args>`` in its own process; its output goes to the story's log."""
        done = subprocess.run(
            [sys.executable, "-c", "from api.cli import main; main()", *args],
            cwd=ROOT, env=self.env, capture_output=True, text=True, timeout=timeout,
        )
        self.log.append(f"$ mianshen {' '.join(args)}  (exit {done.returncode})\n"
                        f"{done.stdout}{done.stderr}")
        return done

    def run_month(self, sources: Path, as_of: str) -> subprocess.CompletedProcess[str]:
        return self.command("run", "--sources", str(sources), "--as-of", as_of)

    def notifier(self) -> subprocess.Popen[str]:
        """``mianshen notify`` started in the background (to be killed)."""
        return subprocess.Popen(
            [sys.executable, "-c", "from api.cli import main; main()", "notify"],
            cwd=ROOT, env=self.env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            text=True,
        )

    def deliver_all(self, *, rounds: int = 10) -> list[str]:
        """Run ``mianshen notify`` until a pass leaves nothing behind: it claimed less than a
        batch and retried, deferred and lost nothing."""
        outputs = []
        for _ in range(rounds):
            done = self.command("notify")
            assert done.returncode == 0, done.stdout + done.stderr
            outputs.append(done.stdout)
            figures = dict(re.findall(r"(认领|稍后重试|推迟|租约丢失|转入死信)\s*(\d+)",
                                      done.stdout.replace("\n", "")))
            assert figures.get("转入死信") == "0", done.stdout
            if int(figures["认领"]) < 100 and all(
                    figures.get(k) == "0" for k in ("稍后重试", "推迟", "租约丢失")):
                return outputs
            time.sleep(1.1)  # a retry is due after its backoff (1 s here)
        raise AssertionError(f"the outbox did not drain: {outputs}")


def platform_env(*, data_dir: Path, database_url: str, base_url: str, smtp_port: int,
                 sms_url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MIANSHEN_")}
    env.update({
        "MIANSHEN_ENVIRONMENT": "test",
        "MIANSHEN_DATA_DIR": str(data_dir),
        "MIANSHEN_DATABASE_URL": database_url,
        # no MIANSHEN_SECRET_KEY: the keys are generated into the data directory on first
        # use and shared by the app and every command, as on a default install
        "MIANSHEN_PUBLIC_BASE_URL": base_url,
        "MIANSHEN_SMTP_HOST": "127.0.0.1",
        "MIANSHEN_SMTP_PORT": str(smtp_port),
        "MIANSHEN_SMTP_SENDER": "noreply@mianshen.example.cn",
        "MIANSHEN_SMS_GATEWAY_URL": sms_url,
        "MIANSHEN_SMS_ALLOW_HTTP": "true",
        "MIANSHEN_WEBHOOK_ALLOW_HTTP": "true",
        "MIANSHEN_SMS_QUIET_HOURS": "",  # the story runs at any hour of the day
        "MIANSHEN_DAILY_CAP": "1000",  # three months in one afternoon
        "MIANSHEN_LEASE_SECONDS": "3",  # a killed notifier's messages come back quickly
        "MIANSHEN_BACKOFF_BASE_S": "1",
        "PYTHONPATH": str(ROOT),
        "COLUMNS": "200",  # the CLI's tables and lines unwrapped in the story's log
    })
    return env


def serve_app(settings: Any, engine: Any) -> Iterator[str]:
    import uvicorn

    from api.app import create_app

    port = int(settings.public_base_url.rsplit(":", 1)[1])
    config = uvicorn.Config(create_app(settings, engine=engine), host="127.0.0.1", port=port,
                            log_level="warning")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.started, "the web app did not start"
    try:
        yield settings.public_base_url
    finally:
        server.should_exit = True
        thread.join(timeout=10)
