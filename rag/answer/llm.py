"""The LLM answerer: the prompt and the retrieved chunks to the chat model (``provider.ChatModel``), its
reply streamed sentence by sentence through the citation checks of ``rag/cite/cite.py``: unknown ``[n]`` keys
are removed, each claim is aligned with the span of its cited chunk that supports it (that span is what its
citation shows) and checked for meaning; claims the sources do not support are marked ``[unverified]``.
An answer none of whose sentences holds is a refusal, the model's text kept aside, labelled unverified.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from rag.cite.cite import CitationBook, ClaimChecker, as_of, normalise_markers, strip_markers
from rag.cite.verify import LLMVerifier
from rag.ingest.sentences import split_spans
from rag.prompts import Prompt
from rag.provider import ChatModel, Usage
from rag.settings import Settings
from rag.text import OnText
from rag.types import CANNOT_ANSWER, Answer, ClaimCheck, FollowUp, Hit


class Gate(Protocol):
    """Decides before the model call: a refusal when the context cannot answer, else None."""

    def __call__(
        self,
        question: str,
        hits: Sequence[Hit],
        on_text: OnText | None,
        *,
        engine: str,
        follow_up: FollowUp | None = None,
    ) -> Answer | None: ...


UNVERIFIED = "[unverified]"
_FORBIDDEN_IN_DATA = re.compile(r"[\u2028\u2029]")


def format_sources(hits: Sequence[Hit]) -> str:
    """The retrieved chunks as a JSON array: quoted data the article text cannot break out of."""
    records = [
        {
            "source": i,
            "title": h.chunk.title,
            "outlet": h.chunk.outlet or "unknown",
            "published": h.chunk.published.isoformat() if h.chunk.published else "unknown",
            "text": _FORBIDDEN_IN_DATA.sub(" ", h.chunk.text),
        }
        for i, h in enumerate(hits, start=1)
    ]
    return json.dumps(records, ensure_ascii=False, indent=1)


class SentenceStream:
    """Turns a token stream into complete sentences (citation markers stay with their sentence)."""

    def __init__(self) -> None:
        self._buf = ""

    def feed(self, delta: str) -> list[str]:
        self._buf += delta
        text = normalise_markers(self._buf)
        spans = split_spans(text)
        if len(spans) < 2 or not re.search(r"[^\W\d_]", strip_markers(text[spans[-1][0] :])):
            return []
        self._buf = text[spans[-1][0] :]
        return [text[a:b] for a, b in spans[:-1]]

    def flush(self) -> list[str]:
        text = normalise_markers(self._buf)
        self._buf = ""
        return [text[a:b] for a, b in split_spans(text)]


@dataclass
class Answering:
    """One answer being checked: sentences in, the checked text out (streamed once it holds something)."""

    hits: Sequence[Hit]
    redact: Callable[[str], str]
    on_text: OnText | None
    book: CitationBook = field(default_factory=CitationBook)
    sentences: list[str] = field(default_factory=list)
    claims: list[ClaimCheck] = field(default_factory=list)
    unsupported: list[str] = field(default_factory=list)
    held: list[str] = field(default_factory=list)  #: checked text not streamed until something holds
    refused: bool = False

    def __post_init__(self) -> None:
        self.checker = ClaimChecker([h.chunk for h in self.hits], self.book.add)

    @property
    def holds(self) -> bool:
        return any(c.supported for c in self.claims)

    def take(self, sentences: Iterable[str]) -> None:
        for raw in sentences:
            if CANNOT_ANSWER in raw:
                # The refusal sentence only counts on its own; after an answer it is noise.
                self.refused = self.refused or not self.sentences
                continue
            if self.refused:
                continue
            text, checks = self.checker.sentence(self.redact(raw))
            self.claims += checks
            if not all(c.supported for c in checks):
                self.unsupported.append(text)
                text = f"{text} {UNVERIFIED}"
            self.sentences.append(text)
            self.held.append(text)
            # An answer that turns into a refusal must not have been shown: nothing streams before a claim holds.
            if self.on_text and self.holds:
                for s in self.held:
                    self.on_text(s + " ")
                self.held.clear()


class LLMGenerator:
    """Answers with a chat model; same interface as the extractive answerer."""

    name = "llm"

    def __init__(
        self,
        settings: Settings,
        model: ChatModel,
        prompt: Prompt,
        today: dt.date | None = None,
        verifier: LLMVerifier | None = None,
        gate: Gate | None = None,
    ) -> None:
        self.settings = settings
        self.gate = gate
        self.model = model
        self.prompt = prompt
        self.today = today or dt.date.today()
        if verifier is None and settings.verify == "llm":
            verifier = LLMVerifier(settings, model)
        self.verifier = verifier

    def inputs(self, question: str, hits: Sequence[Hit]) -> dict[str, str]:
        return {
            "question": question,
            "sources": format_sources(hits),
            "cannot_answer": CANNOT_ANSWER,
            "today": self.today.isoformat(),
        }

    def generate(
        self,
        question: str,
        hits: Sequence[Hit],
        on_text: OnText | None = None,
        *,
        follow_up: FollowUp | None = None,
    ) -> Answer:
        """The model's answer, checked claim by claim (``follow_up`` only informs the gate: the model reads the
        standalone question its condense step wrote)."""
        if not hits:
            return self._refusal(question, hits, on_text)
        if self.gate is not None:  # the reader's answerability: no model call when the context cannot answer
            refused = self.gate(question, hits, on_text, engine=self.name, follow_up=follow_up)
            if refused is not None:
                return refused
        usage = Usage()
        reply = self.model.stream(self.prompt, self.inputs(question, hits), usage=usage)
        answer = self.check(question, hits, reply, on_text)
        if usage.reported:
            answer.usage = {"prompt_tokens": usage.prompt_tokens, "completion_tokens": usage.completion_tokens}
        return answer

    def check(self, question: str, hits: Sequence[Hit], reply: Iterable[str], on_text: OnText | None) -> Answer:
        """The answer from a model's reply (token deltas), every claim checked against the chunk it cites."""
        run = Answering(hits, self.settings.redact, on_text)
        stream = SentenceStream()
        for delta in reply:
            run.take(stream.feed(delta))
        run.take(stream.flush())
        if self.verifier is not None and run.claims:
            self.verifier.judge(run.claims, run.book.citations)
        if run.refused or not run.sentences:
            return self._refusal(question, hits, on_text)
        if not run.holds:
            # Nothing survived: a refusal, with the model's text kept aside (markers gone: they cite nothing).
            answer = self._refusal(question, hits, on_text)
            answer.unverified_text = strip_markers(" ".join(run.sentences).replace(UNVERIFIED, "")).strip()
            answer.unverified_text = re.sub(r"\s+([.,;:!?])", r"\1", answer.unverified_text)
            answer.claims = [
                ClaimCheck(strip_markers(c.text), [], c.supported, c.reasons, c.llm, c.llm_reason) for c in run.claims
            ]
            return answer
        return Answer(
            question=question,
            text=" ".join(run.sentences),
            citations=run.book.citations,
            as_of=as_of(run.book.citations),
            engine=self.name,
            unsupported=run.unsupported,
            claims=run.claims,
            answered_by="model",
            model=self.model.name,
            hits=list(hits),
        )

    def _refusal(self, question: str, hits: Sequence[Hit], on_text: OnText | None) -> Answer:
        if on_text:
            on_text(CANNOT_ANSWER)
        return Answer(question=question, text=CANNOT_ANSWER, refused=True, engine=self.name, hits=list(hits))
