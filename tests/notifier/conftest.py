"""Fixtures of the notifier tests: sample changes and recipients, and real local receivers
(an HTTP server for the webhook and the SMS gateway, an aiosmtpd SMTP server)."""

from __future__ import annotations

import datetime as dt
import json
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from notifier.links import Links
from notifier.model import EntitlementChange, FieldInfo, Recipient

PERSON_ID = "310101195001011234"
PERSON_PHONE = "13800000000"
ENTERPRISE_ID = "91310115MA1K3YJ40X"
WEBHOOK_SECRET = b"test-webhook-secret-0123456789"
NOW = dt.datetime(2025, 6, 2, 2, 0, tzinfo=dt.UTC)  # 10:00 in Shanghai


@pytest.fixture
def links() -> Links:
    return Links(base_url="https://mianshen.example.cn", secret=b"link-secret")


def change(**overrides: Any) -> EntitlementChange:
    """A new, eligible, direct change for a person; override what the test is about."""
    values: dict[str, Any] = {
        "entity_kind": "person",
        "entity_id": PERSON_ID,
        "policy_id": "sh-elderly-allowance",
        "policy_version": "v1",
        "policy_title": "上海市老年综合津贴",
        "benefit_period": "2025-06",
        "change": "new",
        "outcome": "eligible",
        "amount_fen": 15000,
        "entitlement_id": 7,
        "amount_period": "month",
        "delivery": "direct",
    }
    values.update(overrides)
    return EntitlementChange(**values)


def direct_and_application() -> list[EntitlementChange]:
    """A person's direct benefit and a pre-filled application (one declared field to fill)."""
    return [
        change(),
        change(policy_id="sh-severe-disability-care-subsidy",
               policy_title="重度残疾人护理补贴(上海)", delivery="apply",
               outcome="undetermined", amount_fen=30000,
               unknown_fields=("needs_long_term_care",)),
    ]


PERSON_FIELDS = (
    FieldInfo(name="id_number", label="公民身份号码", source="公安", personal=True),
    FieldInfo(name="name", label="姓名", source="公安", personal=True),
    FieldInfo(name="phone", label="手机号", source="本人", personal=True),
    FieldInfo(name="hukou_district", label="户籍地区划代码", source="公安"),
    FieldInfo(name="disability_grade", label="残疾等级", source="残联", type="int",
              unit="grade", empty="not_listed"),
    FieldInfo(name="employed", label="是否就业", source="人社", type="bool"),
    FieldInfo(name="needs_long_term_care", label="需要长期照护(6个月以上)", kind="declared",
              type="bool"),
)

PERSON_PROFILE: dict[str, object] = {
    "id_number": PERSON_ID,
    "name": "张三丰",
    "phone": PERSON_PHONE,
    "hukou_district": "310101",
    "disability_grade": 1,
    "employed": None,
}


def person_recipient(**addresses: str) -> Recipient:
    return Recipient(entity_kind="person", entity_id=PERSON_ID, display_name="张三丰",
                     addresses=addresses)


# --- a local HTTP receiver (webhook endpoint / SMS gateway) -------------------------------


@dataclass
class HttpReceiver:
    """Records POSTs; honours Idempotency-Key (409 for a key seen before) when asked; can be
    told to answer with an error status."""

    url: str = ""
    honour_key: bool = True
    status: int = 200
    requests: list[dict[str, Any]] = field(default_factory=list)
    delivered: list[dict[str, Any]] = field(default_factory=list)
    seen_keys: dict[str, str] = field(default_factory=dict)


def _handler(receiver: HttpReceiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:  # quiet
            pass

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            body = self.rfile.read(length)
            record = {"headers": dict(self.headers.items()), "body": body}
            receiver.requests.append(record)
            if receiver.status != 200:
                self._answer(receiver.status, {"error": "configured failure"})
                return
            key = self.headers.get("Idempotency-Key")
            if receiver.honour_key and key and key in receiver.seen_keys:
                self._answer(409, {"id": receiver.seen_keys[key],
                                   "message_id": receiver.seen_keys[key]})
                return
            receiver.delivered.append(record)
            ident = f"rcv-{len(receiver.delivered)}"
            if key:
                receiver.seen_keys[key] = ident
            self._answer(200, {"id": ident, "message_id": ident})

        def _answer(self, status: int, body: dict[str, Any]) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    return Handler


@pytest.fixture
def http_receiver() -> Iterator[HttpReceiver]:
    receiver = HttpReceiver()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(receiver))
    receiver.url = f"http://127.0.0.1:{server.server_address[1]}/hook"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                              daemon=True)
    thread.start()
    yield receiver
    server.shutdown()
    server.server_close()


# --- a local SMTP server (aiosmtpd) -------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class SmtpReceiver:
    host: str
    port: int
    messages: list[Any] = field(default_factory=list)
    controller: Any = None

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None

    def start(self) -> None:
        from aiosmtpd.controller import Controller
        from aiosmtpd.handlers import Message

        receiver = self

        class Collect(Message):  # type: ignore[misc]
            def handle_message(self, message: Any) -> None:
                receiver.messages.append(message)

        self.controller = Controller(Collect(), hostname=self.host, port=self.port)
        self.controller.start()


@pytest.fixture
def smtp_receiver() -> Iterator[SmtpReceiver]:
    receiver = SmtpReceiver(host="127.0.0.1", port=free_port())
    receiver.start()
    yield receiver
    receiver.stop()
