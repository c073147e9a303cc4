"""Brief checks: a committed suite of what a reader wants of a brief (complete headlines, the news first, no
fragments, every quotation attributed, the most-covered story first), asserted on briefs of dataset windows.

A suite names windows and article ids only: the articles are read from the dataset at run time (the
development set may not be redistributed), and the suite is skipped when the dataset is absent."""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from rag.brief import headline, sentence_quality
from rag.brief.brief import brief_from_store
from rag.cite.cite import strip_markers
from rag.errors import ConfigError
from rag.evals.evalbrief import BriefEvalReport, citation_validity, suite_meta
from rag.evals.evalcases import suite_type
from rag.evals.evaluate import build_arms
from rag.ingest.load import load_paths
from rag.search.embed import Embedder
from rag.settings import Settings
from rag.types import Article, Briefing, StorySummary

KINDS = ("headline_complete", "news_first", "no_fragments", "quotes_attributed", "most_covered_first")


@dataclass(frozen=True)
class Window:
    id: str
    since: dt.date
    until: dt.date


@dataclass(frozen=True)
class Check:
    """One assertion about the brief of one window."""

    id: str
    window: str
    kind: str  #: one of KINDS
    article: str = ""  #: the story holding this article (default: every story); for most_covered_first, the lead
    mentions: tuple[str, ...] = ()  #: news_first: the opening sentence names one of these
    note: str = ""


@dataclass
class CheckSuite:
    name: str
    source: Path
    dataset: Path
    windows: dict[str, Window]
    checks: list[Check] = field(default_factory=list)


def is_check_suite(path: Path) -> bool:
    return suite_type(path) == "brief-checks"


def load_checks(path: Path) -> CheckSuite:
    """A ``type: brief-checks`` suite: ``dataset`` (relative to the file), ``windows`` and ``checks``."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        windows = {str(w["id"]): Window(str(w["id"]), _day(w["since"]), _day(w["until"])) for w in data["windows"]}
        checks = [
            Check(
                id=str(c["id"]),
                window=str(c["window"]),
                kind=str(c["check"]),
                article=str(c.get("article") or ""),
                mentions=tuple(str(m) for m in c.get("mentions") or ()),
                note=str(c.get("note") or ""),
            )
            for c in data["checks"]
        ]
        dataset = (path.parent / str(data["dataset"])).resolve()
    except (OSError, yaml.YAMLError, KeyError, TypeError, ValueError) as exc:
        raise ConfigError(f"brief checks {path} are invalid: {exc}") from None
    for c in checks:
        if c.kind not in KINDS or c.window not in windows:
            raise ConfigError(f"brief check {c.id} in {path}: unknown check {c.kind!r} or window {c.window!r}")
    return CheckSuite(str(data.get("name") or path.stem), path, dataset, windows, checks)


def _day(value: Any) -> dt.date:
    return value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value))


def _sentences(story: StorySummary) -> list[str]:
    return [strip_markers(x) for x in story.sentences]


def _coverage(story: StorySummary) -> tuple[int, int]:
    """How widely a story was covered: independent outlets, then articles (reprints included)."""
    return max(1, len(story.outlets)), len(story.articles) + len(story.duplicates)


def judge(check: Check, brief: Briefing, until: dt.date) -> tuple[bool, str]:
    """(passed, what failed) for one check of ``brief``."""
    if check.kind == "most_covered_first":
        if not brief.stories:
            return False, "the brief has no stories"
        first, most = brief.stories[0], max(map(_coverage, brief.stories))
        if _coverage(first) < most:
            return False, f"{first.headline!r} comes first with coverage {_coverage(first)}, below {most}"
        if check.article and check.article not in {*first.articles, *first.duplicates}:
            return False, f"{first.headline!r} comes first, not the story of {check.article}"
        return True, ""
    listed = [*brief.stories, *brief.more] if check.kind == "headline_complete" else brief.stories
    stories = [s for s in listed if not check.article or check.article in {*s.articles, *s.duplicates}]
    if not stories:
        return False, f"no story of the brief holds {check.article}"
    failures = []
    for s in stories:
        if check.kind == "headline_complete" and not headline.complete(s.headline):
            failures.append(f"headline {s.headline!r}")
        elif check.kind == "news_first":
            opening = _sentences(s)[0] if s.sentences else ""
            why = _not_news(opening, until)
            if not why and check.mentions and not any(m.lower() in opening.lower() for m in check.mentions):
                why = f"does not name {' or '.join(check.mentions)}"
            if why:
                failures.append(f"{s.headline!r} opens with {opening!r}: {why}")
        elif check.kind == "no_fragments":
            failures += [f"{x!r} is a {p}" for x in _sentences(s) if (p := sentence_quality.problem(x))]
        elif check.kind == "quotes_attributed":
            unnamed = [x for x in _sentences(s) if not sentence_quality.quote_attributed(x)]
            failures += [f"{x!r} quotes nobody named" for x in unnamed]
    return not failures, "; ".join(failures)


def _not_news(sentence: str, until: dt.date) -> str:
    if not sentence:
        return "no sentence"
    if sentence_quality.background(sentence, until.year):
        return "background"
    if sentence_quality.leans_on_context(sentence):
        return "it leans on a sentence before it"
    if sentence_quality.quotations(sentence):
        return "a quotation, not what happened"
    return sentence_quality.problem(sentence)


def run_checks(path: Path, settings: Settings, *, embedder: Embedder | None = None) -> BriefEvalReport | None:
    """Brief each window of the suite from the dataset's articles and judge every check; None when the
    dataset is not there (the suite is skipped, not failed)."""
    suite = load_checks(path)
    articles_file = suite.dataset / "articles.jsonl"
    if not articles_file.exists():
        return None
    pipeline = build_arms(settings, suite.name, embedder=embedder, vanilla=False)[0].pipeline
    windows = list(suite.windows.values())
    wanted = [
        a
        for a in load_paths([articles_file])
        if isinstance(a, Article) and a.published and any(w.since <= a.published <= w.until for w in windows)
    ]
    pipeline.ingest_items(wanted, prune=True)
    texts = {a.id: a.text for a in wanted}
    items: list[dict[str, Any]] = []
    bad, cites, seconds = 0, 0, []
    for w in windows:
        t0 = time.perf_counter()
        brief = brief_from_store(pipeline, since=w.since, until=w.until)
        seconds.append(time.perf_counter() - t0)
        bad += citation_validity(brief, texts)[1]
        cites += len(brief.citations)
        for c in (c for c in suite.checks if c.window == w.id):
            passed, detail = judge(c, brief, w.until)
            items.append({"id": c.id, "window": w.id, "check": c.kind, "passed": passed, "detail": detail})
    summary: dict[str, float | None] = {
        "checks_passed": sum(i["passed"] for i in items) / len(items) if items else None,
        "checks": float(len(items)),
        "failed": float(sum(not i["passed"] for i in items)),
        "citation_validity": (1.0 - bad / cites) if cites else None,
        "invalid_citations": float(bad),
        "seconds_p50": sorted(seconds)[len(seconds) // 2] if seconds else None,
    }
    return BriefEvalReport(suite_meta(suite.name, str(path), settings, pipeline), summary, items)
