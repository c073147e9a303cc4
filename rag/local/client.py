"""Finding, starting and stopping the local model's server (``rag.local.daemon``): one per data folder.

``ensure`` returns the endpoint of a running server for the configured model, starting one (and joining the
pinned weights first, once) when none runs; the cold load is reported through ``on_phase`` so the command can
show it. Two commands starting at once start one server (a lock), and a server for another model file, or one
that does not answer, is replaced. ``lease`` keeps it loaded for a ``rag chat`` or ``rag serve`` lifetime;
``stop`` and ``status`` are ``rag local stop`` / ``rag local status``.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rag.errors import ConfigError, RagError
from rag.local import daemon

if TYPE_CHECKING:
    from rag.settings import Settings

Phase = Callable[[str], None]


class LocalServerError(RagError):
    """The local model's server could not be started or reached."""


@dataclass(frozen=True)
class Endpoint:
    """A running local server: where it listens and the key it wants."""

    base_url: str  #: ``http://127.0.0.1:PORT/v1``
    key: str
    model: Path
    pid: int
    cold_load_s: float | None = None  #: seconds this call spent starting it (None: it was already running)

    @property
    def name(self) -> str:
        return self.model.stem


def folder(settings: Settings) -> Path:
    return settings.data_dir / "local"


def model_file(settings: Settings, on_phase: Phase | None = None) -> Path:
    """The GGUF to serve: ``RAG_LOCAL_MODEL`` (a path, or a pinned model's name), else the default pinned model,
    joined from its installed parts the first time."""
    from rag.local import weights

    chosen = settings.local_model
    if chosen and chosen not in weights.MODELS:
        return weights.custom_model(chosen)
    name = chosen or weights.DEFAULT_MODEL
    if on_phase is not None and not weights.joined_path(settings.data_dir, name).exists():
        on_phase(f"joining the local model's parts once ({weights.describe(name)})")
    return weights.model_path(settings.data_dir, name)


def read_state(settings: Settings) -> dict[str, Any] | None:
    """``server.json`` of a server whose process still runs, else None."""
    try:
        state: dict[str, Any] = json.loads((folder(settings) / daemon.STATE).read_text())
    except (OSError, ValueError):
        return None
    if not isinstance(state.get("pid"), int) or not daemon.pid_alive(state["pid"]):
        return None
    return state


def _endpoint(state: dict[str, Any], cold: float | None = None) -> Endpoint:
    return Endpoint(f"http://127.0.0.1:{state['port']}/v1", state["key"], Path(state["model"]), state["pid"], cold)


def _healthy(state: dict[str, Any], timeout: float = 2.0) -> bool:
    import httpx

    try:
        r = httpx.get(f"http://127.0.0.1:{state['port']}/health", timeout=timeout)
    except httpx.HTTPError:
        return False
    return r.status_code == 200


def _matches(state: dict[str, Any], model: Path, settings: Settings) -> bool:
    try:
        size = model.stat().st_size
    except OSError:
        return False
    return (
        Path(state.get("model", "")) == model
        and state.get("model_size") == size
        and state.get("threads") == settings.local_threads
        and state.get("ctx") == settings.local_ctx
        and state.get("max_tokens") == settings.local_max_tokens
    )


def ensure(settings: Settings, on_phase: Phase | None = None) -> Endpoint:
    """A running server for the configured model: the one already running, or a new one (cold load)."""
    require_xllamacpp()
    model = model_file(settings, on_phase)
    home = folder(settings)
    state = read_state(settings)
    if state and _matches(state, model, settings) and _healthy(state):
        touch(settings)
        return _endpoint(state)
    try:
        home.mkdir(parents=True, exist_ok=True)
        (home / daemon.LEASES).mkdir(exist_ok=True)
    except OSError as e:
        raise LocalServerError(
            f"cannot create {home} for the local model's server ({e.strerror}): set RAG_DATA_DIR to a writable folder"
        ) from None
    with _locked(home / "start.lock"):
        state = read_state(settings)  # another command may have started it while this one waited
        if state and _matches(state, model, settings) and _healthy(state):
            touch(settings)
            return _endpoint(state)
        if state:
            _terminate(state["pid"])
        return _start(settings, model, home, on_phase)


def _start(settings: Settings, model: Path, home: Path, on_phase: Phase | None) -> Endpoint:
    from rag.local.weights import human

    size = human(model.stat().st_size)
    if on_phase:
        on_phase(f"loading the local model ({model.name}, {size}, {settings.local_threads} threads): cold start")
    key = secrets.token_urlsafe(24)
    env = {**os.environ, daemon.KEY_ENV: key}
    cmd = [
        sys.executable,
        "-m",
        "rag.local.daemon",
        "--model",
        str(model),
        "--dir",
        str(home),
        "--threads",
        str(settings.local_threads),
        "--ctx",
        str(settings.local_ctx),
        "--idle",
        str(settings.local_idle),
        "--max-tokens",
        str(settings.local_max_tokens),
    ]
    (home / daemon.STATE).unlink(missing_ok=True)
    t0 = time.monotonic()
    with open(home / daemon.LOG, "wb") as log:
        proc = subprocess.Popen(
            cmd, stdin=subprocess.DEVNULL, stdout=log, stderr=log, env=env, start_new_session=True, close_fds=True
        )
    deadline = t0 + settings.local_load_timeout
    while time.monotonic() < deadline:
        code = proc.poll()
        state = read_state(settings)
        if state and state.get("pid") == proc.pid:
            return _endpoint(state, time.monotonic() - t0)
        if code is not None:
            raise LocalServerError(f"the local model's server stopped while loading {model.name}: {_why(home)}")
        time.sleep(0.1)
    _terminate(proc.pid)
    raise LocalServerError(
        f"the local model ({model.name}) did not load within {settings.local_load_timeout:g}s "
        "(RAG_LOCAL_LOAD_TIMEOUT): the machine may be short of memory or busy; see " + str(home / daemon.LOG)
    )


def _why(home: Path) -> str:
    """The most telling line of a failed start's log: llama.cpp's first error line (its timestamp dropped),
    else the last line."""
    try:
        lines = [ln.strip() for ln in (home / daemon.LOG).read_text(errors="replace").splitlines() if ln.strip()]
    except OSError:
        lines = []
    stamp = re.compile(r"^[\d.]+\s+[EWI]\s+")
    errors = [ln for ln in lines if re.match(r"^[\d.]+\s+E\s+", ln) or re.search(r"\b(?:failed|error)\b", ln, re.I)]
    errors = [ln for ln in errors if "exiting due to" not in ln] or errors
    line = errors[0] if errors else (lines[-1] if lines else "no output")
    return " ".join(stamp.sub("", line).split())[:300] + f" (log: {home / daemon.LOG})"


def touch(settings: Settings) -> None:
    """Reset the server's idle clock (every client does, before and after each request)."""
    with contextlib.suppress(OSError):
        (folder(settings) / daemon.LAST_USED).touch()


@contextlib.contextmanager
def lease(settings: Settings) -> Iterator[None]:
    """Keep the server loaded while this process runs (``rag chat``, ``rag serve``)."""
    path = folder(settings) / daemon.LEASES / str(os.getpid())
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch()
    except OSError:
        pass
    try:
        yield
    finally:
        path.unlink(missing_ok=True)
        touch(settings)


def stop(settings: Settings) -> bool:
    """Stop the running server; whether there was one."""
    state = read_state(settings)
    if state is None:
        (folder(settings) / daemon.STATE).unlink(missing_ok=True)
        return False
    _terminate(state["pid"])
    return True


def status(settings: Settings) -> dict[str, Any]:
    """What ``rag local status`` shows: whether a server runs, for which model, since when, idle how long."""
    state = read_state(settings)
    home = folder(settings)
    if state is None:
        return {"running": False, "folder": str(home)}
    return {
        "running": True,
        "pid": state["pid"],
        "url": f"http://127.0.0.1:{state['port']}/v1",
        "model": state["model"],
        "threads": state["threads"],
        "ctx": state["ctx"],
        "load_s": state["load_s"],
        "up_s": round(time.time() - state["started"], 1),
        "idle_s": round(daemon.idle_for(home), 1),
        "idle_limit_s": settings.local_idle,
        "leases": daemon.live_leases(home),
        "folder": str(home),
    }


def _terminate(pid: int, wait: float = 10.0) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline and daemon.pid_alive(pid):
        time.sleep(0.05)
    if daemon.pid_alive(pid):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


def require_xllamacpp() -> None:
    import importlib.util

    if importlib.util.find_spec("xllamacpp") is None:
        raise ConfigError(
            "the local engine needs llama.cpp: run pip install -e '.[local]' (or point OPENAI_BASE_URL at a server)"
        )
