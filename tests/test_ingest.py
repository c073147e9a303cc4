"""Ingestion end to end on the real store: incremental, replace, prune, duplicates, skips, limits, the quickstart's
sample never joining another run (crashes and concurrency: test_faults.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from rag.errors import EmptyCorpusError
from rag.pipeline import Pipeline
from rag.search.embed import LocalMiniLM
from rag.settings import Settings
from rag.types import Article
from tests.conftest import article_md, make_settings, run_cli, write

BODY = (
    "The harbour authority said on Tuesday that the new ferry terminal would open in March. "
    "Officials expect 4,000 passengers a day once the terminal is running at full capacity. "
    "Local businesses welcomed the decision, while residents worried about traffic."
)


def _pipeline(settings: Settings, embedder: LocalMiniLM) -> Pipeline:
    return Pipeline.from_settings(settings, embedder=embedder)


def test_reingest_of_unchanged_input_embeds_nothing(tmp_path: Path, settings: Settings, embedder: LocalMiniLM) -> None:
    write(tmp_path / "in" / "a.md", article_md("Ferry terminal", BODY))
    write(tmp_path / "in" / "b.md", article_md("Other", BODY.replace("ferry", "bus")))
    p = _pipeline(settings, embedder)
    first = p.ingest([tmp_path / "in"])
    assert (first.added, first.chunks) == (2, 2)
    again = p.ingest([tmp_path / "in"])
    assert (again.added, again.updated, again.unchanged, again.chunks) == (0, 0, 2, 0)
    assert again.summary().startswith("nothing to embed")


def test_changed_article_replaces_its_chunks(tmp_path: Path, settings: Settings, embedder: LocalMiniLM) -> None:
    f = write(tmp_path / "in" / "a.md", article_md("Ferry terminal", BODY))
    p = _pipeline(settings, embedder)
    p.ingest([f])
    long_body = "\n\n".join([BODY] * 12)
    write(f, article_md("Ferry terminal", long_body))
    report = p.ingest([f])
    assert (report.added, report.updated) == (0, 1)
    n = p.store.committed()["a"].n_chunks
    assert n > 1 and p.store.count_chunks() == n
    article = p.store.get_article("a")
    assert article is not None and article.text.count("harbour authority") == 12


def test_prune_drops_articles_that_are_gone_but_keeps_unreadable_ones(
    tmp_path: Path, settings: Settings, embedder: LocalMiniLM
) -> None:
    write(tmp_path / "in" / "a.md", article_md("A", BODY))
    b = write(tmp_path / "in" / "b.md", article_md("B", BODY + " Extra words for B."))
    c = write(tmp_path / "in" / "c.md", article_md("C", BODY + " Extra words for C."))
    p = _pipeline(settings, embedder)
    p.ingest([tmp_path / "in"])
    b.unlink()
    write(c, b"\x00\x01binary now")
    report = p.ingest([tmp_path / "in"], prune=True)
    assert report.pruned == 1 and len(report.skipped) == 1
    assert set(p.store.committed()) == {"a", "c"}


def test_exact_duplicates_collapse(tmp_path: Path, settings: Settings, embedder: LocalMiniLM) -> None:
    write(tmp_path / "in" / "a.md", article_md("Wire story", BODY, outlet="AP"))
    write(tmp_path / "in" / "b.md", article_md("Wire story reprint", BODY, outlet="Local Paper"))
    report = _pipeline(settings, embedder).ingest([tmp_path / "in"])
    assert report.added == 1 and len(report.duplicates) == 1
    assert report.duplicates[0][1] == "a"


def test_bad_inputs_do_not_stop_the_batch(tmp_path: Path, settings: Settings, embedder: LocalMiniLM) -> None:
    write(tmp_path / "in" / "good.md", article_md("Good", BODY))
    write(tmp_path / "in" / "bad.md", "---\ntitle: [\n---\n" + BODY)
    write(tmp_path / "in" / "empty.txt", "")
    seen: list[str] = []
    report = _pipeline(settings, embedder).ingest([tmp_path / "in"], on_skip=lambda s: seen.append(s.source))
    assert report.added == 1 and len(report.skipped) == 2 and len(seen) == 2


def test_a_duplicate_of_an_article_still_in_its_file_collapses_across_runs(
    tmp_path: Path, settings: Settings, embedder: LocalMiniLM
) -> None:
    write(tmp_path / "x" / "wire.md", article_md("Wire story", BODY, outlet="AP"))
    write(tmp_path / "y" / "reprint.md", article_md("Wire story reprint", BODY, outlet="Local Paper"))
    p = _pipeline(settings, embedder)
    p.ingest([tmp_path / "x"])
    report = p.ingest([tmp_path / "y"])  # wire.md still holds the text: a duplicate, not a rename
    assert report.duplicates == [(str((tmp_path / "y" / "reprint.md").resolve()), "wire")] and report.renamed == 0
    assert set(p.store.committed()) == {"wire"}


def test_an_article_over_the_size_cap_is_skipped_and_the_rest_stored(tmp_path: Path, embedder: LocalMiniLM) -> None:
    settings = make_settings(tmp_path, max_article_bytes=2000)
    items = [
        Article(id="small", title="Small", text=BODY, source="https://example.com/small"),
        Article(id="large", title="Large", text=BODY * 20, source="https://example.com/large"),
    ]
    seen: list[str] = []
    report = _pipeline(settings, embedder).ingest_items(items, on_skip=lambda s: seen.append(f"{s.source}: {s.reason}"))
    assert report.added == 1
    assert seen == [
        f"https://example.com/large: {len(BODY) * 20:,} bytes, over the 2,000 bytes limit (RAG_MAX_ARTICLE_BYTES); "
        "split it, or raise the limit"
    ]


def test_the_sample_is_never_added_while_another_run_writes_or_after_one_was_interrupted(
    tmp_path: Path, settings: Settings, embedder: LocalMiniLM
) -> None:
    first = _pipeline(settings, embedder)
    asker = _pipeline(settings, embedder)
    busy = pytest.raises(EmptyCorpusError, match="another run is writing to it; ask again when it has finished")
    with first.store.writing(), busy:  # a first `rag ingest` still embedding: nothing committed yet
        asker.ensure_corpus()
    assert asker.store.count_articles() == 0
    with first.store.writing():  # what an interrupted first ingest leaves: chunks, no commit
        first.store._open(create=True)
        first.store._chunks.upsert(
            ids=["x:0"], embeddings=[[1.0] * 384], documents=["x"], metadatas=[{"article_id": "x", "index": 0}]
        )
    with pytest.raises(EmptyCorpusError, match="only what an interrupted ingest left; run `rag ingest PATH`"):
        asker.ensure_corpus()
    assert asker.store.count_articles() == 0


def test_rag_ask_during_a_first_ingest_leaves_the_store_alone(tmp_path: Path, embedder: LocalMiniLM) -> None:
    settings = make_settings(tmp_path)
    writer = _pipeline(settings, embedder)
    with writer.store.writing():
        asked = run_cli(tmp_path, "ask", "How many soldiers?")
    assert asked.returncode == 1
    assert asked.stderr.strip().splitlines() == [
        "rag: error: the store has no article yet and another run is writing to it; ask again when it has finished"
    ]
    assert writer.store.count_articles() == 0 and writer.store.count_chunks() == 0


def test_answers_never_quote_an_article_that_is_not_committed(
    tmp_path: Path, settings: Settings, embedder: LocalMiniLM
) -> None:
    write(tmp_path / "in" / "a.md", article_md("Ferry terminal", BODY))
    p = _pipeline(settings, embedder)
    p.ingest([tmp_path / "in"])
    pending = "The new bridge toll will be 7 dollars, the transport ministry announced on Friday."
    with p.store.writing() as run:  # another run's chunk, written but not yet committed
        p.store._chunks.upsert(
            ids=["bridge:0"],
            embeddings=[embedder.embed([pending])[0].tolist()],
            documents=[pending],
            metadatas=[{"article_id": "bridge", "index": 0, "start": 0, "end": len(pending), "run": run}],
        )
        p.retriever.refresh()
        hits = p.retriever.search("How much will the new bridge toll be?", 5)
        answer = p.ask("How much will the new bridge toll be?")
    assert hits and all(h.chunk.article_id == "a" for h in hits)
    assert all(c.article_id == "a" for c in answer.citations) and "7 dollars" not in answer.text


def test_adding_an_article_to_a_healthy_store_reads_no_other_record(
    tmp_path: Path, settings: Settings, embedder: LocalMiniLM, monkeypatch: pytest.MonkeyPatch
) -> None:
    for i in range(3):
        write(tmp_path / "in" / f"a{i}.md", article_md(f"Ferry {i}", BODY.replace("4,000", f"{i + 1},000")))
    p = _pipeline(settings, embedder)
    assert p.ingest([tmp_path / "in"]).added == 3
    scans: list[str] = []
    for name in ("committed", "repair"):
        real = getattr(p.store, name)
        monkeypatch.setattr(p.store, name, lambda real=real, name=name: scans.append(name) or real())
    write(tmp_path / "new" / "b.md", article_md("Bus", BODY.replace("ferry", "bus")))
    report = p.ingest([tmp_path / "new"])
    assert (report.added, report.unchanged) == (1, 0) and scans == []  # O(article): no full read of the store
    write(tmp_path / "new" / "copy.md", article_md("Ferry 0 again", BODY.replace("4,000", "1,000")))
    again = p.ingest([tmp_path / "new"])
    assert again.unchanged == 1 and len(again.duplicates) == 1 and scans == []  # found by its text hash
    pruned = p.ingest([tmp_path / "new"], prune=True)
    assert pruned.pruned == 2 and scans == ["committed"]  # a prune reads every record (a0 stays: copy.md holds it)
