"""A cold `rag ask`: it imports only what answering needs, and `--timings` reports each start-up phase."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.conftest import cli_env, run_cli

Q = "How many North Korean soldiers does the Pentagon estimate have been sent to eastern Russia?"
#: Packages the ask path must not import: web serving, HTML and feed parsing, the LLM client, LangChain,
#: the tokenizer used only for chunking, YAML (front matter and prompts), and chromadb's Python client (an
#: existing embedded store is read through Chroma's engine, ``chromadb_rust_bindings``).
NOT_FOR_ASK = (
    "chromadb",
    "yaml",
    "fastapi",
    "uvicorn",
    "trafilatura",
    "feedparser",
    "langchain_openai",
    "langchain_core",
    "openai",
    "tiktoken",
)

PROBE = """
import json, sys
from rag.cli import main
code = main(sys.argv[1:])
print(json.dumps(sorted({m.split(".")[0] for m in sys.modules})), file=sys.stderr)
"""


def test_ask_imports_nothing_it_does_not_use(tmp_path: Path) -> None:
    assert run_cli(tmp_path, "ask", "--json", Q).returncode == 0  # the store now holds the sample article
    done = subprocess.run(
        [sys.executable, "-c", PROBE, "ask", "--json", Q],
        env=cli_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=180,
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    imported = set(json.loads(done.stderr.strip().splitlines()[-1]))
    assert {"chromadb_rust_bindings", "onnxruntime", "tantivy"} <= imported  # the probe sees real imports
    assert not imported & set(NOT_FOR_ASK), imported & set(NOT_FOR_ASK)


def test_timings_report_each_phase(tmp_path: Path) -> None:
    done = run_cli(tmp_path, "ask", "--json", "--timings", Q)
    assert done.returncode == 0, done.stderr
    phases = json.loads(done.stdout)["phases"]
    assert list(phases) == [
        "settings",
        "imports",
        "store open (the models load beside it)",
        "models loaded (what the store open did not hide)",
        "index load",
        "answer",
    ]
    assert all(p["wall_s"] >= 0 and p["cpu_s"] >= 0 for p in phases.values())
    table = run_cli(tmp_path, "ask", "--timings", "--no-stream", Q, env=cli_env(tmp_path))
    assert "store open" in table.stderr and "total" in table.stderr and "Pentagon" in table.stdout


EXITS = """
import atexit, pathlib, sys
mark = pathlib.Path(sys.argv[1])
atexit.register(lambda: mark.write_text("torn down"))
sys.argv = ["rag", *sys.argv[2:]]
from rag.cli import entry
entry()
"""


def test_an_ask_that_wrote_nothing_skips_the_teardown_and_loses_no_output(tmp_path: Path) -> None:
    def ask(mark: Path, *args: str) -> subprocess.CompletedProcess[str]:
        cmd = [sys.executable, "-c", EXITS, str(mark), "ask", *args]
        return subprocess.run(cmd, env=cli_env(tmp_path), capture_output=True, text=True, timeout=180)

    first = ask(tmp_path / "first", "--json", Q)  # loads the sample: a write, so the usual teardown
    assert first.returncode == 0 and json.loads(first.stdout)["citations"]
    assert (tmp_path / "first").read_text() == "torn down"
    second = ask(tmp_path / "second", "--json", Q)  # reads only: ends at once, its JSON whole
    assert second.returncode == 0 and json.loads(second.stdout)["text"] == json.loads(first.stdout)["text"]
    assert not (tmp_path / "second").exists()
    failed = ask(tmp_path / "failed", "--json", "   ")  # an error is not a quick exit either
    assert failed.returncode == 2 and "the question is empty" in failed.stderr
    assert (tmp_path / "failed").read_text() == "torn down"
