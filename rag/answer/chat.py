"""Conversations: multi-turn questions, with follow-ups rewritten into standalone questions.

With an LLM the rewrite is a prompt (``prompts/condense.md``); without one, ``rag.answer.followup`` resolves pronouns
against the entity the previous answer marked ("he" → "Ronald Kiger") and carries the previous subject's words
("which ingredient is suspected?" → "… (McDonald's E. coli outbreak)"), so retrieval and the reader stay on it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from rag.answer.followup import Turn as FollowTurn
from rag.answer.followup import resolve
from rag.cite.cite import strip_markers
from rag.pipeline import Pipeline
from rag.prompts import load_prompt
from rag.text import OnText
from rag.types import Answer, Filters, FollowUp

if TYPE_CHECKING:
    from rag.provider import ChatModel

HISTORY_TURNS = 3


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
        """The question as retrieval searches it: a follow-up rewritten to stand on its own."""
        return self._rewrite(question)[0]

    def _rewrite(self, question: str) -> tuple[str, FollowUp | None]:
        """The standalone question, and for a follow-up resolved without an LLM what the reader should read
        (the resolved question, and the quotes the previous answer already gave)."""
        if not self.turns:
            return question, None
        if self.chat_model is not None:
            return self._condense(question), None
        last = self.turns[-1].answer
        previous = FollowTurn(
            last.standalone_question or self.turns[-1].question,
            answer_entity(last),
            "" if last.refused else strip_markers(last.text),
            tuple(" ".join(c.quote.split()) for c in last.citations),
        )
        standalone = resolve(question, previous)
        if standalone == question:
            return question, None
        return standalone, FollowUp(frozenset(previous.quoted))

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
        standalone, follow_up = self._rewrite(question)
        answer = self.pipeline.ask(standalone, filters=self.filters, on_text=on_text, follow_up=follow_up)
        answer.question = question
        answer.standalone_question = standalone
        self.turns.append(Turn(question, answer))
        return answer


def answer_entity(answer: Answer) -> str:
    """The phrase an answer marked as the answer ("" for a refusal or an unmarked answer)."""
    if answer.refused or answer.answer_span is None:
        return ""
    lo, hi = answer.answer_span
    return answer.text[lo:hi]


__all__ = ["Conversation", "Turn", "answer_entity"]
