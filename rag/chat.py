"""Conversations: multi-turn questions, with follow-ups rewritten into standalone questions.

With an LLM the rewrite is a prompt (``prompts/condense.md``); without one, a follow-up ("and how many were
there last week?") carries the previous question's subject words over, which is enough for retrieval and
for the extractive answerer to find the right sentences.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from rag.cite import strip_markers
from rag.lexical import terms
from rag.pipeline import Pipeline
from rag.prompts import load_prompt
from rag.types import Answer, Filters

if TYPE_CHECKING:
    from rag.provider import ChatModel

OnText = Callable[[str], None]
HISTORY_TURNS = 3

_FOLLOW_UP = re.compile(
    r"^\s*(and|but|also|so|then|what about|how about|what of|same for)\b"
    r"|\b(it|its|they|them|their|theirs|those|these|that|this|he|him|his|she|her|there|then)\b",
    re.IGNORECASE,
)
_QUESTION_WORDS = frozenset(
    "what which who whom whose when where why how many much does did do is are was were has have had".split()
)
# Words that set the time of a follow-up rather than its subject.
_TIME_WORDS = frozenset("week month year day today yesterday last earlier later now ago recent recently".split())


def is_follow_up(question: str) -> bool:
    content = [t for t in terms(question) if t not in _TIME_WORDS]
    return bool(_FOLLOW_UP.search(question)) or len(content) < 2


def carry_subject(previous: str, question: str) -> str:
    """``question`` plus the subject words of ``previous`` it lacks, when it reads as a follow-up."""
    if not previous or not is_follow_up(question):
        return question
    have = set(terms(question))
    words = []
    for w in re.findall(r"[\w’'-]+", strip_markers(previous)):
        t = terms(w)
        if t and t[0] not in have and w.lower() not in _QUESTION_WORDS and t[0] not in _TIME_WORDS:
            words.append(w)
            have.add(t[0])
    return f"{question.rstrip()} ({' '.join(words)})" if words else question


@dataclass
class Turn:
    question: str
    answer: Answer


@dataclass
class Conversation:
    """A chat session over one pipeline. ``ask`` rewrites follow-ups, answers, and remembers."""

    pipeline: Pipeline
    chat_model: ChatModel | None = None  #: when set, follow-ups are rewritten by the LLM
    filters: Filters | None = None
    turns: list[Turn] = field(default_factory=list)

    def reset(self) -> None:
        self.turns.clear()

    @property
    def last(self) -> Answer | None:
        return self.turns[-1].answer if self.turns else None

    def standalone(self, question: str) -> str:
        if not self.turns:
            return question
        if self.chat_model is None:
            return carry_subject(self.turns[-1].answer.standalone_question, question)
        return self._condense(question)

    def _condense(self, question: str) -> str:
        assert self.chat_model is not None
        prompt = load_prompt(self.pipeline.settings.prompts_dir, "condense")
        history = "\n".join(
            f"Q: {t.answer.standalone_question or t.question}\nA: {strip_markers(t.answer.text)[:600]}"
            for t in self.turns[-HISTORY_TURNS:]
        )
        text = self.chat_model.complete(prompt, {"history": history, "question": question})
        rewritten = " ".join(text.strip().strip('"').split())
        return rewritten if 3 <= len(rewritten) <= 1000 else question

    def ask(self, question: str, on_text: OnText | None = None) -> Answer:
        standalone = self.standalone(question)
        answer = self.pipeline.ask(standalone, filters=self.filters, on_text=on_text)
        answer.question = question
        answer.standalone_question = standalone
        self.turns.append(Turn(question, answer))
        return answer
