"""The lexical index for real (tantivy on disk, Chroma in a temp dir): incremental writes, catching up with
the store after a crash or another writer, filters, idf, and no pickle anywhere."""

from __future__ import annotations

import datetime as dt
import math
import pickle
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from rag.search.lexical import Indexed, LexicalIndex
from rag.search.store import Store
from rag.search.storerecords import ArticleWrite
from rag.text import terms
from rag.types import Article, Chunk, Filters
from tests.conftest import make_settings

FP = {"embedder": "toy", "chunking": "toy"}


def _write(aid: str, text: str, day: dt.date | None = dt.date(2024, 10, 1), outlet: str = "Wire") -> ArticleWrite:
    """An article of one chunk per sentence (vectors are random: these tests are about the lexical side)."""
    article = Article(id=aid, title=f"About {aid}", text=text, outlet=outlet, published=day)
    chunks, start = [], 0
    for i, sentence in enumerate(text.split(". ")):
        chunks.append(
            Chunk(f"{aid}:{i}", aid, i, sentence, start, start + len(sentence), article.title, outlet, "", day)
        )
        start += len(sentence) + 2
    vecs = np.random.default_rng(len(aid)).normal(size=(len(chunks), 8)).astype(np.float32)
    return ArticleWrite(article, chunks, vecs / np.linalg.norm(vecs, axis=1, keepdims=True), f"h-{text}", aid)


def _indexed(w: ArticleWrite, stamp: float) -> Indexed:
    return Indexed(w.article.id, w.content_hash, stamp, w.chunks)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    store = Store(make_settings(tmp_path), FP)
    with store.writing():
        yield store


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return tmp_path / "data" / "lexical"


def _ids(index: LexicalIndex, query: str, f: Filters | None = None) -> set[str]:
    return {cid.split(":")[0] for cid, _ in index.search(query, 10, f)}


def _segment_files(index: LexicalIndex) -> dict[str, int]:
    assert index.path is not None
    return {p.name: p.stat().st_size for p in index.path.iterdir() if not p.name.startswith((".", "meta"))}


def test_adding_an_article_writes_only_its_chunks_and_persists(store: Store, root: Path) -> None:
    index = LexicalIndex.for_store(store, root)
    first = [_write(f"a{i}", f"Harbour news {i}. The ferry runs daily. Tolls rise") for i in range(20)]
    index.add(_indexed(w, store.put_articles([w])) for w in first)
    assert (len(index), index.articles()) == (60, 20)
    before = _segment_files(index)

    late = _write("zanzibar", "Zanzibar exports cloves. Dhows sail at dawn")
    assert index.add([_indexed(late, store.put_articles([late]))])
    assert (index.written.articles, index.written.chunks, index.written.deleted) == (1, 2, 0)
    after = _segment_files(index)
    assert all(after[name] == size for name, size in before.items())  # no segment rewritten
    assert len({name.split(".")[0] for name in set(after) - set(before)}) == 1  # one new segment, that's all
    assert _ids(index, "zanzibar cloves") == {"zanzibar"}

    reopened = LexicalIndex.for_store(store, root)  # another process: the same files, nothing to catch up
    assert _ids(reopened, "cloves") == {"zanzibar"} and len(reopened) == 62
    assert reopened.sync(store).indexed == 0


def test_a_changed_article_replaces_its_chunks(store: Store, root: Path) -> None:
    index = LexicalIndex.for_store(store, root)
    w = _write("a", "Storm hits the coast. Roads closed")
    index.add([_indexed(w, store.put_articles([w]))])
    w2 = _write("a", "Calm returns to the coast")
    index.add([_indexed(w2, store.put_articles([w2]))])
    assert _ids(index, "storm") == set() and _ids(index, "calm") == {"a"} and len(index) == 1
    assert index.hashes() == {"a": w2.content_hash}


def test_sync_catches_up_with_commits_it_was_not_told_of(store: Store, root: Path) -> None:
    index = LexicalIndex.for_store(store, root)
    w = _write("a", "Council passes budget. Roads get money")
    index.add([_indexed(w, store.put_articles([w]))])
    # A run killed after the store's commit but before the index's, or another process's ingest:
    store.put_articles([_write("b", "Zanzibar exports cloves")])
    store.put_articles([_write("a", "Council rejects budget")])
    report = LexicalIndex.for_store(store, root).sync(store)
    assert (report.indexed, report.removed, report.full) == (2, 0, False)  # found by the high-water mark
    assert _ids(index, "zanzibar") == set()  # the old handle sees it after its own sync
    index.sync(store)
    assert _ids(index, "zanzibar") == {"b"} and _ids(index, "rejects") == {"a"} and _ids(index, "passes") == set()


def test_sync_removes_what_the_store_no_longer_has(store: Store, root: Path) -> None:
    index = LexicalIndex.for_store(store, root)
    writes = [_write("a", "Storm hits the coast"), _write("b", "Zanzibar exports cloves")]
    index.add(_indexed(w, store.put_articles([w])) for w in writes)
    store.delete_articles(["b"])  # e.g. another machine's `rag ingest --prune`
    report = index.sync(store)
    assert (report.removed, report.full) == (1, True)
    assert _ids(index, "zanzibar") == set() and index.hashes() == {"a": writes[0].content_hash}


def test_records_without_a_commit_stamp_are_found_by_the_count_check(store: Store, root: Path) -> None:
    store.put_articles([_write("a", "Storm hits the coast")])
    store._articles.update(ids=["a"], metadatas=[{"committed_at": 0.0}])  # a store written before stamps
    index = LexicalIndex.for_store(store, root)
    index.add([_indexed(_write("b", "Zanzibar exports cloves"), 1.0)])  # the index knows another article
    report = index.sync(store)
    assert report.full and (report.indexed, report.removed) == (1, 1)
    assert _ids(index, "storm") == {"a"}


def test_a_writer_held_by_another_process_defers_the_work_to_the_next_sync(store: Store, root: Path) -> None:
    index = LexicalIndex.for_store(store, root)
    w = _write("a", "Zanzibar exports cloves")
    stamp = store.put_articles([w])
    other = index._index.writer(heap_size=15_000_000, num_threads=1)  # tantivy's own lock, as another process
    assert index.add([_indexed(w, stamp)], wait=0.2) is False
    assert index.sync(store).skipped and _ids(index, "cloves") == set()
    other.rollback()
    other.wait_merging_threads()
    assert index.sync(store).indexed == 1 and _ids(index, "cloves") == {"a"}


def test_filters_on_the_lexical_side(store: Store) -> None:
    index = LexicalIndex.for_store(store, None)  # in memory, built by sync
    store.put_articles(
        [
            _write("old", "Flood warning issued", dt.date(2024, 1, 1), "CNN"),
            _write("new", "Flood waters recede", dt.date(2024, 10, 1), "USA Today"),
            _write("undated", "Flood museum opens", None, "CNN"),
        ]
    )
    index.sync(store)
    assert _ids(index, "flood") == {"old", "new", "undated"}
    assert _ids(index, "flood", Filters(since=dt.date(2024, 6, 1))) == {"new"}
    assert _ids(index, "flood", Filters(until=dt.date(2024, 6, 1))) == {"old"}
    assert _ids(index, "flood", Filters(outlets=("cnn",))) == {"old", "undated"}
    assert _ids(index, "flood", Filters(since=dt.date(2025, 1, 1))) == set()
    assert index.newest_day() == dt.date(2024, 10, 1)
    assert index.describe(["new:0", "gone:0"]) == {"new:0": ("new", dt.date(2024, 10, 1), "usa today")}


def test_idf_is_bm25s_and_search_ranks_by_it(store: Store) -> None:
    index = LexicalIndex.for_store(store, None)
    store.put_articles([_write(f"c{i}", f"Common word here {i}") for i in range(9)])
    store.put_articles([_write("rare", "Common word and zanzibar")])
    index.sync(store)
    [zanzibar] = terms("Zanzibar")
    assert index.idf(zanzibar) == pytest.approx(math.log(1 + (10 - 1 + 0.5) / (1 + 0.5)))
    assert index.idf("never-seen") == pytest.approx(math.log(1 + (10 + 0.5) / 0.5))
    assert index.idf(zanzibar) > index.idf("common") > 0
    assert index.search("common zanzibar", 3)[0][0] == "rare:0"


def test_old_pickle_caches_are_deleted_without_being_read(store: Store, root: Path, tmp_path: Path) -> None:
    marker = tmp_path / "pwned"

    class Bomb:
        def __reduce__(self) -> tuple[object, tuple[str]]:
            return (Path.touch, (str(marker),))  # type: ignore[return-value]

    root.mkdir(parents=True)
    (root / "news-0123.pkl").write_bytes(pickle.dumps(Bomb()))
    LexicalIndex.for_store(store, root).sync(store)
    assert not marker.exists() and not list(root.glob("*.pkl"))
