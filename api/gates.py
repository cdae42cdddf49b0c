"""How requests take turns, so that the service keeps answering however many clients come.

Sync routes run in a pool of 40 worker threads, and a request keeps its database connection
until its session closes, which is after the route returned and its response was validated
(itself work for a worker thread). A request that holds a connection (or SQLite's write lock)
while it waits for a thread, and threads that wait for that connection (or lock), stall the
service: that is what happened at 45 clients. Two gates, both awaited in the event loop,
never by a thread:

- :class:`AdmissionGate` (ASGI middleware) lets at most ``limit`` requests into the app at
  once; the database pool has at least twice as many connections (a request holds at most
  two at a time), so no thread ever waits for a connection. The others wait their turn in
  order, holding nothing.
- :class:`WriteGate` makes the writing requests of one process take turns before they get a
  thread, so a writer holding the write lock never waits behind writers waiting for it.

Both are per event loop (a test may drive one app from several loops).
"""

from __future__ import annotations

import asyncio
import weakref
from typing import Any

import anyio


class _PerLoop:
    def __init__(self, make: Any) -> None:
        self._make = make
        self._by_loop: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Any] = (
            weakref.WeakKeyDictionary()
        )

    def get(self) -> Any:
        loop = asyncio.get_running_loop()
        found = self._by_loop.get(loop)
        if found is None:
            found = self._by_loop[loop] = self._make()
        return found


class WriteGate:
    """One async lock per event loop for the writing requests of this process."""

    def __init__(self) -> None:
        self._locks = _PerLoop(anyio.Lock)

    def lock(self) -> anyio.Lock:
        lock: anyio.Lock = self._locks.get()
        return lock


class AdmissionGate:
    """ASGI middleware: at most ``limit`` HTTP requests inside ``app`` at once."""

    def __init__(self, app: Any, *, limit: int) -> None:
        self.app = app
        self.limit = limit
        self._semaphores = _PerLoop(lambda: anyio.Semaphore(limit))

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        semaphore: anyio.Semaphore = self._semaphores.get()
        async with semaphore:
            await self.app(scope, receive, send)
