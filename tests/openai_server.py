"""A real HTTP server on loopback that speaks the OpenAI chat-completions and embeddings API, with
scripted replies: content (streamed or not), HTTP errors, and delays. Tests read what it received."""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Reply:
    content: str = ""
    status: int = 200
    delay: float = 0.0  #: seconds before the response starts
    chunk_size: int = 7  #: characters per streamed delta
    pause: float = 0.0  #: seconds between streamed deltas (a server trickling tokens)


@dataclass
class Recorded:
    path: str
    headers: dict[str, str]
    body: dict[str, Any]


@dataclass
class FakeOpenAI:
    """Scripted OpenAI-compatible server. ``script`` replies are consumed in order; ``default`` after."""

    default: Reply = field(default_factory=lambda: Reply("I can't answer that."))
    script: deque[Reply] = field(default_factory=deque)
    requests: list[Recorded] = field(default_factory=list)
    aborted: int = 0  #: streamed replies the client hung up on before their end
    finished: int = 0  #: streamed replies sent to their end
    server: ThreadingHTTPServer | None = None

    @property
    def base_url(self) -> str:
        assert self.server is not None
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}/v1"

    def queue(self, *replies: Reply | str) -> None:
        for r in replies:
            self.script.append(Reply(r) if isinstance(r, str) else r)

    def next_reply(self) -> Reply:
        return self.script.popleft() if self.script else self.default

    def chat_requests(self) -> list[Recorded]:
        return [r for r in self.requests if r.path.endswith("/chat/completions")]

    def start(self) -> FakeOpenAI:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", 0))
                body = json.loads(self.rfile.read(length) or b"{}")
                fake.requests.append(Recorded(self.path, dict(self.headers), body))
                reply = fake.next_reply()
                if reply.delay:
                    time.sleep(reply.delay)
                try:
                    if reply.status != 200:
                        self._json(reply.status, {"error": {"message": f"scripted {reply.status}", "type": "x"}})
                    elif self.path.endswith("/embeddings"):
                        self._embeddings(body)
                    elif body.get("stream"):
                        self._stream(body, reply)
                    else:
                        self._json(200, _completion(body, reply.content))
                except (BrokenPipeError, ConnectionResetError):
                    fake.aborted += 1

            def _json(self, status: int, data: dict[str, Any]) -> None:
                raw = json.dumps(data).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(raw)))
                if status == 429:
                    self.send_header("Retry-After", "0")
                self.end_headers()
                self.wfile.write(raw)

            def _stream(self, body: dict[str, Any], reply: Reply) -> None:
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()
                text = reply.content
                pieces = [text[i : i + reply.chunk_size] for i in range(0, len(text), reply.chunk_size)]
                for piece in pieces:
                    self._chunk(_delta(body, {"content": piece}))
                    if reply.pause:
                        time.sleep(reply.pause)
                self._chunk(_delta(body, {}, finish="stop"))
                if (body.get("stream_options") or {}).get("include_usage"):  # as the OpenAI API does
                    words = sum(len(str(m.get("content", "")).split()) for m in body.get("messages", []))
                    usage = {
                        "prompt_tokens": words,
                        "completion_tokens": len(pieces),
                        "total_tokens": words + len(pieces),
                    }
                    self._chunk({**_delta(body, {}), "choices": [], "usage": usage})
                self._chunk("[DONE]")
                self.wfile.write(b"0\r\n\r\n")
                fake.finished += 1

            def _chunk(self, data: dict[str, Any] | str) -> None:
                payload = data if isinstance(data, str) else json.dumps(data)
                raw = f"data: {payload}\n\n".encode()
                self.wfile.write(f"{len(raw):X}\r\n".encode() + raw + b"\r\n")
                self.wfile.flush()

            def _embeddings(self, body: dict[str, Any]) -> None:
                inputs = body["input"] if isinstance(body["input"], list) else [body["input"]]
                data = [
                    {"object": "embedding", "index": i, "embedding": _toy_vector(str(t))} for i, t in enumerate(inputs)
                ]
                self._json(200, {"object": "list", "data": data, "model": body.get("model"), "usage": {}})

        class Server(ThreadingHTTPServer):
            def handle_error(self, request: Any, client_address: Any) -> None:
                pass  # a client that timed out and hung up is part of the script, not an error

        self.server = Server(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()


def _completion(body: dict[str, Any], content: str) -> dict[str, Any]:
    return {
        "id": "chatcmpl-test",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": body.get("model", "test"),
        "choices": [{"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15},
    }


def _delta(body: dict[str, Any], delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
    return {
        "id": "chatcmpl-test",
        "object": "chat.completion.chunk",
        "created": int(time.time()),
        "model": body.get("model", "test"),
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }


def _toy_vector(text: str, dim: int = 16) -> list[float]:
    """A deterministic bag-of-letters vector: similar texts get similar vectors."""
    v = [0.0] * dim
    for ch in text.lower():
        if ch.isalnum():
            v[ord(ch) % dim] += 1.0
    return v
