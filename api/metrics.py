"""Prometheus metrics in the text exposition format, without a client library.

Counters of this process (HTTP requests by route and status, login failures, rate-limited
logins, failed triggered runs) plus figures read from the database at scrape time: runs by
entity and status, entitlements (matches) by outcome and status, outbox deliveries by status,
and failures (failed runs, dead letters).

>>> m = Metrics()
>>> m.count("mianshen_login_failures_total")
>>> m.count("mianshen_http_requests_total", {"route": "/health", "status": "200"})
>>> print(m.render_counters())
# TYPE mianshen_http_requests_total counter
mianshen_http_requests_total{route="/health",status="200"} 1
# TYPE mianshen_login_failures_total counter
mianshen_login_failures_total 1
<BLANKLINE>
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping

from sqlalchemy import Engine, func, select

Labels = tuple[tuple[str, str], ...]


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _line(name: str, labels: Labels, value: float) -> str:
    shown = f"{value:g}" if isinstance(value, float) else str(value)
    if not labels:
        return f"{name} {shown}"
    inner = ",".join(f'{k}="{_escape(v)}"' for k, v in labels)
    return f"{name}{{{inner}}} {shown}"


class Metrics:
    """Counters of this process; thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counters: dict[str, dict[Labels, int]] = {}

    def count(self, name: str, labels: Mapping[str, str] | None = None, *, by: int = 1) -> None:
        key: Labels = tuple(sorted((labels or {}).items()))
        with self._lock:
            series = self._counters.setdefault(name, {})
            series[key] = series.get(key, 0) + by

    def render_counters(self) -> str:
        lines: list[str] = []
        with self._lock:
            for name in sorted(self._counters):
                lines.append(f"# TYPE {name} counter")
                for labels, value in sorted(self._counters[name].items()):
                    lines.append(_line(name, labels, value))
        return "\n".join(lines) + "\n"


def _gauge(name: str, help_text: str, rows: Iterable[tuple[Labels, float]]) -> list[str]:
    out = [f"# HELP {name} {help_text}", f"# TYPE {name} gauge"]
    out += [_line(name, labels, value) for labels, value in rows]
    return out


def database_figures(engine: Engine) -> str:
    """Gauges read from the store at scrape time."""
    from store.db import transaction
    from store.schema import entitlements, outbox, runs

    with transaction(engine, write=False) as session:
        run_rows = session.execute(
            select(runs.c.entity_kind, runs.c.status, func.count()).group_by(
                runs.c.entity_kind, runs.c.status)
        ).all()
        ent_rows = session.execute(
            select(entitlements.c.outcome, entitlements.c.status, func.count()).group_by(
                entitlements.c.outcome, entitlements.c.status)
        ).all()
        out_rows = session.execute(
            select(outbox.c.channel, outbox.c.status, func.count()).group_by(
                outbox.c.channel, outbox.c.status)
        ).all()
    lines = _gauge("mianshen_runs", "Runs by entity kind and status.",
                   [((("entity", str(e)), ("status", str(s))), int(n)) for e, s, n in run_rows])
    lines += _gauge("mianshen_matches", "Entitlements (matches) by outcome and status.",
                    [((("outcome", str(o)), ("status", str(s))), int(n))
                     for o, s, n in ent_rows])
    lines += _gauge("mianshen_deliveries", "Outbox messages by channel and status.",
                    [((("channel", str(c)), ("status", str(s))), int(n))
                     for c, s, n in out_rows])
    failed_runs = sum(int(n) for _, s, n in run_rows if s == "failed")
    dead = sum(int(n) for _, s, n in out_rows if s == "dead")
    lines += _gauge("mianshen_failures", "Failed runs and dead-lettered deliveries.",
                    [((("kind", "run"),), failed_runs), ((("kind", "delivery"),), dead)])
    return "\n".join(lines) + "\n"
