"""Contract tests every answerer (extractive, LLM) and every embedder (local MiniLM, OpenAI over loopback)
must pass: one shared class of checks, each implementation plugged in."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from rag.answer.llm import LLMGenerator
from rag.pipeline import Generator, Pipeline, answer_prompt
from rag.provider import OpenAIEmbedder
from rag.search.embed import Embedder, LocalMiniLM
from rag.types import CANNOT_ANSWER
from tests.conftest import make_settings
from tests.fakes import FakeChat
from tests.openai_server import FakeOpenAI

Q = "How many North Korean soldiers does the Pentagon estimate have been sent to eastern Russia?"
LLM_REPLY = (
    "Recent Pentagon estimates indicate that approximately 10,000 North Korean soldiers have been deployed to "
    "eastern Russia [1]. Putin has not refuted the presence of North Korean troops in the conflict [1]."
)


@pytest.fixture(params=["extractive", "llm"])
def answerer(request: pytest.FixtureRequest, sample_pipeline: Pipeline) -> tuple[Generator, Pipeline]:
    if request.param == "extractive":
        return sample_pipeline.generator, sample_pipeline
    s = sample_pipeline.settings
    return LLMGenerator(s, FakeChat([LLM_REPLY]), answer_prompt(s)), sample_pipeline


class TestAnswererContract:
    def test_every_citation_resolves_and_every_marker_has_one(self, answerer: tuple[Generator, Pipeline]) -> None:
        generator, pipeline = answerer
        hits = pipeline.retriever.context(Q, 6)
        streamed: list[str] = []
        answer = generator.generate(Q, hits, on_text=streamed.append)
        assert not answer.refused and answer.citations and answer.engine == generator.name
        keys = {c.key for c in answer.citations}
        from rag.cite.cite import markers

        assert set(markers(answer.text)) <= keys
        for c in answer.citations:
            article = pipeline.store.get_article(c.article_id)
            assert article is not None and article.text[c.start : c.end] == c.quote
        assert answer.as_of == max(c.published for c in answer.citations)
        assert " ".join("".join(streamed).split()) == " ".join(answer.text.split())

    def test_no_hits_is_the_one_refusal(self, answerer: tuple[Generator, Pipeline]) -> None:
        generator, _ = answerer
        streamed: list[str] = []
        answer = generator.generate(Q, [], on_text=streamed.append)
        assert answer.refused and answer.text == CANNOT_ANSWER and not answer.citations
        assert "".join(streamed).strip() == CANNOT_ANSWER


@pytest.fixture(params=["local", "openai"])
def any_embedder(request: pytest.FixtureRequest, embedder: LocalMiniLM, tmp_path: Path) -> Iterator[Embedder]:
    if request.param == "local":
        yield embedder
        return
    server = FakeOpenAI().start()
    try:
        settings = make_settings(tmp_path, openai_api_key="sk-test-contract-000", openai_base_url=server.base_url)
        yield OpenAIEmbedder(settings)
    finally:
        server.stop()


class TestEmbedderContract:
    def test_vectors_are_normalised_and_one_per_text(self, any_embedder: Embedder) -> None:
        texts = ["North Korean troops in Russia", "A hurricane made landfall in Florida", "troops"]
        vectors = any_embedder.embed(texts)
        assert vectors.shape[0] == len(texts) and vectors.ndim == 2
        assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-4)
        assert np.allclose(any_embedder.embed_query(texts[0]), vectors[0], atol=1e-5)

    def test_it_says_what_it_can_read(self, any_embedder: Embedder) -> None:
        assert any_embedder.max_tokens > 0 and any_embedder.fingerprint
        assert any_embedder.count_tokens("North Korean troops") > 0
        assert any_embedder.count_tokens_many(["a b", "c"]) == [any_embedder.count_tokens("a b"), 1]
