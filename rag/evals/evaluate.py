"""Evaluation: run a suite of cases through our pipeline and the textbook one, each over its own cached
store, and score every answer (``rag.evals.evalscore``); the report records LLM tokens and cost, and what produced
it (commit, settings fingerprint, prompts, reader)."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import subprocess
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

from rag.answer.chat import Conversation
from rag.evals.evalcases import Case, Suite
from rag.evals.evalscore import ArmResult, CaseResult, EvalReport, score_case, summarise
from rag.evals.vanilla import vanilla_pipeline
from rag.ingest import tokens
from rag.ingest.chunk import index_fingerprint, make_chunker
from rag.ingest.load import load_paths
from rag.pipeline import Generator, Pipeline, make_generator
from rag.progress import eta_line
from rag.prompts import load_prompt
from rag.search.embed import Embedder, make_embedder
from rag.settings import PACKAGE_DIR, Settings
from rag.types import Answer, Article, Filters

#: USD per million (prompt, completion) tokens, for cost estimates of OpenAI models; others show no cost.
PRICES = {
    "gpt-4o-mini": (0.15, 0.60),
    "gpt-4o": (2.50, 10.0),
    "gpt-4.1-mini": (0.40, 1.60),
    "gpt-4.1": (2.0, 8.0),
}
Log = Callable[[str], None]


# -- running ----------------------------------------------------------------------------------------------


@dataclass
class Arm:
    name: str
    description: str
    pipeline: Pipeline


def build_arms(
    settings: Settings,
    store_key: str,
    *,
    embedder: Embedder | None = None,
    chat_model: Any = None,
    vanilla: bool = True,
) -> list[Arm]:
    """Our pipeline and the textbook one, each over its own cached store for this suite or dataset."""
    embedder = embedder or make_embedder(settings)
    chunker = make_chunker(settings.chunk_tokens, settings.chunk_overlap, embedder)
    fp = hashlib.sha256(json.dumps(index_fingerprint(embedder, chunker), sort_keys=True).encode()).hexdigest()[:8]
    esettings = settings.replace(data_dir=settings.data_dir / "evals", collection=f"{store_key}-{fp}")
    ours = Pipeline.from_settings(esettings, embedder=embedder, chat_model=chat_model)
    arms = [Arm("ours", "hybrid retrieval, sentence-aligned chunks, " + ours.generator.name, ours)]
    if vanilla:
        generator: Generator = ours.generator
        textbook = vanilla_pipeline(esettings, embedder, generator)
        arms.append(Arm("textbook", "RecursiveCharacterTextSplitter 1000/200, dense top-4, same generator", textbook))
    return arms


def run(
    suite: Suite,
    settings: Settings,
    *,
    embedder: Embedder | None = None,
    chat_model: Any = None,
    vanilla: bool = True,
    judge: Any = None,
    log: Log = lambda _m: None,
) -> EvalReport:
    key = slug(suite.store or suite.name)
    arms = build_arms(settings, key, embedder=embedder, chat_model=chat_model, vanilla=vanilla)
    results = []
    for arm in arms:
        t0 = time.perf_counter()
        items = load_paths(suite.corpus)
        if suite.only:
            items = (a for a in items if isinstance(a, Article) and a.id in suite.only)
        report = arm.pipeline.ingest_items(items, progress=_embedding_progress(arm.name, log))
        log(f"eval [{arm.name}]: store ready ({report.summary()}) in {time.perf_counter() - t0:.1f}s")
        cases = []
        resolve = _resolver(arm.pipeline)
        for i, case in enumerate(suite.cases, start=1):
            filters = Filters(until=case.as_of, exclude=case.hide) if case.as_of or case.hide else None
            if case.history:
                convo = Conversation(arm.pipeline, chat_model=chat_model, filters=filters)
                for earlier in case.history:
                    convo.ask(earlier)
                answer = convo.ask(case.question)
            else:
                answer = arm.pipeline.ask(case.question, filters=filters)
            searched = answer.standalone_question or case.question
            ranked = [h.chunk for h in arm.pipeline.retriever.search(searched, 10, filters)]
            result = score_case(case, answer, ranked, resolve)
            _count_tokens(result, arm.pipeline, case, answer)
            if judge is not None and not answer.refused:
                result.judge = judge.grade(case.question, answer)
            cases.append(result)
            if i % 25 == 0:
                log(f"eval [{arm.name}]: {i}/{len(suite.cases)} cases")
        arm_result = ArmResult(arm.name, arm.description, cases)
        summarise(arm_result)
        _add_cost(arm_result, settings)
        results.append(arm_result)
    return EvalReport(meta(suite, settings, arms[0].pipeline), results)


def _embedding_progress(arm: str, log: Log) -> Callable[[int, int], None]:
    """A first run embeds the suite's store (minutes for a dataset): a line at the start and every tenth."""
    started, shown = time.perf_counter(), [-1]

    def progress(done: int, total: int) -> None:
        step = 10 * done // max(total, 1)
        if step > shown[0]:
            shown[0] = step
            log(eta_line(f"eval [{arm}]: embedding articles", done, total, time.perf_counter() - started))

    return progress


def _resolver(pipeline: Pipeline) -> Callable[[str], str | None]:
    """Article id → stored text (cached): what a citation must be a verbatim span of."""
    cache: dict[str, str | None] = {}

    def resolve(article_id: str) -> str | None:
        if article_id not in cache:
            article = pipeline.store.get_article(article_id)
            cache[article_id] = article.text if article else None
        return cache[article_id]

    return resolve


def _count_tokens(result: CaseResult, pipeline: Pipeline, case: Case, answer: Answer) -> None:
    generator: Any = pipeline.generator
    if answer.usage:  # the API's own counts
        result.prompt_tokens = answer.usage.get("prompt_tokens", 0)
        result.completion_tokens = answer.usage.get("completion_tokens", 0)
        return
    if getattr(generator, "name", "") != "llm" or not answer.hits:
        return
    inputs = generator.inputs(case.question, answer.hits)
    prompt = generator.prompt
    result.prompt_tokens = tokens.count(
        prompt.system.format(**{k: inputs[k] for k in inputs if "{" + k + "}" in prompt.system})
    )
    result.prompt_tokens += tokens.count(
        prompt.user.format(**{k: inputs[k] for k in inputs if "{" + k + "}" in prompt.user})
    )
    result.completion_tokens = tokens.count(answer.text)


def _add_cost(arm: ArmResult, settings: Settings) -> None:
    price = next(
        (p for name, p in sorted(PRICES.items(), key=lambda kv: -len(kv[0])) if settings.model.startswith(name)),
        None,
    )
    tokens_in, tokens_out = (
        arm.summary.get("prompt_tokens") or 0.0,
        arm.summary.get("completion_tokens") or 0.0,
    )
    if price and (tokens_in or tokens_out) and not settings.openai_base_url:
        arm.summary["cost_usd"] = (tokens_in * price[0] + tokens_out * price[1]) / 1e6


def meta(suite: Suite, settings: Settings, pipeline: Pipeline) -> dict[str, Any]:
    fingerprint = {
        **pipeline.store.fingerprint,
        "top_k": settings.top_k,
        "fusion": asdict(pipeline.retriever.config),
        "answer_threshold": settings.answer_threshold,
        "reader": _reader_tag(pipeline),
    }
    prompts = {}
    for name in ("answer", "condense", "judge"):
        try:
            prompts[name] = load_prompt(settings.prompts_dir, name).tag
        except Exception:  # a missing prompt must not hide the scores; it is recorded as missing
            prompts[name] = "missing"
    return {
        "suite": suite.name,
        "source": suite.source,
        "cases": len(suite.cases),
        "engine": pipeline.generator.name,
        "model": settings.model_label if settings.use_llm and pipeline.generator.name != "extractive" else "extractive",
        "commit": source_commit(),
        "settings_fingerprint": hashlib.sha256(json.dumps(fingerprint, sort_keys=True).encode()).hexdigest()[:12],
        "settings": fingerprint,
        "prompts": prompts,
        "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    }


def _reader_tag(pipeline: Pipeline) -> str:
    """Which reader artifacts answered (sha256 prefixes: the trees, then the cross-encoder's settings when it
    rescores), so a report says which models produced its scores."""
    reader = getattr(pipeline.generator, "reader", None)
    reader = getattr(reader, "reader", reader)  # the local engine reads through the extractive engine's reader
    if reader is None:
        return ""
    tag = str(reader.model.meta.get("sha256", "")[:12])
    return f"{tag}+ce:{reader.cross.config.meta['sha256'][:12]}" if reader.rerank else tag


def source_commit() -> str:
    """The checkout's short commit, "-dirty" when tracked files changed; "unknown" outside a git checkout."""
    try:
        root = PACKAGE_DIR.parent
        sha = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=root,
            capture_output=True,
            text=True,
            timeout=5,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=root,
            capture_output=True,
            text=True,
            timeout=5,
        ).stdout.strip()
        return sha + ("-dirty" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def slug(name: str) -> str:
    out = "".join(ch if ch.isalnum() else "-" for ch in name.lower()).strip("-")
    return out[:40] or "suite"


__all__ = ["build_arms", "make_generator", "meta", "run"]
