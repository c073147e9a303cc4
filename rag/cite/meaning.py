"""What a claim asserts, compared with the source span it is aligned to: numbers (and what they count),
names, dates and times, polarity (negation, news antonyms, hedges, future vs past) and direction. Each
disagreement is one line naming the reason, e.g. "3,000 is not in the cited sentence".

General linguistic checks over word lists (`rag/cite/lexicon.py`), never fitted to particular sentences.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache

from rag.cite.lexicon import (
    COMMON_STARTERS,
    COUNT_SYNONYMS,
    FALL,
    MONTHS,
    RISE,
    UNITS,
    WEEKDAYS,
)
from rag.cite.numbers import Number, find_numbers, same_value
from rag.cite.polarity import polarity
from rag.cite.words import Token, content_roots, fit, frames, root, tokens, word_context
from rag.text import STOPWORDS

#: Units that measure (a swap between them changes the quantity); counts of days or years are left to numbers.
_MEASURES = frozenset(
    "percent points usd eur gbp jpy cny inr mile km m ft in kg lb ton acre ha deg mph gal l bbl".split()
)

_DEMONYMS = {"british": "britain", "french": "france", "dutch": "netherlands", "swiss": "switzerland",
             "danish": "denmark", "filipino": "philippines", "welsh": "wales", "american": "america"}  # fmt: skip
_ALIASES = {"america": "united states", "us": "united states", "usa": "united states", "uk": "united kingdom",
            "britain": "united kingdom"}  # fmt: skip


def coverage(claim: str, span: str) -> float:
    """The share of the claim's content words found in the span (names matched as names are)."""
    want = [t for t in tokens(claim) if t.text[0].isalnum() and t.lower not in STOPWORDS]
    if not want:
        return 1.0
    have = tokens(span)
    roots = {t.root for t in have}
    found = sum(1 for t in want if t.root in roots or (t.capitalised and name_in(t, have)))
    return found / len(want)


def disagreements(claim: str, span: str, around: str = "", source: str = "") -> list[str]:
    """Why ``span`` does not say what ``claim`` says; empty when every check agrees. ``around`` is the span
    with its neighbouring sentences (for opposites stated next to it), ``source`` the whole cited text."""
    reasons: list[str] = []
    for check in (_numbers, _times, _names):
        reasons += check(claim, span, source or span)
    reasons += polarity(claim, span, around or span)
    reasons += _time_frame(claim, span)
    reasons += _direction(claim, span)
    return list(dict.fromkeys(reasons))


# -- numbers ---------------------------------------------------------------------------------------------


def _counted(text: str, n: Number) -> str:
    """The root of the noun a number counts: the first lower-case content word after it ("troops")."""
    for t in tokens(text[n.end :])[:4]:
        if not t.word or t.lower in {"and", "or", "but", "than", "to", "from"}:
            return ""
        if t.lower not in STOPWORDS and not t.capitalised:
            return t.root
    return ""


@lru_cache(maxsize=1)
def _count_groups() -> list[frozenset[str]]:
    return [frozenset(root(w) for w in g) for g in COUNT_SYNONYMS]


def _same_thing(a: str, b: str) -> bool:
    return a == b or any(a in g and b in g for g in _count_groups())


def _context(text: str, n: Number) -> dict[str, float]:
    """Content words near a number, weighted by closeness: what the number is about."""
    before = [t for t in tokens(text[: n.start]) if t.word][-6:]
    after = [t for t in tokens(text[n.end :]) if t.word][:6]
    out: dict[str, float] = {}
    for dist, t in [*((len(before) - i, t) for i, t in enumerate(before)), *((i + 1, t) for i, t in enumerate(after))]:
        if t.lower not in STOPWORDS:
            out[t.root] = max(out.get(t.root, 0.0), 1.0 if dist <= 3 else 0.5)
    return out


def _numbers(claim: str, span: str, source: str) -> list[str]:
    reasons = []
    have = [n for n in find_numbers(span) if not n.year]
    years = [n for n in find_numbers(span) if n.year]
    for n in find_numbers(claim):
        if n.year:
            same_years = [m for m in years if same_value(m.value, n.value)]
            if not same_years:
                reasons.append(
                    f"{n.text} is not in the cited sentence" + (f" (it says {years[0].text})" if years else "")
                )
            elif reason := _misplaced(claim, n, span, same_years, [m for m in years if m not in same_years]):
                reasons.append(reason)
            continue
        same = [m for m in have if same_value(m.value, n.value)]
        if not same:
            alt = next((m.text for m in have if not n.unit or m.unit == n.unit), "")
            reasons.append(f"{n.text} is not in the cited sentence" + (f" (it says {alt})" if alt else ""))
            continue
        if n.unit and all(m.unit and m.unit != n.unit for m in same):
            reasons.append(f"{n.text}: the cited sentence gives {same[0].text}, a different unit")
            continue
        if n.comparator and all(m.comparator != n.comparator for m in same):
            word = {">": "more than", "<": "fewer than"}[n.comparator]
            reasons.append(f"the claim says {word} {n.text}; the cited sentence does not")
            continue
        counted = _counted(claim, n)
        if counted and counted not in content_roots(span):
            theirs = {_counted(span, m) for m in same} - {""}
            if theirs and not any(_same_thing(counted, c) for c in theirs):
                reasons.append(f"{n.text}: the cited sentence counts {sorted(theirs)[0]}, not {counted}")
                continue
        # The figure is there, but is it the figure for this? Another number may fit the claim's words better.
        if reason := _misplaced(claim, n, span, same, [m for m in have if not same_value(m.value, n.value)]):
            reasons.append(reason)
    return reasons + _units(claim, span)


def _misplaced(claim: str, n: Number, span: str, same: list[Number], others: list[Number]) -> str:
    """A reason when another figure of the span fits the words around ``n`` in the claim clearly better."""
    ctx = _context(claim, n)
    mine = max(fit(ctx, _context(span, m)) for m in same)
    best = max(((m, fit(ctx, _context(span, m))) for m in others), key=lambda x: x[1], default=None)
    if best and best[1] >= 2.0 and best[1] >= mine + 1.5:
        return f"{n.text} is not the cited sentence's figure for this (it says {best[0].text})"
    return ""


def _units(claim: str, span: str) -> list[str]:
    """Units of measure named in the claim must be the span's: "kilometers per hour" is not "miles per hour"."""
    mine = {t.lower: UNITS[t.lower] for t in tokens(claim) if t.lower in UNITS and UNITS[t.lower] in _MEASURES}
    theirs = {UNITS[t.lower]: t.text for t in tokens(span) if t.lower in UNITS and UNITS[t.lower] in _MEASURES}
    return [
        f"{word}: the cited sentence measures in {next(iter(theirs.values()))}"
        for word, unit in mine.items()
        if theirs and unit not in theirs
    ]


# -- names, dates and times ------------------------------------------------------------------------------


def _month(t: Token) -> int | None:
    w = _bare(t.text)
    if w in MONTHS and t.capitalised and (w not in {"may", "march"} or not t.initial):
        return MONTHS[w]
    return None


def _day(t: Token) -> int | None:
    w = _bare(t.text)
    return WEEKDAYS[w] if w in WEEKDAYS and t.capitalised else None


def _times(claim: str, span: str, source: str) -> list[str]:
    """Months and weekdays: each must be in the span, and be the span's date for the same thing (when a
    sentence has two, "undocked Friday before landing Saturday", the words around each tell them apart)."""
    reasons = []
    c_toks, s_toks = tokens(claim), tokens(span)
    for kind in (_month, _day):
        theirs = [(u, kind(u)) for u in s_toks if kind(u) is not None]
        counts = [kind(t) for t in c_toks if kind(t) is not None]
        for value in set(counts):
            if 1 < counts.count(value) > sum(v == value for _, v in theirs):
                word = next(t.text for t in c_toks if kind(t) == value)
                reasons.append(f"{word} appears more often in the claim than in the cited sentence")
        for t in c_toks:
            value = kind(t)
            if value is None:
                continue
            same = [u for u, v in theirs if v == value]
            if not same:
                said = f" (it says {theirs[0][0].text})" if theirs else ""
                reasons.append(f"{t.text} is not in the cited sentence{said}")
                continue
            ctx = word_context(c_toks, t.index)
            mine = max(fit(ctx, word_context(s_toks, u.index)) for u in same)
            other = max(((u, fit(ctx, word_context(s_toks, u.index))) for u, v in theirs if v != value),
                        key=lambda x: x[1], default=None)  # fmt: skip
            if other and other[1] >= 2.0 and other[1] >= mine + 1.5:
                reasons.append(f"{t.text} is not the cited sentence's date for this (it says {other[0].text})")
    return reasons


def _is_name(t: Token, claim_tokens: tuple[Token, ...], source_tokens: tuple[Token, ...]) -> bool:
    if not t.word or not t.capitalised or t.lower in MONTHS or t.lower in WEEKDAYS or t.lower == "i":
        return False
    if not t.initial:
        return True
    # A capitalised first word is a name only if the text shows it is one.
    if any(s.lower == t.lower and s.capitalised and not s.initial for s in source_tokens):
        return True
    if t.lower in STOPWORDS or t.lower in COMMON_STARTERS or t.lower.endswith("ly"):
        return False
    if any(s.lower == t.lower and not s.capitalised for s in source_tokens):
        return False
    nxt = claim_tokens[t.index + 1] if t.index + 1 < len(claim_tokens) else None
    return bool(nxt and nxt.word and nxt.capitalised) or t.text.isupper() or t.lower not in _common_words()


@lru_cache(maxsize=1)
def _common_words() -> frozenset[str]:
    from rag.cite.lexicon import ANTONYMS as pairs

    return frozenset(w for a, b in pairs for w in a | b) | STOPWORDS | COMMON_STARTERS


def _bare(word: str) -> str:
    return re.sub(r"['’]s$", "", word.lower()).replace(".", "")


def name_in(t: Token, have: Iterable[Token]) -> bool:
    """Whether name token ``t`` is among ``have``: the same word, its demonym ("Korea"/"Korean"), or an
    acronym of capitalised words there ("UN" for "United Nations")."""
    w = _bare(t.text)
    w = _DEMONYMS.get(w, w)
    have = list(have)
    words = [_DEMONYMS.get(_bare(h.text), _bare(h.text)) for h in have if h.word]
    for h in words:
        if h == w:
            return True
        common = len(_prefix(h, w))
        if common >= 4 and common >= min(len(h), len(w)) - 1 and max(len(h), len(w)) - common <= 4:
            return True
    caps = [_bare(h.text) for h in have if h.word and h.capitalised]
    alias = _ALIASES.get(w)
    text = " ".join(_bare(h.text) for h in have if h.word)
    if alias and alias in text:
        return True
    if t.text.replace(".", "").isupper() and len(w) >= 2:
        initials = "".join(c[0] for c in caps)
        letters = "".join(c[0] for c in [_bare(h.text) for h in have if h.word and (h.capitalised or h.lower == "of")])
        return w in initials or w in letters.replace("o", "")
    return False


def _prefix(a: str, b: str) -> str:
    n = 0
    while n < min(len(a), len(b)) and a[n] == b[n]:
        n += 1
    return a[:n]


def _names(claim: str, span: str, source: str) -> list[str]:
    claim_tokens, span_tokens, source_tokens = tokens(claim), tokens(span), tokens(source)
    missing: list[list[str]] = []
    last = -2
    for t in claim_tokens:
        if _is_name(t, claim_tokens, source_tokens) and not name_in(t, span_tokens):
            if t.index == last + 1 and missing:
                missing[-1].append(t.text)
            else:
                missing.append([t.text])
            last = t.index
    return [f"{' '.join(m)} is not in the cited sentence" for m in missing]


# -- time frame and direction ----------------------------------------------------------------------------


#: Time words too vague to demand from a span: "the Pentagon now estimates" is not a claim about when.
_VAGUE_PRESENT = frozenset({"now", "currently"})
#: Vague times that still point one way: "recently" must not meet a span's "next week".
_VAGUE = frozenset({"recently", "soon", "previously", "formerly", "shortly", "upcoming", "in the coming"})


def _time_frame(claim: str, span: str) -> list[str]:
    """Each relative time in the claim must be the span's. A definite one ("last week") must be there; a
    vague one ("recently", "soon") only must not point the other way from the span's."""
    reasons = []
    theirs = frames(span)
    for expr, direction, unit in frames(claim):
        if any(e == expr or (d == direction and u == unit and unit) for e, d, u in theirs):
            continue
        if expr in _VAGUE_PRESENT:
            continue
        if expr in _VAGUE and not any(d != direction and d != "present" for _, d, _ in theirs):
            continue  # "recently" against a span with no time, or one pointing the same way
        said = f" (it says “{theirs[0][0]}”)" if theirs else ""
        reasons.append(f"“{expr}” is not the cited sentence's time frame{said}")
    return reasons


_FROM_TO = re.compile(r"\bfrom\s+(?:the\s+|an?\s+)?([\w$€£.,%-]+(?:\s+[A-Z][\w-]*)*)\s+to\s+(?:the\s+)?([\w$€£.,%-]+)")
_UP_DOWN = re.compile(r"\b(up|down)\s+from\b", re.IGNORECASE)


def _endpoint(text: str) -> str:
    nums = find_numbers(text)
    return f"{nums[0].value:g}" if nums else root(text.split()[0])


def _direction(claim: str, span: str) -> list[str]:
    reasons = []
    theirs = {(_endpoint(a), _endpoint(b)): (a, b) for a, b in _FROM_TO.findall(span)}
    for a, b in _FROM_TO.findall(claim):
        x, y = _endpoint(a), _endpoint(b)
        if x != y and (y, x) in theirs and (x, y) not in theirs:
            reasons.append(f"the claim goes from {a} to {b}; the cited sentence from {b} to {a}")
    mine = {m.lower() for m in _UP_DOWN.findall(claim)}
    said = {m.lower() for m in _UP_DOWN.findall(span)}
    words = {t.lower for t in tokens(span)}
    said |= {"up"} if words & RISE else set()
    said |= {"down"} if words & FALL else set()
    if mine and said and not mine & said:
        reasons.append(
            f"the claim says “{next(iter(mine))} from”; the cited sentence says the figure went the other way"
        )
    return reasons
