"""The words of a claim or a source span, as the meaning checks read them: tokens with a matching root and
their position, the words around one, and relative time expressions ("later this week")."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from rag.cite.lexicon import LEMMAS, MONTHS, TIME_FRAMES, WEEKDAYS
from rag.text import STOPWORDS, stem

_TOKEN = re.compile(r"[A-Za-z]+(?:['’][A-Za-z]+)*|\d[\d,.]*\d|\d|[.,;:!?()\"“”—–]")
BOUNDARY = frozenset('.,;:!?()"“”—–') | {"but", "while", "whereas", "although", "though", "and", "which", "who"}


@dataclass(frozen=True)
class Token:
    text: str
    lower: str
    root: str
    index: int
    initial: bool  #: first word of a sentence or quotation

    @property
    def capitalised(self) -> bool:
        return self.text[0].isupper()

    @property
    def word(self) -> bool:
        return self.text[0].isalpha()


def root(word: str) -> str:
    """A matching key: lower case, possessive dropped, lightly stemmed ("denied", "denies", "deny" → "deny")."""
    w = re.sub(r"['’]s$", "", word.lower()).replace("’", "'")
    if not w[:1].isalpha():
        return w.replace(",", "")
    s = stem(LEMMAS.get(w, w))
    s = s.rstrip("e") if len(s) > 3 else s
    return s[:-1] + "y" if s.endswith("i") and len(s) > 3 else s


@lru_cache(maxsize=4096)
def tokens(text: str) -> tuple[Token, ...]:
    out: list[Token] = []
    initial = True
    for m in _TOKEN.finditer(text):
        t = m.group()
        out.append(Token(t, t.lower().replace("’", "'"), root(t), len(out), initial and t[0].isalnum()))
        if t[0].isalnum():
            initial = False
        if t in {".", "!", "?", ":", '"', "“"}:
            initial = True
    return tuple(out)


def content_roots(text: str) -> set[str]:
    return {t.root for t in tokens(text) if t.text[0].isalnum() and t.lower not in STOPWORDS}


def word_context(toks: tuple[Token, ...], i: int) -> dict[str, float]:
    before = [t for t in toks[:i] if t.word][-6:]
    after = [t for t in toks[i + 1 :] if t.word][:6]
    out: dict[str, float] = {}
    for dist, t in [*((len(before) - k, t) for k, t in enumerate(before)), *((k + 1, t) for k, t in enumerate(after))]:
        if t.lower not in STOPWORDS and t.lower not in WEEKDAYS and t.lower not in MONTHS:
            out[t.root] = max(out.get(t.root, 0.0), 1.0 if dist <= 3 else 0.5)
    return out


def fit(a: dict[str, float], b: dict[str, float]) -> float:
    return sum(min(w, b[k]) for k, w in a.items() if k in b)


def frames(text: str) -> list[tuple[str, str, str]]:
    """(expression, direction, unit) for each relative time expression ("later this week": future, week)."""
    out: list[tuple[str, str, str]] = []
    taken: list[tuple[int, int]] = []
    for pattern, direction in TIME_FRAMES:
        for m in pattern.finditer(text):
            if any(a < m.end() and m.start() < b for a, b in taken):
                continue
            taken.append(m.span())
            words = m.group().lower().split()
            unit = words[-1].rstrip("s") if len(words) > 1 else ""
            out.append((m.group().lower(), direction, unit))
    return out
