"""The ``rag`` command: parse, call the library, print. Errors become one line and an exit status here.

Exit status: 0 success; 1 a library error (message says what to do); 2 bad usage or configuration;
3 ingest finished but skipped some input; 130 interrupted.
"""

from __future__ import annotations

import argparse
import io
import os
import signal
import sys
import threading
from collections.abc import Sequence
from typing import Any

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
    parser = build_parser()
    args = parser.parse_args(argv)
    if not args.command:
        parser.print_help()
        return 2
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
