"""What a claim asserts, compared with the source span it is aligned to: numbers (and what they count),
names, dates and times, polarity (negation, news antonyms, hedges, future vs past) and direction. Each
disagreement is one line naming the reason, e.g. "3,000 is not in the cited sentence".

General linguistic checks over word lists (`rag/lexicon.py`), never fitted to particular sentences.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

from rag.lexical import STOPWORDS, stem
from rag.lexicon import (
    ANTONYMS,
    AUXILIARIES,
    COMMON_STARTERS,
    COUNT_SYNONYMS,
    FUTURE_CUES,
    HEDGES,
    IRREGULAR_PAST,
    MONTHS,
    NEGATIONS,
    TIME_FRAMES,
    WEEKDAYS,
)
from rag.numbers import Number, find_numbers, same_value

_TOKEN = re.compile(r"[A-Za-z]+(?:['’][A-Za-z]+)*|\d[\d,.]*\d|\d|[.,;:!?()\"“”—–]")
_BOUNDARY = frozenset('.,;:!?()"“”—–') | {"but", "while", "whereas", "although", "though", "and", "which", "who"}
_DEMONYMS = {"british": "britain", "french": "france", "dutch": "netherlands", "swiss": "switzerland",
             "danish": "denmark", "filipino": "philippines", "welsh": "wales", "american": "america"}  # fmt: skip
_ALIASES = {"america": "united states", "us": "united states", "usa": "united states", "uk": "united kingdom",
            "britain": "united kingdom"}  # fmt: skip


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
    s = stem(w)
    s = s[:-1] if s.endswith("e") and len(s) > 3 else s
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


def coverage(claim: str, span: str) -> float:
    """The share of the claim's content words found in the span (names matched as names are)."""
    want = [t for t in tokens(claim) if t.text[0].isalnum() and t.lower not in STOPWORDS]
    if not want:
        return 1.0
    have = tokens(span)
    roots = {t.root for t in have}
    found = sum(1 for t in want if t.root in roots or (t.capitalised and _name_in(t, have)))
    return found / len(want)


def disagreements(claim: str, span: str, around: str = "", source: str = "") -> list[str]:
    """Why ``span`` does not say what ``claim`` says; empty when every check agrees. ``around`` is the span
    with its neighbouring sentences (for opposites stated next to it), ``source`` the whole cited text."""
    reasons: list[str] = []
    for check in (_numbers, _times, _names):
        reasons += check(claim, span, source or span)
    reasons += _polarity(claim, span, around or span)
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


def _same_thing(a: str, b: str) -> bool:
    return a == b or any(a in g and b in g for g in COUNT_SYNONYMS)


def _context(text: str, n: Number) -> dict[str, float]:
    """Content words near a number, weighted by closeness: what the number is about."""
    before = [t for t in tokens(text[: n.start]) if t.word][-6:]
    after = [t for t in tokens(text[n.end :]) if t.word][:6]
    out: dict[str, float] = {}
    for dist, t in [*((len(before) - i, t) for i, t in enumerate(before)), *((i + 1, t) for i, t in enumerate(after))]:
        if t.lower not in STOPWORDS:
            out[t.root] = max(out.get(t.root, 0.0), 1.0 if dist <= 3 else 0.5)
    return out


def _fit(a: dict[str, float], b: dict[str, float]) -> float:
    return sum(min(w, b[k]) for k, w in a.items() if k in b)


def _numbers(claim: str, span: str, source: str) -> list[str]:
    reasons = []
    have = [n for n in find_numbers(span) if not n.year]
    for n in find_numbers(claim):
        if n.year:
            if not any(m.year and same_value(m.value, n.value) for m in find_numbers(span)):
                years = [m.text for m in find_numbers(span) if m.year]
                reasons.append(f"{n.text} is not in the cited sentence" + (f" (it says {years[0]})" if years else ""))
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
        ctx = _context(claim, n)
        mine = max(_fit(ctx, _context(span, m)) for m in same)
        others = [(m, _fit(ctx, _context(span, m))) for m in have if not same_value(m.value, n.value)]
        best = max(others, key=lambda x: x[1], default=None)
        if best and best[1] >= 2.0 and best[1] >= mine + 1.5:
            reasons.append(f"{n.text} is not the cited sentence's figure for this (it says {best[0].text})")
    return reasons


# -- names, dates and times ------------------------------------------------------------------------------


def _month(t: Token) -> int | None:
    if t.lower in MONTHS and t.capitalised and (t.lower not in {"may", "march"} or not t.initial):
        return MONTHS[t.lower]
    return None


def _times(claim: str, span: str, source: str) -> list[str]:
    reasons = []
    span_tokens = tokens(span)
    months = {_month(t) for t in span_tokens} - {None}
    days = {WEEKDAYS[t.lower] for t in span_tokens if t.lower in WEEKDAYS and t.capitalised}
    for t in tokens(claim):
        if (m := _month(t)) is not None and m not in months:
            said = next((s.text for s in span_tokens if _month(s)), "")
            reasons.append(f"{t.text} is not in the cited sentence" + (f" (it says {said})" if said else ""))
        elif t.lower in WEEKDAYS and t.capitalised and WEEKDAYS[t.lower] not in days:
            said = next((s.text for s in span_tokens if s.lower in WEEKDAYS and s.capitalised), "")
            reasons.append(f"{t.text} is not in the cited sentence" + (f" (it says {said})" if said else ""))
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
    from rag.lexicon import ANTONYMS as pairs

    return frozenset(w for a, b in pairs for w in a | b) | STOPWORDS | COMMON_STARTERS


def _bare(word: str) -> str:
    return re.sub(r"['’]s$", "", word.lower()).replace(".", "")


def _name_in(t: Token, have: Iterable[Token]) -> bool:
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
        if common >= 4 and common >= min(len(h), len(w)) - 1:
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
        if _is_name(t, claim_tokens, source_tokens) and not _name_in(t, span_tokens):
            if t.index == last + 1 and missing:
                missing[-1].append(t.text)
            else:
                missing.append([t.text])
            last = t.index
    return [f"{' '.join(m)} is not in the cited sentence" for m in missing]


# -- polarity --------------------------------------------------------------------------------------------


def _negated(toks: tuple[Token, ...]) -> dict[int, bool]:
    """Token index → True for each content word a negation governs ("has not yet been refuted": refuted)."""
    out: dict[int, bool] = {}
    for t in toks:
        if t.lower in NEGATIONS or t.lower.endswith("n't"):
            for u in toks[t.index + 1 : t.index + 6]:
                if not u.word or u.lower in _BOUNDARY:
                    break
                if u.lower in AUXILIARIES or u.lower in NEGATIONS:
                    continue
                out[u.index] = True
                break
    return out


def _cued(toks: tuple[Token, ...], i: int, cues: Iterable[str], reach: int = 4) -> bool:
    """Whether one of ``cues`` (words or two-word phrases) comes shortly before token ``i`` in its clause."""
    before: list[str] = []
    for u in reversed(toks[max(0, i - reach - 1) : i]):
        if not u.word or (u.lower in _BOUNDARY and u.lower not in {"and"}):
            break
        before.insert(0, u.lower)
    joined = " " + " ".join(before) + " "
    return any(f" {c} " in joined for c in cues)


def _polarity(claim: str, span: str, around: str) -> list[str]:
    reasons = []
    c_toks, s_toks, a_toks = tokens(claim), tokens(span), tokens(around)
    c_neg, s_neg = _negated(c_toks), _negated(s_toks)
    c_roots = {t.root for t in c_toks if t.word}
    s_roots = {t.root for t in s_toks if t.word}
    c_neg_roots = {c_toks[i].root for i in c_neg}
    s_neg_roots = {s_toks[i].root for i in s_neg}
    for i in c_neg:
        r = c_toks[i].root
        if r in s_roots and r not in s_neg_roots and c_toks[i].lower not in STOPWORDS:
            reasons.append(f"the claim negates “{c_toks[i].text}”; the cited sentence does not")
    for i in s_neg:
        r = s_toks[i].root
        if r in c_roots and r not in c_neg_roots and s_toks[i].lower not in STOPWORDS:
            reasons.append(f"the cited sentence negates “{s_toks[i].text}”; the claim does not")
    # Opposites: a claim word whose side of an antonym pair is absent from the span while the other is there
    # (or in the sentences next to it) says the reverse — unless a negation turns one of them around.
    for t in c_toks:
        if not t.word:
            continue
        for a, b in ANTONYMS:
            if t.lower not in a and t.lower not in b:
                continue
            mine, other = (a, b) if t.lower in a else (b, a)
            if t.lower in mine and t.lower in other:
                continue
            if any(u.lower in mine for u in s_toks):
                continue
            flip = _opposite(s_toks, other, s_neg) or (
                None if any(u.lower in mine for u in a_toks) else _opposite(a_toks, other, _negated(a_toks))
            )
            if flip is not None and not (flip[1] ^ (t.index in c_neg)):
                reasons.append(f"“{t.text}” is the opposite of the cited sentence's “{flip[0]}”")
                break
    # Hedges and tense on the shared words: "may be stationed" is not "are stationed"; "is set to occur" has
    # not occurred.
    for u in s_toks:
        if not u.word or u.lower in STOPWORDS or u.root not in c_roots:
            continue
        mine_t = [t for t in c_toks if t.root == u.root]
        hedged = _cued(s_toks, u.index, HEDGES, 3)
        if hedged and not any(_cued(c_toks, t.index, HEDGES, 3) or t.index in c_neg for t in mine_t):
            reasons.append(f"the cited sentence only says “{u.text}” may be so; the claim states it as fact")
        fut_s = _cued(s_toks, u.index, FUTURE_CUES)
        fut_c = any(_cued(c_toks, t.index, FUTURE_CUES) for t in mine_t)
        if fut_s and not fut_c and any(_past(t) for t in mine_t):
            reasons.append(f"the cited sentence says “{u.text}” is still to come; the claim says it happened")
        elif fut_c and not fut_s and _past(u):
            reasons.append(f"the cited sentence says “{u.text}” happened; the claim says it is still to come")
    return list(dict.fromkeys(reasons))


def _opposite(toks: tuple[Token, ...], other: frozenset[str], neg: dict[int, bool]) -> tuple[str, bool] | None:
    for u in toks:
        if u.lower in other:
            return u.text, u.index in neg
    return None


def _past(t: Token) -> bool:
    return t.lower in IRREGULAR_PAST or (t.lower.endswith("ed") and len(t.lower) > 4)


# -- time frame and direction ----------------------------------------------------------------------------


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


def _time_frame(claim: str, span: str) -> list[str]:
    reasons = []
    theirs = frames(span)
    for expr, direction, unit in frames(claim):
        if any(e == expr or (d == direction and u == unit and unit) for e, d, u in theirs):
            continue
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
    if mine and said and not mine & said:
        reasons.append(f"the claim says “{next(iter(mine))} from”; the cited sentence says “{next(iter(said))} from”")
    return reasons
