"""Ingestion end to end on the real store: incremental, replace, prune, duplicates, skips, kill recovery."""

from __future__ import annotations

import json
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

from rag.embed import LocalMiniLM
from rag.pipeline import Pipeline
from rag.settings import Settings
from tests.conftest import article_md, cli_env, make_settings, write

BODY = (
    "The harbour authority said on Tuesday that the new ferry terminal would open in March. "
    "Officials expect 4,000 passengers a day once the terminal is running at full capacity. "
    "Local businesses welcomed the decision, while residents worried about traffic."
)


def _pipeline(settings: Settings, embedder: LocalMiniLM) -> Pipeline:
    return Pipeline.from_settings(settings, embedder=embedder)


def test_reingest_of_unchanged_input_embeds_nothing(tmp_path: Path, settings: Settings, embedder: LocalMiniLM) -> None:
    write(tmp_path / "in" / "a.md", article_md("Ferry terminal", BODY))
    write(tmp_path / "in" / "b.md", article_md("Other", BODY.replace("ferry", "bus")))
    p = _pipeline(settings, embedder)
    first = p.ingest([tmp_path / "in"])
    assert (first.added, first.chunks) == (2, 2)
    again = p.ingest([tmp_path / "in"])
    assert (again.added, again.updated, again.unchanged, again.chunks) == (0, 0, 2, 0)
    assert again.summary().startswith("nothing to embed")


def test_changed_article_replaces_its_chunks(tmp_path: Path, settings: Settings, embedder: LocalMiniLM) -> None:
    f = write(tmp_path / "in" / "a.md", article_md("Ferry terminal", BODY))
    p = _pipeline(settings, embedder)
    p.ingest([f])
    long_body = "\n\n".join([BODY] * 12)
    write(f, article_md("Ferry terminal", long_body))
    report = p.ingest([f])
    assert (report.added, report.updated) == (0, 1)
    n = p.store.committed()["a"].n_chunks
    assert n > 1 and p.store.count_chunks() == n
    article = p.store.get_article("a")
    assert article is not None and article.text.count("harbour authority") == 12


def test_prune_drops_articles_that_are_gone_but_keeps_unreadable_ones(
    tmp_path: Path, settings: Settings, embedder: LocalMiniLM
) -> None:
    write(tmp_path / "in" / "a.md", article_md("A", BODY))
    b = write(tmp_path / "in" / "b.md", article_md("B", BODY + " Extra words for B."))
    c = write(tmp_path / "in" / "c.md", article_md("C", BODY + " Extra words for C."))
    p = _pipeline(settings, embedder)
    p.ingest([tmp_path / "in"])
    b.unlink()
    write(c, b"\x00\x01binary now")
    report = p.ingest([tmp_path / "in"], prune=True)
    assert report.pruned == 1 and len(report.skipped) == 1
    assert set(p.store.committed()) == {"a", "c"}


def test_exact_duplicates_collapse(tmp_path: Path, settings: Settings, embedder: LocalMiniLM) -> None:
    write(tmp_path / "in" / "a.md", article_md("Wire story", BODY, outlet="AP"))
    write(tmp_path / "in" / "b.md", article_md("Wire story reprint", BODY, outlet="Local Paper"))
    report = _pipeline(settings, embedder).ingest([tmp_path / "in"])
    assert report.added == 1 and len(report.duplicates) == 1
    assert report.duplicates[0][1] == "a"


def test_bad_inputs_do_not_stop_the_batch(tmp_path: Path, settings: Settings, embedder: LocalMiniLM) -> None:
    write(tmp_path / "in" / "good.md", article_md("Good", BODY))
    write(tmp_path / "in" / "bad.md", "---\ntitle: [\n---\n" + BODY)
    write(tmp_path / "in" / "empty.txt", "")
    seen: list[str] = []
    report = _pipeline(settings, embedder).ingest([tmp_path / "in"], on_skip=lambda s: seen.append(s.source))
    assert report.added == 1 and len(report.skipped) == 2 and len(seen) == 2


def _synthetic_jsonl(path: Path, n: int) -> Path:
    rng = random.Random(7)
    words = (
        "council budget election storm ferry court ruling vote senator market shares rally protest drought "
        "harvest flood bridge school teacher hospital nurse airline strike union contract tariff port"
    ).split()
    lines = []
    for i in range(n):
        paras = []
        for _ in range(6):
            sents = [
                f"The {rng.choice(words)} {rng.choice(words)} in district {rng.randint(1, 99)} "
                f"affected {rng.randint(100, 9999)} people, officials said on day {i}."
                for _ in range(4)
            ]
            paras.append(" ".join(sents))
        record = {
            "id": f"syn-{i:04d}",
            "title": f"Report {i}",
            "published": "2024-10-01",
            "text": "\n\n".join(paras),
        }
        lines.append(json.dumps(record))
    return write(path, "\n".join(lines) + "\n")


def test_a_killed_ingest_leaves_a_store_the_next_run_completes(tmp_path: Path, embedder: LocalMiniLM) -> None:
    data = _synthetic_jsonl(tmp_path / "big.jsonl", 150)
    proc = subprocess.Popen(
        [sys.executable, "-m", "rag", "ingest", str(data)],
        env=cli_env(tmp_path),
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        text=True,
    )
    assert proc.stderr is not None
    line = proc.stderr.readline()  # "embedding articles: 150 new or changed": embedding has begun
    assert "150" in line, line
    line = proc.stderr.readline()  # "embedding articles: 24/150 (16%), …": the first batch is committed
    assert line.startswith("embedding articles: 24/150") and "ETA" in line, line
    time.sleep(0.5)  # into the next batch's embedding or writes
    proc.send_signal(signal.SIGKILL)
    proc.wait()

    settings = make_settings(tmp_path)
    p = Pipeline.from_settings(settings, embedder=embedder)
    interrupted = len(p.store.committed())
    assert 0 < interrupted < 150, "the kill should land mid-run"
    # The lexical index, caught up on open, holds exactly the committed articles (none of the orphans).
    assert p.retriever.lexical.hashes() == {aid: c.content_hash for aid, c in p.store.committed().items()}

    report = p.ingest([data])
    assert report.unchanged == interrupted and report.added == 150 - interrupted
    committed = p.store.committed()
    assert len(committed) == 150
    ids = [c.id for c in p.store.iter_chunks()]
    assert len(ids) == len(set(ids)) == sum(c.n_chunks for c in committed.values()) == len(p.retriever.lexical)
    assert p.retriever.lexical.hashes() == {aid: c.content_hash for aid, c in committed.items()}
    assert p.ingest([data]).changed == 0
