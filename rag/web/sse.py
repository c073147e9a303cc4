"""Server-sent events: an answer streamed as it is produced (``text`` events, then ``answer`` or ``error``),
and cancelled when the client hangs up.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import threading
from collections.abc import AsyncIterator, Callable
from typing import Any

from fastapi.responses import StreamingResponse
from starlette.concurrency import run_in_threadpool

from rag.errors import Cancelled
from rag.provider import cancel_scope
from rag.text import OnText
from rag.web.weberrors import describe

log = logging.getLogger("rag.web.server")


def sse(event: str, data: Any, redact: Callable[[str], str] = lambda text: text) -> str:
    return redact(f"event: {event}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n")


def event_stream(work: Callable[[OnText], dict[str, Any]], redact: Callable[[str], str]) -> StreamingResponse:
    """Run ``work`` in the thread pool; send ``text`` events as it produces text, then ``answer`` (or
    ``error``). Events travel through one queue, so they arrive in the order they were produced. A client
    that hangs up cancels the work: its LLM stream is closed and no further LLM call starts."""

    async def events() -> AsyncIterator[str]:
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[tuple[str, Any]] = asyncio.Queue()
        gone = threading.Event()

        def put(item: tuple[str, Any]) -> None:
            with contextlib.suppress(RuntimeError):  # the loop is gone (shutting down): nobody is listening
                loop.call_soon_threadsafe(queue.put_nowait, item)

        def text(piece: str) -> None:
            if gone.is_set():
                raise Cancelled("the client went away")
            put(("text", {"text": piece}))

        def run() -> None:
            try:
                with cancel_scope(gone):
                    put(("answer", work(text)))
            except Cancelled:
                log.info("a client hung up; its answer was cancelled")
            except Exception as exc:
                status, message = describe(exc, redact)
                put(("error", {"error": message, "status": status}))

        task = asyncio.ensure_future(run_in_threadpool(run))
        _running.add(task)  # keep a reference until the work has noticed the cancellation and stopped
        task.add_done_callback(_running.discard)
        try:
            while True:
                event, data = await queue.get()
                yield sse(event, data, redact)
                if event != "text":
                    return
        finally:
            gone.set()

    return StreamingResponse(
        events(), media_type="text/event-stream", headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"}
    )


_running: set[asyncio.Future[None]] = set()
