"""Evaluation: run a suite of cases through our pipeline and the textbook one, score every answer, and
aggregate: retrieval (hit@k, recall@k, MRR@10), answers (accuracy, per kind), citations (precision,
recall, unresolved), refusals, false premises, latency per stage, LLM tokens and cost, bootstrap CIs."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import subprocess
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from rag import tokens
from rag.chat import Conversation
from rag.cite import strip_markers
from rag.embed import Embedder, make_embedder
from rag.evalcases import Case, Evidence, Suite
from rag.ingest import index_fingerprint, make_chunker
from rag.load import load_paths
from rag.metrics import bootstrap_ci, contains, mean, percentile, reciprocal_rank
from rag.pipeline import Generator, Pipeline, make_generator
from rag.progress import eta_line
from rag.prompts import load_prompt
from rag.sentences import split_spans
from rag.settings import PACKAGE_DIR, Settings
from rag.types import Answer, Article, Chunk, Filters
from rag.vanilla import vanilla_pipeline

K = 5  #: the k of hit@k and recall@k
#: USD per million (prompt, completion) tokens, for cost estimates of OpenAI models; others show no cost.
PRICES = {
    "gpt-4o-mini": (0.15, 0.60),
    "gpt-4o": (2.50, 10.0),
    "gpt-4.1-mini": (0.40, 1.60),
    "gpt-4.1": (2.0, 8.0),
}
Log = Callable[[str], None]
GATED = [
    "accuracy", "answer_accuracy", "answer_first", f"hit@{K}", f"recall@{K}", "mrr@10", "citation_precision",
    "citation_recall", "refusal_precision", "refusal_recall", "false_premise_handled", "follow_up_accuracy",
]  # fmt: skip


@dataclass
class CaseResult:
    id: str
    kind: str
    question: str
    expect: str
    answer: str
    refused: bool
    passed: bool
    reason: str
    citations: list[dict[str, Any]]
    facts_found: list[bool]
    hit: bool | None  #: an evidence passage among the top K chunks (None: case has no evidence)
    recall: float | None
    rr: float | None
    cited_precise: int = 0  #: citations whose quote is verbatim and holds a required fact
    cited_facts: int = 0  #: required facts that some citation's quote holds
    unresolved: int = 0  #: citations that do not resolve to a verbatim span: a hard failure
    timings: dict[str, float] = field(default_factory=dict)
    first_sentence: bool = False  #: every required fact is in the answer's first sentence
    words: int = 0  #: words in the answer (markers not counted)
    follow_up: bool = False  #: the case's question followed earlier questions of a conversation
    standalone: str = ""  #: the question as searched (a follow-up rewritten)
    prompt_tokens: int = 0
    completion_tokens: int = 0
    judge: dict[str, float] = field(default_factory=dict)


@dataclass
class ArmResult:
    name: str
    description: str
    cases: list[CaseResult]
    summary: dict[str, float | None] = field(default_factory=dict)
    ci: dict[str, list[float]] = field(default_factory=dict)
    per_kind: dict[str, dict[str, float | None]] = field(default_factory=dict)


@dataclass
class EvalReport:
    meta: dict[str, Any]
    arms: list[ArmResult]

    def arm(self, name: str) -> ArmResult | None:
        return next((a for a in self.arms if a.name == name), None)

    def to_dict(self) -> dict[str, Any]:
        return {"meta": self.meta, "arms": [asdict(a) for a in self.arms]}

    @property
    def unresolved(self) -> int:
        return sum(c.unresolved for a in self.arms for c in a.cases)

    def gated(self) -> dict[str, float | None]:
        """The metrics the regression gate holds to the baseline (our pipeline's)."""
        return {k: self.arms[0].summary.get(k) for k in GATED}


# -- scoring ----------------------------------------------------------------------------------------------


def relevant(chunk: Chunk, evidence: tuple[Evidence, ...]) -> list[bool]:
    """Which evidence items this chunk holds: same article, and the passage when one is given."""
    return [chunk.article_id == e.article and (not e.quote or contains(chunk.text, e.quote)) for e in evidence]


def score_case(case: Case, answer: Answer, ranked: list[Chunk], resolve: Callable[[str], str | None]) -> CaseResult:
    found = [f.found_in(answer.text) for f in case.facts]
    forbidden = [f.describe() for f in case.forbid if f.found_in(answer.text)]
    if case.expect == "refusal":
        passed, reason = (
            answer.refused,
            "refused" if answer.refused else "answered a question the articles do not",
        )
    elif case.expect == "correction":
        corrected = not answer.refused and all(found)
        passed = (answer.refused or corrected) and not forbidden
        reason = "corrected the premise" if corrected else "refused" if answer.refused else "accepted or ignored"
    else:
        passed = not answer.refused and all(found) and not forbidden
        reason = "refused" if answer.refused else "all facts present" if passed else "missing facts"
    missing = [f.describe() for f, ok in zip(case.facts, found, strict=True) if not ok]
    if missing and not passed:
        reason += ": " + "; ".join(missing)
    if forbidden:
        passed, reason = False, f"{reason}; states {', '.join(forbidden)}"

    unresolved = precise = 0
    for c in answer.citations:
        text = resolve(c.article_id)
        ok = text is not None and text[c.start : c.end] == c.quote
        unresolved += not ok
        precise += ok and any(f.found_in(c.quote) for f in case.facts)
    cited_facts = sum(any(f.found_in(c.quote) for c in answer.citations) for f in case.facts)
    if unresolved:
        passed, reason = False, f"{unresolved} citation(s) do not resolve to the article text"

    plain = strip_markers(answer.text)
    spans = split_spans(plain)
    first = plain[spans[0][0] : spans[0][1]] if spans else plain
    first_sentence = not answer.refused and bool(case.facts) and all(f.found_in(first) for f in case.facts)

    hit = recall = rr = None
    if case.evidence:
        marks = [relevant(ch, case.evidence) for ch in ranked]
        hit = any(any(m) for m in marks[:K])
        recall = sum(any(m[i] for m in marks[:K]) for i in range(len(case.evidence))) / len(case.evidence)
        rr = reciprocal_rank([any(m) for m in marks], 10)
    return CaseResult(
        id=case.id,
        kind=case.kind,
        question=case.question,
        expect=case.expect,
        answer=answer.text,
        refused=answer.refused,
        passed=passed,
        reason=reason,
        citations=[asdict(c) for c in answer.citations],
        facts_found=found,
        hit=hit,
        recall=recall,
        rr=rr,
        cited_precise=precise,
        cited_facts=cited_facts,
        unresolved=unresolved,
        timings=dict(answer.timings),
        first_sentence=first_sentence,
        words=0 if answer.refused else len(plain.split()),
        follow_up=bool(case.history),
        standalone=answer.standalone_question,
    )


def summarise(arm: ArmResult) -> None:
    cases = arm.cases
    answerable = [c for c in cases if c.expect == "answer"]
    with_evidence = [c for c in cases if c.hit is not None]
    refused = [c for c in cases if c.refused]
    answered = [c for c in cases if not c.refused]
    unanswerable = [c for c in cases if c.expect == "refusal"]
    premises = [c for c in cases if c.expect == "correction"]
    citations = sum(len(c.citations) for c in cases if c.expect != "refusal")
    facts = sum(len(c.facts_found) for c in cases if c.expect != "refusal")
    stages = sorted({s for c in cases for s in c.timings})

    def frac(values: list[bool]) -> float | None:
        return mean([float(v) for v in values]) if values else None

    s: dict[str, float | None] = {
        "cases": float(len(cases)),
        "accuracy": frac([c.passed for c in cases]),
        "answer_accuracy": frac([c.passed for c in answerable]),
        f"hit@{K}": frac([bool(c.hit) for c in with_evidence]),
        f"recall@{K}": mean([c.recall or 0.0 for c in with_evidence]) if with_evidence else None,
        "mrr@10": mean([c.rr or 0.0 for c in with_evidence]) if with_evidence else None,
        "citation_precision": (sum(c.cited_precise for c in cases if c.expect != "refusal") / citations)
        if citations
        else None,
        "citation_recall": (sum(c.cited_facts for c in cases if c.expect != "refusal") / facts) if facts else None,
        "unresolved_citations": float(sum(c.unresolved for c in cases)),
        "answer_first": frac([c.first_sentence for c in answerable]),
        "words_per_answer": mean([float(c.words) for c in answered]) if answered else None,
        "refusal_rate": frac([c.refused for c in cases]),
        "false_refusal_rate": frac([c.refused for c in answerable]),
        "follow_up_accuracy": frac([c.passed for c in cases if c.follow_up]),
        "refusal_precision": frac([c.expect == "refusal" for c in refused]),
        "refusal_recall": frac([c.refused for c in unanswerable]),
        "false_premise_handled": frac([c.passed for c in premises]),
        "prompt_tokens": float(sum(c.prompt_tokens for c in cases)),
        "completion_tokens": float(sum(c.completion_tokens for c in cases)),
    }
    for stage in [*stages, "total"]:
        values = [sum(c.timings.values()) if stage == "total" else c.timings.get(stage, 0.0) for c in cases]
        s[f"{stage}_p50_ms"] = percentile(values, 50) * 1000
        s[f"{stage}_p95_ms"] = percentile(values, 95) * 1000
    for key in ("faithfulness", "relevance"):
        graded = [c.judge[key] for c in cases if key in c.judge]
        if graded:
            s[f"judge_{key}"] = mean(graded)
            s[f"judge_{key}_spread"] = mean([c.judge.get(f"{key}_spread", 0.0) for c in cases if key in c.judge])
    arm.summary = s
    for name, values in (
        ("accuracy", [float(c.passed) for c in cases]),
        (f"hit@{K}", [float(bool(c.hit)) for c in with_evidence]),
        ("mrr@10", [c.rr or 0.0 for c in with_evidence]),
    ):
        ci = bootstrap_ci(values)
        if ci:
            arm.ci[name] = [ci[0], ci[1]]
    for kind in dict.fromkeys(c.kind for c in cases):
        group = [c for c in cases if c.kind == kind]
        ev = [c for c in group if c.hit is not None]
        arm.per_kind[kind] = {
            "cases": float(len(group)),
            "accuracy": frac([c.passed for c in group]),
            f"hit@{K}": frac([bool(c.hit) for c in ev]),
        }


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
        "model": settings.model if pipeline.generator.name == "llm" else "extractive",
        "commit": _commit(),
        "settings_fingerprint": hashlib.sha256(json.dumps(fingerprint, sort_keys=True).encode()).hexdigest()[:12],
        "settings": fingerprint,
        "prompts": prompts,
        "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    }


def _reader_tag(pipeline: Pipeline) -> str:
    """Which reader artifact answered (its sha256 prefix), so a report says which model produced its scores."""
    reader = getattr(pipeline.generator, "reader", None)
    return str(reader.model.meta.get("sha256", "")[:12]) if reader is not None else ""


def _commit() -> str:
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


__all__ = ["EvalReport", "K", "make_generator", "run"]
