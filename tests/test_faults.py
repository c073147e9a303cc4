"""The fault suite: killed, interrupted, starved, concurrent and confused ingests lose nothing.

Every case ends by auditing the store against a clean ingest of the same inputs (``tests.faultkit.audit``):
the same articles with the same content hashes, the same chunk ids, no orphaned or missing chunk, and every
chunk's vector readable and found by a search with itself. Kills wait for a progress signal (a committed
group) and then a seeded random fraction of a group's measured time, never a fixed sleep. Corpora are small
and ingest workers long-lived, so the repeated rounds stay cheap. ``pytest -s`` prints the table of what
each fault class lost (all zeros).
"""

from __future__ import annotations

import os
import random
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from rag.pipeline import Pipeline
from rag.search.embed import LocalMiniLM
from rag.search.store import Store
from tests.conftest import PROJECT, ChromaServer, article_md, chroma_server, cli_env, make_settings, run_cli, write
from tests.faultkit import Audit, Results, Worker, audit, audit_dir, clean, corpus, wait_for, without_caps

pytestmark = pytest.mark.slow
RESULTS = Results()
#: Rounds of each repeated fault (kills, concurrent writers, repair races): 10 by default, as the issue asks;
#: CI may run fewer (RAG_FAULT_ROUNDS) to stay within its time budget.
ROUNDS = max(2, int(os.environ.get("RAG_FAULT_ROUNDS", "10")))


@pytest.fixture(scope="module", autouse=True)
def _table() -> Iterator[None]:
    yield
    print("\nwhat each fault class lost (a clean ingest of the same inputs is the reference):\n" + RESULTS.table())
    print("\n".join(RESULTS.notes))


@pytest.fixture(scope="module")
def work(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("faults")


@pytest.fixture(scope="module")
def corpora(work: Path) -> dict[str, Path]:
    """``a``: 60 one-chunk articles (three commit groups); ``b``, ``c``: 8 each."""
    return {name: corpus(work / "in" / f"{name}.jsonl", n, prefix=name) for name, n in (("a", 60), ("b", 8), ("c", 8))}


@pytest.fixture(scope="module")
def server(work: Path) -> Iterator[ChromaServer]:
    with chroma_server(work) as running:
        yield running


def audit_after_restart(server: ChromaServer, embedder: LocalMiniLM, work: Path, collections: list[str]) -> list[Audit]:
    """Audit collections of the server once it has restarted: a live Chroma 1.5.9 server can leave a few stored
    chunks unreachable by vector search until it restarts (chroma-core/chroma#7758, seen here in about one
    round in ten, with one writer or two); what this suite checks is what the store holds."""
    live = [audit_dir(work / "s0", embedder, chroma_url=server.url, collection=c).lost_vectors for c in collections]
    RESULTS.notes.append(
        f"{sum(live)} chunk(s) in {len(collections)} server collection(s) not found by vector search before the restart"
    )
    server.restart()
    return [audit_dir(work / "s0", embedder, chroma_url=server.url, collection=c) for c in collections]


def check(fault: str, found: Audit, reference: Audit) -> None:
    lost = found.lost(reference)
    RESULTS.add(fault, lost)
    assert lost == dict.fromkeys(lost, 0), f"{fault}: {lost}"


def pipeline(data: Path, embedder: LocalMiniLM, **settings: str) -> Pipeline:
    return Pipeline.from_settings(make_settings(data.parent, data_dir=data, **settings), embedder=embedder)


def kill_point(worker: Worker, rng: random.Random, scale: float) -> tuple[float, dict[str, Any] | None]:
    """Wait for a seeded random progress signal, then a seeded random fraction of one group's time (measured
    between signals, so it follows the machine's speed). Returns the group time measured, and the run's
    final event if it ended first."""
    k, fraction = rng.randrange(3), rng.random()  # k = 0: before the first commit
    last = time.monotonic()
    for seen in range(k + 1):
        event = worker.until("progress", "done", "error")
        if event["event"] != "progress":
            return scale, event
        now = time.monotonic()
        if seen:
            scale = now - last
        last = now
    time.sleep(fraction * scale)
    return scale, None


# -- crashes ---------------------------------------------------------------------------------------------


def test_kill_9_at_seeded_random_points_then_a_rerun_completes_the_work(
    work: Path, corpora: dict[str, Path], embedder: LocalMiniLM
) -> None:
    paths = [corpora["a"]]
    reference = clean(paths, embedder, work)
    rng, scale, mid_run = random.Random(1109), 1.0, 0
    worker = Worker(work / "kill-w0")
    for r in range(ROUNDS):
        data = work / f"kill-{r}"
        worker.send(data_dir=data, paths=paths)
        scale, _ = kill_point(worker, rng, scale)
        worker.kill()
        following = Worker(work / f"kill-w{r + 1}") if r < ROUNDS - 1 else None  # starts up while this round recovers
        p = pipeline(data, embedder)
        before = len(p.store.committed())
        mid_run += before < len(reference.articles)
        report = p.ingest(paths)
        assert report.unchanged == before  # what was committed is not embedded again
        check("kill -9 during ingest (embedded)", audit(p.store), reference)
        if following is not None:
            worker = following
    assert mid_run >= ROUNDS // 2, f"only {mid_run} of {ROUNDS} kills landed before the run finished"


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_ctrl_c_and_sigterm_stop_with_one_line_and_a_rerun_completes(
    work: Path, corpora: dict[str, Path], embedder: LocalMiniLM, sig: signal.Signals
) -> None:
    paths = [corpora["a"]]
    reference = clean(paths, embedder, work)
    for attempt in range(3):  # on a fast or lucky run the ingest can finish before the signal lands: again
        data = work / f"signal-{sig.name}-{attempt}"
        proc = subprocess.Popen(
            [sys.executable, "-m", "rag", "ingest", "--no-progress", str(paths[0])],
            env=cli_env(work, RAG_DATA_DIR=str(data)),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        p = pipeline(data, embedder)
        wait_for(lambda proc=proc, p=p: proc.poll() is not None or p.store.count_articles() > 0)  # first commit
        proc.send_signal(sig)
        _, err = proc.communicate(timeout=120)
        if proc.returncode != 0 or attempt == 2:
            break
    assert proc.returncode == 130 and err.strip().endswith("rag: interrupted") and "Traceback" not in err, err
    p.ingest(paths)
    check(f"{sig.name} during ingest", audit(p.store), reference)


def test_a_full_disk_is_one_clear_line_and_a_rerun_after_freeing_space_completes(
    work: Path, corpora: dict[str, Path], embedder: LocalMiniLM
) -> None:
    """A real full disk: a 1 MB tmpfs mounted in a private user+mount namespace (no root needed)."""
    if not shutil.which("unshare"):
        pytest.skip("needs unshare(1) for a private tmpfs; the full-disk message is covered by test_store")
    paths = [corpora["a"]]
    reference = clean(paths, embedder, work)
    box = work / "full"
    data, copy = box / "data", box / "copy"
    data.mkdir(parents=True)
    copy.mkdir()
    ingest = f"{sys.executable} -m rag ingest --no-progress {paths[0]}"
    script = f"""
        mount -t tmpfs -o size=1000k tmpfs {data} || exit 99
        {ingest} >{box}/1.out 2>{box}/1.err; echo $? >{box}/1.rc
        {sys.executable} -m rag status >{box}/s.out 2>{box}/s.err; echo $? >{box}/s.rc
        mount -o remount,size=100m {data}
        {ingest} >{box}/2.out 2>{box}/2.err; echo $? >{box}/2.rc
        cp -a {data}/. {copy}/
    """
    env = cli_env(box, RAG_DATA_DIR=str(data))
    done = subprocess.run(["unshare", "--user", "--map-root-user", "--mount", "sh", "-c", script], env=env, cwd=box)
    if done.returncode == 99 or not (box / "1.rc").exists():
        pytest.skip("cannot mount a tmpfs in a user namespace here; the full-disk message is covered by test_store")
    first, status = (box / "1.err").read_text(), (box / "s.err").read_text()
    assert (box / "1.rc").read_text().strip() == "1", first
    assert "the disk is full; free some space, then re-run the same command" in first, first
    assert len(first.strip().splitlines()) == 1 and "Traceback" not in first
    assert "Traceback" not in status and len(status.strip().splitlines()) <= 1, status
    assert (box / "2.rc").read_text().strip() == "0", (box / "2.err").read_text()
    check("full disk (1 MB tmpfs), then space freed", audit_dir(copy, embedder), reference)


def test_a_read_only_or_damaged_store_is_one_line_naming_the_fix_never_a_traceback(
    work: Path, corpora: dict[str, Path]
) -> None:
    # Root writes anywhere: the commands then run without the capabilities that let it (still as root).
    drop = without_caps("-dac_override,-dac_read_search,-fowner", "a read-only store")
    box = work / "broken-stores"
    data = box / "data"
    env = cli_env(box, RAG_DATA_DIR=str(data))
    assert run_cli(box, "ingest", str(corpora["b"]), env=env).returncode == 0

    def rag(*args: str) -> subprocess.CompletedProcess[str]:
        cmd = [*drop, sys.executable, "-m", "rag", *args]
        return subprocess.run(cmd, env=env, cwd=box, capture_output=True, text=True, timeout=240)

    files = [data, *data.rglob("*")]
    for path in files:
        os.chmod(path, 0o555 if path.is_dir() else 0o444)
    try:
        read_only = [rag("status"), rag("ingest", str(corpora["c"]))]
    finally:
        for path in files:
            os.chmod(path, 0o755 if path.is_dir() else 0o644)
    (data / "chroma" / "chroma.sqlite3").write_bytes(b"this is not a database" * 100)
    damaged = [rag("status"), rag("ingest", str(corpora["c"])), rag("ask", "How many people?")]
    for done, fix in [(r, "make it writable, or set RAG_DATA_DIR to a writable folder") for r in read_only] + [
        (r, "the store is damaged; move") for r in damaged
    ]:
        lines = done.stderr.strip().splitlines()
        assert len(lines) == 1, (done.args, done.stderr)
        assert done.returncode == 1 and lines[0].startswith("rag: error: ") and fix in lines[0], done.stderr


# -- concurrent writers ----------------------------------------------------------------------------------


def test_a_second_rag_ingest_stops_at_once_or_waits_with_wait(
    work: Path, corpora: dict[str, Path], embedder: LocalMiniLM
) -> None:
    box = work / "busy"
    data = box / "data"
    env = cli_env(box, RAG_DATA_DIR=str(data))
    holder = pipeline(data, embedder)
    with holder.store.writing():  # another writer holds the store, as a running `rag ingest` does
        busy = run_cli(box, "ingest", str(corpora["b"]), env=env)
        assert busy.returncode == 1, busy.stderr
        [line] = busy.stderr.strip().splitlines()
        assert line.startswith("rag: error: another run (pid ") and line.endswith("or re-run with --wait"), line
        waiting = subprocess.Popen(
            [sys.executable, "-m", "rag", "ingest", "--wait", "--no-progress", str(corpora["b"])],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=box,
        )
        assert waiting.stderr is not None
        told = waiting.stderr.readline()
        assert told.startswith("waiting for another run (pid "), told
        assert holder.store.count_articles() == 0  # it waited: nothing written
    _, err = waiting.communicate(timeout=180)
    assert waiting.returncode == 0, err
    check("second writer (CLI), stopped then --wait", audit(holder.store), clean([corpora["b"]], embedder, work))


def test_concurrent_ingests_into_the_embedded_store_take_turns(
    work: Path, corpora: dict[str, Path], embedder: LocalMiniLM
) -> None:
    """Ten rounds of two ingests started at once into one store (``b`` shared by both): one writes while the
    other waits (even rounds, ``--wait``) or stops at once with one line (odd rounds); nothing is lost."""
    work = work / "embedded"
    first, second = Worker(work / "turns-1"), Worker(work / "turns-2")
    overlapped = 0
    try:
        for r in range(ROUNDS):
            data, wait = work / f"turns-{r}", r % 2 == 0
            first.send(data_dir=data, paths=[corpora["a"], corpora["b"]], wait=wait)
            second.send(data_dir=data, paths=[corpora["b"], corpora["c"]], wait=wait)
            ends = {"ab": first.until("done", "error", "waiting"), "bc": second.until("done", "error", "waiting")}
            for name, worker in (("ab", first), ("bc", second)):
                if ends[name]["event"] == "waiting":
                    overlapped += 1
                    ends[name] = worker.until("done", "error")
                elif ends[name]["event"] == "error":
                    overlapped += 1
                    assert not wait and ends[name]["kind"] == "StoreBusyError", ends[name]
                    assert "re-run with --wait" in ends[name]["message"]
            stored = sorted({corpora[n] for name in ends if ends[name]["event"] == "done" for n in name})
            check("two ingests at once (embedded)", audit_dir(data, embedder), clean(stored, embedder, work))
    finally:
        first.close()
        second.close()
    assert overlapped >= ROUNDS // 2, f"only {overlapped} of {ROUNDS} rounds had the two runs overlap"


def test_concurrent_ingests_against_a_chroma_server(
    work: Path, corpora: dict[str, Path], embedder: LocalMiniLM, server: ChromaServer
) -> None:
    """Two runs at once, sharing the articles of ``b``: a server has no lock, and nothing may be lost."""
    first, second = Worker(work / "server-1"), Worker(work / "server-2")
    reference = clean([corpora["a"], corpora["b"], corpora["c"]], embedder, work)
    collections = [f"both{r}" for r in range(ROUNDS)]
    try:
        for name in collections:
            where = {"chroma_url": server.url, "collection": name}
            first.send(data_dir=work / "s1", paths=[corpora["a"], corpora["b"]], **where)
            second.send(data_dir=work / "s2", paths=[corpora["b"], corpora["c"]], **where)
            assert first.finish()["event"] == "done" and second.finish()["event"] == "done"
    finally:
        first.close()
        second.close()
    for found in audit_after_restart(server, embedder, work, collections):
        check("two ingests at once (Chroma server)", found, reference)


def half_written(store: Store, article_ids: list[str]) -> None:
    """What a run that died after writing chunks, before committing them, leaves on a server: chunks under a
    run id whose lease is gone."""
    rng = np.random.default_rng(len(article_ids))
    vectors = rng.normal(size=(len(article_ids), 384))
    with store.writing() as run:
        store._open(create=True)
        store._chunks.upsert(
            ids=[f"{a}:0" for a in article_ids],
            embeddings=(vectors / np.linalg.norm(vectors, axis=1, keepdims=True)).tolist(),
            documents=["half-written"] * len(article_ids),
            metadatas=[
                {"article_id": a, "index": 0, "start": 0, "end": 12, "run": run, "content_hash": "x"}
                for a in article_ids
            ],
        )


def test_start_up_repair_racing_a_live_ingest_on_a_server_keeps_the_live_runs_chunks(
    work: Path, corpora: dict[str, Path], embedder: LocalMiniLM, server: ChromaServer
) -> None:
    """A second run's start-up repair at a seeded random point of a live ingest: it deletes a dead run's
    half-written chunks and none of the live run's."""
    live, starter = Worker(work / "race-live"), Worker(work / "race-start")
    reference = clean([corpora["a"]], embedder, work)
    rng, scale, raced = random.Random(2024), 1.0, 0
    collections = [f"race{r}" for r in range(ROUNDS)]
    try:
        for r, name in enumerate(collections):
            where = {"chroma_url": server.url, "collection": name}
            live.send(data_dir=work / "r1", paths=[corpora["a"]], **where)
            scale, ended = kill_point(live, rng, scale)  # here: when the repair starts, not a kill
            half_written(pipeline(work / "r0", embedder, **where).store, [f"dead-{r}-{i}" for i in range(3)])
            starter.send(data_dir=work / "r2", paths=[], repair_only=True, **where)
            repaired = starter.finish()
            assert (ended or live.finish())["event"] == "done"
            assert repaired["repaired"] == 3, repaired  # the dead run's chunks, and only those
            raced += ended is None
    finally:
        live.close()
        starter.close()
    assert raced >= ROUNDS // 2, f"only {raced} of {ROUNDS} repairs started while the first run was writing"
    for found in audit_after_restart(server, embedder, work, collections):
        check("repair racing a live ingest (Chroma server)", found, reference)


def test_a_killed_run_on_a_server_is_dead_at_once_and_a_rerun_completes(
    work: Path, corpora: dict[str, Path], embedder: LocalMiniLM, server: ChromaServer
) -> None:
    where = {"chroma_url": server.url, "collection": "killed"}
    worker = Worker(work / "server-kill")
    worker.send(data_dir=work / "k1", paths=[corpora["a"]], **where)
    worker.until("progress")
    worker.until("progress")  # one group committed, the next being written
    worker.kill()
    p = pipeline(work / "k0", embedder, **where)
    with p.store.writing() as run:
        assert p.store._live_runs() == {run}  # the killed process's lease is not live: its pid is gone
    p.ingest([corpora["a"]])
    [found] = audit_after_restart(server, embedder, work, ["killed"])
    check("kill -9 during ingest (Chroma server)", found, clean([corpora["a"]], embedder, work))


# -- identity, prune, unreadable paths, limits -----------------------------------------------------------

BODY = "The harbour authority said on Tuesday that the new ferry terminal would open in March. " * 2


def test_prune_spelled_another_way_keeps_what_was_skipped_or_unreadable_and_says_so(
    work: Path, embedder: LocalMiniLM
) -> None:
    # Root reads any folder: the ingest then runs without the capabilities that let it (still as root).
    drop = without_caps("-dac_override,-dac_read_search", "an unreadable folder")
    box = work / "prune"
    folder = box / "p7c"
    for name in ("a", "b", "gone"):
        write(folder / f"{name}.md", article_md(name.upper(), f"{BODY} This is story {name}."))
    write(folder / "sub" / "c.md", article_md("C", f"{BODY} This is story c, in a subfolder."))

    def ingest(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*drop, sys.executable, "-m", "rag", "ingest", "--no-progress", *args],
            env=cli_env(box, RAG_DATA_DIR=str(box / "data")),
            cwd=box,
            capture_output=True,
            text=True,
            timeout=240,
        )

    assert ingest("p7c").returncode == 0  # spelled relative
    (folder / "gone.md").unlink()
    write(folder / "b.md", b"\x00\x01 half-written binary")
    os.chmod(folder / "sub", 0)
    try:
        broken = ingest("--prune", str(folder))  # the same folder, spelled absolute
    finally:
        os.chmod(folder / "sub", 0o755)
    assert broken.returncode == 3, broken.stderr
    assert f"skipped {folder / 'b.md'}: binary data" in broken.stderr
    assert f"skipped {folder / 'sub'}: cannot read folder: Permission denied" in broken.stderr
    assert "1 pruned, 2 kept despite --prune because their path was skipped this run" in broken.stdout
    p = pipeline(box / "data", embedder)
    assert set(p.store.committed()) == {"a", "b", "sub-c"}

    write(folder / "b.md", article_md("B", f"{BODY} This is story b."))
    healed = ingest("--prune", "p7c")
    assert healed.returncode == 0, healed.stderr
    check("prune with a skipped file and an unreadable folder", audit(p.store), clean([folder], embedder, box))


def test_renames_in_both_orders_lose_nothing_and_keep_vectors(work: Path, embedder: LocalMiniLM) -> None:
    """``today.md`` renamed, and a new ``today.md`` written: the renamed file sorting after the new one, and
    before it; then a plain rename. The renamed text keeps its vectors; only new text is embedded."""
    for renamed, new in (("z-archive", "today"), ("a-archive", "today"), ("moved", None)):
        folder = work / f"rename-{renamed}" / "n"
        write(folder / "today.md", article_md("Old story", f"{BODY} The old text."))
        p = pipeline(folder.parent / "data", embedder)
        p.ingest([folder])
        (folder / "today.md").rename(folder / f"{renamed}.md")
        if new:
            write(folder / f"{new}.md", article_md("New story", f"{BODY} The new text."))
        report = p.ingest([folder])
        assert report.skipped == [] and report.duplicates == []
        assert (report.renamed, report.chunks) == (1, 1 if new else 0)
        check("rename, and a new file under the old name", audit(p.store), clean([folder], embedder, work))


def test_over_the_size_cap_one_line_each_and_memory_stays_bounded(work: Path, embedder: LocalMiniLM) -> None:
    box = work / "sizes"
    good = box / "in" / "good"
    write(good / "one.md", article_md("One", f"{BODY} One."))
    write(good / "two.md", article_md("Two", f"{BODY} Two."))
    sentence = "The council met again on Tuesday to discuss the ferry terminal budget and its delays. "
    huge = box / "in" / "huge"
    write(huge / "huge.txt", sentence * (30_000_000 // len(sentence)))
    write(huge / "huge.jsonl", '{"id": "big", "text": "' + sentence * (30_000_000 // len(sentence)) + '"}\n')

    def peak_rss_mb(*paths: Path) -> float:
        code = (
            "import resource, sys; from rag.cli import main; rc = main(sys.argv[1:]); "
            "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024, file=sys.stderr); sys.exit(rc)"
        )
        data = box / f"data-{len(paths)}"
        env = cli_env(box, RAG_DATA_DIR=str(data))
        done = subprocess.run(
            [sys.executable, "-c", code, "ingest", "--no-progress", *map(str, paths)],
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
            cwd=PROJECT,
        )
        *lines, peak = done.stderr.strip().splitlines()
        if len(paths) > 1:
            assert done.returncode == 3
            assert sorted(lines) == [
                f"skipped {huge / 'huge.jsonl'}:1: over the 2.0 MB limit (RAG_MAX_ARTICLE_BYTES); split it, "
                "or raise the limit",
                f"skipped {huge / 'huge.txt'}: 30.0 MB, over the 2.0 MB limit (RAG_MAX_ARTICLE_BYTES); split it, "
                "or raise the limit",
            ]
            check("files over the size cap in a batch", audit_dir(data, embedder), clean([good], embedder, work))
        return float(peak)

    small, large = peak_rss_mb(good), peak_rss_mb(good, huge)
    assert large < small + 100, f"peak memory {small:.0f} MB for the good files, {large:.0f} MB with 60 MB more"
