"""The web server's chat sessions: a bounded, expiring map of conversation id → ``Conversation``.

The least recently used session goes first when the map is full, and a session unused for ``ttl`` seconds
is forgotten, so a server that runs for weeks holds a bounded amount of history. Each session carries its
own lock: two questions sent at once in one conversation are answered one after the other, in order.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field

from rag.answer.chat import Conversation

MAX_SESSIONS = 1000
TTL_SECONDS = 6 * 3600.0


@dataclass
class Session:
    conversation: Conversation
    lock: threading.Lock = field(default_factory=threading.Lock)
    used: float = field(default_factory=time.monotonic)


class Sessions:
    """Thread-safe LRU + TTL map of sessions; ``clock`` is passed in by tests."""

    def __init__(
        self,
        make: Callable[[], Conversation],
        *,
        max_sessions: int = MAX_SESSIONS,
        ttl: float = TTL_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._make = make
        self._max = max_sessions
        self._ttl = ttl
        self._clock = clock
        self._items: OrderedDict[str, Session] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, session_id: str) -> Session:
        """The session with this id, created when new (or expired)."""
        with self._lock:
            now = self._clock()
            self._expire(now)
            session = self._items.pop(session_id, None)
            if session is None:
                session = Session(self._make(), used=now)
                while len(self._items) >= self._max:
                    self._items.popitem(last=False)
            session.used = now
            self._items[session_id] = session
            return session

    def delete(self, session_id: str) -> bool:
        with self._lock:
            self._expire(self._clock())
            return self._items.pop(session_id, None) is not None

    def __len__(self) -> int:
        with self._lock:
            self._expire(self._clock())
            return len(self._items)

    def _expire(self, now: float) -> None:
        while self._items:
            oldest = next(iter(self._items.values()))
            if now - oldest.used < self._ttl:
                return
            self._items.popitem(last=False)
