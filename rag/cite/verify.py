"""The optional LLM verification pass (``RAG_VERIFY=llm``, ``--verify llm``): the configured model judges
each (claim, aligned span) pair at temperature 0. Its verdict is recorded beside the deterministic one
(``ClaimCheck.llm``), never instead of it: the rules alone decide what is marked unverified or refused.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from rag.cite.cite import strip_markers
from rag.prompts import load_prompt, reply_json
from rag.provider import ChatModel
from rag.settings import Settings
from rag.types import Citation, ClaimCheck

VERDICTS = ("holds", "fails")
UNCLEAR = "unclear"


class LLMVerifier:
    """One model call per answer or brief story: every claim with the span(s) it was aligned to."""

    def __init__(self, settings: Settings, model: ChatModel) -> None:
        self.settings = settings
        self.model = model
        self.prompt = load_prompt(settings.prompts_dir, "verify")

    def judge(self, claims: Sequence[ClaimCheck], citations: Sequence[Citation]) -> None:
        """Set ``llm`` and ``llm_reason`` on each claim ("unclear" when the reply does not say)."""
        quotes = {c.key: c.quote for c in citations}
        pairs = [
            {"claim": i, "text": strip_markers(c.text), "source": " … ".join(quotes[k] for k in c.keys if k in quotes)}
            for i, c in enumerate(claims, start=1)
        ]
        if not pairs:
            return
        reply = self.model.complete(self.prompt, {"pairs": json.dumps(pairs, ensure_ascii=False)}, temperature=0)
        verdicts = parse(reply)
        for i, claim in enumerate(claims, start=1):
            verdict, reason = verdicts.get(i, (UNCLEAR, "the model gave no verdict"))
            claim.llm = verdict
            claim.llm_reason = " ".join(self.settings.redact(reason).split())[:300]


def parse(reply: str) -> dict[int, tuple[str, str]]:
    """claim number → (verdict, reason) from the model's JSON array; anything unreadable is left out."""
    out: dict[int, tuple[str, str]] = {}
    for item in reply_json(reply, list) or []:
        if not isinstance(item, dict):
            continue
        try:
            n = int(item.get("claim", ""))
        except (TypeError, ValueError):
            continue
        verdict = str(item.get("verdict", "")).strip().lower()
        out[n] = (verdict if verdict in VERDICTS else UNCLEAR, str(item.get("reason") or ""))
    return out
