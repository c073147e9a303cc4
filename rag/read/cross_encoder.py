"""The reader's second look: a MiniLM cross-encoder that reads the question and a candidate sentence together
and rescores the tree ranker's best few sentences.

The trees see shallow features (overlap, position, names, numbers); the cross-encoder sees the words in order, so
it can tell "the winner, Ronald Kiger" from "last year's winner". It was fine-tuned from all-MiniLM-L6-v2 on the
RealTime QA training weeks by ``rag train-reader --cross-encoder`` (``rag.read.train_cross``, which needs the
``train`` extra) and ships as int8 ONNX (``rag/models/reader-ce.onnx``) with ``reader-ce.json``, its settings and
measurements; both are pinned by sha256. At run time it needs only onnxruntime, tokenizers and NumPy.

Its scores are normalised over the rescored sentences (centred, divided by their spread of at least one logit)
and added to the tree scores with a weight chosen on held-out training weeks; the answerability model keeps
reading the trees' own scores, as it was fitted on them.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property, lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from rag.errors import ModelFileError
from rag.read.pinned import pinned_json
from rag.search.embed import TOKENIZER_PATH, TOKENIZER_SHA256, _verified, onnx_session

MODEL_DIR = Path(__file__).parent.parent / "models"
CROSS_PATH = MODEL_DIR / "reader-ce.json"
#: sha256 of the shipped reader-ce.json, which pins the ONNX file in turn: a retrained model ships only by
#: changing this line.
CROSS_SHA256 = "c86209f7bcf6d96977645ffdf484b8ff70f94906c47ec584a15559db41097b92"


@dataclass(frozen=True)
class CrossConfig:
    onnx: Path
    onnx_sha256: str
    top: int  #: how many of the tree ranker's best sentences are rescored
    weight: float  #: the weight of the normalised cross-encoder score (see ``rescored``), added to the tree score
    max_length: int  #: WordPiece tokens per (question, sentence) pair, special tokens included
    support_gap: float  #: the second-sentence rule for answers read with the cross-encoder (see ReaderModel) …
    support_below: float  #: … chosen on held-out weeks, as the trees' rule was chosen for them
    meta: dict[str, Any]

    @classmethod
    def load(cls, path: Path = CROSS_PATH, expected_sha256: str | None = None) -> CrossConfig:
        expected = CROSS_SHA256 if expected_sha256 is None else expected_sha256
        data, actual = pinned_json(
            path,
            expected,
            what="cross-encoder settings",
            command="rag train-reader --cross-encoder",
            pin_in="rag/read/cross_encoder.py",
        )
        if data.get("format") != 1:
            raise ModelFileError(f"{path} is not a cross-encoder settings file this version reads")
        return cls(
            onnx=path.parent / data["onnx"],
            onnx_sha256=data["onnx_sha256"],
            top=int(data["top"]),
            weight=float(data["weight"]),
            max_length=int(data["max_length"]),
            support_gap=float(data["support"]["gap"]),
            support_below=float(data["support"]["below"]),
            meta={**data.get("meta", {}), "sha256": actual},
        )


class CrossEncoder:
    """Scores (question, sentence) pairs with the shipped ONNX model; loads it at first use."""

    def __init__(self, config: CrossConfig | None = None, threads: int | None = None) -> None:
        self._config = config
        self._threads = threads or max(1, os.cpu_count() or 1)

    @cached_property
    def config(self) -> CrossConfig:
        return self._config or CrossConfig.load()

    @cached_property
    def _tokenizer(self) -> Any:
        from tokenizers import Tokenizer

        tok = Tokenizer.from_file(str(_verified(TOKENIZER_PATH, TOKENIZER_SHA256, "news-desk-rag")))
        tok.no_padding()
        tok.enable_truncation(self.config.max_length, strategy="longest_first")  # a long question is cut too
        return tok

    @cached_property
    def _session(self) -> Any:
        c = self.config
        return onnx_session(_verified(c.onnx, c.onnx_sha256, "news-desk-rag"), self._threads)

    def scores(self, question: str, texts: Sequence[str]) -> np.ndarray:
        """One relevance logit per text: higher means more likely to hold the answer to ``question``."""
        if not texts:
            return np.zeros(0, dtype=np.float32)
        encodings = self._tokenizer.encode_batch([(question, t) for t in texts])
        width = max(len(e.ids) for e in encodings)
        ids = np.zeros((len(texts), width), dtype=np.int64)
        mask = np.zeros_like(ids)
        types = np.zeros_like(ids)
        for row, e in enumerate(encodings):
            n = len(e.ids)
            ids[row, :n] = e.ids
            mask[row, :n] = 1
            types[row, :n] = e.type_ids
        out = self._session.run(None, {"input_ids": ids, "attention_mask": mask, "token_type_ids": types})[0]
        return np.asarray(out, dtype=np.float32).reshape(-1)


@lru_cache(maxsize=1)
def shipped() -> CrossEncoder:
    """The shipped cross-encoder, loaded once per process (readers are made per store and per request)."""
    return CrossEncoder()


def rescored(ranker: np.ndarray, short: Sequence[int], ce: np.ndarray, weight: float) -> np.ndarray:
    """The tree scores with ``weight`` × the normalised cross-encoder scores of the first ``len(ce)`` shortlisted
    sentences added; the shortlist's remaining sentences get the lowest of those adjustments. Scores are centred and
    divided by their spread, but never by less than one logit: near-identical sentences ("reopened after 9 weeks",
    "… after 11 weeks") get near-identical scores, and blowing their small differences up to unit spread would
    let the cross-encoder's noise overrule the trees."""
    out = ranker.astype(np.float64, copy=True)
    if not len(ce):
        return out
    z = (ce - ce.mean()) / max(float(ce.std()), 1.0)
    for j, i in enumerate(short):
        out[i] += weight * (z[j] if j < len(z) else z.min())
    return out
