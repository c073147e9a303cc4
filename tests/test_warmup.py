"""Loading the ask path's models on a thread while the store opens: what it loads, what it leaves alone, and that
a failure there surfaces only where the model is first used, with its usual error."""

from __future__ import annotations

from pathlib import Path

import pytest

from rag import warmup
from rag.errors import ModelFileError
from rag.read.cross_encoder import shipped
from rag.read.reader import shipped_model
from rag.search.embed import LocalMiniLM
from tests.conftest import make_settings


def test_the_embedder_and_the_reader_are_loaded_by_the_time_wait_returns(tmp_path: Path) -> None:
    shipped_model.cache_clear()
    shipped.cache_clear()
    embedder = LocalMiniLM()
    warm = warmup.start(make_settings(tmp_path), embedder)
    warm.wait()
    assert "_session" in embedder.__dict__ and "_tokenizer" in embedder.__dict__
    assert shipped_model.cache_info().currsize == 1
    assert "_session" in shipped().__dict__
    warm.wait()  # a second wait is a no-op


def test_an_llm_without_the_gate_does_not_load_the_reader(tmp_path: Path) -> None:
    shipped_model.cache_clear()
    settings = make_settings(
        tmp_path, generator="llm", openai_api_key="sk-test", openai_base_url="http://127.0.0.1:9/v1", llm_gate=False
    )
    embedder = LocalMiniLM()
    warmup.start(settings, embedder).wait()
    assert "_session" in embedder.__dict__
    assert shipped_model.cache_info().currsize == 0


def test_a_failed_load_on_the_thread_is_reported_at_first_use(tmp_path: Path) -> None:
    embedder = LocalMiniLM(model_path=tmp_path / "missing.onnx")
    warmup.start(make_settings(tmp_path), embedder).wait()  # nothing raised here
    with pytest.raises(ModelFileError, match="missing"):
        embedder.embed_query("Who won?")
