"""Settings from the environment, validation, and prompt files checked at load."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from rag.errors import ConfigError
from rag.prompts import load_prompt
from rag.settings import Settings, mask
from tests.conftest import PROJECT


def test_defaults_need_no_key_and_no_network() -> None:
    s = Settings.from_env(env={})
    assert s.embedder == "local" and not s.use_llm and s.chroma_url == ""


def test_environment_overrides_and_llm_switch() -> None:
    s = Settings.from_env(env={"RAG_TOP_K": "9", "OPENAI_BASE_URL": "http://127.0.0.1:11434/v1", "RAG_MODEL": "llama3"})
    assert s.top_k == 9 and s.use_llm and s.model == "llama3"
    assert not Settings.from_env(env={"OPENAI_API_KEY": "k", "RAG_GENERATOR": "extractive"}).use_llm


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"RAG_TOP_K": "x"}, "must be a number"),
        ({"RAG_EMBEDDER": "bert"}, "RAG_EMBEDDER"),
        ({"RAG_GENERATOR": "llm"}, "needs OPENAI_API_KEY"),
        ({"RAG_CHROMA_URL": "localhost:8000"}, "http://"),
        ({"RAG_CHUNK_OVERLAP": "150"}, "RAG_CHUNK_OVERLAP"),
    ],
)
def test_invalid_settings_are_config_errors(env: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        Settings.from_env(env=env)


def test_key_is_masked() -> None:
    assert mask("sk-1234567890abcd") == "****abcd" and mask("short") == "****" and mask("") == ""
    rows = dict((r[0], r[1]) for r in Settings.from_env(env={"OPENAI_API_KEY": "sk-1234567890abcd"}).display())
    assert rows["OPENAI_API_KEY"] == "****abcd"


def test_every_secret_setting_is_redacted_from_text() -> None:
    s = Settings.from_env(env={"OPENAI_API_KEY": "sk-live-abcdef123456", "RAG_SERVER_TOKEN": "tok-987654321xyz"})
    text = "key sk-live-abcdef123456 and token tok-987654321xyz in one message"
    assert s.redact(text) == "key **** and token **** in one message"
    assert Settings.from_env(env={}).redact(text) == text  # nothing set: nothing to hide, nothing replaced


def test_every_shipped_prompt_loads_with_its_declared_version() -> None:
    files = sorted((PROJECT / "prompts").glob("*.md"))
    assert {f.stem for f in files} >= {"answer", "condense", "verify", "judge", "brief_story", "brief_reduce"}
    for path in files:
        declared = re.search(r"^version: (\d+)$", path.read_text(encoding="utf-8"), re.MULTILINE)
        assert declared, path
        p = load_prompt(PROJECT / "prompts", path.stem)
        assert (p.name, p.tag) == (path.stem, f"{path.stem}@{declared.group(1)}")


def test_a_prompt_with_a_typo_in_a_placeholder_fails_at_load(tmp_path: Path) -> None:
    text = (PROJECT / "prompts" / "answer.md").read_text().replace("{question}", "{questoin}")
    (tmp_path / "answer.md").write_text(text)
    with pytest.raises(ConfigError, match="questoin"):
        load_prompt(tmp_path, "answer")
