"""Briefing evaluation: known facts a brief must state with citations, and, on a dataset, quiz coverage
(the share of a week's gold answers that the brief of that week's articles contains)."""

from __future__ import annotations

import datetime as dt
import json
import time
from collections import defaultdict
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import yaml

from rag import templating
from rag.brief.brief import brief_from_store, make_brief
from rag.brief.brief_extractive import ExtractiveBriefer
from rag.brief.briefrender import moved_text
from rag.cite.cite import markers
from rag.errors import BriefCitationError, ConfigError
from rag.evals.evalcases import Suite, load_dataset, suite_type
from rag.evals.evaluate import build_arms, meta
from rag.evals.metrics import Fact, contains, mean
from rag.search.embed import Embedder
from rag.settings import Settings
from rag.types import Briefing

GATED = ("facts_cited", "citation_validity", "coverage", "checks_passed")


@dataclass
class BriefEvalReport:
    meta: dict[str, Any]
    summary: dict[str, float | None]
    items: list[dict[str, Any]] = field(default_factory=list)  #: per fact, or per quiz week

    @property
    def unresolved(self) -> int:
        return int(self.summary.get("invalid_citations") or 0)

    def gated(self) -> dict[str, float | None]:
        return {k: self.summary[k] for k in GATED if k in self.summary}

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def is_brief_suite(path: Path) -> bool:
    return suite_type(path) == "brief"


def units(brief: Briefing) -> list[tuple[str, list[int]]]:
    """Every statement of a brief with the citation keys backing it (sentences and moved numbers)."""
    out = [(x, markers(x)) for x in brief.overview]
    for s in brief.stories:
        out += [(x, markers(x)) for x in s.sentences]
        out += [(moved_text(m), [m.after_key]) for m in s.moved]
    return out


def brief_text(brief: Briefing) -> str:
    return " ".join([*(s.headline for s in [*brief.stories, *brief.more]), *(u for u, _ in units(brief))])


def citation_validity(brief: Briefing, texts: dict[str, str]) -> tuple[float, int]:
    """(share of citations that are verbatim spans of their article, number that are not)."""
    bad = sum(texts.get(c.article_id, "")[c.start : c.end] != c.quote for c in brief.citations)
    return (1.0 - bad / len(brief.citations)) if brief.citations else 1.0, bad


def run_known_facts(path: Path, settings: Settings, *, embedder: Embedder | None = None) -> BriefEvalReport:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    try:
        facts = [(str(f["id"]), Fact.parse(f["fact"])) for f in data["facts"]]
        day = dt.date.fromisoformat(str(data["date"]))
        corpus = [
            (path.parent / c).resolve()
            for c in ([data["corpus"]] if isinstance(data["corpus"], str) else data["corpus"])
        ]
    except (KeyError, TypeError, ValueError) as exc:
        raise ConfigError(f"brief suite {path} is invalid: {exc}") from None
    name = str(data.get("name") or path.stem)
    pipeline = build_arms(settings, name, embedder=embedder, vanilla=False)[0].pipeline
    pipeline.ingest(corpus)
    t0 = time.perf_counter()
    brief = brief_from_store(pipeline, date=day)
    seconds = time.perf_counter() - t0
    by_key = {c.key: c for c in brief.citations}
    items: list[dict[str, Any]] = []
    for fid, fact in facts:
        stated = [(u, keys) for u, keys in units(brief) if fact.found_in(u)]
        cited = any(any(k in by_key and fact.found_in(by_key[k].quote) for k in keys) for _, keys in stated)
        items.append(
            {
                "id": fid,
                "fact": fact.describe(),
                "stated": bool(stated),
                "cited": cited,
                "where": stated[0][0] if stated else "",
            }
        )
    texts = {a.id: a.text for a in pipeline.store.iter_articles()}
    validity, bad = citation_validity(brief, texts)
    summary: dict[str, float | None] = {
        "facts_cited": mean([float(i["cited"]) for i in items]),
        "facts_stated": mean([float(i["stated"]) for i in items]),
        "citation_validity": validity,
        "invalid_citations": float(bad),
        "words": float(brief.words),
        "seconds": seconds,
    }
    return BriefEvalReport(suite_meta(name, str(path), settings, pipeline), summary, items)


def run_dataset(
    directory: Path, settings: Settings, *, embedder: Embedder | None = None, limit: int = 0, log: Any = lambda _m: None
) -> BriefEvalReport:
    """Brief each quiz week's retrieved articles and measure how many of the week's answers it contains."""
    suite: Suite = load_dataset(directory, limit)
    questions = [
        json.loads(x) for x in (directory / "questions.jsonl").read_text(encoding="utf-8").splitlines() if x.strip()
    ]
    questions = questions[:limit] if limit else questions
    pipeline = build_arms(settings, "dataset-" + directory.name, embedder=embedder, vanilla=False)[0].pipeline
    pipeline.ingest(suite.corpus)
    weeks: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for q in questions:
        weeks[str(q["date"]).replace("/", "-")[:10]].append(q)

    def idf(term: str) -> float:  # the lexical index is built on first use
        return float(pipeline.retriever.lexical.idf(term))

    briefer = ExtractiveBriefer(pipeline.embedder, idf=idf)
    items, covered, words, seconds, bad_total, cites = [], [], [], [], 0, 0
    for day, qs in sorted(weeks.items()):
        ids = sorted({i for q in qs for i in q.get("retrieved_ids", [])})
        articles = [a for a in (pipeline.store.get_article(i) for i in ids) if a is not None]
        if not articles:
            continue
        dates = [a.published for a in articles if a.published]
        t0 = time.perf_counter()
        try:
            brief = make_brief(
                articles,
                pipeline.store.article_vectors([a.id for a in articles]),
                briefer,
                date=dt.date.fromisoformat(day),
                since=min(dates),
                until=max(dates),
                idf=idf,
            )
        except BriefCitationError:
            bad_total += 1
            continue
        seconds.append(time.perf_counter() - t0)
        text = brief_text(brief)
        hits = [contains(text, str(q["answer"])) for q in qs]
        covered += hits
        words.append(brief.words)
        validity, bad = citation_validity(brief, {a.id: a.text for a in articles})
        bad_total += bad
        cites += len(brief.citations)
        items.append(
            {
                "week": day,
                "questions": len(qs),
                "articles": len(articles),
                "stories": len(brief.stories),
                "covered": sum(hits),
                "coverage": mean([float(h) for h in hits]),
                "words": brief.words,
                "citation_validity": validity,
            }
        )
        log(f"eval briefs: {day}: {sum(hits)}/{len(qs)} answers in {brief.words} words")
    summary: dict[str, float | None] = {
        "coverage": mean([float(c) for c in covered]) if covered else None,
        "citation_validity": (1.0 - bad_total / cites) if cites else None,
        "invalid_citations": float(bad_total),
        "words_mean": mean([float(w) for w in words]) if words else None,
        "words_max": float(max(words)) if words else None,
        "weeks": float(len(items)),
        "seconds_p50": sorted(seconds)[len(seconds) // 2] if seconds else None,
    }
    return BriefEvalReport(suite_meta(f"briefs:{directory.name}", str(directory), settings, pipeline), summary, items)


def suite_meta(name: str, source: str, settings: Settings, pipeline: Any) -> dict[str, Any]:
    """A brief report's provenance (commit, settings fingerprint …); briefs here are extractive."""
    m = meta(Suite(name, [], [], source), settings, pipeline)
    m.update({"engine": "extractive", "model": "extractive", "prompts": {"brief_story": "unused (extractive)"}})
    return m


def write_brief_report(report: BriefEvalReport, path: Path) -> None:
    """By extension: ``.json`` or a self-contained ``.html`` page."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix.lower() == ".json":
        path.write_text(json.dumps(report.to_dict(), indent=2, ensure_ascii=False), encoding="utf-8")
    elif path.suffix.lower() in {".html", ".htm"}:
        path.write_text(brief_report_html(report), encoding="utf-8")
    else:
        raise ValueError(f"unknown report format {path.suffix!r}: use .json or .html")


def brief_report_html(report: BriefEvalReport) -> str:
    """A self-contained page (``brief_eval.html``): the summary, then one row per item."""
    m = report.meta
    columns = sorted({k for item in report.items for k in item}, key=lambda k: (k not in {"week", "id"}, k))
    return templating.render(
        "brief_eval.html",
        title=f"Briefing evaluation: {m['suite']}",
        meta_line=[f"{k} {m[k]}" for k in ("engine", "commit", "settings_fingerprint", "created") if k in m],
        summary=[(k, _shown(v)) for k, v in report.summary.items()],
        columns=columns,
        rows=[[_shown(item.get(c)) for c in columns] for item in report.items],
    )


def _shown(value: object) -> str:
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.3f}" if value <= 1.0 else f"{value:,.1f}"
    return str(value)


def print_brief_report(report: BriefEvalReport) -> None:
    m = report.meta
    print(f"{m['suite']}: engine {m['engine']} · commit {m['commit']} · settings {m['settings_fingerprint']}")
    for key, value in report.summary.items():
        print(f"  {key:<18} {_shown(value)}")
    for item in report.items:
        if "fact" in item:
            state = "cited" if item["cited"] else "stated, not cited" if item["stated"] else "MISSING"
            print(f"  fact {item['id']}: {state}")
        elif "check" in item and not item["passed"]:
            print(f"  check {item['id']} ({item['check']}, {item['window']}) FAILED: {item['detail']}")
