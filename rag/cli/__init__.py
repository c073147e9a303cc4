"""The ``rag`` command: parse, call the library, print. Errors become one line and an exit status here.

Exit status: 0 success; 1 a library error (message says what to do); 2 bad usage or configuration;
3 ingest finished but skipped some input; 130 interrupted.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import signal
import sys
import threading
from collections.abc import Sequence
from typing import Any, NoReturn

from rag.cli.parser import build_parser
from rag.errors import RagError
from rag.phases import Phases
from rag.settings import Settings


def settings_from(args: argparse.Namespace) -> Settings:
    overrides: dict[str, Any] = {}
    for name in ("data_dir", "chroma_url", "collection"):
        if hasattr(args, name):
            overrides[name] = getattr(args, name)
    if hasattr(args, "engine"):
        overrides["generator"] = args.engine
    if hasattr(args, "verify"):
        overrides["verify"] = args.verify
    return Settings.from_env(**overrides)


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; its exit status."""
    return run_command(argv)[0]


def entry() -> NoReturn:
    """The ``rag`` command (and ``python -m rag``). A command that wrote nothing (``rag ask`` that did not have
    to load the sample) ends without the interpreter's teardown: unloading chromadb, ONNX Runtime and their
    threads took 0.3–0.45 s of a 2.5 s cold ask, and with nothing written there is nothing for it to finish."""
    code, read_only = run_command(None)
    if read_only:
        with contextlib.suppress(BrokenPipeError):  # a reader that went away has all it wanted
            sys.stdout.flush()
            sys.stderr.flush()
        os._exit(code)
    sys.exit(code)


def run_command(argv: Sequence[str] | None) -> tuple[int, bool]:
    """The exit status, and whether the command finished having written nothing (``args.read_only``)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if not args.command:
        parser.print_help()
        return 2, False
    code = _dispatch(args)
    return code, code == 0 and bool(getattr(args, "read_only", False))


def _dispatch(args: argparse.Namespace) -> int:
    out, err = sys.stdout, sys.stderr
    if threading.current_thread() is threading.main_thread():
        # SIGTERM (a service manager, `timeout`) stops a run as Ctrl-C does: between store calls, lock released.
        # SIGINT too, explicitly: a process started in the background of a script inherits SIGINT ignored, and
        # Python then leaves it ignored, so `kill -INT` would let the run go on.
        signal.signal(signal.SIGTERM, signal.default_int_handler)
        signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        args.phases = Phases()
        settings = settings_from(args)
        # Every line printed passes the redactor: a key echoed by a model or an error never reaches the terminal.
        sys.stdout, sys.stderr = _Redacting(out, settings.redact), _Redacting(err, settings.redact)
        args.phases.mark("settings")
        return int(args.func(args, settings) or 0)
    except RagError as exc:
        print(f"rag: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("\nrag: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        os.dup2(os.open(os.devnull, os.O_WRONLY), out.fileno())
        return 1
    finally:
        sys.stdout, sys.stderr = out, err


class _Redacting(io.TextIOBase):
    """A text stream that passes everything written through ``redact`` first."""

    def __init__(self, inner: Any, redact: Any) -> None:
        self._inner = inner
        self._redact = redact

    def write(self, text: str) -> int:
        self._inner.write(self._redact(text))
        return len(text)

    def flush(self) -> None:
        self._inner.flush()

    def isatty(self) -> bool:
        return bool(self._inner.isatty())

    def fileno(self) -> int:
        return int(self._inner.fileno())
