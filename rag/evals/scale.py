"""The scale benchmark (``rag bench --scale``): how retrieval, adding an article, a cold ``rag ask``, memory
and disk grow with the store, on stores of 10k, 100k and 1M chunks.

The stores are grown from the development set's real chunks and vectors: each copy of an article gets a new
id, its date moved back a week per copy and a little noise on its vectors, so nothing is re-embedded and the
text statistics stay those of real news. Each build and each measurement runs in a fresh process: memory
figures are per process, and no two processes write a store at once. Latencies are also given as ratios to
the development-set store measured in the same run, so they compare across machines and loads.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import math
import multiprocessing
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

from rag.evals.metrics import percentile_ms
from rag.settings import Settings
from rag.types import Filters

Log = Callable[[str], None]

DEFAULT_SIZES = (10_000, 100_000, 1_000_000)
NOISE = 0.01  #: standard deviation of the noise added to each vector component before renormalising
WRITE_BATCH = 200  #: articles per store commit while growing a store
ADDS = 3  #: articles added (then removed) per size, to time "adding one article"
ASK = "How many North Korean soldiers does the Pentagon estimate have been sent to eastern Russia?"


def run_scale(
    dataset: Path,
    settings: Settings,
    *,
    sizes: tuple[int, ...] = DEFAULT_SIZES,
    keep: Path | None = None,
    log: Log = print,
) -> dict[str, Any]:
    """Build the dev-set store (cached in the data dir), grow a copy through ``sizes`` and measure each."""
    from rag.evals.bench import read_questions

    questions = [{"question": q["question"], "day": q["day"]} for q in read_questions(dataset)]
    source = settings.replace(
        data_dir=settings.data_dir / "bench" / dataset.name, chroma_url="", generator="extractive"
    )
    spawn = multiprocessing.get_context("spawn")
    log(f"scale: the development-set store at {source.data_dir} (ingested once, then reused)…")
    with ProcessPoolExecutor(1, mp_context=spawn) as pool:
        base = pool.submit(_prepare_source, dataset, source).result()
    log(f"scale: source {base['articles']} articles, {base['chunks']} chunks; measuring it as the baseline…")
    work = Path(tempfile.mkdtemp(prefix="rag-scale-")) if keep is None else keep
    rows: list[dict[str, Any]] = []
    try:
        rows.append(_measure_size(source, questions, log, label="baseline"))
        target = settings.replace(data_dir=work, chroma_url="", collection="scale", generator="extractive")
        for size in sorted(sizes):
            log(f"scale: growing the store to {size:,} chunks…")
            with ProcessPoolExecutor(1, mp_context=spawn) as pool:
                built = pool.submit(_grow, source, target, size).result()
            row = _measure_size(target, questions, log, label=f"{size:,}")
            row["build"] = built
            rows.append(row)
            if keep is not None:  # a long run's sizes so far survive an interruption
                (keep / "scale-results.json").write_text(json.dumps(rows, indent=2, default=str), encoding="utf-8")
    finally:
        if keep is None:
            shutil.rmtree(work, ignore_errors=True)
    result = {"dataset": dataset.name, "source": base, "sizes": rows, "growth": _growth(rows[1:])}
    result["table"] = format_scale_table(result)
    return result


def _prepare_source(dataset: Path, settings: Settings) -> dict[str, int]:
    """Ingest the dataset's articles into the source store unless already there (runs in a child)."""
    from rag.ingest.load import load_paths
    from rag.pipeline import Pipeline
    from rag.progress import ProgressReporter

    pipeline = Pipeline.from_settings(settings)
    items = list(load_paths([dataset / "articles.jsonl"]))
    with ProgressReporter(label="scale: embedding the development set") as progress:
        pipeline.ingest_items(items, progress=progress.update)
    return {"articles": pipeline.store.count_articles(), "chunks": pipeline.store.count_chunks()}


def _replicas(settings: Settings) -> Iterator[tuple[int, Any]]:
    """(copy number, write) for copy 1, 2, … of every source article, forever (the caller stops)."""
    from rag.search.storerecords import ArticleWrite

    store = _store(settings)
    writes = list(store.iter_writes())
    rng = np.random.default_rng(12)
    copy = 0
    while True:
        copy += 1
        shift = dt.timedelta(days=7 * copy)
        for w in writes:
            aid = f"{w.article.id}~{copy}"
            day = w.article.published - shift if w.article.published else None
            article = dataclasses.replace(w.article, id=aid, published=day)
            chunks = [dataclasses.replace(c, id=f"{aid}:{c.index}", article_id=aid, published=day) for c in w.chunks]
            noisy = w.vectors + rng.normal(0.0, NOISE, size=w.vectors.shape).astype(np.float32)
            noisy /= np.linalg.norm(noisy, axis=1, keepdims=True)
            yield copy, ArticleWrite(article, chunks, noisy, f"{w.content_hash}~{copy}", f"{w.text_hash}~{copy}")


def _store(settings: Settings) -> Any:
    from rag.ingest.chunk import index_fingerprint, make_chunker
    from rag.search.embed import make_embedder
    from rag.search.store import Store

    embedder = make_embedder(settings)
    chunker = make_chunker(settings.chunk_tokens, settings.chunk_overlap, embedder)
    return Store(settings, index_fingerprint(embedder, chunker))


def _grow(source: Settings, target: Settings, size: int) -> dict[str, Any]:
    """Add copies of the source articles to ``target`` until it holds ``size`` chunks (runs in a child)."""
    from rag.progress import eta_line
    from rag.search.lexical import Indexed, LexicalIndex

    store = _store(target)
    lexical = LexicalIndex.for_store(store, target.data_dir / "lexical")
    have, start = store.count_chunks(), store.count_articles()
    t0 = time.perf_counter()
    added, batch, last = 0, [], 0.0
    replicas = _replicas(source)
    for _ in range(start):  # the copies already written by a smaller size
        next(replicas)
    with store.writing():  # the writer lock (embedded) or a lease (server), as any ingest holds
        for _, write in replicas:
            if have >= size:
                break
            batch.append(write)
            have += len(write.chunks)
            if len(batch) == WRITE_BATCH or have >= size:
                stamp = store.put_articles(batch)
                lexical.add(Indexed(w.article.id, w.content_hash, stamp, w.chunks) for w in batch)
                added += sum(len(w.chunks) for w in batch)
                batch = []
                if time.perf_counter() - last > 30 or have >= size:
                    last = time.perf_counter()
                    line = eta_line("scale: chunks written", added, added + max(size - have, 0), last - t0)
                    print(line, file=sys.stderr, flush=True)
    seconds = time.perf_counter() - t0
    return {
        "chunks_added": added,
        "seconds": seconds,
        "chunks_per_s": added / seconds if seconds else 0.0,
        "peak_rss_mb": _rss_mb(),
    }


def _measure_size(settings: Settings, questions: list[dict[str, Any]], log: Log, label: str) -> dict[str, Any]:
    spawn = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(1, mp_context=spawn) as pool:
        row: dict[str, Any] = pool.submit(_measure, settings, questions).result()
    row["label"] = label
    row["cold_ask"] = cold_ask(settings)
    row["disk"] = _disk(settings.data_dir, row["chunks"])
    log(f"scale: {label}: {_summary(row)}")
    return row


def _measure(settings: Settings, questions: list[dict[str, Any]]) -> dict[str, Any]:
    """Warm hybrid retrieval with and without filters, then adding articles (runs in a child)."""
    from rag.pipeline import Pipeline

    t0 = time.perf_counter()
    pipeline = Pipeline.from_settings(settings)
    retriever = pipeline.retriever
    _ = retriever.lexical  # opened and caught up (built, the first time a store is measured)
    open_s = time.perf_counter() - t0
    retriever.search("warm up the index and the model", 10)
    outlet = _common_outlet(pipeline)
    cases: dict[str, Callable[[dt.date], Filters | None]] = {  # the names are the table's columns
        "no filter": lambda day: None,
        "until its date": lambda day: Filters(until=day),
        "its week": lambda day: Filters(since=day - dt.timedelta(days=7), until=day),
        "one outlet": lambda day: Filters(outlets=(outlet,)),
    }
    latency: dict[str, dict[str, float]] = {}
    for name, make in cases.items():
        times = []
        for q in questions:
            t1 = time.perf_counter()
            retriever.search(q["question"], 10, make(q["day"]))
            times.append(time.perf_counter() - t1)
        latency[name] = {"p50_ms": percentile_ms(times, 50), "p95_ms": percentile_ms(times, 95)}
    return {
        "chunks": len(retriever.lexical),
        "articles": pipeline.store.count_articles(),
        "open_s": open_s,
        "latency": latency,
        "add": _add_articles(pipeline),
        "peak_rss_mb": _rss_mb(),
    }


def _add_articles(pipeline: Any) -> dict[str, Any]:
    """Time adding one new article, ``ADDS`` times: the whole ``rag ingest`` path and its parts, and what it
    touched; the articles are removed again afterwards."""
    from rag.ingest.ingest import ingest_items

    store, lexical = pipeline.store, pipeline.retriever.lexical
    source = next(store.iter_articles())
    with store.writing():  # one run holds the store for all the adds, as `rag ingest` would
        runs = []
        for i in range(ADDS):
            article = dataclasses.replace(
                source, id=f"scale-new-{i}", published=dt.date.today(), text=f"{source.text}\n\nUpdate {i}."
            )
            t0 = time.perf_counter()
            unclean = store.unclean_runs()  # what the ingest below checks first (a full repair only if any)
            t_check = time.perf_counter() - t0
            before = _files(lexical.path)
            t1 = time.perf_counter()
            report = ingest_items(
                [article], store=store, embedder=pipeline.embedder, chunker=pipeline.chunker, lexical=lexical
            )
            wall = time.perf_counter() - t1
            after = _files(lexical.path)
            runs.append(
                {
                    "wall_s": wall,
                    "embed_s": report.embed_seconds,
                    "repair_check_s": t_check,
                    "unclean_runs": len(unclean),
                    "orphans": report.repaired_chunks,
                    "chunks": report.chunks,
                    "lexical_docs_written": lexical.written.chunks,
                    "lexical_files_new": len(set(after) - set(before)),
                    "lexical_bytes_new": sum(after[f] for f in set(after) - set(before)),
                    "lexical_files_rewritten": sum(1 for f in before if f in after and after[f] != before[f]),
                }
            )
        ids = [f"scale-new-{i}" for i in range(ADDS)]
        store.delete_articles(ids)
        lexical.delete(ids)
    walls = sorted(r["wall_s"] for r in runs)
    return {"median_wall_s": walls[len(walls) // 2], "max_wall_s": walls[-1], "runs": runs}


def cold_ask(settings: Settings, question: str = ASK) -> dict[str, Any]:
    """A cold ``rag ask --json --timings`` on this store in a fresh interpreter: wall time, phases, peak RSS."""
    # As `rag` itself runs it (``rag.cli.entry``: an ask that wrote nothing skips the teardown). The peak is the
    # process's own (VmHWM): ru_maxrss would also count the parent's pages, which a forked child starts with.
    probe = (
        "import os, re, sys\nfrom rag.cli import run_command\ncode, quick = run_command(sys.argv[1:])\n"
        "peak = re.search(r'VmHWM:\\s+(\\d+)', open('/proc/self/status').read())\n"
        "print('maxrss_kb', peak.group(1) if peak else 0, file=sys.stderr)\n"
        "sys.stdout.flush(); sys.stderr.flush()\nos._exit(code) if quick else sys.exit(code)"
    )
    env = {
        **_base_env(),
        "RAG_DATA_DIR": str(settings.data_dir),
        "RAG_COLLECTION": settings.collection,
        "RAG_GENERATOR": "extractive",
    }
    t0 = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", probe, "ask", "--json", "--timings", question],
        capture_output=True,
        text=True,
        env=env,
        timeout=3600,
    )
    wall = time.perf_counter() - t0
    if done.returncode != 0:
        return {"error": done.stderr.strip().splitlines()[-1:] or ["failed"], "wall_s": wall}
    phases = json.loads(done.stdout)["phases"]
    rss = [int(line.split()[1]) for line in done.stderr.splitlines() if line.startswith("maxrss_kb")]
    inside = sum(p["wall_s"] for p in phases.values())
    return {
        "wall_s": wall,
        "phases": {"interpreter start, CLI import, exit": {"wall_s": wall - inside, "cpu_s": None}, **phases},
        "peak_rss_mb": rss[0] / 1024 if rss else 0.0,
    }


def _base_env() -> dict[str, str]:
    import os

    keep = ("PATH", "HOME", "LANG", "PYTHONPATH", "XDG_DATA_HOME")
    return {k: v for k, v in os.environ.items() if k in keep or k.startswith(("RAG_", "OPENAI_"))}


def _common_outlet(pipeline: Any) -> str:
    counts: dict[str, int] = {}
    for a in pipeline.store.iter_articles():
        if a.outlet:
            counts[a.outlet.lower()] = counts.get(a.outlet.lower(), 0) + 1
    return max(counts, key=lambda o: counts[o]) if counts else ""


def _files(path: Path | None) -> dict[str, int]:
    if path is None or not path.is_dir():
        return {}
    return {p.name: p.stat().st_size for p in path.iterdir() if not p.name.startswith((".", "meta"))}


def _disk(data_dir: Path, chunks: int) -> dict[str, float]:
    def size(path: Path) -> int:
        return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) if path.exists() else 0

    chroma, lexical = size(data_dir / "chroma"), size(data_dir / "lexical")
    n = max(chunks, 1)
    return {"chroma_mb": chroma / 1e6, "lexical_mb": lexical / 1e6, "bytes_per_chunk": (chroma + lexical) / n}


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _growth(rows: list[dict[str, Any]]) -> dict[str, float]:
    """Log-log slopes from the smallest to the largest size: 1.0 grows linearly with chunks, 0 not at all."""
    if len(rows) < 2:
        return {}
    a, b = rows[0], rows[-1]
    span = math.log(b["chunks"] / a["chunks"])

    def slope(x: float, y: float) -> float:
        return math.log(y / x) / span if x > 0 and y > 0 else float("nan")

    return {
        "retrieval_p50": slope(a["latency"]["no filter"]["p50_ms"], b["latency"]["no filter"]["p50_ms"]),
        "retrieval_p50_filtered": slope(a["latency"]["its week"]["p50_ms"], b["latency"]["its week"]["p50_ms"]),
        "add_article": slope(a["add"]["median_wall_s"], b["add"]["median_wall_s"]),
        "query_process_rss": slope(a["peak_rss_mb"], b["peak_rss_mb"]),
        "disk": slope(a["disk"]["bytes_per_chunk"] * a["chunks"], b["disk"]["bytes_per_chunk"] * b["chunks"]),
    }


def _summary(row: dict[str, Any]) -> str:
    lat = row["latency"]["no filter"]
    return (
        f"{row['chunks']:,} chunks, hybrid p50 {lat['p50_ms']:.1f} ms, p95 {lat['p95_ms']:.1f} ms, add an article "
        f"{row['add']['median_wall_s']:.2f} s, cold ask {row['cold_ask'].get('wall_s', 0):.1f} s, "
        f"RSS {row['peak_rss_mb']:.0f} MB"
    )


def format_scale_table(r: dict[str, Any]) -> str:
    rows = r["sizes"]
    base = rows[0]["latency"]
    names = list(base)
    lines = [
        f"scale: {r['dataset']} ({r['source']['articles']} articles, {r['source']['chunks']:,} chunks) grown by "
        "copies; hybrid retrieval (top 10, warm) of its questions: no filter, up to the question's date, the "
        "week before it, the most common outlet; ×base = ratio to the dataset's own store in this run",
        "",
        "retrieval p50 / p95 ms (×base on p50):",
        f"{'chunks':>10}  " + "  ".join(f"{n:>26}" for n in names),
    ]
    for row in rows:
        cells = []
        for n in names:
            m = row["latency"][n]
            ratio = m["p50_ms"] / base[n]["p50_ms"] if base[n]["p50_ms"] else 0.0
            cells.append(f"{m['p50_ms']:7.1f} / {m['p95_ms']:7.1f} (×{ratio:4.1f})")
        lines.append(f"{row['chunks']:>10,}  " + "  ".join(f"{c:>26}" for c in cells))
    lines += [
        "",
        f"{'chunks':>10}  {'add article s':>13}  {'of it embed':>11}  {'repair chk':>11}  {'cold ask s':>10}  "
        f"{'query RSS MB':>12}  {'ask RSS MB':>10}  {'disk B/chunk':>12}  {'build chunks/s':>14}",
    ]
    for row in rows:
        add = row["add"]
        scans = sum(x["repair_check_s"] for x in add["runs"]) / len(add["runs"])
        embed = sorted(x["embed_s"] for x in add["runs"])[len(add["runs"]) // 2]
        build = f"{row['build']['chunks_per_s']:,.0f}" if "build" in row else "-"
        lines.append(
            f"{row['chunks']:>10,}  {add['median_wall_s']:>13.2f}  {embed:>11.2f}  {scans:>11.2f}  "
            f"{row['cold_ask'].get('wall_s', 0.0):>10.1f}  {row['peak_rss_mb']:>12.0f}  "
            f"{row['cold_ask'].get('peak_rss_mb', 0.0):>10.0f}  {row['disk']['bytes_per_chunk']:>12,.0f}  "
            f"{build:>14}"
        )
    g = r.get("growth") or {}
    if g:
        lines += [
            "",
            "growth from the smallest to the largest size (log-log slope; 1 = linear in chunks): "
            + ", ".join(f"{k} {v:.2f}" for k, v in g.items()),
        ]
    last = rows[-1]
    touched = last["add"]["runs"][0]
    lines += [
        "",
        f"adding one article at {last['chunks']:,} chunks touched: {touched['chunks']} chunk record(s) and 1 article "
        f"record in Chroma; {touched['lexical_docs_written']} lexical document(s) in "
        f"{touched['lexical_files_new']} new file(s) ({touched['lexical_bytes_new'] / 1024:.0f} KB), "
        f"{touched['lexical_files_rewritten']} existing file(s) rewritten",
        "cold ask phases at the largest size (wall ms / cpu ms):",
    ]
    for name, p in last["cold_ask"].get("phases", {}).items():
        cpu = f"{p['cpu_s'] * 1000:6.0f}" if p.get("cpu_s") is not None else "     -"
        lines.append(f"  {name:<40} {p['wall_s'] * 1000:8.0f} / {cpu}")
    return "\n".join(lines)
