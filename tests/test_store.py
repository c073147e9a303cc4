"""The Chroma store, for real, in a temp dir: writes, filters, fingerprints, the commit protocol, repair,
the writer lock, and one-line failures."""

from __future__ import annotations

import datetime as dt
import errno
import threading
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from rag.errors import StaleIndexError, StoreBusyError, StoreError
from rag.search import chroma, storeread
from rag.search.chroma import ReadOnlyClient, open_read_only
from rag.search.store import Store
from rag.search.storefaults import describe_failure
from rag.search.storerecords import ArticleWrite, day_number, where_clause
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
def store(tmp_path: Path) -> Iterator[Store]:
    store = Store(make_settings(tmp_path), FP)
    with store.writing():
        yield store


def test_write_read_and_commit_records(store: Store) -> None:
    assert not store.exists() and store.count_chunks() == 0
    store.put_articles([_write("a", dt.date(2024, 10, 1)), _write("b", None, n=3)])
    assert store.count_articles() == 2 and store.count_chunks() == 5
    committed = store.committed()
    assert committed["b"].n_chunks == 3 and committed["a"].content_hash == "ha"
    article = store.get_article("a")
    assert article is not None and article.published == dt.date(2024, 10, 1) and article.outlet == "Wire"
    assert {c.id for c in store.iter_chunks()} == {"a:0", "a:1", "b:0", "b:1", "b:2"}


def test_replace_removes_the_old_chunks(store: Store) -> None:
    store.put_articles([_write("a", None, n=4)])
    store.put_articles([_write("a", None, n=2)])
    assert store.count_chunks() == 2 and store.committed()["a"].n_chunks == 2


def test_date_and_outlet_filters_in_chroma_dense_search(store: Store) -> None:
    writes = [
        _write("old", dt.date(2024, 1, 1), "CNN", seed=1),
        _write("new", dt.date(2024, 10, 1), "USA Today", seed=2),
        _write("undated", None, "CNN", seed=3),
    ]
    store.put_articles(writes)
    query = writes[0].vectors[0]
    ids = lambda f: {cid.split(":")[0] for cid, _ in store.dense_ids(query, 10, f)}  # noqa: E731
    assert ids(None) == {"old", "new", "undated"}
    assert ids(Filters(since=dt.date(2024, 6, 1))) == {"new"}
    assert ids(Filters(until=dt.date(2024, 6, 1))) == {"old"}
    assert ids(Filters(outlets=("cnn",))) == {"old", "undated"}
    assert ids(Filters(since=dt.date(2025, 1, 1))) == set()
    # A short window is asked as its days, a long one as a range: the same chunks either way, ends included.
    short = Filters(since=dt.date(2024, 9, 25), until=dt.date(2024, 10, 1), outlets=("usa today",))
    assert where_clause(short) == {
        "$and": [
            {"published_day": {"$in": list(range(day_number(short.since), day_number(short.until) + 1))}},
            {"outlet_key": {"$in": ["usa today"]}},
        ]
    }
    assert ids(short) == ids(Filters(since=dt.date(2024, 10, 1), until=dt.date(2024, 10, 1))) == {"new"}
    assert ids(Filters(since=dt.date(2024, 10, 2), until=dt.date(2024, 10, 8))) == set()
    long = Filters(since=dt.date(2023, 12, 1), until=dt.date(2024, 10, 1))
    assert "$and" in (where_clause(long) or {}) and ids(long) == {"old", "new"}


def test_a_search_over_few_ids_compares_each_exactly_and_over_many_asks_chroma(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    writes = [_write(f"a{i}", dt.date(2024, 10, 1), n=3, seed=i) for i in range(6)]
    store.put_articles(writes)
    query = writes[2].vectors[1] + 0.3 * writes[4].vectors[0]
    ids = [c.id for w in writes for c in w.chunks][2:15]
    vectors = np.concatenate([w.vectors for w in writes])[2:15]
    cosine = vectors @ query / (np.linalg.norm(vectors, axis=1) * np.linalg.norm(query))
    expected = [ids[i] for i in np.argsort(-cosine)[:4]]
    exact = store.dense_ids(query, 4, ids=ids)
    assert [cid for cid, _ in exact] == expected and exact[0][0] == "a2:1"
    assert np.allclose([d for _, d in exact], 1 - np.sort(cosine)[::-1][:4], atol=1e-5)
    assert [cid for cid, _ in store.dense_ids(query, 4, ids=[*ids, "missing:0"])] == expected
    calls: list[object] = []
    query_chroma = store._chunks.query
    monkeypatch.setattr(store._chunks, "query", lambda **kw: calls.append(kw) or query_chroma(**kw))
    assert store.dense_ids(query, 4, ids=ids) == exact and not calls  # read and compared, not an HNSW search
    monkeypatch.setattr(storeread, "EXACT_IDS", len(ids) - 1)
    through_chroma = store.dense_ids(query, 4, ids=ids)
    assert len(calls) == 1 and [cid for cid, _ in through_chroma] == expected
    assert np.allclose([d for _, d in through_chroma], [d for _, d in exact], atol=1e-4)


def test_fingerprint_mismatch_is_a_clear_error_naming_the_rebuild(tmp_path: Path) -> None:
    first = Store(make_settings(tmp_path), FP)
    with first.writing():
        first.put_articles([_write("a", None)])
    other = Store(make_settings(tmp_path), {"embedder": "other", "chunking": "toy"})
    with pytest.raises(StaleIndexError, match="rag ingest --rebuild"):
        other.count_chunks()
    with other.writing():
        other.reset()
    assert other.count_chunks() == 0


def _half_written(store: Store, w: ArticleWrite, run: str = "dead-run") -> None:
    """What a run killed between writing an article's chunks and its record leaves behind."""
    store._chunks.upsert(
        ids=[c.id for c in w.chunks],
        embeddings=w.vectors.tolist(),
        documents=[c.text for c in w.chunks],
        metadatas=[
            {
                "article_id": c.article_id,
                "index": c.index,
                "start": 0,
                "end": 5,
                "run": run,
                "content_hash": w.content_hash,
            }
            for c in w.chunks
        ],
    )


def test_repair_removes_orphans_left_by_an_interrupted_write(store: Store) -> None:
    store.put_articles([_write("a", None)])
    _half_written(store, _write("b", None, n=3))
    assert store.count_chunks() == 5
    assert store.repair() == 3
    assert store.count_chunks() == 2 and set(store.committed()) == {"a"}


def test_readers_never_see_chunks_of_an_uncommitted_article_or_version(store: Store) -> None:
    a = _write("a", None, n=2, seed=1)
    store.put_articles([a])
    _half_written(store, _write("b", None, n=2, seed=2))  # never committed
    rewrite = _write("a", None, n=2, seed=3)
    rewrite = ArticleWrite(rewrite.article, rewrite.chunks, rewrite.vectors, "h-new", "t")
    _half_written(store, ArticleWrite(rewrite.article, rewrite.chunks[1:], rewrite.vectors[1:], "h-new", "t"))
    # "a:1" now holds an unfinished rewrite's chunk (another hash) under a's committed record
    assert [c.id for c in store.iter_chunks()] == ["a:0"]
    assert [c.id for c in store.get_chunks(["a:0", "a:1", "b:0", "b:1"])] == ["a:0"]


def test_a_committed_article_missing_a_chunk_is_uncommitted_by_repair(tmp_path: Path) -> None:
    store = Store(make_settings(tmp_path), FP)
    with store.writing():
        store.put_articles([_write("a", None, n=3), _write("b", None, n=2)])
    store._chunks.delete(ids=["a:1"])  # what a run that died rewriting "a" can leave
    with store.writing():
        assert store.repair() == 2
    assert set(store.committed()) == {"b"} and {c.id for c in store.iter_chunks()} == {"b:0", "b:1"}


def test_a_renamed_article_keeps_its_stored_vectors(store: Store) -> None:
    w = _write("old", None, n=3)
    store.put_articles([w])
    renamed = Article(id="new", title=w.article.title, text=w.article.text, outlet="Wire")
    moved = store.moved("old", renamed, w.content_hash, "t")
    assert moved is not None and [c.id for c in moved.chunks] == ["new:0", "new:1", "new:2"]
    assert np.allclose(moved.vectors, w.vectors, atol=1e-6)
    assert store.moved("old", renamed, "another hash", "t") is None


def test_a_second_writer_fails_at_once_or_waits_with_a_message(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    first, second = Store(settings, FP), Store(settings, FP)
    holding, release = threading.Event(), threading.Event()

    def hold() -> None:
        with first.writing():
            holding.set()
            release.wait(10)  # if the second writer blocked instead of failing, nothing would set this

    holder = threading.Thread(target=hold)
    holder.start()
    assert holding.wait(10)
    with (
        pytest.raises(
            StoreBusyError, match=r"another run \(pid \d+, since .*\) is writing to the store at .*; .* --wait"
        ),
        second.writing(),
    ):
        pass
    told: list[str] = []
    threading.Timer(0.3, release.set).start()
    with second.writing(on_wait=told.append):
        assert release.is_set()
    holder.join()
    assert len(told) == 1 and told[0].startswith("waiting for another run (pid")


def test_writes_outside_a_run_are_refused(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError, match=r"store\.writing"):
        Store(make_settings(tmp_path), FP).put_articles([_write("a", None)])


@pytest.mark.parametrize(
    ("exc", "says"),
    [
        (OSError(errno.ENOSPC, "No space left on device"), "the disk is full; free some space"),
        (RuntimeError("error returned from database: (code: 13) database or disk is full"), "the disk is full"),
        (RuntimeError("attempt to write a readonly database"), "the store is read-only; make it writable"),
        (RuntimeError("error returned from database: (code: 26) file is not a database"), "rag ingest --rebuild"),
        (RuntimeError("Error constructing hnsw segment reader: Error loading hnsw index"), "the store is damaged"),
    ],
)
def test_store_failures_name_the_cause_and_the_fix(tmp_path: Path, exc: Exception, says: str) -> None:
    line = describe_failure(exc, "writing to", "/data/chroma", make_settings(tmp_path))
    assert says in line and "\n" not in line


def test_a_compaction_error_is_a_full_disk_only_when_the_disk_is_nearly_full(tmp_path: Path) -> None:
    compaction = RuntimeError("Error in compaction: Failed to apply logs to the metadata segment")
    roomy = describe_failure(compaction, "writing to", "/data/chroma", make_settings(tmp_path))
    assert "disk is full" not in roomy and "Error in compaction" in roomy
    server = describe_failure(compaction, "writing to", "http://x", make_settings(tmp_path, chroma_url="http://x:1"))
    assert "is its disk full?" in server


def test_only_a_run_that_ended_uncleanly_makes_the_next_run_repair(tmp_path: Path) -> None:
    store = Store(make_settings(tmp_path), FP)
    with store.writing():
        assert store.unclean_runs() == set()  # a new store holds nothing from before runs were marked
        store.put_articles([_write("a", None)])
    with store.writing():
        assert store.unclean_runs() == set()  # the clean run left no mark: no scan of the store
    with pytest.raises(RuntimeError), store.writing() as run:
        _half_written(store, _write("b", None, n=3), run=run)
        raise RuntimeError("the run fails mid-write")
    with store.writing():
        assert store.unclean_runs() == {run}
        assert store.repair_if_needed() == 3
        assert store.unclean_runs() == set()
    assert set(store.committed()) == {"a"} and store.count_chunks() == 2


def test_a_store_from_before_run_marks_is_repaired_once(tmp_path: Path) -> None:
    store = Store(make_settings(tmp_path), FP)
    with store.writing() as run:
        store.put_articles([_write("a", None)])
        _half_written(store, _write("b", None, n=3), run="old-version-run")
    marks = store.settings.data_dir / "chroma.runs"
    (marks / "legacy").unlink(missing_ok=True)
    marks.rmdir()  # as a store written before runs were marked looks
    assert run
    with store.writing():
        assert store.repair_if_needed() == 3
    with store.writing():
        assert store.repair_if_needed() == 0 and store.unclean_runs() == set()


# -- the read-only client (Chroma's engine without chromadb's Python client) ----------------------------


def test_a_read_only_store_reads_what_the_full_client_reads_and_switches_before_writing(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    full = Store(settings, FP)
    writes = [
        _write("a", dt.date(2024, 10, 1), "Wire", n=3, seed=1),
        _write("b", dt.date(2024, 10, 9), "Post", n=2, seed=2),
        _write("c", None, "Wire", n=4, seed=3),
    ]
    with full.writing():
        full.put_articles(writes)
        _half_written(full, _write("d", dt.date(2024, 10, 2), n=2, seed=4))  # chunks without a commit
    light = Store(settings, FP, read_only=True)
    assert isinstance(light._client, ReadOnlyClient)
    assert light.count_chunks() == full.count_chunks() == 11 and light.count_articles() == full.count_articles() == 3
    assert light.committed() == full.committed() and light.committed_since(0.0) == full.committed_since(0.0)
    assert sorted(c.id for c in light.iter_chunks()) == sorted(c.id for c in full.iter_chunks())
    assert light.get_chunks(["b:1", "d:0", "a:0", "zz"]) == full.get_chunks(["b:1", "d:0", "a:0", "zz"])
    assert light.get_article("a") == full.get_article("a") and light.get_article("zz") is None
    vectors, expected = light.article_vectors(["a", "c"]), full.article_vectors(["a", "c"])
    assert vectors.keys() == expected.keys() and all(np.allclose(vectors[i], expected[i]) for i in expected)
    vector = writes[0].vectors[1]
    week = Filters(since=dt.date(2024, 10, 3), until=dt.date(2024, 10, 9))
    outlet = Filters(outlets=("post",))
    for filters in (None, week, outlet):
        assert light.dense_ids(vector, 5, filters) == full.dense_ids(vector, 5, filters)
    assert light.dense_ids(vector, 2, ids=["c:0", "a:1", "b:0"]) == full.dense_ids(vector, 2, ids=["c:0", "a:1", "b:0"])
    assert light.dense_ids(vector, 1)[0][0] == "a:1"
    with pytest.raises(AttributeError, match="writes need the full client"):
        light._client.delete_collection("news-chunks")
    with light.writing():  # the first write reopens it with the full client
        assert not isinstance(light._client, ReadOnlyClient)
        light.put_articles([_write("e", dt.date(2024, 10, 5), n=1, seed=5)])
    assert full.count_articles() == 4 and light.get_article("e") is not None


def test_the_read_only_client_is_used_only_where_it_can_be(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert open_read_only(tmp_path / "nothing-here") is None  # a new store: the full client creates it
    settings = make_settings(tmp_path)
    store = Store(settings, FP)
    with store.writing():
        store.put_articles([_write("a", dt.date(2024, 10, 1))])
    assert isinstance(open_read_only(settings.data_dir / "chroma"), ReadOnlyClient)
    monkeypatch.setattr(chroma, "LIGHT_RELEASES", ("0.4",))  # a chromadb it was not tested against
    other = Store(settings, FP, read_only=True)
    assert not isinstance(other._client, ReadOnlyClient) and other.count_articles() == 1
    monkeypatch.undo()
    (settings.data_dir / "chroma" / "chroma.sqlite3").write_bytes(b"this is not a database" * 100)
    assert open_read_only(settings.data_dir / "chroma") is None  # the full client then names the damage
    with pytest.raises(StoreError, match="the store is damaged"):
        Store(settings, FP, read_only=True)
