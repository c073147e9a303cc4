"""The local model's server process: llama.cpp (``xllamacpp``) serving one GGUF file on loopback, until it has
been idle for ``--idle`` seconds with no live lease, or is told to stop.

Started by ``rag.local.client.ensure`` as ``python -m rag.local.daemon`` in its own session, so it outlives the
command that started it and later commands reuse the loaded model. Its folder (``DATA_DIR/local/``) holds:

- ``server.json`` (mode 0600): pid, port, API key, model path and size, threads, context size, load time; written
  atomically once the model is loaded and the port listens, removed when the server stops;
- ``last-used``: touched by every client before and after each request (the idle clock);
- ``leases/<pid>``: a ``rag chat`` or ``rag serve`` holding the model for its lifetime (a lease whose process
  has exited does not count);
- ``server.log``: what llama.cpp said while loading (read by the client when a start fails).

The API key is read from the environment (``RAG_LOCAL_KEY``), never from the command line, so other users of
the machine cannot read it from the process list; the server answers no request without it.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading
import time
from pathlib import Path
from typing import Any

STATE = "server.json"
LAST_USED = "last-used"
LEASES = "leases"
LOG = "server.log"
KEY_ENV = "RAG_LOCAL_KEY"


def pid_alive(pid: int) -> bool:
    """Whether a process with this pid exists (a zombie counts as gone)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(") ", 1)[-1][:1] != "Z"
    except OSError:
        return True


def live_leases(folder: Path) -> list[int]:
    """The pids of the leases whose process still runs (stale ones are removed)."""
    out = []
    for lease in (folder / LEASES).glob("*"):
        try:
            pid = int(lease.name)
        except ValueError:
            continue
        if pid_alive(pid):
            out.append(pid)
        else:
            lease.unlink(missing_ok=True)
    return out


def idle_for(folder: Path) -> float:
    """Seconds since a client last used the server."""
    try:
        return time.time() - (folder / LAST_USED).stat().st_mtime
    except OSError:
        return float("inf")


def write_state(folder: Path, state: dict[str, Any]) -> None:
    """``server.json`` written whole or not at all, readable by this user only."""
    tmp = folder / f".{STATE}.{os.getpid()}.tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        json.dump(state, f)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, folder / STATE)


def remove_state(folder: Path) -> None:
    """Remove ``server.json`` if it is this process's (a newer server may have replaced it)."""
    path = folder / STATE
    try:
        if json.loads(path.read_text()).get("pid") == os.getpid():
            path.unlink()
    except (OSError, ValueError):
        pass


def parse(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m rag.local.daemon", description=__doc__)
    p.add_argument("--model", type=Path, required=True, help="the GGUF file")
    p.add_argument("--dir", type=Path, required=True, help="the server's folder (DATA_DIR/local)")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--ctx", type=int, default=4096, help="context size, tokens")
    p.add_argument("--idle", type=float, default=900.0, help="stop after this many seconds unused")
    p.add_argument("--max-tokens", type=int, default=320, help="the most tokens one reply may have")
    p.add_argument("--poll", type=float, default=1.0, help="seconds between idle checks")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse(sys.argv[1:] if argv is None else argv)
    key = os.environ.pop(KEY_ENV, "")
    if not key:
        print(f"{KEY_ENV} is not set: the server would answer anyone", file=sys.stderr)
        return 2
    folder: Path = args.dir
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, lambda *_: stop.set())

    import xllamacpp

    params = xllamacpp.CommonParams()
    params.model.path = str(args.model)
    params.n_ctx = args.ctx
    params.n_predict = args.max_tokens  # a reply that runs on (a client that went away) stops here
    params.n_parallel = 1  # one slot: its prompt cache keeps the fixed prefix between questions
    params.cache_prompt = True
    params.cpuparams.n_threads = args.threads
    params.cpuparams_batch.n_threads = args.threads
    params.hostnames = ["127.0.0.1"]
    params.port = 0  # the system picks a free port; it is published in server.json
    params.api_keys = [key]
    params.warmup = True
    t0 = time.monotonic()
    server = xllamacpp.Server(params)
    loaded = time.monotonic() - t0
    address = str(server.listening_address)
    port = int(address.rsplit(":", 1)[1].strip("/"))
    (folder / LAST_USED).touch()
    write_state(
        folder,
        {
            "pid": os.getpid(),
            "port": port,
            "key": key,
            "model": str(args.model),
            "model_size": args.model.stat().st_size,
            "threads": args.threads,
            "ctx": args.ctx,
            "max_tokens": args.max_tokens,
            "load_s": round(loaded, 3),
            "started": time.time(),
        },
    )
    print(f"listening on {address} after {loaded:.1f}s", file=sys.stderr, flush=True)
    try:
        while not stop.wait(args.poll):
            if idle_for(folder) >= args.idle and not live_leases(folder):
                print(f"idle for {args.idle:g}s: stopping", file=sys.stderr, flush=True)
                break
            if not args.model.exists():
                print("the model file is gone: stopping", file=sys.stderr, flush=True)
                break
    finally:
        remove_state(folder)
        del server
    return 0


if __name__ == "__main__":
    sys.exit(main())
