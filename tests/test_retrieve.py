"""Hybrid retrieval over a real store: both sides contribute, filters hold, articles are spread out,
and the lexical index follows the store."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from rag.pipeline import Pipeline
from rag.search.embed import LocalMiniLM
from rag.search.retrieve import OVERFETCH, WIDE_OVERFETCH, FusionConfig, Retriever
from rag.settings import Settings
from rag.types import Filters
from tests.conftest import article_md, write

ARTICLES = {
    "quake": (
        "Earthquake shakes coastal town",
        "2024-10-01",
        "Wire A",
        "A magnitude 6.1 earthquake struck the coastal town of Portmere early on Monday. "
        "Residents reported cracked walls and fallen shelves, but no deaths.",
    ),
    "zx81": (
        "Retro computing fair",
        "2024-10-20",
        "Wire B",
        "Collectors brought a working ZX81 and other vintage machines to the fair in Leeds. "
        "The organiser said attendance doubled compared with last year.",
    ),
    "rain": (
        "Heavy rain floods farmland",
        "2024-10-25",
        "Wire A",
        "Torrential downpours left fields under water across the valley this week. "
        "Farmers fear the autumn harvest is lost after the river burst its banks.",
    ),
    "budget": (
        "Council passes budget",
        "2024-09-15",
        "Wire C",
        "The council approved a budget of 12 million pounds for road repairs. "
        "The vote was seven to two after a long debate.",
    ),
}


@pytest.fixture
def pipeline(tmp_path: Path, settings: Settings, embedder: LocalMiniLM) -> Pipeline:
    for key, (title, date, outlet, body) in ARTICLES.items():
        write(tmp_path / "in" / f"{key}.md", article_md(title, body, published=date, outlet=outlet))
    p = Pipeline.from_settings(settings, embedder=embedder)
    p.ingest([tmp_path / "in"])
    return p


def _top(p: Pipeline, query: str, mode: str = "hybrid", filters: Filters | None = None) -> list[str]:
    return [h.chunk.article_id for h in p.retriever.search(query, 4, filters, mode=mode)]


def test_dense_finds_paraphrase_and_lexical_finds_rare_token(pipeline: Pipeline) -> None:
    # No shared content words with the article: only the dense side can find it.
    assert _top(pipeline, "crops ruined by water after storms", mode="dense")[0] == "rain"
    # A rare exact token: the lexical side is sure, and hybrid keeps it first.
    assert _top(pipeline, "ZX81", mode="lexical") == ["zx81"]
    assert _top(pipeline, "ZX81")[0] == "zx81"
    assert _top(pipeline, "crops ruined by water after storms")[0] == "rain"


def test_hits_carry_their_ranks_from_both_sides(pipeline: Pipeline) -> None:
    [hit, *_] = pipeline.retriever.search("earthquake Portmere cracked walls", 4)
    assert hit.chunk.article_id == "quake" and hit.dense_rank == 1 and hit.lexical_rank == 1


def test_date_and_outlet_filters(pipeline: Pipeline) -> None:
    since = Filters(since=dt.date(2024, 10, 15))
    assert set(_top(pipeline, "news", filters=since)) == {"zx81", "rain"}
    assert set(_top(pipeline, "earthquake", filters=Filters(outlets=("wire a",)))) == {"quake", "rain"}
    assert _top(pipeline, "earthquake", filters=Filters(until=dt.date(2024, 9, 30))) == ["budget"]


def test_one_chunk_per_article_before_any_article_repeats(tmp_path: Path, pipeline: Pipeline) -> None:
    long_quake = "\n\n".join(
        f"Aftershock {i} hit Portmere, the earthquake-struck town, damaging homes on street {i}." for i in range(40)
    )
    write(tmp_path / "more" / "quake2.md", article_md("Aftershocks", long_quake, published="2024-10-02"))
    pipeline.ingest([tmp_path / "more"])
    ids = _top(pipeline, "earthquake Portmere damage")
    assert len(set(ids[:3])) == 3


def test_lexical_index_follows_the_store(tmp_path: Path, pipeline: Pipeline) -> None:
    assert _top(pipeline, "Zanzibar", mode="lexical") == []
    write(
        tmp_path / "more" / "z.md",
        article_md("Spice island", "Zanzibar exports cloves to many countries today."),
    )
    pipeline.ingest([tmp_path / "more"])
    assert _top(pipeline, "Zanzibar", mode="lexical") == ["z"]
    # A fresh process (new Retriever) opens the persisted index: nothing to catch up, nothing rebuilt.
    fresh = Pipeline.from_settings(pipeline.settings, embedder=pipeline.embedder)
    assert _top(fresh, "Zanzibar", mode="lexical") == ["z"]
    assert fresh.retriever.lexical.sync(fresh.store).indexed == 0


def test_a_narrow_filter_searches_exactly_over_the_chunks_that_pass_it(
    tmp_path: Path, pipeline: Pipeline, monkeypatch: pytest.MonkeyPatch
) -> None:
    for i in range(4):
        body = f"An earthquake shook the coastal town of Portmere again, report {i} says, cracking walls."
        write(
            tmp_path / "more" / f"q{i}.md",
            article_md(f"Earthquake shakes coastal town {i}", body, published="2024-10-05"),
        )
    pipeline.ingest([tmp_path / "more"])
    asked: list[tuple[object, object]] = []
    dense_ids = pipeline.store.dense_ids

    sizes: list[int] = []

    def spy(v: object, k: int, f: Filters | None = None, *, ids: list[str] | None = None) -> object:
        asked.append((f, ids))
        sizes.append(k)
        return dense_ids(v, k, f, ids=ids)  # type: ignore[arg-type]

    monkeypatch.setattr(pipeline.store, "dense_ids", spy)
    # One candidate per side. A filter that fewer than a quarter of the chunks pass would keep about nothing
    # of an unfiltered over-fetch (4 nearest chunks), so the dense side compares the query with just the
    # chunks that pass it, as the lexical index lists them.
    narrow = Retriever(pipeline.store, pipeline.embedder, config=FusionConfig(mode="dense", candidates=1))
    assert [h.chunk.article_id for h in narrow.search("Earthquake shakes coastal town", 1)] == ["quake"]
    early = Filters(until=dt.date(2024, 9, 30))
    assert [h.chunk.article_id for h in narrow.search("Earthquake shakes coastal town", 1, early)] == ["budget"]
    chunks = list(pipeline.store.iter_chunks())
    passing = [c.id for c in chunks if c.published and c.published <= dt.date(2024, 9, 30)]
    assert 0 < len(passing) * OVERFETCH < len(chunks)
    assert asked[0] == (None, None) and asked[1][0] is None and len(asked) == 2  # unfiltered; no over-fetch
    assert sorted(asked[1][1] or []) == sorted(passing)  # exact search over the chunks passing the filter
    # A broad filter (most chunks pass) is served by the unfiltered over-fetch alone.
    asked.clear()
    late = Filters(since=dt.date(2024, 9, 1))
    assert 4 * sum(1 for c in chunks if c.published and c.published >= dt.date(2024, 9, 1)) >= len(chunks)
    assert [h.chunk.article_id for h in narrow.search("Earthquake shakes coastal town", 1, late)] == ["quake"]
    assert asked == [(None, None)]
    # A broad filter that the nearest chunks all fail (near-duplicates crowd the top) over-fetches wider before
    # it would ask Chroma's slow ``where``.
    asked.clear()
    sizes.clear()
    others = Filters(outlets=("wire b", "wire c"))
    assert OVERFETCH * sum(1 for c in chunks if c.outlet.lower() in {"wire b", "wire c"}) >= len(chunks)
    assert [h.chunk.article_id for h in narrow.search("Earthquake shakes coastal town", 1, others)] in (
        ["budget"],
        ["zx81"],
    )
    assert asked == [(None, None), (None, None)] and sizes == [OVERFETCH, WIDE_OVERFETCH]
    # A filter too broad to list falls back to Chroma's own filtered search, with the same answer.
    monkeypatch.setattr("rag.search.retrieve.EXACT_LIMIT", 0)
    asked.clear()
    assert [h.chunk.article_id for h in narrow.search("Earthquake shakes coastal town", 1, early)] == ["budget"]
    assert asked[-1] == (early, None)


def test_chunks_another_writer_added_are_described_from_the_store(tmp_path: Path, pipeline: Pipeline) -> None:
    reader = Pipeline.from_settings(pipeline.settings, embedder=pipeline.embedder)
    assert len(reader.retriever.lexical) > 0  # opened before the other writer's ingest
    write(
        tmp_path / "late" / "z.md",
        article_md("Spice island", "Zanzibar exports cloves to many countries.", published="2024-10-30"),
    )
    pipeline.ingest([tmp_path / "late"])
    found = reader.retriever.search("Zanzibar cloves", 2, Filters(since=dt.date(2024, 10, 28)), mode="dense")
    assert [(h.chunk.article_id, h.chunk.published) for h in found] == [("z", dt.date(2024, 10, 30))]


def test_the_answerer_context_adds_each_top_article_lede_before_its_chunk(tmp_path: Path, pipeline: Pipeline) -> None:
    paragraphs = [f"Paragraph {i} of the inquiry report covers routine council business in detail." for i in range(30)]
    paragraphs[0] = "The mayor of Portmere resigned on Friday after an inquiry into the harbour contract."
    paragraphs[25] = "The harbour contract inquiry found that tenders were opened before the deadline."
    write(tmp_path / "more" / "mayor.md", article_md("Mayor resigns", "\n\n".join(paragraphs), published="2024-10-26"))
    pipeline.ingest([tmp_path / "more"])
    question = "What did the harbour contract inquiry find about the tenders?"
    hits = pipeline.retriever.search(question, 3)
    assert hits[0].chunk.article_id == "mayor" and hits[0].chunk.start > 0  # the matching chunk is a late one
    context = pipeline.retriever.context(question, 3)
    assert [h.chunk.id for h in context] == ["mayor:0"] + [h.chunk.id for h in hits]
    assert context[0].chunk.text.startswith("The mayor of Portmere resigned") and context[0].score == hits[0].score
    lede_question = "Why did the mayor of Portmere resign on Friday?"
    lede_hits = pipeline.retriever.search(lede_question, 3)
    assert lede_hits[0].chunk.id == "mayor:0"  # a lede already retrieved is not repeated
    assert [h.chunk.id for h in pipeline.retriever.context(lede_question, 3)] == [h.chunk.id for h in lede_hits]
    answer = pipeline.ask("Why did the mayor of Portmere resign?")
    assert not answer.refused and "inquiry" in answer.text
