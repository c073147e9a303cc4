"""The Chroma store, for real, in a temp dir: writes, filters, fingerprints, orphan repair."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pytest

from rag.errors import StaleIndexError
from rag.store import ArticleWrite, Store
from rag.types import Article, Chunk, Filters
from tests.conftest import make_settings

FP = {"embedder": "toy", "chunking": "toy"}


def _write(article_id: str, day: dt.date | None, outlet: str = "Wire", n: int = 2, seed: int = 0) -> ArticleWrite:
    text = " ".join(f"Sentence {i} of {article_id}." for i in range(n))
    article = Article(id=article_id, title=f"T {article_id}", text=text, outlet=outlet, published=day)
    chunks = [
        Chunk(f"{article_id}:{i}", article_id, i, text[:5], 0, 5, article.title, outlet, "", day) for i in range(n)
    ]
    rng = np.random.default_rng(seed)
    vecs = rng.normal(size=(n, 8)).astype(np.float32)
    return ArticleWrite(article, chunks, vecs / np.linalg.norm(vecs, axis=1, keepdims=True), "h" + article_id, "t")


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return Store(make_settings(tmp_path), FP)


def test_write_read_and_commit_records(store: Store) -> None:
    assert not store.exists() and store.count_chunks() == 0
    store.put_articles([_write("a", dt.date(2024, 10, 1)), _write("b", None, n=3)], replace=False)
    assert store.count_articles() == 2 and store.count_chunks() == 5
    committed = store.committed()
    assert committed["b"].n_chunks == 3 and committed["a"].content_hash == "ha"
    article = store.get_article("a")
    assert article is not None and article.published == dt.date(2024, 10, 1) and article.outlet == "Wire"
    assert {c.id for c in store.iter_chunks()} == {"a:0", "a:1", "b:0", "b:1", "b:2"}


def test_replace_removes_the_old_chunks(store: Store) -> None:
    store.put_articles([_write("a", None, n=4)], replace=False)
    store.put_articles([_write("a", None, n=2)])
    assert store.count_chunks() == 2 and store.committed()["a"].n_chunks == 2


def test_date_and_outlet_filters_in_chroma_dense_search(store: Store) -> None:
    writes = [
        _write("old", dt.date(2024, 1, 1), "CNN", seed=1),
        _write("new", dt.date(2024, 10, 1), "USA Today", seed=2),
        _write("undated", None, "CNN", seed=3),
    ]
    store.put_articles(writes, replace=False)
    query = writes[0].vectors[0]
    ids = lambda f: {cid.split(":")[0] for cid, _ in store.dense_ids(query, 10, f)}  # noqa: E731
    assert ids(None) == {"old", "new", "undated"}
    assert ids(Filters(since=dt.date(2024, 6, 1))) == {"new"}
    assert ids(Filters(until=dt.date(2024, 6, 1))) == {"old"}
    assert ids(Filters(outlets=("cnn",))) == {"old", "undated"}
    assert ids(Filters(since=dt.date(2025, 1, 1))) == set()


def test_fingerprint_mismatch_is_a_clear_error_naming_the_rebuild(tmp_path: Path) -> None:
    Store(make_settings(tmp_path), FP).put_articles([_write("a", None)], replace=False)
    other = Store(make_settings(tmp_path), {"embedder": "other", "chunking": "toy"})
    with pytest.raises(StaleIndexError, match="rag ingest --rebuild"):
        other.count_chunks()
    other.reset()
    assert other.count_chunks() == 0


def test_repair_removes_orphans_left_by_an_interrupted_write(store: Store) -> None:
    store.put_articles([_write("a", None)], replace=False)
    # What a run killed between the chunk write and the commit record leaves behind:
    w = _write("b", None, n=3)
    store._chunks.add(
        ids=[c.id for c in w.chunks],
        embeddings=w.vectors.tolist(),
        documents=[c.text for c in w.chunks],
        metadatas=[{"article_id": "b", "index": c.index, "start": 0, "end": 5} for c in w.chunks],
    )
    assert store.count_chunks() == 5
    assert store.repair() == 3
    assert store.count_chunks() == 2 and set(store.committed()) == {"a"}
