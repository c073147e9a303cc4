"""The assembled pipeline: settings → embedder, chunker, store, retriever, generator; and ``ask``.

Collaborators can be passed in (tests pass fakes or a loopback LLM); anything not passed is built from
the settings. A question goes retrieve → generate, two calls: what ``rag ask`` imports is kept to what it uses
(no LangChain, no HTML or feed parsing), because a cold start pays for every import.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from rag.answer.extractive import ExtractiveGenerator
from rag.errors import EmptyCorpusError, InputError, StoreBusyError
from rag.ingest.chunk import Splitter, index_fingerprint, make_chunker
from rag.prompts import Prompt, load_prompt
from rag.read.reader import Reader
from rag.search.embed import Embedder, make_embedder
from rag.search.retrieve import FusionConfig, Retriever
from rag.search.store import Store
from rag.settings import Settings
from rag.text import OnText
from rag.types import Answer, Filters, FollowUp, Hit

if TYPE_CHECKING:
    from rag.ingest.ingest import IngestReport
    from rag.provider import ChatModel


#: Chosen on the development set in an earlier round (see README, "Retrieval"): RRF with k=30, one chunk per
#: article in the ranking, a news prior favouring articles from the week before the as-of date, and the ledes of
#: the three best articles added to the answerer's context.
def fusion_config(settings: Settings) -> FusionConfig:
    """Hybrid retrieval's tunables as the settings give them (their defaults live in ``Settings``)."""
    return FusionConfig(
        rrf_k=settings.rrf_k,
        recency_weight=settings.recency_weight,
        half_life_days=settings.recency_half_life,
        ledes=settings.ledes,
    )


class Generator(Protocol):
    """Turns a question and retrieved chunks into an Answer (the extractive and LLM answerers)."""

    name: str

    def generate(
        self, question: str, hits: list[Hit], on_text: OnText | None = None, *, follow_up: FollowUp | None = None
    ) -> Answer: ...


@dataclass
class Pipeline:
    settings: Settings
    embedder: Embedder
    chunker: Splitter
    store: Store
    retriever: Retriever
    generator: Generator
    _sample: frozenset[str] | None = field(default=None, init=False, repr=False)

    @classmethod
    def from_settings(
        cls,
        settings: Settings,
        *,
        embedder: Embedder | None = None,
        generator: Generator | None = None,
        chat_model: ChatModel | None = None,
        chunker: Splitter | None = None,
        fusion: FusionConfig | None = None,
        read_only: bool = False,
    ) -> Pipeline:
        """``read_only``: the caller means to read (``rag ask``), so an embedded store opens without chromadb's
        Python client until something writes (see ``Store.writing``)."""
        embedder = embedder or make_embedder(settings)
        chunker = chunker or make_chunker(settings.chunk_tokens, settings.chunk_overlap, embedder)
        store = Store(settings, index_fingerprint(embedder, chunker), read_only=read_only)
        config = fusion or fusion_config(settings)
        retriever = Retriever(store, embedder, cache_dir=settings.data_dir / "lexical", config=config)
        if generator is None:
            generator = make_generator(settings, embedder, retriever, chat_model=chat_model)
        return cls(settings, embedder, chunker, store, retriever, generator)

    # -- ingest --------------------------------------------------------------------------------------------
    def ingest(self, paths: Iterable[Path], **kwargs: Any) -> IngestReport:
        """Ingest files and folders into this pipeline's store."""
        from rag.ingest.load import load_paths

        return self.ingest_items(load_paths(paths, self.settings.max_article_bytes), **kwargs)

    def ingest_items(self, items: Iterable[Any], **kwargs: Any) -> IngestReport:
        """Ingest already-loaded ``Article | Skipped`` items (files, feeds, pages, datasets). A store that
        holds only the bundled sample loses it once the user's own articles arrive."""
        kwargs.setdefault("max_bytes", self.settings.max_article_bytes)
        kwargs.setdefault("sample", self.sample_ids())
        from rag.ingest.ingest import ingest_items  # not on the ask path: the first answer does not wait for it

        report = ingest_items(
            items,
            store=self.store,
            embedder=self.embedder,
            chunker=self.chunker,
            lexical=self.retriever.open_lexical(),
            **kwargs,
        )
        self.retriever.refresh()
        return report

    def sample_ids(self) -> frozenset[str]:
        """The ids of the bundled sample's articles (the quickstart's corpus), read once."""
        if self._sample is None:
            from rag.ingest.load import load_paths
            from rag.types import Article

            corpus = self.settings.corpus_dir
            items = load_paths([corpus], self.settings.max_article_bytes) if corpus.is_dir() else []
            self._sample = frozenset(a.id for a in items if isinstance(a, Article))
        return self._sample

    def holds_only_sample(self) -> bool:
        """Whether the store holds the bundled sample and nothing else."""
        from rag.ingest.ingest import sample_only

        return bool(sample_only(self.store, self.sample_ids()))

    def ensure_corpus(self) -> IngestReport | None:
        """Ingest the bundled corpus into a store nothing was ever written to (the one-command quickstart).

        Never into a store another run is writing (a first ``rag ingest`` still embedding is not an empty
        store), nor one holding an interrupted run's chunks, nor one that held articles before (emptied by a
        prune: the sample would come back unasked)."""
        if self.store.count_articles():
            return None
        if self.store.exists() and not self.store.count_chunks():
            raise EmptyCorpusError(
                f"the store at {self.store.location} is empty (its articles were removed); "
                "add articles with `rag ingest PATH`"
            )
        corpus = self.settings.corpus_dir
        if not corpus.is_dir():
            raise EmptyCorpusError(f"the store is empty and there is no corpus at {corpus}; run `rag ingest PATH`")
        try:
            with self.store.writing(alone=True):
                if self.store.count_articles():
                    return None
                if self.store.count_chunks():
                    raise EmptyCorpusError(
                        "the store holds no complete article, only what an interrupted ingest left; "
                        "run `rag ingest PATH` to complete it"
                    )
                report = self.ingest([corpus], sample=())
        except StoreBusyError:
            raise EmptyCorpusError(
                "the store has no article yet and another run is writing to it; ask again when it has finished"
            ) from None
        if not self.store.count_articles():
            raise EmptyCorpusError(f"nothing could be ingested from {corpus}; run `rag ingest PATH`")
        return report

    # -- ask -----------------------------------------------------------------------------------------------
    def ask(
        self,
        question: str,
        filters: Filters | None = None,
        on_text: OnText | None = None,
        *,
        follow_up: FollowUp | None = None,
    ) -> Answer:
        """Retrieve for ``question`` and answer it; a conversation's ``follow_up`` tells the answerer what the
        question itself says and what the previous answer already quoted."""
        question = clean_question(question)
        searched, notes = self.fit_question(question)
        t0 = time.perf_counter()
        hits = self.retriever.context(searched, self.settings.top_k, filters)
        t1 = time.perf_counter()
        answer = self.generator.generate(searched, hits, on_text, follow_up=follow_up)
        parts = {f"generate:{k}": v for k, v in answer.timings.items()}  # the answerer's own steps, inside generate
        answer.timings = {"retrieve": t1 - t0, "generate": time.perf_counter() - t1, **parts}
        answer.question = question
        answer.standalone_question = answer.standalone_question or searched
        answer.notes = [*notes, *answer.notes]
        if answer.refused and self.holds_only_sample():
            answer.notes.append(
                "the store holds only the bundled sample article; add your own with `rag ingest FOLDER`"
            )
        return answer

    def fit_question(self, question: str) -> tuple[str, list[str]]:
        """The question cut to what the embedding model reads (whole words), and a note saying so."""
        limit = self.embedder.max_tokens
        n = self.embedder.count_tokens(question)
        if n <= limit:
            return question, []
        words = question.split()
        lo, hi = 1, len(words)
        while lo < hi:  # the longest prefix of whole words that fits
            mid = (lo + hi + 1) // 2
            if self.embedder.count_tokens(" ".join(words[:mid])) <= limit:
                lo = mid
            else:
                hi = mid - 1
        cut = " ".join(words[:lo])
        if self.embedder.count_tokens(cut) > limit:
            raise InputError(f"the question's first word alone exceeds the embedding model's {limit}-token input")
        note = f"the question is {n} tokens long; only its first {lo} words were searched and answered"
        return cut, [note]


def clean_question(question: str) -> str:
    """The question with whitespace collapsed; an ``InputError`` when it is empty or not valid text."""
    try:
        question.encode("utf-8")
    except UnicodeEncodeError:
        raise InputError("the question is not valid text (invalid UTF-8 or a lone surrogate); retype it") from None
    question = " ".join(question.split())
    if not question:
        raise InputError("the question is empty")
    return question


def make_generator(
    settings: Settings, embedder: Embedder, retriever: Retriever, chat_model: ChatModel | None = None
) -> Generator:
    if settings.use_local:
        from rag.answer.local import LocalGenerator

        if chat_model is None:
            from rag.local.model import LocalChat

            chat_model = LocalChat(settings)
        prompt = load_prompt(settings.prompts_dir, "answer_local")
        return LocalGenerator(settings, chat_model, prompt, extractive(settings, retriever))
    if settings.use_llm or chat_model is not None:
        from rag.answer.llm import LLMGenerator

        if chat_model is None:
            from rag.provider import chat_model as make_chat_model

            chat_model = make_chat_model(settings)
        gate = extractive(settings, retriever).gate if settings.llm_gate else None
        return LLMGenerator(settings, chat_model, answer_prompt(settings), gate=gate)
    return extractive(settings, retriever)


def extractive(settings: Settings, retriever: Retriever) -> ExtractiveGenerator:
    """The default answerer; its answerability check is also the LLM engine's gate."""
    return ExtractiveGenerator(make_reader(retriever, settings), threshold=settings.answer_threshold or None)


def make_reader(retriever: Retriever, settings: Settings) -> Reader:
    """The learned reader, weighing words by this store's idf."""
    return Reader(idf=lambda t: retriever.lexical.idf(t), rerank=settings.reader_rerank)


def answer_prompt(settings: Settings) -> Prompt:
    return load_prompt(settings.prompts_dir, "answer")
