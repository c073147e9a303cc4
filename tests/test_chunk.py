"""Chunking: exact slices, token budgets (tiktoken and the embedder's own), overlap, full coverage."""

from __future__ import annotations

import itertools

from rag.ingest import tokens
from rag.ingest.chunk import Budget, Chunker, embed_text, make_chunker
from rag.search.embed import LocalMiniLM
from rag.types import Article


def _article(text: str, title: str = "A title") -> Article:
    return Article(id="a1", title=title, text=text)


NEWS = "\n\n".join(
    f"Paragraph {p} opens here. The council met on Monday to discuss item {p}. "
    f"Members said the plan would cost {p},000 dollars. Critics disagreed strongly with the figures. "
    f"A vote is expected next week, officials said."
    for p in range(1, 30)
)


def test_chunks_are_exact_slices_within_budget_and_cover_the_text() -> None:
    chunker = Chunker(max_tokens=80, overlap_tokens=20)
    article = _article(NEWS)
    chunks = chunker.split(article)
    assert len(chunks) > 5
    covered = set()
    for c in chunks:
        assert article.text[c.start : c.end] == c.text
        assert c.n_tokens <= 80
        assert c.id == f"a1:{c.index}"
        covered.update(range(c.start, c.end))
    non_space = {i for i, ch in enumerate(article.text) if not ch.isspace()}
    assert non_space <= covered


def test_consecutive_chunks_overlap_and_start_on_sentence_boundaries() -> None:
    chunks = Chunker(max_tokens=80, overlap_tokens=25).split(_article(NEWS))
    overlaps = sum(1 for a, b in itertools.pairwise(chunks) if b.start < a.end)
    assert overlaps >= len(chunks) // 2
    for c in chunks:
        assert c.text[0].isupper() or c.text[0].isdigit()
        assert c.text.rstrip()[-1] in '.!?"”'


def test_an_over_long_sentence_is_split_not_truncated() -> None:
    long_sentence = "word " * 700 + "end."
    chunks = Chunker(max_tokens=100, overlap_tokens=10).split(_article(long_sentence))
    assert len(chunks) >= 7
    assert all(c.n_tokens <= 100 for c in chunks)
    assert "end." in chunks[-1].text


def test_embedder_budget_is_respected_including_the_title(embedder: LocalMiniLM) -> None:
    # Text that WordPiece splits into many more pieces than tiktoken: a tiktoken-only budget would overflow.
    dense = " ".join(f"Xq{i}zv{i}k" for i in range(400)) + "."
    title = "A fairly long headline about a dense technical subject that eats into the budget"
    chunker = make_chunker(2000, 0, embedder)
    chunks = chunker.split(_article(dense, title))
    assert len(chunks) > 1
    for c in chunks:
        assert embedder.count_tokens(embed_text(c)) <= embedder.max_tokens


def test_a_giant_single_word_is_cut_to_fit() -> None:
    budget = Budget(count=len, limit=50)
    chunker = Chunker(max_tokens=500, overlap_tokens=0, embed_budget=budget)
    text = "Start. " + "x" * 400 + " done."
    chunks = chunker.split(_article(text, title=""))
    assert all(len(c.text) <= 50 for c in chunks)
    assert "".join(c.text for c in chunks).replace(" ", "").replace(".", "") == "Start" + "x" * 400 + "done"


def test_fingerprint_changes_with_chunking_settings() -> None:
    fingerprints = {Chunker(200, 30).fingerprint, Chunker(250, 30).fingerprint, Chunker(200, 40).fingerprint}
    assert len(fingerprints) == 3  # each chunking setting changes the index fingerprint


def test_token_counts_use_cl100k() -> None:
    assert tokens.count("hello world") == 2
    assert tokens.count_many(["hello world", "a"]) == [2, 1]
