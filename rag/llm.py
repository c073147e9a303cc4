"""The LLM answerer: an LCEL chain (prompt | chat model | text) over the retrieved chunks, streamed
sentence by sentence through citation checks: unknown ``[n]`` keys are removed, each cited sentence is
checked against its cited chunk, and sentences the sources do not support are marked.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from langchain_core.output_parsers import StrOutputParser
from langchain_core.prompts import ChatPromptTemplate

from rag.cite import MARKER, as_of, best_span, citation, markers, normalise_markers, strip_markers, support
from rag.prompts import Prompt
from rag.provider import is_provider_failure, provider_error
from rag.sentences import split_spans
from rag.settings import Settings
from rag.types import CANNOT_ANSWER, Answer, Citation, Hit

OnText = Callable[[str], None]
UNVERIFIED = "[unverified]"
#: Share of a sentence's content words its cited chunk must contain for the sentence to count as supported.
MIN_SUPPORT = 0.6
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
class _Checker:
    """Validates sentences one at a time and accumulates the answer's citations."""

    hits: Sequence[Hit]
    renumber: dict[int, int] = field(default_factory=dict)
    citations: list[Citation] = field(default_factory=list)
    unsupported: list[str] = field(default_factory=list)
    refused: bool = False

    def check(self, sentence: str) -> str:
        valid = [k for k in dict.fromkeys(markers(sentence)) if 1 <= k <= len(self.hits)]
        text = MARKER.sub(lambda m: m.group() if int(m.group(1)) in valid else "", sentence)
        text = re.sub(r"\s+([.,;:!?])", r"\1", re.sub(r"\s{2,}", " ", text)).strip()
        supported = any(support(text, self.hits[k - 1].chunk.text) >= MIN_SUPPORT for k in valid)
        for k in valid:
            if k not in self.renumber:
                chunk = self.hits[k - 1].chunk
                lo, hi = best_span(text, chunk)
                self.renumber[k] = len(self.citations) + 1
                self.citations.append(citation(self.renumber[k], chunk, lo, hi))
        text = MARKER.sub(lambda m: f"[{self.renumber[int(m.group(1))]}]", text)
        if not supported and re.search(r"[^\W\d_]{3}", strip_markers(text)):
            self.unsupported.append(text)
            text = f"{text} {UNVERIFIED}"
        return text


class LLMGenerator:
    """Answers with a chat model through an LCEL chain; same interface as the extractive answerer."""

    name = "llm"

    def __init__(self, settings: Settings, model: Any, prompt: Prompt, today: dt.date | None = None) -> None:
        self.settings = settings
        self.prompt = prompt
        self.today = today or dt.date.today()
        template = ChatPromptTemplate.from_messages([("system", prompt.system), ("human", prompt.user)])
        self.chain = template | model | StrOutputParser()

    def inputs(self, question: str, hits: Sequence[Hit]) -> dict[str, str]:
        return {
            "question": question,
            "sources": format_sources(hits),
            "cannot_answer": CANNOT_ANSWER,
            "today": self.today.isoformat(),
        }

    def _tokens(self, question: str, hits: Sequence[Hit]) -> Iterator[str]:
        try:
            yield from self.chain.stream(self.inputs(question, hits))
        except Exception as exc:
            if is_provider_failure(exc):
                raise provider_error(exc, self.settings) from None
            raise

    def generate(self, question: str, hits: Sequence[Hit], on_text: OnText | None = None) -> Answer:
        if not hits:
            if on_text:
                on_text(CANNOT_ANSWER)
            return Answer(question=question, text=CANNOT_ANSWER, refused=True, engine=self.name)
        checker = _Checker(hits)
        stream = SentenceStream()
        out: list[str] = []

        def emit(sentences: list[str]) -> None:
            for s in sentences:
                if CANNOT_ANSWER in s:
                    # The refusal sentence only counts on its own; after an answer it is noise.
                    checker.refused = checker.refused or not out
                    continue
                if checker.refused:
                    continue
                checked = checker.check(s)
                out.append(checked)
                if on_text:
                    on_text(checked + " ")

        for delta in self._tokens(question, hits):
            emit(stream.feed(delta))
        emit(stream.flush())
        if checker.refused or not out:
            if on_text:
                on_text(CANNOT_ANSWER)
            return Answer(question=question, text=CANNOT_ANSWER, refused=True, engine=self.name, hits=list(hits))
        return Answer(
            question=question,
            text=" ".join(out),
            citations=checker.citations,
            as_of=as_of(checker.citations),
            engine=self.name,
            unsupported=checker.unsupported,
            hits=list(hits),
        )
