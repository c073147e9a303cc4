"""The local model as a ``ChatModel``: the OpenAI-compatible client of ``rag.provider`` pointed at the loopback
llama.cpp server that ``rag.local.client`` keeps warm, started on first use.

Everything an LLM does in this project (answers, condensing follow-ups, briefs, ``RAG_VERIFY=llm``, judging)
goes through ``ChatModel``, so all of it runs on the local model with ``RAG_GENERATOR=local``, through the same
claim checks. The server's API key joins the settings' secrets, so it is redacted from every output.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING

from rag.errors import ConfigError
from rag.local import client

if TYPE_CHECKING:
    from rag.prompts import Prompt
    from rag.provider import OpenAIChat, Usage
    from rag.settings import Settings


class LocalChat:
    """``ChatModel`` over the local llama.cpp server; the server starts (cold load) at the first call or at
    ``start``, and each call resets its idle clock."""

    def __init__(self, settings: Settings, on_phase: client.Phase | None = None) -> None:
        self.settings = settings
        self.on_phase = on_phase
        self._lock = threading.Lock()
        self._chat: OpenAIChat | None = None
        self._endpoint: client.Endpoint | None = None
        self.cold_load_s: float | None = None  #: the cold load this process waited for, if any

    @property
    def name(self) -> str:
        return self.settings.model_label

    def start(self) -> client.Endpoint:
        """The running server (started and loaded if it was not): call it early to load while other work runs."""
        with self._lock:
            endpoint = client.ensure(self.settings, self.on_phase)
            if endpoint.cold_load_s is not None:
                self.cold_load_s = endpoint.cold_load_s
                if self.on_phase:  # said before anything is answered with it
                    self.on_phase(f"local model loaded in {endpoint.cold_load_s:.1f}s")
            if self._chat is None or self._endpoint is None or endpoint.base_url != self._endpoint.base_url:
                from rag.provider import OpenAIChat

                served = self.settings.replace(
                    openai_base_url=endpoint.base_url, openai_api_key=endpoint.key, model=endpoint.name
                )
                self._chat = OpenAIChat(served, max_tokens=self.settings.local_max_tokens)
            self._endpoint = endpoint
            return endpoint

    def _ready(self) -> OpenAIChat:
        self.start()
        assert self._chat is not None
        return self._chat

    def complete(
        self, prompt: Prompt, inputs: Mapping[str, str], *, temperature: float | None = None, usage: Usage | None = None
    ) -> str:
        return "".join(self.stream(prompt, inputs, temperature=temperature, usage=usage))

    def stream(
        self, prompt: Prompt, inputs: Mapping[str, str], *, temperature: float | None = None, usage: Usage | None = None
    ) -> Iterator[str]:
        chat = self._ready()
        client.touch(self.settings)
        try:
            yield from chat.stream(prompt, inputs, temperature=temperature, usage=usage)
        finally:
            client.touch(self.settings)

    def warm_in_background(self) -> threading.Thread:
        """Start (or find) the server on a thread, so a chat or page loads the model while it waits for input."""

        def run() -> None:
            try:
                self.start()
            except ConfigError:  # a setting is wrong: the question that needs the model says so, once
                return
            except Exception as exc:  # reported again, as one line, by the first question that needs it
                if self.on_phase:
                    self.on_phase(f"the local model did not load ({exc}); the first question will try again")

        thread = threading.Thread(target=run, daemon=True, name="local-model-load")
        thread.start()
        return thread
