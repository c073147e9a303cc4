"""A small fake chat model for unit tests: scripted replies, streamed in pieces, every call recorded."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field

from rag.prompts import Prompt
from rag.provider import Usage


@dataclass
class Call:
    prompt: str  #: the prompt's name
    inputs: dict[str, str]
    temperature: float | None


@dataclass
class FakeChat:
    """Implements ``rag.provider.ChatModel``. Replies are used in order; the last one repeats."""

    replies: list[str]
    piece: int = 5  #: characters per streamed delta
    calls: list[Call] = field(default_factory=list)
    name: str = "fake-chat"

    def complete(
        self, prompt: Prompt, inputs: Mapping[str, str], *, temperature: float | None = None, usage: Usage | None = None
    ) -> str:
        prompt.messages(inputs)  # the inputs must fill the prompt, as they would for a real model
        self.calls.append(Call(prompt.name, dict(inputs), temperature))
        return self.replies.pop(0) if len(self.replies) > 1 else self.replies[0]

    def stream(
        self, prompt: Prompt, inputs: Mapping[str, str], *, temperature: float | None = None, usage: Usage | None = None
    ) -> Iterator[str]:
        text = self.complete(prompt, inputs, temperature=temperature)
        for i in range(0, len(text), self.piece):
            yield text[i : i + self.piece]
