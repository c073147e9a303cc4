"""Text in an article that speaks to an assistant or to the reader's software rather than reporting news: a
planted instruction ("Ignore all previous instructions…", "SYSTEM: you are now…"). Such a sentence is never given
to a model as evidence and never supports a claim; it stays in the article, where a reader can see it."""

from __future__ import annotations

import re

_PLANTED = re.compile(
    r"\b(?:ignore|disregard|forget|override)\s+(?:all\s+|any\s+|the\s+|your\s+)*(?:previous|prior|above|earlier|"
    r"preceding|other)\s+(?:instructions?|prompts?)\b"
    r"|\byou\s+are\s+now\s+(?:an?\s+|the\s+)?(?:assistant|ai|chatbot|model|dan|system)\b"
    r"|^\W*(?:system|assistant|developer|user)\s*(?:prompt)?\s*:"
    r"|\bas\s+an?\s+(?:ai|language|assistant|chatbot)(?:\s+(?:assistant|model))?\s*,?\s+you\s+(?:must|should|will)\b"
    r"|\b(?:answer|reply|respond)\s+(?:only\s+)?(?:with|by\s+saying)\s+[\"“']"
    r"|\bin\s+every\s+(?:answer|reply|response)\b"
    r"|\bnew\s+instructions?\s*:",
    re.IGNORECASE,
)


def planted(sentence: str) -> bool:
    """Whether ``sentence`` addresses an assistant or model with an instruction."""
    return bool(_PLANTED.search(sentence))
