"""Loading the ask path's models while the store opens.

A cold ``rag ask`` spends most of its time importing chromadb (pure Python, about 1.3 s) and building ONNX
Runtime sessions for the embedder and the reader's cross-encoder (about 0.7 s). ONNX Runtime builds a session
without holding the GIL, so the two overlap well on two cores: ``start`` begins the model loads on a thread before
the store is opened, and ``Warmup.wait`` joins it before the first question is embedded. A failure on the thread
is not reported there: the same load runs again on first use and raises its clear error in the usual place.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass

from rag.search.embed import Embedder, LocalMiniLM
from rag.settings import Settings


@dataclass
class Warmup:
    threads: list[threading.Thread]

    def wait(self) -> None:
        for thread in self.threads:
            thread.join()
        self.threads = []


def start(settings: Settings, embedder: Embedder) -> Warmup:
    """Load the local embedder's session and, when the extractive reader will read, the reader's models: on two
    threads, as building the two ONNX sessions overlaps."""
    reads = not settings.use_llm or settings.llm_gate

    def embedder_model() -> None:
        if isinstance(embedder, LocalMiniLM):  # a served embedder is reached over HTTP at first use instead
            embedder.embed_query("warm up")

    def reader_models() -> None:
        from rag.read.cross_encoder import shipped
        from rag.read.reader import shipped_model

        shipped_model()
        if settings.reader_rerank:
            shipped().scores("warm up", ["warm up"])

    loads = [embedder_model, *([reader_models] if reads else [])]
    threads = [threading.Thread(target=_quietly, args=(load,), name="rag-warmup", daemon=True) for load in loads]
    for thread in threads:
        thread.start()
    return Warmup(threads)


def _quietly(load: Callable[[], None]) -> None:
    try:
        load()
    except Exception:
        return
