"""The reader's training contexts: each question of a dataset asked as the product asks it (its articles up to
its date, our retrieval), once normally and once with every article holding its gold answer hidden; cached as
JSON beside the dataset's store."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rag.evals.evalcases import load_dataset
from rag.text import terms
from rag.types import Chunk, Filters, Hit

Log = Callable[[str], None]
CONTEXT_VERSION = 2  #: bump when what a cached context records changes


@dataclass
class Context:
    """One training question with what retrieval gave the answerer, normally and with the answer hidden."""

    id: str
    question: str
    answer: str
    date: dt.date
    idf: dict[str, float]
    normal: list[Hit]
    hidden: list[Hit]


def dataset_pipeline(settings: Any, dataset: Path, log: Log) -> Any:
    """The dataset's own cached store (shared with `rag eval --dataset`), ingested if needed."""
    from rag.evals.evaluate import build_arms, slug

    suite = load_dataset(dataset)
    pipeline = build_arms(settings, slug(suite.name), vanilla=False)[0].pipeline
    report = pipeline.ingest(suite.corpus)
    log(f"store for {dataset.name} ready ({report.summary()})")
    return pipeline


def collect(pipeline: Any, dataset: Path, log: Log, cache: Path | None = None) -> list[Context]:
    """Each question's retrieved context (normal and answer-hidden), cached as JSON beside the store."""
    suite = load_dataset(dataset, unanswerable=True)
    key = hashlib.sha256(
        json.dumps(
            [CONTEXT_VERSION, pipeline.store.fingerprint, pipeline.settings.top_k, str(dataset.resolve())]
        ).encode()
    ).hexdigest()[:12]
    if cache is not None:
        path = cache / f"contexts-{key}.json"
        if path.exists():
            log(f"train-reader: contexts from cache {path}")
            return [_context_from(d) for d in json.loads(path.read_text(encoding="utf-8"))]
    normal = {c.id: c for c in load_dataset(dataset).cases}
    out = []
    for i, case in enumerate(suite.cases, start=1):
        q = " ".join(case.question.split())
        until = Filters(until=case.as_of)
        hits = pipeline.retriever.context(q, pipeline.settings.top_k, until)
        hidden = pipeline.retriever.context(q, pipeline.settings.top_k, Filters(until=case.as_of, exclude=case.hide))
        answer = normal[case.id].facts[0].any[0]
        idf = {t: float(pipeline.retriever.lexical.idf(t)) for t in terms(q)}
        out.append(Context(case.id, q, answer, case.as_of or dt.date.today(), idf, hits, hidden))
        if i % 50 == 0:
            log(f"train-reader: retrieved {i}/{len(suite.cases)} questions")
    if cache is not None:
        cache.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps([_context_dict(c) for c in out]), encoding="utf-8")
    return out


def _hit_dict(h: Hit) -> dict[str, Any]:
    c = h.chunk
    return {
        "id": c.id, "article_id": c.article_id, "index": c.index, "text": c.text, "start": c.start, "end": c.end,
        "title": c.title, "outlet": c.outlet, "url": c.url,
        "published": c.published.isoformat() if c.published else None, "score": h.score,
        "dense_rank": h.dense_rank, "lexical_rank": h.lexical_rank, "dense_similarity": h.dense_similarity,
        "lexical_score": h.lexical_score,
    }  # fmt: skip


def _hit_from(d: dict[str, Any]) -> Hit:
    published = dt.date.fromisoformat(d["published"]) if d["published"] else None
    chunk = Chunk(
        d["id"], d["article_id"], d["index"], d["text"], d["start"], d["end"], d["title"], d["outlet"], d["url"],
        published,
    )  # fmt: skip
    return Hit(chunk, d["score"], d["dense_rank"], d["lexical_rank"], d.get("dense_similarity"), d.get("lexical_score"))


def _context_dict(c: Context) -> dict[str, Any]:
    return {
        "id": c.id, "question": c.question, "answer": c.answer, "date": c.date.isoformat(), "idf": c.idf,
        "normal": [_hit_dict(h) for h in c.normal], "hidden": [_hit_dict(h) for h in c.hidden],
    }  # fmt: skip


def _context_from(d: dict[str, Any]) -> Context:
    return Context(
        d["id"], d["question"], d["answer"], dt.date.fromisoformat(d["date"]), d["idf"],
        [_hit_from(h) for h in d["normal"]], [_hit_from(h) for h in d["hidden"]],
    )  # fmt: skip
