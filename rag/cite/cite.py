"""Citations: the one owner of citation checking. ``[n]`` markers parsed, citations built from verbatim
spans and numbered, and each claim aligned with the sentence(s) of its cited text that support it and
checked for meaning there (`rag/cite/meaning.py`): a claim's citation shows its own aligned span.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from rag.cite.meaning import coverage, disagreements, name_in
from rag.cite.words import content_roots, tokens
from rag.ingest.sentences import split_spans
from rag.text import MARKER, STOPWORDS
from rag.types import Article, Chunk, Citation, ClaimCheck, Hit

# Markers a model puts after the full stop belong to the sentence before it: "Kursk. [1]" → "Kursk [1]."
_TRAILING_MARKERS = re.compile(r"([.!?])((?:\s*\[\d{1,3}\])+)")
_MARKER_GROUP = re.compile(r"(?:\s*\[\d{1,3}\])+")
#: Share of a claim's content words its aligned span must contain before meaning is checked at all.
MIN_COVERAGE = 0.5
#: A span joins a second sentence only if that adds this many of the claim's content words, and this share.
PAIR_GAIN_WORDS = 3
PAIR_GAIN_SHARE = 0.2
#: A claim answering a question on a source that lacks some of the question's words (``check_answer``): the
#: cited sentence itself must still hold this share of the question's words the claim uses, so that it says
#: what was asked ("Pennsylvania was the first of seven battleground states to start early voting" does not hold
#: on "Pennsylvania, a key battleground state, could accept ballots in 50 days", which has 4 of its 10).
ANCHOR = 0.67
#: A claim of at least this many content words that shares none with the question does not answer it.
OFF_QUESTION_WORDS = 5
#: Spans this far below the best overlap are not tried: a claim is about the sentence it matches best.
SEARCH_MARGIN = 0.15


def citation(key: int, chunk: Chunk, lo: int, hi: int) -> Citation:
    """A citation for ``chunk.text[lo:hi]``, with offsets into the article."""
    return Citation(
        key=key,
        article_id=chunk.article_id,
        chunk_id=chunk.id,
        title=chunk.title,
        outlet=chunk.outlet,
        url=chunk.url,
        published=chunk.published.isoformat() if chunk.published else "",
        quote=chunk.text[lo:hi],
        start=chunk.start + lo,
        end=chunk.start + hi,
    )


def span_citation(article: Article, start: int, end: int, key: int = 0) -> Citation:
    """A citation of ``article.text[start:end]``."""
    return Citation(
        key=key,
        article_id=article.id,
        chunk_id=f"{article.id}@{start}",
        title=article.title,
        outlet=article.outlet,
        url=article.url,
        published=article.published_iso,
        quote=article.text[start:end],
        start=start,
        end=end,
    )


@dataclass
class CitationBook:
    """Citations numbered in order of first use, one key per distinct span (answers and briefs)."""

    citations: list[Citation] = field(default_factory=list)
    _keys: dict[tuple[str, int, int], int] = field(default_factory=dict)

    def cite(self, article: Article, start: int, end: int) -> int:
        return self.add(span_citation(article, start, end))

    def add(self, citation: Citation) -> int:
        span = (citation.article_id, citation.start, citation.end)
        if span not in self._keys:
            key = len(self.citations) + 1
            self._keys[span] = key
            self.citations.append(Citation(**{**citation.__dict__, "key": key}))
        return self._keys[span]


def as_of(citations: Sequence[Citation]) -> str:
    """The newest publication date among the cited articles."""
    return max((c.published for c in citations if c.published), default="")


def normalise_markers(text: str) -> str:
    return _TRAILING_MARKERS.sub(lambda m: m.group(2).rstrip() + m.group(1), text)


def markers(text: str) -> list[int]:
    return [int(n) for n in MARKER.findall(text)]


def strip_markers(text: str) -> str:
    return re.sub(r"\s*\[\d{1,3}\]", "", text).strip()


def tidy(text: str) -> str:
    """Spaces collapsed and none left before punctuation (after markers were removed or rewritten)."""
    return re.sub(r"\s+([.,;:!?])", r"\1", re.sub(r"\s{2,}", " ", text)).strip()


def keyed(hits: Sequence[Hit]) -> dict[int, Hit]:
    """Source keys as shown to the model: 1-based positions in the retrieved list."""
    return {i: h for i, h in enumerate(hits, start=1)}


def has_words(text: str) -> bool:
    """Whether text says anything (three letters in a row), as opposed to a stray marker or number."""
    return bool(re.search(r"[^\W\d_]{3}", strip_markers(text)))


# -- alignment and meaning --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Verdict:
    """A claim checked against one source text: the span it aligns with and whether that span says it."""

    supported: bool
    lo: int  #: the aligned span, offsets in the source text
    hi: int
    reasons: tuple[str, ...] = ()  #: why not, one line each (empty when supported)
    coverage: float = 0.0


def check(claim: str, source: str) -> Verdict:
    """Align ``claim`` with the sentence (or adjacent sentences) of ``source`` that best support it, and
    check its numbers, names, times, polarity and direction there.

    A span joins two sentences only when the second adds a real part of the claim (a few words, not one
    name borrowed from next door). Spans are tried from the best word overlap down, within a small margin of
    the best: the first that passes every check supports the claim. When none does, the best span is shown
    with its reasons."""
    claim = strip_markers(claim)
    sentences = split_spans(source) or [(0, len(source))]
    want = max(1, len(content_roots(claim)))
    singles = [coverage(claim, source[a:b]) for a, b in sentences]
    candidates = [(cov, 0, a, b, i, i) for i, ((a, b), cov) in enumerate(zip(sentences, singles, strict=True))]
    for i in range(len(sentences) - 1):
        lo, hi = sentences[i][0], sentences[i + 1][1]
        cov = coverage(claim, source[lo:hi])
        gain = (cov - max(singles[i], singles[i + 1])) * want
        if gain >= PAIR_GAIN_WORDS and gain >= PAIR_GAIN_SHARE * want:
            candidates.append((cov, 1, lo, hi, i, i + 1))
    candidates.sort(key=lambda c: (-c[0], c[1], c[2]))
    best_cov = candidates[0][0]
    first: Verdict | None = None
    for cov, _, lo, hi, i, j in candidates:
        if cov < MIN_COVERAGE or cov < best_cov - SEARCH_MARGIN:
            break
        around = source[sentences[max(0, i - 1)][0] : sentences[min(len(sentences) - 1, j + 1)][1]]
        reasons = disagreements(claim, source[lo:hi], around=around, source=source)
        if not reasons:
            return Verdict(True, lo, hi, (), cov)
        first = first or Verdict(False, lo, hi, tuple(reasons), cov)
    if first is not None:
        return first
    cov, _, lo, hi, _, _ = candidates[0]
    return Verdict(False, lo, hi, (f"the cited text does not say this (only {cov:.0%} of its words are there)",), cov)


def claims_of(sentence: str) -> list[tuple[str, list[int]]]:
    """A sentence's claims: each clause ending in markers with its keys ("A [1], while B [2]." → two claims);
    words after the last markers belong to the last claim."""
    sentence = normalise_markers(sentence)
    parts: list[tuple[str, list[int]]] = []
    pos = 0
    for m in _MARKER_GROUP.finditer(sentence):
        text = sentence[pos : m.start()]
        if has_words(text) or not parts:
            parts.append((text, markers(m.group())))
        else:
            parts[-1] = (parts[-1][0] + text, parts[-1][1] + markers(m.group()))
        pos = m.end()
    rest = sentence[pos:]
    if (parts and not has_words(rest)) or parts:
        parts[-1] = (parts[-1][0] + rest, parts[-1][1])
    else:
        parts.append((rest, []))
    return [(tidy(t).strip(" ,;"), list(dict.fromkeys(k))) for t, k in parts]


@dataclass
class ClaimChecker:
    """Checks a model's sentences against the sources they cite (``sources[k - 1]`` for marker ``[k]``):
    unknown keys are removed, each claim is aligned and checked, and each aligned span is keyed through
    ``add`` (the answer's or the brief's citation book), so a second claim citing ``[1]`` shows its own
    span, not the first claim's."""

    sources: Sequence[Chunk]
    add: Callable[[Citation], int]
    #: The question the claims answer: its words are what was asked, not what the sources must say. A claim that
    #: fails its checks is tried again with them left out ("Manchester United suffered a 7-0 defeat by Liverpool"
    #: for "Which team suffered a 7-0 defeat by Liverpool?" must show "Manchester United" in its span); a claim
    #: that adds nothing to the question never holds this way.
    premise: str = ""

    def sentence(self, sentence: str) -> tuple[str, list[ClaimCheck]]:
        """The sentence re-keyed, and one check per claim in it."""
        out_text, checks = [], []
        for text, keys in claims_of(sentence):
            valid = [k for k in keys if 1 <= k <= len(self.sources)]
            verdicts = [(k, check(text, self.sources[k - 1].text)) for k in valid]
            supported = any(v.supported for _, v in verdicts)
            if not supported and len(verdicts) > 1:
                supported = _jointly(text, [self.sources[k - 1] for k in valid], [v for _, v in verdicts])
            off = off_question(text, self.premise) if self.premise else ""
            if off:
                supported, verdicts = False, [(k, Verdict(False, v.lo, v.hi, (off,), v.coverage)) for k, v in verdicts]
            elif not supported and self.premise:
                retried = [
                    (k, check_answer(text, self.sources[k - 1].text, self.premise, self.sources[k - 1].title))
                    for k in valid
                ]
                if any(v.supported for _, v in retried):
                    verdicts, supported = [(k, v) for k, v in retried if v.supported], True
                elif retried:
                    verdicts = retried  # its reasons say what the claim adds that the source does not bear out
            new_keys = []
            for k, v in verdicts:
                if supported and not v.supported and len(verdicts) > 1 and v.coverage < MIN_COVERAGE:
                    continue  # a key that added nothing to a claim its other sources support
                new_keys.append(self.add(citation(0, self.sources[k - 1], v.lo, v.hi)))
            new_keys = list(dict.fromkeys(new_keys))
            reasons: list[str] = []
            if not supported:
                reasons = list(dict.fromkeys(r for _, v in verdicts for r in v.reasons)) or ["it cites no source"]
            body, end = re.match(r"(.*?)([.!?…]*)$", text, re.DOTALL).groups()  # type: ignore[union-attr]
            shown = tidy(f"{body} " + "".join(f"[{k}]" for k in new_keys)) + end
            out_text.append(shown)
            checks.append(ClaimCheck(shown, new_keys, supported or not has_words(text), reasons))
        text = " ".join(out_text)
        return text, checks


def check_answer(claim: str, source: str, premise: str = "", context: str = "") -> Verdict:
    """``check``, and, when that fails, the same for what the claim adds to the ``premise`` (the question): the
    question's common words need not all be in the source, but the names and numbers the claim takes from it must
    be there (or in ``context``, the article's title), the source itself must hold most (``ANCHOR``) of the
    question's words the claim uses, so that it says what was asked, and what the claim adds must hold there
    ("Arsenal suffered a 7-0 defeat by Liverpool" does not hold on a sentence that names Arsenal but not the
    7-0)."""
    verdict = check(claim, source)
    if verdict.supported or not premise:
        return verdict
    added = beyond(claim, premise)
    if not content_roots(added):
        return verdict
    missing = premise_missing(claim, premise, source + " " + context)
    if missing:
        listed = ", ".join(dict.fromkeys(missing))
        return Verdict(False, verdict.lo, verdict.hi, (f"{listed} (from the question) is not in the cited sentence",))
    kept = content_roots(added)
    taken = " ".join(
        t.text for t in tokens(claim) if t.text[0].isalnum() and t.lower not in STOPWORDS and t.root not in kept
    )
    anchored = coverage(taken, source) if taken else 1.0
    if anchored < ANCHOR:
        why = (
            f"the cited sentence is not about what was asked (it has {anchored:.0%} of the question's words used here)"
        )
        return Verdict(False, verdict.lo, verdict.hi, (why,))
    return check(added, source)  # when it fails too, its reasons are about what the claim adds


def off_question(claim: str, question: str) -> str:
    """Why a claim is no answer to ``question`` at all: it only restates it (it adds no word of its own), or, of
    several words, it shares none with it; else ""."""
    words = content_roots(strip_markers(claim))
    if words and not content_roots(beyond(strip_markers(claim), question)):
        return "it only restates the question (it adds nothing to it)"
    if len(words) < OFF_QUESTION_WORDS or words & content_roots(question):
        return ""
    asked = tokens(question)
    if any(t.capitalised and name_in(t, asked) for t in tokens(claim)):
        return ""
    return "it does not answer the question (it shares no word with it)"


def premise_missing(claim: str, premise: str, source: str) -> list[str]:
    """The names and numbers ``claim`` shares with ``premise`` that ``source`` lacks."""
    asked = tokens(premise)
    roots = {t.root for t in asked}
    have = tokens(source)
    have_roots = {t.root for t in have}
    out = []
    for t in tokens(claim):
        taken = t.root in roots or (t.capitalised and name_in(t, asked))
        named = t.text[0].isdigit() or (t.capitalised and not t.initial and t.lower not in STOPWORDS)
        if taken and named and t.root not in have_roots and not (t.capitalised and name_in(t, have)):
            out.append(t.text)
    return out


def beyond(claim: str, premise: str) -> str:
    """What ``claim`` adds to ``premise`` (a question): its words less the content words the premise has (names
    matched as names); function words, negations and the numbers and names the premise lacks kept in order."""
    asked = tokens(premise)
    roots = {t.root for t in asked if t.text[0].isalnum() and t.lower not in STOPWORDS}
    kept = [
        t.text
        for t in tokens(claim)
        if not (
            t.text[0].isalnum()
            and t.lower not in STOPWORDS
            and (t.root in roots or (t.capitalised and name_in(t, asked)))
        )
    ]
    return tidy(" ".join(kept))


def _jointly(claim: str, chunks: Sequence[Chunk], verdicts: Sequence[Verdict]) -> bool:
    """A claim citing several sources may need them together ("X [1][2]" with half in each)."""
    joined = " ".join(c.text[v.lo : v.hi] for c, v in zip(chunks, verdicts, strict=True))
    return check(claim, joined).supported
