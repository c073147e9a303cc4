"""Optional LLM judge for evaluations: faithfulness and answer relevance, temperature 0, three repeats
reported as mean ± spread. Never needed for CI; used only with ``rag eval --judge`` and an LLM configured."""

from __future__ import annotations

from rag.answer.llm import format_sources
from rag.prompts import load_prompt, reply_json
from rag.provider import ChatModel
from rag.settings import Settings
from rag.types import Answer

REPEATS = 3


class Judge:
    def __init__(self, settings: Settings, model: ChatModel) -> None:
        self.settings = settings
        self.prompt = load_prompt(settings.prompts_dir, "judge")
        self.model = model

    def grade(self, question: str, answer: Answer) -> dict[str, float]:
        """{faithfulness, faithfulness_spread, relevance, relevance_spread}; empty if every reply was unusable."""
        scores: dict[str, list[float]] = {"faithfulness": [], "relevance": []}
        inputs = {"question": question, "answer": answer.text, "sources": format_sources(answer.hits)}
        for _ in range(REPEATS):
            reply = self.model.complete(self.prompt, inputs, temperature=0)
            parsed = _parse(reply)
            for key in scores:
                if key in parsed:
                    scores[key].append(parsed[key])
        out: dict[str, float] = {}
        for key, values in scores.items():
            if values:
                out[key] = sum(values) / len(values)
                out[f"{key}_spread"] = max(values) - min(values)
        return out


def _parse(reply: str) -> dict[str, float]:
    data = reply_json(reply, dict) or {}
    out = {}
    for key in ("faithfulness", "relevance"):
        try:
            value = float(data[key])
        except (KeyError, TypeError, ValueError):
            continue
        if 0.0 <= value <= 1.0:
            out[key] = value
    return out
