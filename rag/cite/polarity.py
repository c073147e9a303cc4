"""Polarity, as the meaning checks compare it: negation (and the word it governs), news antonyms, words
turned round by a prefix, hedges ("may"), and future against past — always on the words a claim shares
with its span, so a negation in a clause the claim dropped does not count."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable

from rag.cite.lexicon import ANTONYMS, AUXILIARIES, FUTURE_CUES, HEDGES, IRREGULAR_PAST, NEGATING_PREFIXES, NEGATIONS
from rag.cite.words import BOUNDARY, Token, fit, frames, tokens, word_context
from rag.text import STOPWORDS


def _governed(toks: tuple[Token, ...], is_cue: Callable[[Token], bool]) -> dict[int, bool]:
    """Token index → True for each content word a cue governs: the first one after it in its clause
    ("has not yet been refuted": refuted; "may already be stationed": stationed)."""
    out: dict[int, bool] = {}
    for t in toks:
        if is_cue(t):
            for u in toks[t.index + 1 : t.index + 6]:
                if not u.word or u.lower in BOUNDARY:
                    break
                if u.lower in AUXILIARIES or u.lower in NEGATIONS:
                    continue
                out[u.index] = True
                break
    return out


def _negated(toks: tuple[Token, ...]) -> dict[int, bool]:
    return _governed(toks, lambda t: t.lower in NEGATIONS or t.lower.endswith("n't"))


def _hedged(toks: tuple[Token, ...]) -> dict[int, bool]:
    return _governed(toks, lambda t: t.lower in HEDGES)


def _cued(toks: tuple[Token, ...], i: int, cues: Iterable[str], reach: int = 4) -> bool:
    """Whether one of ``cues`` (words or two-word phrases) comes shortly before token ``i`` in its clause."""
    before: list[str] = []
    for u in reversed(toks[max(0, i - reach - 1) : i]):
        if not u.word or (u.lower in BOUNDARY and u.lower not in {"and"}):
            break
        before.insert(0, u.lower)
    joined = " " + " ".join(before) + " "
    return any(f" {c} " in joined for c in cues)


def polarity(claim: str, span: str, around: str) -> list[str]:
    """Why the claim's polarity differs from the span's (``around``: the span with its neighbours)."""
    reasons = []
    c_toks, s_toks, a_toks = tokens(claim), tokens(span), tokens(around)
    c_neg, s_neg = _negated(c_toks), _negated(s_toks)
    c_roots = {t.root for t in c_toks if t.word}
    s_roots = {t.root for t in s_toks if t.word}
    c_neg_roots = {c_toks[i].root for i in c_neg}
    s_neg_roots = {s_toks[i].root for i in s_neg}
    for i in c_neg:
        r = c_toks[i].root
        if r in s_roots and r not in s_neg_roots:
            reasons.append(f"the claim negates “{c_toks[i].text}”; the cited sentence does not")
    s_plain_roots = {t.root for t in s_toks if t.word and t.index not in s_neg}
    for i in s_neg:
        r = s_toks[i].root
        if r in c_roots and r not in c_neg_roots and r not in s_plain_roots:
            reasons.append(f"the cited sentence negates “{s_toks[i].text}”; the claim does not")
    # Opposites: a claim word whose side of an antonym pair is absent from the span while the other is there
    # (or in the sentences next to it) says the reverse — unless a negation turns one of them around.
    in_frames = _frame_words(claim)
    for t in c_toks:
        if not t.word or t.lower in in_frames:
            continue
        for a, b in ANTONYMS:
            if t.lower not in a and t.lower not in b:
                continue
            mine, other = (a, b) if t.lower in a else (b, a)
            if t.lower in mine and t.lower in other:
                continue
            if any(u.root == t.root for u in s_toks):
                continue
            flip = _opposite(s_toks, other, s_neg, mine, word_context(c_toks, t.index)) or (
                None
                if any(u.lower in mine for u in a_toks)
                else _opposite(a_toks, other, _negated(a_toks), mine, word_context(c_toks, t.index))
            )
            if flip is not None and not (flip[1] ^ (t.index in c_neg)):
                reasons.append(f"“{t.text}” is the opposite of the cited sentence's “{flip[0]}”")
                break
    reasons += _prefixed_opposites(claim, span)
    # Hedges and tense on the shared words: "may be stationed" is not "are stationed"; "is set to occur" has
    # not occurred.
    s_hedged, c_hedged = _hedged(s_toks), _hedged(c_toks)
    for u in s_toks:
        if not u.word or u.root not in c_roots or (u.lower in STOPWORDS and u.lower not in {"have", "be", "do"}):
            continue
        mine_t = [t for t in c_toks if t.root == u.root]
        if u.index in s_hedged and not any(t.index in c_hedged or t.index in c_neg for t in mine_t):
            reasons.append(f"the cited sentence only says “{u.text}” may be so; the claim states it as fact")
        fut_s = _cued(s_toks, u.index, FUTURE_CUES)
        fut_c = any(_cued(c_toks, t.index, FUTURE_CUES) for t in mine_t)
        if fut_s and not fut_c and any(_past(t) for t in mine_t):
            reasons.append(f"the cited sentence says “{u.text}” is still to come; the claim says it happened")
        elif fut_c and not fut_s and _past(u):
            reasons.append(f"the cited sentence says “{u.text}” happened; the claim says it is still to come")
    return list(dict.fromkeys(reasons))


_COMPOUND = re.compile(r"[A-Za-z]+(?:-[A-Za-z]+)*")


def _prefixed_opposites(claim: str, span: str) -> list[str]:
    """A word and its prefixed opposite: "stabilize" / "destabilize", "likely" / "unlikely"."""
    mine = {w.lower() for w in _COMPOUND.findall(claim)}
    theirs = {w.lower() for w in _COMPOUND.findall(span)}
    out = []
    for a, b in ((mine - theirs, theirs - mine), (theirs - mine, mine - theirs)):
        for w in a:
            for p in NEGATING_PREFIXES:
                if w.startswith(p) and len(w) - len(p) >= 4 and w[len(p) :] in b:
                    out.append(f"“{w}” and “{w[len(p) :]}” are opposites (claim and cited sentence differ)")
    return out


def _frame_words(text: str) -> set[str]:
    """Words inside relative time expressions ("last" in "last week" is a time, not an order)."""
    return {w for expr, _, _ in frames(text) for w in expr.split()}


def _opposite(
    toks: tuple[Token, ...],
    other: frozenset[str],
    neg: dict[int, bool],
    mine: frozenset[str],
    ctx: dict[str, float],
) -> tuple[str, bool] | None:
    """The span's word from the other side of an antonym pair, when it (rather than a word of the claim's
    side) is the one about what the claim is about: (word, negated)."""
    against = [u for u in toks if u.lower in other]
    if not against:
        return None
    fit_against = max(fit(ctx, word_context(toks, u.index)) for u in against)
    same = [fit(ctx, word_context(toks, u.index)) for u in toks if u.lower in mine]
    if same and max(same) >= fit_against:
        return None
    u = max(against, key=lambda u: fit(ctx, word_context(toks, u.index)))
    return u.text, u.index in neg


def _past(t: Token) -> bool:
    return t.lower in IRREGULAR_PAST or (t.lower.endswith("ed") and len(t.lower) > 4)
