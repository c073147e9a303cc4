"""The assembled pipeline: settings → embedder, chunker, store, retriever, generator; and ``ask``.

Collaborators can be passed in (tests pass fakes or a loopback LLM); anything not passed is built from
the settings. The question-to-answer path is a LangChain runnable: retrieve | generate.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from langchain_core.runnables import Runnable, RunnableLambda

from rag.chunk import Splitter
from rag.embed import Embedder, make_embedder
from rag.errors import EmptyCorpusError
from rag.extractive import ExtractiveGenerator
from rag.ingest import IngestReport, index_fingerprint, ingest_items, make_chunker
from rag.load import load_paths
from rag.prompts import Prompt, load_prompt
from rag.reader import Reader
from rag.retrieve import FusionConfig, Retriever
from rag.settings import Settings
from rag.store import Store
from rag.types import Answer, Filters, Hit

OnText = Callable[[str], None]

#: Chosen on the development set in an earlier round (see README, "Retrieval"): RRF with k=30, one chunk per
#: article in the ranking, a news prior favouring articles from the week before the as-of date, and the ledes of
#: the three best articles added to the answerer's context.
DEFAULT_FUSION = FusionConfig(rrf_k=30, per_article=1, recency_weight=0.5, half_life_days=7, ledes=3)


class Generator(Protocol):
    """Turns a question and retrieved chunks into an Answer (the extractive and LLM answerers)."""

    name: str

    def generate(self, question: str, hits: list[Hit], on_text: OnText | None = None) -> Answer: ...


@dataclass
class Pipeline:
    settings: Settings
    embedder: Embedder
    chunker: Splitter
    store: Store
    retriever: Retriever
    generator: Generator

    @classmethod
    def from_settings(
        cls,
        settings: Settings,
        *,
        embedder: Embedder | None = None,
        generator: Generator | None = None,
        chat_model: Any = None,
        chunker: Splitter | None = None,
        fusion: FusionConfig | None = None,
    ) -> Pipeline:
        embedder = embedder or make_embedder(settings)
        chunker = chunker or make_chunker(settings.chunk_tokens, settings.chunk_overlap, embedder)
        store = Store(settings, index_fingerprint(embedder, chunker))
        retriever = Retriever(store, embedder, cache_dir=settings.data_dir / "lexical", config=fusion or DEFAULT_FUSION)
        if generator is None:
            generator = make_generator(settings, embedder, retriever, chat_model=chat_model)
        return cls(settings, embedder, chunker, store, retriever, generator)

    # -- ingest --------------------------------------------------------------------------------------------
    def ingest(self, paths: Iterable[Path], **kwargs: Any) -> IngestReport:
        """Ingest files and folders into this pipeline's store."""
        return self.ingest_items(load_paths(paths), **kwargs)

    def ingest_items(self, items: Iterable[Any], **kwargs: Any) -> IngestReport:
        """Ingest already-loaded ``Article | Skipped`` items (files, feeds, pages, datasets)."""
        report = ingest_items(items, store=self.store, embedder=self.embedder, chunker=self.chunker, **kwargs)
        self.retriever.refresh()
        return report

    def ensure_corpus(self) -> IngestReport | None:
        """Ingest the bundled corpus when the store is empty (the one-command quickstart)."""
        if self.store.count_chunks():
            return None
        corpus = self.settings.corpus_dir
        if not corpus.is_dir():
            raise EmptyCorpusError(f"the store is empty and there is no corpus at {corpus}; run `rag ingest PATH`")
        report = self.ingest([corpus])
        if not self.store.count_chunks():
            raise EmptyCorpusError(f"nothing could be ingested from {corpus}; run `rag ingest PATH`")
        return report

    # -- ask -----------------------------------------------------------------------------------------------
    @property
    def chain(self) -> Runnable[dict[str, Any], Answer]:
        """retrieve | generate, as a LangChain runnable taking {question, filters?, on_text?}."""

        def retrieve(x: dict[str, Any]) -> dict[str, Any]:
            t0 = time.perf_counter()
            hits = self.retriever.context(x["question"], self.settings.top_k, x.get("filters"))
            return {**x, "hits": hits, "t_retrieve": time.perf_counter() - t0}

        def generate(x: dict[str, Any]) -> Answer:
            t0 = time.perf_counter()
            answer = self.generator.generate(x["question"], x["hits"], x.get("on_text"))
            answer.timings = {"retrieve": x["t_retrieve"], "generate": time.perf_counter() - t0}
            return answer

        return RunnableLambda(retrieve) | RunnableLambda(generate)

    def ask(self, question: str, filters: Filters | None = None, on_text: OnText | None = None) -> Answer:
        question = " ".join(question.split())
        if not question:
            raise ValueError("empty question")
        answer = self.chain.invoke({"question": question, "filters": filters, "on_text": on_text})
        answer.standalone_question = answer.standalone_question or question
        return answer


def make_generator(settings: Settings, embedder: Embedder, retriever: Retriever, chat_model: Any = None) -> Generator:
    if settings.use_llm or chat_model is not None:
        from rag.llm import LLMGenerator

        if chat_model is None:
            from rag.provider import chat_model as make_chat_model

            chat_model = make_chat_model(settings)
        return LLMGenerator(settings, chat_model, answer_prompt(settings))
    return ExtractiveGenerator(make_reader(retriever), threshold=settings.answer_threshold or None)


def make_reader(retriever: Retriever) -> Reader:
    """The learned reader, weighing words by this store's idf."""
    return Reader(idf=lambda t: retriever.lexical.idf(t))


def answer_prompt(settings: Settings) -> Prompt:
    return load_prompt(settings.prompts_dir, "answer")
