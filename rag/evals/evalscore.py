"""Scoring an evaluation: each case's answer against its facts, evidence and expected behaviour (answer,
refuse, correct a false premise), then an arm's aggregate: retrieval (hit@k, recall@k, MRR@10), answers
(accuracy, per kind), citations (precision, recall, unresolved), refusals, false premises, latency per
stage, LLM tokens, bootstrap CIs."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from rag.cite.cite import strip_markers
from rag.evals.evalcases import Case, Evidence
from rag.evals.metrics import bootstrap_ci, contains, mean, percentile, reciprocal_rank
from rag.ingest.sentences import split_spans
from rag.text import terms
from rag.types import Answer, Chunk

K = 5  #: the k of hit@k and recall@k
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
    #: A case with its answer's articles hidden: some retrieved passage still holds every word of the gold answer
    #: (None for other cases). Such a case may be answerable after all, in other words than the gold's.
    answer_words_left: bool | None = None
    #: Every required fact is in the answer's phrase (the reader's marked phrase, or a model's short answer).
    phrase_passed: bool = False
    phrase: str = ""


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
    phrase = answer.phrase
    phrase_passed = (
        case.expect == "answer" and bool(case.facts) and bool(phrase) and all(f.found_in(phrase) for f in case.facts)
    )
    return CaseResult(
        phrase_passed=phrase_passed and not unresolved,
        phrase=phrase,
        answer_words_left=words_left(case.hidden_answer, ranked) if case.hidden_answer else None,
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


def total_seconds(timings: dict[str, float]) -> float:
    """A case's time: its stages, not their parts ("generate:model" is inside "generate")."""
    return sum(v for k, v in timings.items() if ":" not in k)


def words_left(answer: str, ranked: list[Chunk]) -> bool:
    """Whether one of the retrieved chunks holds every word of ``answer`` (stemmed, any order)."""
    words = set(terms(answer))
    return bool(words) and any(words <= set(terms(ch.text)) for ch in ranked)


def summarise(arm: ArmResult) -> None:
    cases = arm.cases
    answerable = [c for c in cases if c.expect == "answer"]
    with_evidence = [c for c in cases if c.hit is not None]
    refused = [c for c in cases if c.refused]
    answered = [c for c in cases if not c.refused]
    unanswerable = [c for c in cases if c.expect == "refusal"]
    premises = [c for c in cases if c.expect == "correction"]
    hidden = [c for c in unanswerable if c.answer_words_left is not None]
    citations = sum(len(c.citations) for c in cases if c.expect != "refusal")
    facts = sum(len(c.facts_found) for c in cases if c.expect != "refusal")
    stages = sorted({s for c in cases for s in c.timings})

    def frac(values: list[bool]) -> float | None:
        return mean([float(v) for v in values]) if values else None

    s: dict[str, float | None] = {
        "cases": float(len(cases)),
        "accuracy": frac([c.passed for c in cases]),
        "answer_accuracy": frac([c.passed for c in answerable]),
        "answer_phrase_accuracy": frac([c.phrase_passed for c in answerable]),
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
        "hidden_words_left": frac([bool(c.answer_words_left) for c in hidden]),
        "refusal_recall_words_gone": frac([c.refused for c in hidden if not c.answer_words_left]),
        "false_premise_handled": frac([c.passed for c in premises]),
        "prompt_tokens": float(sum(c.prompt_tokens for c in cases)),
        "completion_tokens": float(sum(c.completion_tokens for c in cases)),
    }
    for stage in [*stages, "total"]:
        values = [total_seconds(c.timings) if stage == "total" else c.timings.get(stage, 0.0) for c in cases]
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
