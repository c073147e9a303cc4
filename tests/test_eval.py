"""The evaluation suite: scoring rules, the runner on real stores, reports, the regression gate, datasets."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from rag.errors import ConfigError
from rag.evals.evalbrief import BriefEvalReport, brief_report_html
from rag.evals.evalcases import Case, Evidence, load_dataset, load_suite
from rag.evals.evalreport import baseline_data, check, to_html
from rag.evals.evalscore import ArmResult, CaseResult, EvalReport, score_case
from rag.evals.evaluate import run
from rag.evals.judge import Judge
from rag.evals.metrics import Fact, bootstrap_ci, contains, normalise, numbers_in, percentile
from rag.pipeline import Pipeline
from rag.provider import chat_model
from rag.types import CANNOT_ANSWER, Answer, Chunk, Citation
from tests.conftest import PROJECT, SAMPLE_ID, cli_env, llm_settings, make_settings, run_cli, write
from tests.openai_server import FakeOpenAI

ARTICLE = "The council met on Tuesday. It approved 12,000 pounds for the bridge. The mayor, Ann Lee, agreed."


def test_normalisation_and_matching() -> None:
    assert normalise("The U.S. Pentagon’s 10,000-strong “force”") == "the us pentagon 10000 strong force"
    assert contains("Ford will scale back", "ford") and not contains("Fordham University", "Ford")
    assert numbers_in("about 10,000 troops and 3 million people, four ships") == [10000.0, 3e6, 4.0]
    assert Fact.parse({"number": 10000, "tolerance": 500}).found_in("roughly 10,400 soldiers")
    assert not Fact.parse({"number": 10000}).found_in("3,000 soldiers")
    assert Fact.parse({"regex": r"\bkursk\b"}).found_in("the Kursk region")
    assert Fact.parse("Yoon Suk Yeol").found_in("President Yoon Suk Yeol said")
    with pytest.raises(ValueError):
        Fact.parse({"nothing": 1})


def test_statistics() -> None:
    assert percentile([1, 2, 3, 4], 50) == 2.5 and percentile([], 50) == 0.0
    assert bootstrap_ci([1.0] * 10) is None
    lo, hi = bootstrap_ci([1.0] * 20 + [0.0] * 20) or (0, 0)
    assert 0.3 < lo < 0.5 < hi < 0.7


def _answer(text: str, citations: list[Citation] | None = None, refused: bool = False) -> Answer:
    return Answer(question="q", text=text, citations=citations or [], refused=refused)


def _cite(quote: str, start: int) -> Citation:
    return Citation(1, "a1", "a1:0", "T", "", "", "2024-10-29", quote, start, start + len(quote))


def test_score_case_rules() -> None:
    resolve = {"a1": ARTICLE}.get
    chunk = Chunk("a1:0", "a1", 0, ARTICLE, 0, len(ARTICLE))
    case = Case(
        "c",
        "How much for the bridge?",
        "number",
        facts=(Fact(number=12000),),
        evidence=(Evidence("a1", "12,000 pounds"),),
    )
    quote = "It approved 12,000 pounds for the bridge."
    good = score_case(case, _answer(quote + " [1]", [_cite(quote, ARTICLE.index(quote))]), [chunk], resolve)
    assert good.passed and good.hit and good.rr == 1.0 and good.cited_precise == 1 and good.cited_facts == 1
    # A citation whose offsets do not hold its quote is a hard failure even when the text is right.
    bad = score_case(case, _answer(quote + " [1]", [_cite(quote, 0)]), [chunk], resolve)
    assert not bad.passed and bad.unresolved == 1 and "do not resolve" in bad.reason
    missing = score_case(case, _answer("The council met on Tuesday. [1]"), [chunk], resolve)
    assert not missing.passed and "12000" in missing.reason
    unanswerable = Case("u", "Who owns the bridge?", "unanswerable", expect="refusal")
    assert score_case(unanswerable, _answer(CANNOT_ANSWER, refused=True), [chunk], resolve).passed
    assert not score_case(unanswerable, _answer(ARTICLE), [chunk], resolve).passed
    premise = Case(
        "p",
        "Why was the bridge money cut?",
        "false_premise",
        expect="correction",
        facts=(Fact(number=12000),),
        forbid=(Fact(regex=r"\bcut\b"),),
    )
    assert score_case(premise, _answer("It approved 12,000 pounds."), [], resolve).passed
    assert score_case(premise, _answer(CANNOT_ANSWER, refused=True), [], resolve).passed
    assert not score_case(premise, _answer("The 12,000 pounds were cut."), [], resolve).passed


def test_suite_validation(tmp_path: Path) -> None:
    write(tmp_path / "s.yaml", "name: s\ncases:\n  - {id: a, kind: bogus, question: q}\n")
    with pytest.raises(ConfigError, match="unknown kind"):
        load_suite(tmp_path / "s.yaml")
    write(tmp_path / "s.yaml", "name: s\ncases:\n  - {id: a, kind: number, question: q}\n")
    with pytest.raises(ConfigError, match="needs `facts`"):
        load_suite(tmp_path / "s.yaml")
    dup = "name: s\ncases:\n" + "  - {id: a, kind: unanswerable, question: q}\n" * 2
    write(tmp_path / "s.yaml", dup)
    with pytest.raises(ConfigError, match="duplicate"):
        load_suite(tmp_path / "s.yaml")


def test_shipped_suite_covers_every_kind_with_verbatim_evidence() -> None:
    suite = load_suite(PROJECT / "evals" / "known_facts.yaml")
    assert len(suite.cases) >= 30
    kinds = {c.kind for c in suite.cases}
    assert kinds >= {
        "single_fact",
        "number",
        "date",
        "who_where",
        "two_sentence",
        "paraphrase",
        "unanswerable",
        "false_premise",
    }
    text = (PROJECT / "corpus" / f"{SAMPLE_ID}.md").read_text()
    for case in suite.cases:
        for e in case.evidence:
            assert e.article == SAMPLE_ID and e.quote in text, case.id


@pytest.fixture
def small_suite(tmp_path: Path) -> Path:
    write(tmp_path / "corpus" / "bridge.md", "---\ntitle: Bridge money\npublished: 2024-10-01\n---\n" + ARTICLE)
    return write(
        tmp_path / "suite.yaml",
        """name: small
corpus: corpus
cases:
  - id: amount
    kind: number
    question: How much did the council approve for the bridge?
    facts: [{number: 12000}]
    evidence: [{article: bridge, quote: "12,000 pounds"}]
  - id: mayor
    kind: who_where
    question: Who is the mayor?
    facts: [Ann Lee]
    evidence: [bridge]
  - id: nothing
    kind: unanswerable
    question: What is the population of Mars?
""",
    )


def test_runner_scores_both_pipelines_and_reports(tmp_path: Path, small_suite: Path, embedder: object) -> None:
    report = run(load_suite(small_suite), make_settings(tmp_path), embedder=embedder)  # type: ignore[arg-type]
    assert [a.name for a in report.arms] == ["ours", "textbook"]
    ours = report.arm("ours")
    assert ours is not None
    assert ours.summary["hit@5"] == 1.0 and ours.summary["unresolved_citations"] == 0
    assert ours.summary["answer_accuracy"] == 1.0 and ours.summary["refusal_recall"] == 1.0
    assert set(ours.per_kind) == {"number", "who_where", "unanswerable"}
    assert report.meta["commit"] and report.meta["prompts"]["answer"] == "answer@1"
    assert report.meta["settings_fingerprint"] and report.meta["engine"] == "extractive"
    page = to_html(report)
    assert page.startswith("<!doctype html>") and "<svg" in page and "Ann Lee" in page and "textbook" in page
    assert "http" not in page.split("<main>")[0]  # self-contained: no external stylesheet or script
    # Gate: identical run passes; a baseline above it by more than the tolerance fails.
    base = baseline_data(report)
    assert check(report, base, 0.02) == []
    base["summary"]["hit@5"] = 1.5
    assert any("hit@5 fell" in p for p in check(report, base, 0.02))


def test_html_reports_escape_every_text_they_show() -> None:
    evil = "<script>alert('x')</script> & \"<b>"
    quote = {"key": 1, "quote": evil, "title": evil, "outlet": evil, "published": None, "start": 0, "end": 5}
    case = CaseResult(evil, evil, evil, "answer", evil, False, False, evil, [quote], [], None, None, None)
    arm = ArmResult(evil, evil, [case], {"accuracy": 0.0}, {}, {evil: {"cases": 1.0, "accuracy": 0.0}})
    meta = {"suite": evil, "cases": 1, "engine": "e", "model": evil, "commit": "c", "settings_fingerprint": "f",
            "prompts": {"answer": evil}, "created": evil}  # fmt: skip
    brief = BriefEvalReport({"suite": evil, "engine": evil}, {evil: None}, [{"id": evil, evil: True}])
    for page in (to_html(EvalReport(meta, [arm])), brief_report_html(brief)):
        assert page.startswith("<!doctype html>") and page.endswith("</main></body></html>")
        assert "<script>" not in page and "<b>" not in page and "&lt;script&gt;alert(&#x27;x&#x27;)" in page


def test_dataset_mode_asks_with_articles_up_to_the_question_date(tmp_path: Path, embedder: object) -> None:
    arts = [
        {
            "id": "old",
            "url": "https://x.test/old",
            "title": "Ferry",
            "published": "2024/10/01",
            "authors": [],
            "text": "The island ferry service will restart in spring, the port authority said.",
        },
        {
            "id": "new",
            "url": "https://x.test/new",
            "title": "Ferry",
            "published": "2024/10/20",
            "authors": [],
            "text": "The island ferry service was cancelled for good on Monday, the port said.",
        },
    ]
    qs = [
        {
            "id": "q1",
            "date": "2024/10/05",
            "question": "When will the island ferry service restart?",
            "answer": "spring",
            "evidence_ids": ["old"],
        },
        {
            "id": "q2",
            "date": "2024-10-21",
            "question": "What happened to the island ferry service?",
            "answer": "cancelled",
            "evidence_ids": ["new"],
        },
        {
            "id": "q3",
            "date": "2024-10-05",
            "question": "What happened to the island ferry service?",
            "answer": "cancelled",
            "evidence_ids": ["new"],
        },
    ]
    d = tmp_path / "ds"
    write(d / "articles.jsonl", "\n".join(json.dumps(a) for a in arts))
    write(d / "questions.jsonl", "\n".join(json.dumps(q) for q in qs))
    suite = load_dataset(d)
    assert suite.cases[0].as_of == dt.date(2024, 10, 5)
    first: list[str] = []
    report = run(suite, make_settings(tmp_path), embedder=embedder, vanilla=False, log=first.append)  # type: ignore[arg-type]
    assert any(line.startswith("eval [ours]: embedding articles: 2/2 (100%)") for line in first), first
    [ours] = report.arms
    by_id = {c.id: c for c in ours.cases}
    assert by_id["q1"].passed and by_id["q2"].passed
    assert by_id["q3"].hit is False and "cancelled" not in by_id["q3"].answer  # the future article is out of reach
    # The second run reuses the cached store: nothing to embed.
    logged: list[str] = []
    again = run(suite, make_settings(tmp_path), embedder=embedder, vanilla=False, log=logged.append)  # type: ignore[arg-type]
    assert any("store ready (nothing to embed: 2 article(s) unchanged)" in line for line in logged), logged
    assert again.arms[0].summary["hit@5"] == ours.summary["hit@5"]


def test_llm_eval_counts_tokens_and_the_judge_reports_spread(
    tmp_path: Path, small_suite: Path, fake_openai: FakeOpenAI, embedder: object
) -> None:
    settings = llm_settings(tmp_path, fake_openai)
    model = chat_model(settings)
    fake_openai.default.content = "The council approved 12,000 pounds for the bridge [1]."
    judge_replies = ['{"faithfulness": 1.0, "relevance": 0.8}', '{"faithfulness": 0.6, "relevance": 1.0}', "nonsense"]
    suite = load_suite(small_suite)
    suite.cases = suite.cases[:1]
    fake_openai.queue("The council approved 12,000 pounds for the bridge [1].", *judge_replies)
    report = run(suite, settings, embedder=embedder, chat_model=model, vanilla=False, judge=Judge(settings, model))  # type: ignore[arg-type]
    [ours] = report.arms
    assert report.meta["engine"] == "llm" and report.meta["model"] == "test-model"
    assert (ours.summary["prompt_tokens"] or 0) > 50 and (ours.summary["completion_tokens"] or 0) > 5
    assert "cost_usd" not in ours.summary  # a local server: no price to estimate
    grade = ours.cases[0].judge
    assert grade["faithfulness"] == pytest.approx(0.8) and grade["faithfulness_spread"] == pytest.approx(0.4)
    assert grade["relevance"] == pytest.approx(0.9)


@pytest.mark.slow  # near 20 s: five eval runs through the CLI
def test_cli_eval_check_and_update_baseline(tmp_path: Path, small_suite: Path) -> None:
    baseline = tmp_path / "base.json"
    first = run_cli(
        tmp_path,
        "eval",
        str(small_suite),
        "--update-baseline",
        "--baseline",
        str(baseline),
        "--report",
        str(tmp_path / "r.html"),
        "--report",
        str(tmp_path / "r.json"),
    )
    assert first.returncode == 0, first.stderr
    assert "answer accuracy" in first.stdout and (tmp_path / "r.html").exists()
    assert json.loads((tmp_path / "r.json").read_text())["arms"][1]["name"] == "textbook"
    ok = run_cli(tmp_path, "eval", str(small_suite), "--check", "--baseline", str(baseline), "--no-textbook")
    assert ok.returncode == 0 and "no metric below the baseline" in ok.stderr
    data = json.loads(baseline.read_text())
    data["summary"]["answer_accuracy"] = 2.0
    baseline.write_text(json.dumps(data))
    regressed = run_cli(tmp_path, "eval", str(small_suite), "--check", "--baseline", str(baseline))
    assert regressed.returncode == 1 and "answer_accuracy fell from 2.000" in regressed.stderr
    missing = run_cli(tmp_path, "eval", str(small_suite), "--check", "--baseline", str(tmp_path / "none.json"))
    assert missing.returncode == 2 and "--update-baseline" in missing.stderr
    judge = run_cli(tmp_path, "eval", str(small_suite), "--judge", env=cli_env(tmp_path))
    assert judge.returncode == 2 and "needs an LLM" in judge.stderr


def test_pipeline_fixture_is_unaffected_by_eval_stores(tmp_path: Path, small_suite: Path, embedder: object) -> None:
    settings = make_settings(tmp_path)
    run(load_suite(small_suite), settings, embedder=embedder, vanilla=False)  # type: ignore[arg-type]
    assert Pipeline.from_settings(settings, embedder=embedder).store.count_chunks() == 0  # type: ignore[arg-type]


def test_cli_eval_several_suites_write_one_report_each(tmp_path: Path, small_suite: Path) -> None:
    brief_suite = PROJECT / "evals" / "brief_known_facts.yaml"
    args = ("eval", str(small_suite), str(brief_suite), "--no-textbook")
    done = run_cli(tmp_path, *args, "--report", str(tmp_path / "out" / "r.json"), "--report", str(tmp_path / "r.html"))
    assert done.returncode == 0, done.stderr
    qa = json.loads((tmp_path / "out" / "r.small.json").read_text())
    assert qa["meta"]["suite"] == "small" and qa["arms"][0]["name"] == "ours"
    brief = json.loads((tmp_path / "out" / "r.brief-known-facts.json").read_text())
    assert brief["summary"]["facts_cited"] == 1.0
    page = (tmp_path / "r.brief-known-facts.html").read_text()
    assert page.startswith("<!doctype html>") and "facts_cited" in page and "canada-korea-dialogue" in page
    assert (tmp_path / "r.small.html").exists()
    # FILE itself is the index of the suites' reports, linking them by relative name.
    index = (tmp_path / "r.html").read_text()
    assert index.startswith("<!doctype html>") and 'href="r.small.html"' in index
    assert 'href="r.brief-known-facts.html"' in index
    assert json.loads((tmp_path / "out" / "r.json").read_text())["reports"] == [
        {"suite": "small", "file": "r.small.json"},
        {"suite": "brief_known_facts", "file": "r.brief-known-facts.json"},
    ]
    wrong = run_cli(tmp_path, *args, "--report", str(tmp_path / "r.txt"))
    assert wrong.returncode == 2 and "use a .json or .html" in wrong.stderr


def test_unanswerable_dataset_hides_the_answer_and_tells_when_its_words_are_still_retrieved(
    tmp_path: Path, embedder: object
) -> None:
    arts = [
        ("a", "Ronald Kiger won the 2024 Florida Python Challenge after removing 20 pythons, officials said."),
        ("b", "Kiger, whose first name is Ronald, said hunting pythons in the Everglades took patience."),
        ("c", "Slivered onions served on Quarter Pounders were the likely source of the E. coli outbreak."),
        ("d", "The McDonald's E. coli outbreak has spread to ten states, health officials said on Tuesday."),
    ]
    qs = [
        ("q1", "Who won the 2024 Florida Python Challenge?", "Ronald Kiger"),
        ("q2", "Which ingredient is suspected in the McDonald's E. coli outbreak?", "onions"),
    ]
    d = tmp_path / "ds"
    write(
        d / "articles.jsonl",
        "\n".join(
            json.dumps({"id": i, "url": f"https://x.test/{i}", "title": "News", "published": "2024/10/01", "text": t})
            for i, t in arts
        ),
    )
    write(
        d / "questions.jsonl",
        "\n".join(json.dumps({"id": i, "date": "2024/10/02", "question": q, "answer": a}) for i, q, a in qs),
    )
    suite = load_dataset(d, unanswerable=True)
    by_case = {c.id: c for c in suite.cases}
    assert by_case["q1"].hide == frozenset({"a"}) and by_case["q2"].hide == frozenset({"c"})
    assert all(c.expect == "refusal" and c.kind == "hidden" and not c.facts for c in suite.cases)
    report = run(suite, make_settings(tmp_path), embedder=embedder, vanilla=False)  # type: ignore[arg-type]
    [ours] = report.arms
    results = {c.id: c for c in ours.cases}
    # Article b still holds both words of "Ronald Kiger" (not the exact string the hide looked for); no
    # retrieved passage holds "onions" once article c is hidden.
    assert results["q1"].answer_words_left is True and results["q2"].answer_words_left is False
    assert all("Ronald Kiger won" not in c.answer and "Slivered onions" not in c.answer for c in ours.cases)
    assert ours.summary["hidden_words_left"] == 0.5
    assert ours.summary["refusal_recall_words_gone"] == float(results["q2"].refused)
    # The normal run's cases carry no such flag, and its summary leaves both figures empty.
    normal = run(load_dataset(d), make_settings(tmp_path), embedder=embedder, vanilla=False)  # type: ignore[arg-type]
    assert all(c.answer_words_left is None for c in normal.arms[0].cases)
    assert normal.arms[0].summary["hidden_words_left"] is None
    assert normal.arms[0].summary["refusal_recall_words_gone"] is None
