"""Prompts as versioned data files in ``prompts/``: loaded, checked and rendered here.

A prompt file has YAML front matter (``name``, ``version``, ``inputs``) and ``## system`` / ``## user``
sections. Loading fails with a clear error if the placeholders in the text and the declared inputs differ,
so a typo is caught at start-up rather than as a garbled request.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from rag.errors import ConfigError

_SECTION = re.compile(r"^## (system|user)\s*$", re.MULTILINE)
_PLACEHOLDER = re.compile(r"(?<!\{)\{([a-z_]+)\}(?!\})")


@dataclass(frozen=True)
class Prompt:
    name: str
    version: int
    inputs: tuple[str, ...]
    system: str
    user: str

    def messages(self, inputs: Mapping[str, str]) -> list[tuple[str, str]]:
        """The (role, text) messages with ``inputs`` filled in (``{{``/``}}`` are literal braces)."""
        values = {k: inputs[k] for k in self.inputs}
        return [("system", self.system.format(**values)), ("user", self.user.format(**values))]

    @property
    def tag(self) -> str:
        """``name@version``, recorded in reports so a score can be traced to the prompt that made it."""
        return f"{self.name}@{self.version}"


def reply_json(reply: str, kind: type[dict[str, Any]] | type[list[Any]]) -> Any:
    """The JSON object (``dict``) or array (``list``) inside a model's reply, or None when there is none."""
    m = re.search(r"\{.*\}" if kind is dict else r"\[.*\]", reply, re.DOTALL)
    if not m:
        return None
    try:
        data = json.loads(m.group())
    except json.JSONDecodeError:
        return None
    return data if isinstance(data, kind) else None


@lru_cache(maxsize=32)
def load_prompt(directory: Path, name: str) -> Prompt:
    path = directory / f"{name}.md"
    try:
        text = path.read_text(encoding="utf-8")
    except OSError:
        raise ConfigError(f"prompt file {path} is missing; set RAG_PROMPTS to the project's prompts/ folder") from None
    m = re.match(r"\A---\n(.*?)\n---\n(.*)\Z", text, re.DOTALL)
    if not m:
        raise ConfigError(f"prompt file {path} has no front matter (---/name/version/inputs/---)")
    import yaml  # only a command that reads prompts pays for PyYAML

    meta = yaml.safe_load(m.group(1)) or {}
    sections = _SECTION.split(m.group(2))
    parts = {sections[i]: sections[i + 1].strip() for i in range(1, len(sections) - 1, 2)}
    if set(parts) != {"system", "user"}:
        raise ConfigError(f"prompt file {path} needs exactly a '## system' and a '## user' section")
    declared = tuple(meta.get("inputs") or ())
    used = set(_PLACEHOLDER.findall(parts["system"] + parts["user"]))
    if used != set(declared):
        raise ConfigError(
            f"prompt file {path}: placeholders {sorted(used)} do not match declared inputs {sorted(declared)}"
        )
    return Prompt(str(meta.get("name", name)), int(meta.get("version", 0)), declared, parts["system"], parts["user"])
