"""The benchmark: ingestion throughput, retrieval and answer latency, peak memory, and retrieval quality
(hit@5, MRR@10 for dense, lexical and hybrid) on a dataset in the shape of ``realtimeqa-2024``.

Speed is compared with a naive embedding baseline run in the same process (fixed 250-token windows,
unsorted batches of 32), so the ratio holds whatever the machine.
"""

from __future__ import annotations

import datetime as dt
import json
import resource
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from rag.errors import ConfigError
from rag.evals.metrics import percentile_ms
from rag.ingest import tokens
from rag.ingest.chunk import embed_text
from rag.ingest.load import load_paths
from rag.pipeline import Pipeline
from rag.settings import Settings
from rag.types import Article, Filters

Log = Callable[[str], None]


def read_questions(dataset: Path) -> list[dict[str, Any]]:
    path = dataset / "questions.jsonl"
    if not path.exists():
        raise ConfigError(f"no questions.jsonl in {dataset}; expected articles.jsonl + questions.jsonl")
    questions = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    for q in questions:
        q["day"] = dt.date.fromisoformat(str(q["date"]).replace("/", "-")[:10])
    return questions


def naive_windows(articles: list[Article], size: int = 250, overlap: int = 50) -> list[str]:
    """The textbook baseline: fixed token windows, no sentence alignment."""
    enc = tokens.encoding()
    out = []
    for a in articles:
        ids = enc.encode_ordinary(a.text)
        for s in range(0, max(1, len(ids) - overlap), size - overlap):
            out.append(enc.decode(ids[s : s + size]))
    return out


def embedding_speed(pipeline: Pipeline, articles: list[Article], sample: int = 240) -> dict[str, float]:
    """tokens/s of our embedding path vs the naive baseline, on the same articles, same process."""
    embedder: Any = pipeline.embedder
    ours = [embed_text(c) for a in articles for c in pipeline.chunker.split(a)][:sample]
    naive = naive_windows(articles)[:sample]

    def run(texts: list[str], batch: int | None) -> float:
        n_tok = sum(tokens.count_many(texts))
        t0 = time.perf_counter()
        if batch is None:
            embedder.embed(texts)
        else:  # unsorted fixed batches, each padded to its longest text, truncated at the model limit
            for s in range(0, len(texts), batch):
                part = [embedder._tokenizer.encode(t).ids[: embedder.MAX_SEQ] for t in texts[s : s + batch]]
                width = max(len(p) for p in part)
                ids = np.zeros((len(part), width), dtype=np.int64)
                mask = np.zeros_like(ids)
                for r, p in enumerate(part):
                    ids[r, : len(p)] = p
                    mask[r, : len(p)] = 1
                embedder._session.run(None, {"input_ids": ids, "attention_mask": mask, "token_type_ids": 0 * ids})
        return n_tok / (time.perf_counter() - t0)

    run(ours[:16], None)  # warm up the session
    baseline = run(naive, 32)
    optimised = run(ours, None)
    return {"baseline_tokens_per_s": baseline, "tokens_per_s": optimised, "ratio": optimised / baseline}


def run_bench(dataset: Path, settings: Settings, *, limit: int = 0, local: int = 0, log: Log = print) -> dict[str, Any]:
    """Ingest ``dataset`` into a fresh store and time it, retrieval and answers; with ``local``, also that many
    questions (spread over the set) answered by the local engine, beside the extractive engine on the same ones."""
    articles_path = dataset / "articles.jsonl"
    if not articles_path.exists():
        raise ConfigError(f"no dataset at {dataset} (needs articles.jsonl and questions.jsonl)")
    questions = read_questions(dataset)
    settings_in = settings  # the local model is joined and served from the user's data folder, not the temp store
    with tempfile.TemporaryDirectory(prefix="rag-bench-") as tmp:
        settings = settings.replace(data_dir=Path(tmp), chroma_url="", generator="extractive")
        pipeline = Pipeline.from_settings(settings)
        items = list(load_paths([articles_path]))
        if limit:
            items = items[:limit]
        articles = [a for a in items if isinstance(a, Article)]
        log(f"bench: embedding speed vs naive baseline on {min(240, len(articles))} chunks…")
        speed = embedding_speed(pipeline, articles[:40])
        log(f"bench: ingesting {len(articles)} articles into a fresh store…")
        t0 = time.perf_counter()
        report = pipeline.ingest_items(items)
        ingest_s = time.perf_counter() - t0
        known = set(pipeline.store.committed())
        questions = [q for q in questions if set(q.get("evidence_ids", [])) & known]

        log(f"bench: {len(questions)} questions: retrieval and answers…")
        retrieval, latency = retrieval_quality(pipeline, questions)
        answer_s: list[float] = []
        for q in questions:
            t1 = time.perf_counter()
            pipeline.ask(q["question"], filters=Filters(until=q["day"]))
            answer_s.append(time.perf_counter() - t1)
        local_result = local_engine(pipeline, settings_in, questions, local, answer_s, log) if local else None

    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    log("bench: cold `rag ask` on a one-article store…")
    cold = cold_start(settings)
    result: dict[str, Any] = {
        "articles": len(articles),
        "questions": len(questions),
        "ingest": {
            "seconds": ingest_s,
            "chunks": report.chunks,
            "chunks_per_s": report.chunks / ingest_s if ingest_s else 0.0,
            "tokens": report.embedded_tokens,
            "tokens_per_s_overall": report.embedded_tokens / ingest_s if ingest_s else 0.0,
            "embed_tokens_per_s": report.embedded_tokens / report.embed_seconds if report.embed_seconds else 0.0,
        },
        "embedding_vs_naive": speed,
        "retrieval_ms": {"p50": percentile_ms(latency, 50), "p95": percentile_ms(latency, 95)},
        "answer_ms": {"p50": percentile_ms(answer_s, 50), "p95": percentile_ms(answer_s, 95)},
        "peak_rss_mb": peak_mb,
        "retrieval_quality": retrieval,
        "settings": {"chunk_tokens": settings.chunk_tokens, "chunk_overlap": settings.chunk_overlap},
        "cold_ask": cold,
    }
    if local_result is not None:
        result["local"] = local_result
    result["table"] = format_table(result)
    return result


def local_engine(
    pipeline: Pipeline,
    settings: Settings,
    questions: list[dict[str, Any]],
    n: int,
    extractive_s: list[float],
    log: Log,
) -> dict[str, Any]:
    """The local engine on ``n`` of the questions (spread evenly), in this process and on this store: the cold
    load, then warm answer time per phase (p50/p95), beside the extractive engine's time on the same questions."""
    from rag.local.model import LocalChat
    from rag.pipeline import make_generator

    chosen = sorted({i * len(questions) // n for i in range(min(n, len(questions)))})
    model = LocalChat(settings.replace(generator="local"))
    log(f"bench: local engine ({model.name}) on {len(chosen)} questions: loading the model…")
    t0 = time.perf_counter()
    endpoint = model.start()
    load_s = time.perf_counter() - t0
    extractive = pipeline.generator
    pipeline.generator = make_generator(
        pipeline.settings.replace(generator="local", local_sentences=settings.local_sentences),
        pipeline.embedder,
        pipeline.retriever,
        chat_model=model,
    )
    phases: dict[str, list[float]] = {"total": [], "read": [], "first_token": [], "model": []}
    by = {"model": 0, "reader": 0, "": 0}
    try:
        for i in chosen:
            q = questions[i]
            t1 = time.perf_counter()
            answer = pipeline.ask(q["question"], filters=Filters(until=q["day"]))
            phases["total"].append(time.perf_counter() - t1)
            for step in ("read", "first_token", "model"):
                if f"generate:{step}" in answer.timings:
                    phases[step].append(answer.timings[f"generate:{step}"])
            by[answer.answered_by if answer.answered_by in by else ""] += 1
    finally:
        pipeline.generator = extractive
    return {
        "model": model.name,
        "questions": len(chosen),
        "cold_load_s": endpoint.cold_load_s if endpoint.cold_load_s is not None else load_s,
        "was_running": endpoint.cold_load_s is None,
        "threads": settings.local_threads,
        "sentences": settings.local_sentences,
        "ms": {k: {"p50": percentile_ms(v, 50), "p95": percentile_ms(v, 95)} for k, v in phases.items() if v},
        "extractive_ms": {
            "p50": percentile_ms([extractive_s[i] for i in chosen], 50),
            "p95": percentile_ms([extractive_s[i] for i in chosen], 95),
        },
        "answered_by": by,
    }


def retrieval_quality(pipeline: Pipeline, questions: list[dict[str, Any]]) -> tuple[dict[str, Any], list[float]]:
    """hit@5 and MRR@10 of the evidence articles per mode (articles up to each question's date), and the
    hybrid search times in seconds."""
    pipeline.retriever.search("warm up", 5)
    retrieval: dict[str, dict[str, float]] = {}
    latency: list[float] = []
    for mode in ("dense", "lexical", "hybrid"):
        hits5 = rr = 0.0
        for q in questions:
            t1 = time.perf_counter()
            hits = pipeline.retriever.search(q["question"], 10, Filters(until=q["day"]), mode=mode)
            if mode == "hybrid":
                latency.append(time.perf_counter() - t1)
            ranks = [i for i, h in enumerate(hits, 1) if h.chunk.article_id in set(q["evidence_ids"])]
            hits5 += bool(ranks and ranks[0] <= 5)
            rr += 1 / ranks[0] if ranks else 0.0
        n = max(1, len(questions))
        retrieval[mode] = {"hit@5": hits5 / n, "mrr@10": rr / n}
    return retrieval, latency


def cold_start(settings: Settings, runs: int = 3) -> dict[str, Any]:
    """The median (by wall time) of ``runs`` cold ``rag ask`` runs on a store holding the sample article."""
    from rag.evals.scale import cold_ask

    with tempfile.TemporaryDirectory(prefix="rag-cold-") as tmp:
        one = settings.replace(data_dir=Path(tmp), chroma_url="", generator="extractive")
        Pipeline.from_settings(one).ensure_corpus()
        results = sorted((cold_ask(one) for _ in range(runs)), key=lambda r: r["wall_s"])
    return results[len(results) // 2]


def format_table(r: dict[str, Any]) -> str:
    i, s = r["ingest"], r["embedding_vs_naive"]
    lines = [
        f"dataset: {r['articles']} articles, {r['questions']} questions",
        f"ingest: {i['seconds']:.1f}s total, {i['chunks']} chunks ({i['chunks_per_s']:.1f} chunks/s), "
        f"{i['tokens']:,} tokens ({i['tokens_per_s_overall']:,.0f} tokens/s overall, "
        f"{i['embed_tokens_per_s']:,.0f} tokens/s while embedding)",
        f"embedding: {s['tokens_per_s']:,.0f} tokens/s vs naive baseline "
        f"{s['baseline_tokens_per_s']:,.0f} tokens/s (x{s['ratio']:.2f}, same process)",
        f"retrieval: p50 {r['retrieval_ms']['p50']:.1f} ms, p95 {r['retrieval_ms']['p95']:.1f} ms (hybrid, warm)",
        f"extractive answer: p50 {r['answer_ms']['p50']:.1f} ms, p95 {r['answer_ms']['p95']:.1f} ms "
        "(retrieval + answer, warm)",
        f"peak memory: {r['peak_rss_mb']:.0f} MB",
        "retrieval quality (evidence article among the top chunks; articles up to the question date):",
        "  mode     hit@5   MRR@10",
    ]
    for mode, m in r["retrieval_quality"].items():
        lines.append(f"  {mode:<8} {m['hit@5']:.3f}   {m['mrr@10']:.3f}")
    if "local" in r:
        loc = r["local"]
        load = "already running" if loc["was_running"] else f"cold load {loc['cold_load_s']:.1f}s"
        lines.append(
            f"local engine ({loc['model']}, {loc['threads']} threads, {loc['sentences']} sentences; {load}), "
            f"{loc['questions']} questions, warm:"
        )
        for name, m in loc["ms"].items():
            lines.append(f"  {name:<12} p50 {m['p50']:8.0f} ms   p95 {m['p95']:8.0f} ms")
        e = loc["extractive_ms"]
        lines.append(f"  extractive on the same questions: p50 {e['p50']:.0f} ms, p95 {e['p95']:.0f} ms")
        b = loc["answered_by"]
        lines.append(f"  answered by the model {b['model']}, by the reader's quote {b['reader']}, refused {b['']}")
    cold = r["cold_ask"]
    if "phases" not in cold:
        lines.append(f"cold `rag ask` on a one-article store failed: {' '.join(cold.get('error', []))}")
        return "\n".join(lines)
    lines.append(
        f"cold `rag ask` on a one-article store: {cold['wall_s'] * 1000:.0f} ms wall, "
        f"peak {cold['peak_rss_mb']:.0f} MB (median of 3; phase: wall ms / cpu ms):"
    )
    for name, p in cold["phases"].items():
        cpu = f"{p['cpu_s'] * 1000:5.0f}" if p.get("cpu_s") is not None else "    -"
        lines.append(f"  {name:<40} {p['wall_s'] * 1000:7.0f} / {cpu}")
    return "\n".join(lines)
