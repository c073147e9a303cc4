"""The bottom layer of text handling, shared by every stage: the analyzer (``terms``: the same stemming and
stopwords index the chunks and weigh question words for the answerers), the ``[n]`` citation marker, and the
``OnText`` callback that streams answer text, and ``jaccard`` overlap. Imports nothing of the package.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Hashable
from collections.abc import Set as AbstractSet
from functools import lru_cache

#: A callback that receives answer text as it is produced (streaming to a terminal or an SSE stream).
OnText = Callable[[str], None]

#: The ``[n]`` citation marker, wherever text carries one (answers, brief sentences, overviews).
MARKER = re.compile(r"\[(\d{1,3})\]")

STOPWORDS = frozenset(
    """a about above after again against all am an and any are as at be because been before being below
    between both but by can could did do does doing down during each few for from further had has have
    having he her here hers herself him himself his how i if in into is it its itself just me more most
    my myself no nor not now of off on once only or other our ours ourselves out over own same she
    should so some such than that the their theirs them themselves then there these they this those
    through to too under until up very was we were what when where which while who whom why will with
    would you your yours yourself yourselves said says say also according per via""".split()
)
_WORD = re.compile(r"[a-z0-9]+(?:[.,][0-9]+)*")


@lru_cache(maxsize=1 << 16)
def stem(word: str) -> str:
    """A light suffix stemmer: enough to match plurals and -ing/-ed forms, cheap and predictable."""
    if len(word) <= 3 or word.isdigit():
        return word
    for suffix, repl, min_len in (("ies", "y", 5), ("sses", "ss", 5), ("ing", "", 6), ("ed", "", 5)):
        if word.endswith(suffix) and len(word) >= min_len:
            return word[: -len(suffix)] + repl
    if word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


def terms(text: str) -> list[str]:
    """Index terms: lower-cased words without stopwords, numbers without thousands separators, stemmed."""
    return list(_terms(text))


@lru_cache(maxsize=1 << 16)
def _terms(text: str) -> tuple[str, ...]:
    # The reader asks for the terms of the same sentences and words many times per question.
    text = text.lower().replace("’", "'")
    text = re.sub(r"'s\b", "", text)
    out = []
    for w in _WORD.findall(text):
        w = w.replace(",", "")
        if w not in STOPWORDS:
            out.append(stem(w))
    return tuple(out)


def jaccard(a: AbstractSet[Hashable], b: AbstractSet[Hashable]) -> float:
    """The share of the two sets' members they have in common (0 when either is empty)."""
    return len(a & b) / len(a | b) if a and b else 0.0
