"""The CLI as a user runs it: invalid or over-long questions are one line (or a note), never a traceback;
`rag config` hides URL credentials; `rag eval claims` reports catch and false-flag rates per kind; a training
command whose validation set cannot be read writes nothing."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import DATASET, PROJECT, cli_env, run_cli
from tests.openai_server import FakeOpenAI

LONG = " ".join(["How many North Korean soldiers have been deployed to eastern Russia for training?"] * 20)


def test_an_over_long_question_is_answered_with_a_note(tmp_path: Path) -> None:
    proc = run_cli(tmp_path, "ask", "--json", LONG)
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr and "rag: note: the question is" in proc.stderr
    assert json.loads(proc.stdout)["notes"]


def test_invalid_utf8_in_a_question_is_one_line(tmp_path: Path) -> None:
    # argv bytes that are not UTF-8 arrive as lone surrogates: a one-line error, exit 2.
    env = {k: v.encode() for k, v in cli_env(tmp_path).items()}
    proc = subprocess.run(
        [sys.executable.encode(), b"-m", b"rag", b"ask", b"How many \xff soldiers?"],
        env=env,  # type: ignore[arg-type]
        capture_output=True,
        cwd=tmp_path,
        timeout=120,
    )
    err = proc.stderr.decode(errors="replace")
    assert proc.returncode == 2 and "Traceback" not in err
    assert err.strip().splitlines()[-1].startswith("rag: error: the question is not valid text")


def test_config_masks_credentials_in_urls(tmp_path: Path) -> None:
    env = cli_env(tmp_path, OPENAI_BASE_URL="https://alice:hunter2-long-pass@llm.example/v1", OPENAI_API_KEY="sk-x" * 5)
    for args in (("config",), ("config", "--json")):
        proc = run_cli(tmp_path, *args, env=env)
        assert proc.returncode == 0
        assert (
            "hunter2" not in proc.stdout and "alice" not in proc.stdout and "https://****@llm.example/v1" in proc.stdout
        )


def test_a_key_echoed_by_the_model_never_reaches_the_terminal(tmp_path: Path, fake_openai: FakeOpenAI) -> None:
    key = "sk-live-SHOULD-NOT-APPEAR-9876"
    fake_openai.default.content = (
        f"About 10,000 North Korean soldiers are in eastern Russia [1]. Key: {key.lower()} [1]."
    )
    env = cli_env(tmp_path, OPENAI_BASE_URL=fake_openai.base_url, OPENAI_API_KEY=key)
    for args in (("ask", "How many soldiers?"), ("ask", "--json", "How many soldiers?")):
        proc = run_cli(tmp_path, *args, env=env)
        assert proc.returncode == 0, proc.stderr
        assert key.lower()[:8] not in (proc.stdout + proc.stderr).lower()


def test_eval_claims_reports_per_kind(tmp_path: Path) -> None:
    report = tmp_path / "claims.json"
    proc = run_cli(tmp_path, "eval", "claims", "--check", "--report", str(report), env=cli_env(
        tmp_path, RAG_EVALS=str(PROJECT / "evals")), timeout=300)  # fmt: skip
    assert proc.returncode == 0, proc.stderr + proc.stdout
    assert "catch rate" in proc.stdout and "false-flag rate" in proc.stdout
    for kind in ("number", "scale", "date", "entity", "negation", "antonym", "direction", "time_frame"):
        assert kind in proc.stdout
    data = json.loads(report.read_text())
    assert data["summary"]["perturbed"] >= 40 and data["summary"]["faithful"] >= 30
    if DATASET.is_dir():
        assert data["summary"]["perturbed"] >= 150 and data["summary"]["faithful"] >= 75
        assert data["summary"]["articles"] >= 21 and not data["skipped"]
    else:
        assert any("no dataset" in s for s in data["skipped"])


@pytest.mark.skipif(not os.access(PROJECT / "evals" / "claims.yaml", os.R_OK), reason="no suite")
def test_the_suite_stores_no_development_article_text() -> None:
    import yaml

    data = yaml.safe_load((PROJECT / "evals" / "claims.yaml").read_text(encoding="utf-8"))
    dev = [c for c in data["claims"] if "article" in c]
    assert len(dev) >= 150 and all("claim" not in c for c in dev)


@pytest.mark.slow
@pytest.mark.parametrize(
    ("command", "artifacts"),
    [("train-briefer", ("briefer.json", "BRIEFER.md")), ("train-reader", ("reader.json", "READER.md"))],
)
def test_an_unreadable_validation_set_makes_a_training_command_write_nothing(
    tmp_path: Path, command: str, artifacts: tuple[str, ...]
) -> None:
    """The validation set is read before the artifact is written: a broken one leaves the shipped model alone."""
    if command == "train-reader":
        pytest.importorskip("lightgbm")
    from tests.quiz_dataset import quiz_dataset

    dataset = quiz_dataset(tmp_path)
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "articles.jsonl").write_text((dataset / "articles.jsonl").read_text(encoding="utf-8"), encoding="utf-8")
    (broken / "questions.jsonl").write_text('{"question": "Who won?"\n', encoding="utf-8")
    out = tmp_path / "models"
    proc = run_cli(tmp_path, command, "--dataset", str(dataset), "--validate", str(broken), "--out", str(out))
    assert proc.returncode != 0 and "Traceback" not in proc.stderr
    assert "questions.jsonl" in proc.stderr.strip().splitlines()[-1]
    assert not any((out / name).exists() for name in artifacts)
