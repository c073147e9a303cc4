"""Reading a shipped model file pinned by sha256: a missing or changed file is a clear one-line error that says
how to get the right one back."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from rag.errors import ModelFileError


def write_pinned_json(path: Path, data: dict[str, Any]) -> str:
    """Write ``data`` as compact JSON in a stable key order (so a retrained model's hash changes only when it
    does); returns the file's sha256, to pin where the file is read."""
    path.parent.mkdir(parents=True, exist_ok=True)
    raw = (json.dumps(data, sort_keys=True, separators=(",", ":")) + "\n").encode()
    path.write_bytes(raw)
    return hashlib.sha256(raw).hexdigest()


def pinned_json(path: Path, expected: str, *, what: str, command: str, pin_in: str) -> tuple[dict[str, Any], str]:
    """The parsed JSON of ``path`` and its sha256, when it matches ``expected`` (empty: any file is accepted)."""
    if not path.is_file():
        raise ModelFileError(f"{what} {path} is missing; reinstall, or rebuild it with `{command}`")
    raw = path.read_bytes()
    actual = hashlib.sha256(raw).hexdigest()
    if expected and actual != expected:
        raise ModelFileError(
            f"{what} {path} has sha256 {actual[:12]}…, expected {expected[:12]}…; reinstall the package "
            f"(after `{command}`, pin the new hash in {pin_in})"
        )
    data: dict[str, Any] = json.loads(raw)
    return data, actual
