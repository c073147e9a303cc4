"""Saved briefs: ``<date>.<format>`` (and always ``<date>.json``) in the briefs folder, written atomically,
and the previous brief read back for the next one to compare with."""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path

from rag.brief.briefrender import render
from rag.errors import ConfigError
from rag.types import Briefing


def save(brief: Briefing, directory: Path, fmt: str) -> list[Path]:
    """Write ``<date>.<fmt>`` (and always ``<date>.json``, which the next brief compares against)."""
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for f in dict.fromkeys([fmt, "json"]):
        path = directory / f"{brief.date}.{f}"
        tmp = path.with_suffix(path.suffix + ".tmp")
        tmp.write_text(render(brief, f), encoding="utf-8")
        tmp.replace(path)
        written.append(path)
    return written


def read_brief(path: Path) -> Briefing:
    """A brief saved as JSON (``--previous FILE``); ``ConfigError`` saying why when it cannot be read."""
    try:
        return Briefing.from_dict(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ConfigError(f"cannot read previous brief {path}: {exc}") from None


def load_previous(directory: Path | None, before: dt.date) -> Briefing | None:
    """The newest saved brief (JSON) for a day before ``before``."""
    if directory is None or not directory.is_dir():
        return None
    candidates = sorted(p for p in directory.glob("*.json") if re.fullmatch(r"\d{4}-\d{2}-\d{2}", p.stem))
    for path in reversed(candidates):
        if dt.date.fromisoformat(path.stem) < before:
            try:
                return Briefing.from_dict(json.loads(path.read_text(encoding="utf-8")))
            except (ValueError, KeyError, TypeError):
                continue
    return None
