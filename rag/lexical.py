"""The lexical side of retrieval: BM25 over the chunks, rebuilt from the store (Chroma stays the one source
of truth; local Chroma has no sparse index) and cached on disk under a key of the store's contents.
"""

from __future__ import annotations

import functools
import hashlib
import pickle
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from rag.chunk import embed_header
from rag.store import Store, day_number
from rag.types import Chunk, Filters

CACHE_VERSION = 1
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
    text = text.lower().replace("’", "'")
    text = re.sub(r"'s\b", "", text)
    out = []
    for w in _WORD.findall(text):
        w = w.replace(",", "")
        if w not in STOPWORDS:
            out.append(stem(w))
    return out


@dataclass
class LexicalIndex:
    """Okapi BM25 over chunk texts with their titles; postings as numpy arrays."""

    chunk_ids: list[str]
    article_ids: list[str]
    days: np.ndarray  #: publication day number per chunk, -1 when unknown
    outlets: list[str]
    vocab: dict[str, int]
    postings: list[tuple[np.ndarray, np.ndarray]]  #: per term: (doc indices, term frequencies)
    doc_len: np.ndarray
    k1: float = 1.2
    b: float = 0.75

    @classmethod
    def build(cls, chunks: Iterable[Chunk]) -> LexicalIndex:
        chunk_ids, article_ids, days, outlets, lengths = [], [], [], [], []
        acc: dict[str, tuple[list[int], list[int]]] = {}
        for i, c in enumerate(chunks):
            chunk_ids.append(c.id)
            article_ids.append(c.article_id)
            days.append(day_number(c.published) if c.published else -1)
            outlets.append(c.outlet.lower())
            counts = Counter(terms(embed_header(c.title) + c.text))
            lengths.append(sum(counts.values()))
            for t, n in counts.items():
                docs, tfs = acc.setdefault(t, ([], []))
                docs.append(i)
                tfs.append(n)
        vocab = {t: j for j, t in enumerate(acc)}
        postings = [(np.asarray(d, dtype=np.int32), np.asarray(f, dtype=np.float32)) for d, f in acc.values()]
        return cls(
            chunk_ids,
            article_ids,
            np.asarray(days, dtype=np.int64),
            outlets,
            vocab,
            postings,
            np.asarray(lengths, dtype=np.float32),
        )

    def __len__(self) -> int:
        return len(self.chunk_ids)

    @functools.cached_property
    def position(self) -> dict[str, int]:
        """Chunk id → its row in the arrays."""
        return {cid: i for i, cid in enumerate(self.chunk_ids)}

    def idf(self, term: str) -> float:
        j = self.vocab.get(term)
        df = 0 if j is None else len(self.postings[j][0])
        n = max(len(self), 1)
        return float(np.log(1 + (n - df + 0.5) / (df + 0.5)))

    def scores(self, query: str) -> np.ndarray:
        scores = np.zeros(len(self), dtype=np.float32)
        if not len(self):
            return scores
        avg = float(self.doc_len.mean()) or 1.0
        for t in set(terms(query)):
            j = self.vocab.get(t)
            if j is None:
                continue
            docs, tf = self.postings[j]
            norm = tf + self.k1 * (1 - self.b + self.b * self.doc_len[docs] / avg)
            scores[docs] += self.idf(t) * tf * (self.k1 + 1) / norm
        return scores

    def search(self, query: str, k: int, filters: Filters | None = None) -> list[tuple[str, float]]:
        """Top ``k`` (chunk id, score) with a positive score, filtered like the dense side."""
        scores = self.scores(query)
        if filters is not None and filters.active:
            scores[~self._mask(filters)] = 0.0
        k = min(k, int((scores > 0).sum()))
        if k <= 0:
            return []
        top = np.argpartition(-scores, k - 1)[:k]
        top = top[np.argsort(-scores[top], kind="stable")]
        return [(self.chunk_ids[i], float(scores[i])) for i in top]

    def _mask(self, f: Filters) -> np.ndarray:
        mask = np.ones(len(self), dtype=bool)
        if f.since or f.until:
            mask &= self.days >= 0
        if f.since:
            mask &= self.days >= day_number(f.since)
        if f.until:
            mask &= self.days <= day_number(f.until)
        if f.outlets:
            wanted = {o.lower() for o in f.outlets}
            mask &= np.fromiter((o in wanted for o in self.outlets), dtype=bool, count=len(self))
        return mask


def load_index(store: Store, cache_dir: Path | None) -> LexicalIndex:
    """The BM25 index for the store's current contents, from the cache when it is still current."""
    committed = store.committed()
    parts = [str(CACHE_VERSION), repr(sorted(store.fingerprint.items()))]
    parts += sorted(f"{aid}={c.content_hash}" for aid, c in committed.items())
    key = hashlib.sha256("|".join(parts).encode()).hexdigest()[:20]
    path = cache_dir / f"{store.settings.collection}-{key}.pkl" if cache_dir else None
    if path is not None and path.exists():
        try:
            with path.open("rb") as f:
                index = pickle.load(f)
            if isinstance(index, LexicalIndex):
                return index
        except Exception:  # a corrupt or foreign cache is rebuilt, never trusted
            pass
    index = LexicalIndex.build(store.iter_chunks())
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        for old in path.parent.glob(f"{store.settings.collection}-*.pkl"):
            old.unlink(missing_ok=True)
        tmp = path.with_suffix(".tmp")
        with tmp.open("wb") as f:
            pickle.dump(index, f, protocol=pickle.HIGHEST_PROTOCOL)
        tmp.replace(path)
    return index
