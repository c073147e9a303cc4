"""Brief checks: each kind of check passes a good brief and fails a bad one; the committed suite over the
development set (read from ../shared at run time, skipped when absent) passes in full."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from rag.errors import ConfigError
from rag.evals.evalchecks import Check, judge, load_checks, run_checks
from rag.types import Briefing, StorySummary
from tests.conftest import DATASET, PROJECT, make_settings, run_cli, write

UNTIL = dt.date(2024, 9, 24)


def _story(sid: str, headline: str, sentences: list[str], articles: int = 1, outlets: int = 1) -> StorySummary:
    return StorySummary(
        id=sid,
        headline=headline,
        sentences=[f"{s} [{i + 1}]" for i, s in enumerate(sentences)],
        outlets=[f"outlet{i}" for i in range(outlets)],
        articles=[f"{sid}-{i}" for i in range(articles)],
    )


def _brief(*stories: StorySummary) -> Briefing:
    return Briefing("2024-09-24", "2024-09-16", "2024-09-24", "extractive", list(stories), [], 10)


GOOD = _story(
    "trump",
    "Suspect identified in Trump assassination attempt",
    [
        "Secret Service agents fired at a gunman near Donald Trump's golf course in West Palm Beach on Sunday.",
        "“He was about 300 to 500 yards away,” Sheriff Ric Bradshaw said at a news conference.",
    ],
    articles=3,
)
BAD = _story(
    "doge",
    "Musk names agency after Dogecoin as the ...",
    [
        "In 2023, the cryptocurrency's dog logo briefly replaced the blue bird on Twitter's website.",
        ': This new drink "combines the Cran-Merry flavours with a festive twist for the holidays."',
        "“Congratulations, and I’m looking forward to working with you on a smooth transition.”",
    ],
)


@pytest.mark.parametrize("kind", ["headline_complete", "news_first", "no_fragments", "quotes_attributed"])
def test_each_check_passes_a_good_story_and_fails_a_bad_one(kind: str) -> None:
    brief = _brief(GOOD, BAD)
    assert judge(Check("c", "w", kind, article="trump-0"), brief, UNTIL) == (True, "")
    passed, detail = judge(Check("c", "w", kind, article="doge-0"), brief, UNTIL)
    assert not passed and detail
    assert not judge(Check("c", "w", kind), brief, UNTIL)[0]  # without an article: every story must pass


def test_a_more_stories_headline_must_be_complete_too() -> None:
    cut = _story("cut", "Jamie Lee Curtis, Don Lemon ditch Twitter as Trump appoints Elon ...", [])
    brief = _brief(GOOD)
    assert judge(Check("c", "w", "headline_complete"), brief, UNTIL)[0]
    brief.more = [cut]
    passed, detail = judge(Check("c", "w", "headline_complete"), brief, UNTIL)
    assert not passed and "Elon ..." in detail
    assert judge(Check("c", "w", "news_first"), brief, UNTIL)[0]  # a listed story has no sentence to judge


def test_news_first_can_require_what_the_opening_names() -> None:
    brief = _brief(GOOD)
    assert judge(Check("c", "w", "news_first", mentions=("golf course", "Routh")), brief, UNTIL)[0]
    passed, detail = judge(Check("c", "w", "news_first", mentions=("Routh",)), brief, UNTIL)
    assert not passed and "does not name Routh" in detail


def test_the_most_covered_story_comes_first() -> None:
    assert judge(Check("c", "w", "most_covered_first"), _brief(GOOD, BAD), UNTIL)[0]
    passed, detail = judge(Check("c", "w", "most_covered_first"), _brief(BAD, GOOD), UNTIL)
    assert not passed and "below (1, 3)" in detail
    wider = _story("wide", "Ports strike on two coasts", ["Dockworkers walked out at 36 ports on Tuesday."], 2, 2)
    assert judge(Check("c", "w", "most_covered_first"), _brief(wider, GOOD), UNTIL)[0]  # outlets count first
    named = Check("c", "w", "most_covered_first", article="trump-1")
    assert not judge(named, _brief(wider, GOOD), UNTIL)[0]  # the labelled lead story is not first
    assert not judge(Check("c", "w", "headline_complete", article="nowhere"), _brief(GOOD), UNTIL)[0]


def test_a_suite_with_an_unknown_check_or_without_its_dataset(tmp_path: Path) -> None:
    suite = tmp_path / "checks.yaml"
    body = "name: t\ntype: brief-checks\ndataset: {d}\nwindows: [{{id: w, since: 2024-09-16, until: 2024-09-24}}]\n"
    write(suite, body.format(d="nowhere") + "checks: [{id: a, window: w, check: spelling}]\n")
    with pytest.raises(ConfigError, match="unknown check 'spelling'"):
        load_checks(suite)
    write(suite, body.format(d="nowhere") + "checks: [{id: a, window: w, check: no_fragments}]\n")
    assert run_checks(suite, make_settings(tmp_path)) is None  # skipped, not failed
    done = run_cli(tmp_path, "eval", str(suite), "--check")
    assert done.returncode == 0 and "checks: skipped (its dataset is not present)" in done.stderr


def test_the_committed_suite_names_at_least_twenty_checks_of_every_kind() -> None:
    suite = load_checks(PROJECT / "evals" / "brief_checks.yaml")
    assert len(suite.checks) >= 20 and suite.dataset == DATASET.resolve()
    assert {c.kind for c in suite.checks} == {
        "headline_complete",
        "news_first",
        "no_fragments",
        "quotes_attributed",
        "most_covered_first",
    }
    text = (PROJECT / "evals" / "brief_checks.yaml").read_text(encoding="utf-8")
    assert len(text) < 12_000  # ids and dates, never the articles' text


@pytest.mark.dataset
@pytest.mark.slow
@pytest.mark.skipif(not (DATASET / "articles.jsonl").exists(), reason="development set not present")
def test_the_committed_suite_passes_on_the_development_set(tmp_path: Path, embedder: object) -> None:
    report = run_checks(PROJECT / "evals" / "brief_checks.yaml", make_settings(tmp_path), embedder=embedder)  # type: ignore[arg-type]
    assert report is not None
    failed = [f"{i['id']}: {i['detail']}" for i in report.items if not i["passed"]]
    assert not failed, failed
    assert report.summary["checks_passed"] == 1.0 and report.summary["citation_validity"] == 1.0
