"""Briefings: stories, near-duplicates, cited summaries, what changed, outputs, the CLI, the LLM path."""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path

import pytest

from rag.brief.brief import brief_from_store, verify
from rag.brief.brief_extractive import candidates
from rag.brief.briefrender import render, to_html
from rag.brief.newsworthiness import rank
from rag.brief.stories import group
from rag.errors import BriefCitationError, EmptyWindowError
from rag.pipeline import Pipeline
from rag.provider import chat_model
from rag.settings import Settings
from rag.types import Article, Briefing, Citation
from tests.conftest import PROJECT, article_md, cli_env, llm_settings, run_cli, write
from tests.openai_server import FakeOpenAI

PORT = (
    "Dockworkers at 36 ports on the East and Gulf coasts walked off the job on Tuesday after contract talks "
    "collapsed. The union representing 45,000 workers wants higher wages and a ban on automation. Economists "
    "warned that a long strike could empty store shelves before the holidays. The ports handle about half of "
    "the country's container imports, officials said."
)
PORT_REWRITE = (
    "Dock workers at 36 ports along the East and Gulf coasts walked out on Tuesday when contract talks broke "
    "down. Their union, which represents 45,000 members, is seeking higher pay and limits on automation at the "
    "terminals. Analysts said a lengthy stoppage might leave shop shelves bare ahead of the holiday season."
)
STORM = (
    "Hurricane Milton made landfall near Siesta Key, Florida, late on Wednesday as a Category 3 storm. More than "
    "three million homes and businesses lost power across the state. Officials urged residents in evacuation "
    "zones to stay in shelters until the flooding recedes. Rescue crews worked through the night in Tampa."
)
EARLIER = (
    "The Pentagon said on Tuesday that about 3,000 North Korean troops had been sent to eastern Russia for "
    "training. South Korea's spy agency said the soldiers could be deployed to the front in Ukraine within "
    "weeks. Washington called the deployment a dangerous escalation of the war."
)


@pytest.fixture
def news(tmp_path: Path, settings: Settings, embedder: object) -> Pipeline:
    day = "2024-10-02"
    write(tmp_path / "n" / "port-ap.md", article_md("Port strike begins on East and Gulf coasts", PORT, day, "AP"))
    write(tmp_path / "n" / "port-cnn.md", article_md("Dockworkers strike at 36 ports", PORT_REWRITE, day, "CNN"))
    reprint = article_md(
        "Port strike begins on East and Gulf coasts", PORT + " Local traffic was light.", day, "Smalltown Gazette"
    )
    write(tmp_path / "n" / "port-reprint.md", reprint)
    write(
        tmp_path / "n" / "storm.md", article_md("Hurricane Milton makes landfall in Florida", STORM, day, "USA Today")
    )
    write(tmp_path / "n" / "old.md", article_md("Older news", STORM.replace("Milton", "Helene"), "2024-09-20", "AP"))
    p = Pipeline.from_settings(settings, embedder=embedder)  # type: ignore[arg-type]
    p.ingest([tmp_path / "n"])
    return p


def _text(brief: Briefing) -> str:
    return render(brief, "md")


def test_stories_group_events_collapse_reprints_and_rank_by_coverage(news: Pipeline) -> None:
    articles = list(news.store.iter_articles())
    day = [a for a in articles if a.published == dt.date(2024, 10, 2)]
    stories = rank(group(day, news.store.article_vectors([a.id for a in day])), day, dt.date(2024, 10, 2))
    assert len(stories) == 2
    port, storm = stories
    assert {a.id for a in port.articles} == {"port-ap", "port-cnn"} or {a.id for a in port.articles} == {
        "port-reprint",
        "port-cnn",
    }
    assert len(port.duplicates) == 1 and port.independent_coverage == 2  # the reprint is not a third source
    assert [a.id for a in storm.articles] == ["storm"]
    assert port.signals and port.signals.outlets == 2 and port.signals.articles == 3
    assert storm.signals and storm.signals.outlets == 1 and port.signals.score > storm.signals.score


def test_brief_of_a_day_is_cited_verbatim_within_the_window(news: Pipeline) -> None:
    brief = brief_from_store(news, date=dt.date(2024, 10, 2))
    assert brief.n_articles == 4 and [len(s.outlets) for s in brief.stories] == [2, 1]
    assert "Port strike" in brief.stories[0].headline or "Dockworkers" in brief.stories[0].headline
    window_ids = {"port-ap", "port-cnn", "port-reprint", "storm"}
    for c in brief.citations:
        article = news.store.get_article(c.article_id)
        assert article is not None and c.article_id in window_ids
        assert article.text[c.start : c.end] == c.quote
    for s in brief.stories:
        assert 2 <= len(s.sentences) <= 6
        assert all(re.search(r"\[\d+\]$", x) for x in s.sentences)
    assert "Helene" not in _text(brief)  # an article outside the window never appears


def test_default_day_is_the_newest_and_an_empty_window_is_an_error(news: Pipeline) -> None:
    assert brief_from_store(news).date == "2024-10-02"
    with pytest.raises(EmptyWindowError, match="no articles published between 2024-01-01"):
        brief_from_store(news, date=dt.date(2024, 1, 1))


def test_sample_brief_states_the_known_facts_each_cited(sample_pipeline: Pipeline) -> None:
    brief = brief_from_store(sample_pipeline)
    by_key = {c.key: c for c in brief.citations}
    [story] = brief.stories
    cited_text = [(x, [by_key[int(k)] for k in re.findall(r"\[(\d+)\]", x)]) for x in story.sentences]
    assert any("Kursk" in x and any("Kursk" in c.quote for c in cs) for x, cs in cited_text)
    assert any("Canada-Korea" in x and cs for x, cs in cited_text)
    [moved] = story.moved
    assert (moved.before, moved.after) == ("3,000", "10,000") and "10,000" in by_key[moved.after_key].quote


def test_what_changed_since_the_previous_brief(tmp_path: Path, sample_pipeline: Pipeline) -> None:
    write(
        tmp_path / "e" / "earlier.md",
        article_md("Pentagon: 3,000 North Korean troops in Russia", EARLIER, "2024-10-22", "Wire"),
    )
    sample_pipeline.ingest([tmp_path / "e"], sample=())  # beside the sample (a user's ingest would replace it)
    previous = brief_from_store(sample_pipeline, date=dt.date(2024, 10, 22))
    current = brief_from_store(sample_pipeline, date=dt.date(2024, 10, 29), previous=previous)
    assert current.previous == "2024-10-22"
    [story] = current.stories
    assert story.status == "developing"
    assert any(m.before == "3,000" and m.after == "10,000" for m in story.moved)
    text = _text(current)
    assert "DEVELOPING" in text and "3,000" in text and "10,000" in text
    # Without a previous brief the same story is new.
    assert brief_from_store(sample_pipeline, date=dt.date(2024, 10, 29)).stories[0].status == "new"


def test_verify_refuses_a_citation_that_does_not_resolve(sample_pipeline: Pipeline) -> None:
    brief = brief_from_store(sample_pipeline)
    window = {a.id: a for a in sample_pipeline.store.iter_articles()}
    c = brief.citations[0]
    brief.citations[0] = Citation(**{**c.__dict__, "start": c.start + 1})
    with pytest.raises(BriefCitationError, match="does not match"):
        verify(brief, window)
    with pytest.raises(BriefCitationError, match="outside the window"):
        verify(brief, {})


def test_word_budget_and_formats(news: Pipeline) -> None:
    brief = brief_from_store(news, date=dt.date(2024, 10, 2), max_words=60)
    assert brief.words <= 60
    page = to_html(brief)
    assert page.startswith("<!doctype html>") and "viewport" in page and "<script" not in page
    assert 'href="#s1"' in page and 'id="s1"' in page
    again = Briefing.from_dict(json.loads(render(brief, "json")))
    assert again == brief


def test_article_text_is_escaped_in_html(tmp_path: Path, settings: Settings, embedder: object) -> None:
    body = "Officials said <script>alert('x')</script> appeared in the page source on Monday afternoon. " * 2
    write(tmp_path / "x" / "x.txt", article_md("A <b>bold</b> claim", body, "2024-10-02"))
    p = Pipeline.from_settings(settings, embedder=embedder)  # type: ignore[arg-type]
    p.ingest([tmp_path / "x"])
    page = to_html(brief_from_store(p))
    assert "<script>" not in page and "&lt;script&gt;" in page and "<b>bold</b>" not in page


def test_cli_brief_saves_per_date_and_fails_on_an_empty_window(tmp_path: Path) -> None:
    out = tmp_path / "briefs"
    run_cli(tmp_path, "ingest", str(PROJECT / "corpus"))
    proc = run_cli(tmp_path, "brief", "--date", "2024-10-29", "--format", "html", "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    page = out / "2024-10-29.html"
    assert page.exists() and (out / "2024-10-29.json").exists()
    assert proc.stdout == f"{page}\n" and proc.stderr == ""  # the page goes to the file, its path to the terminal
    assert page.read_text(encoding="utf-8").startswith("<!doctype html>")
    printed = run_cli(tmp_path, "brief", "--date", "2024-10-29", "--format", "html", "--no-save")
    assert printed.stdout.startswith("<!doctype html>")  # nothing saved: the page itself is the output
    md = run_cli(tmp_path, "brief", "--out", str(out))
    assert md.stdout.startswith("# Briefing — 29 Oct 2024\n") and "Kursk" in md.stdout
    empty = run_cli(tmp_path, "brief", "--date", "2023-01-01", "--out", str(out))
    assert empty.returncode == 1 and "no articles published" in empty.stderr
    assert not (out / "2023-01-01.md").exists()


def test_llm_brief_map_reduce_with_checked_citations(tmp_path: Path, news: Pipeline, fake_openai: FakeOpenAI) -> None:
    settings = llm_settings(tmp_path, fake_openai)
    fake_openai.queue(
        # map, story 1 (port): one good sentence, one citing a source that does not exist, one unsupported
        "HEADLINE: Port workers strike on East and Gulf coasts\n"
        "Dockworkers at 36 ports on the East and Gulf coasts walked off the job on Tuesday [1]. "
        "The strike involves the Pacific coast too [9]. Aliens were blamed for the breakdown in talks [1].",
        # map, story 2 (storm)
        "HEADLINE: Milton hits Florida\nHurricane Milton made landfall near Siesta Key, Florida [1].",
    )
    fake_openai.default.content = "ORDER: zzz\nOVERVIEW: Dockworkers at 36 ports walked off the job [1]."
    brief = brief_from_store(news, date=dt.date(2024, 10, 2), chat_model=chat_model(settings))
    assert brief.engine == "llm"
    port = brief.stories[0]
    assert port.headline == "Port workers strike on East and Gulf coasts"
    assert port.sentences == [port.sentences[0]] and "walked off the job on Tuesday" in port.sentences[0]
    assert "Aliens" not in _text(brief) and "Pacific" not in _text(brief)
    assert brief.overview and "36 ports" in brief.overview[0]
    for c in brief.citations:
        article = news.store.get_article(c.article_id)
        assert article is not None and article.text[c.start : c.end] == c.quote
    map_request = fake_openai.chat_requests()[0].body["messages"]
    assert "untrusted" in map_request[0]["content"] and "45,000" in map_request[1]["content"]


def test_briefs_are_saved_where_rag_briefs_says(tmp_path: Path) -> None:
    env = cli_env(tmp_path, RAG_BRIEFS=str(tmp_path / "b"))
    write(
        tmp_path / "in" / "a.md",
        article_md(
            "Port strike",
            "Dock workers walked out on Tuesday at every port on the coast, the union said in a statement.",
            published="2024-10-29",
        ),
    )
    assert run_cli(tmp_path, "ingest", "in", env=env).returncode == 0
    proc = run_cli(tmp_path, "brief", env=env)
    assert proc.returncode == 0, proc.stderr
    assert sorted(p.name for p in (tmp_path / "b").iterdir()) == ["2024-10-29.json", "2024-10-29.md"]
    assert not (tmp_path / "briefs").exists()


LOGO_OLD = (
    "In 2023, the cryptocurrency Dogecoin saw its Shiba Inu dog logo briefly replace the blue bird on Twitter's "
    "website. Dogecoin was created in 2013 as a joke about the speculative frenzy around cryptocurrencies. "
    "The Dogecoin price rose sharply after the Twitter logo change."
)
LOGO_NEW = (
    "Elon Musk said on Thursday that his new government efficiency office will be named after Dogecoin, "
    "the cryptocurrency with the Shiba Inu dog logo. The Dogecoin price jumped 20% after the announcement. "
    "In 2023, Musk had put the Dogecoin dog logo on Twitter's website for a few days."
)
QUOTES = (
    "President Joe Biden called Donald Trump on Wednesday to congratulate him on winning the election, the White "
    "House said. “Congratulations, and I’m looking forward to working with you on a smooth transition.” “We will "
    "do everything we can to make it work,” he said.\n: This new drink combines the Cran-Merry flavours with a "
    "festive twist for the holidays."
)


def test_quotes_keep_their_speaker_or_are_left_out() -> None:
    article = Article(id="q", title="Biden calls Trump", text=QUOTES, published=dt.date(2024, 11, 6))
    quoted = [c.text for c in candidates(article)]
    first, second = QUOTES.split(" “We will")[0].split(" “Congratulations")
    assert quoted == [first, f"{first} “Congratulations{second}"]  # the quotation joined to who said it
    # "…,” he said." names nobody and the sentence before it is itself a bare quotation: left out, like the fragment.


@pytest.mark.parametrize(("between", "joined"), [(" ", True), ("\n", False)])
def test_a_quotation_is_joined_only_to_a_speaker_in_its_own_paragraph(between: str, joined: bool) -> None:
    said = "Mayor Karen Bass said on Friday that the city would recover from the wildfires."
    quote = "“We will rebuild every home in this city, together and quickly, for every family.”"
    article = Article(id="q", title="Bass on the fires", text=said + between + quote, published=dt.date(2025, 1, 10))
    quoted = [c.text for c in candidates(article)]
    assert quoted == [said, said + between + quote] if joined else quoted == [said]


def test_the_opening_sentence_is_the_newest_development_not_background(
    tmp_path: Path, settings: Settings, embedder: object
) -> None:
    write(tmp_path / "d" / "old.md", article_md("Dogecoin logo replaces Twitter bird", LOGO_OLD, "2024-11-10", "A"))
    write(tmp_path / "d" / "new.md", article_md("Musk names agency after Dogecoin", LOGO_NEW, "2024-11-14", "B"))
    p = Pipeline.from_settings(settings, embedder=embedder)  # type: ignore[arg-type]
    p.ingest([tmp_path / "d"])
    brief = brief_from_store(p, since=dt.date(2024, 11, 8), until=dt.date(2024, 11, 14))
    [story] = brief.stories
    assert story.sentences[0].startswith("Elon Musk said on Thursday that his new government efficiency office")
    assert not any(s.startswith("In 2023") for s in story.sentences[:1])
    assert story.signals and story.signals.outlets == 2 and story.signals.recency == 1.0
    assert render(brief, "md").startswith("# Briefing — 8–14 Nov 2024 (7 days)\n")


def test_the_budget_gives_every_story_two_sentences_lists_more_by_headline_then_tells_the_top_ones_in_full() -> None:
    from rag.brief.briefselect import fit_budget
    from rag.cite.cite import strip_markers
    from rag.types import Source, StorySummary

    def story(i: int, n: int = 4) -> StorySummary:
        sentences = [f"Story {i} fact {j} " + "word " * 20 + f"[{j + 1}]" for j in range(n)]
        sources = [Source(f"a{i}", f"Title {i}", "Wire", f"https://wire.example/{i}", "2024-10-02")]
        return StorySummary(f"s{i}", f"Headline of story {i}", sentences, ["Wire"], [f"a{i}"], sources=sources)

    told, more = fit_budget([story(i) for i in range(30)], max_words=1000, max_stories=24)
    # 52 words a story: two sentences each within 80% of the budget (15 stories), the next 15 by headline,
    # then the top stories told in full while words remain.
    assert len(told) == 15 and [len(s.sentences) for s in told] == [4, 4, 4] + [2] * 12
    assert [s.id for s in more] == [f"s{i}" for i in range(15, 30)] and not any(s.sentences for s in more)
    words = sum(len(s.headline.split()) for s in [*told, *more])
    words += sum(len(strip_markers(x).split()) for s in told for x in s.sentences)
    assert 1000 - 24 < words <= 1000
    thin, none = fit_budget([story(0), story(1, n=3)], max_words=1000, max_stories=24)
    assert [len(s.sentences) for s in thin] == [4, 3] and none == []  # a thin day tells its stories in full
    assert thin[0].sentences[0].startswith("Story 0 fact 0")  # the opener stays first
    full, _ = fit_budget([story(i, n=6) for i in range(10)], max_words=1000, max_stories=24)
    assert [len(s.sentences) for s in full] == [4] * 10  # every story its fourth before any its fifth
    thinner, _ = fit_budget([story(0, n=6), story(1, n=6)], max_words=1000, max_stories=24)
    assert [len(s.sentences) for s in thinner] == [6, 6]  # a thin day: all they offer
    # Sentences come best first: the budget keeps the best, then ``arrange`` puts them in reading order.
    backwards = fit_budget([story(i) for i in range(30)], 1000, 24, arrange=lambda xs: [xs[0], *xs[:0:-1]])[0]
    assert backwards[0].sentences == [story(0).sentences[i] for i in (0, 3, 2, 1)]
    assert backwards[3].sentences == story(3).sentences[:2]  # a story cut to two keeps its best two
    tight, _ = fit_budget([story(0)], max_words=40, max_stories=24)
    assert len(tight) == 1 and len(tight[0].sentences) == 1  # a story that does not fit shrinks to its opener
    smallest, _ = fit_budget([story(0), story(1)], max_words=30, max_stories=24)
    assert [len(s.sentences) for s in smallest] == [1]  # 28 words: past 80% of the budget, yet told
    capped, listed = fit_budget([story(i) for i in range(30)], max_words=1000, max_stories=5)
    assert len(capped) == 5 and [s.id for s in listed][:2] == ["s5", "s6"]  # the story cap counts told stories


def test_more_stories_are_listed_with_their_source_in_every_format() -> None:
    from rag.brief.briefrender import fragment
    from rag.types import Source, StorySummary

    more = StorySummary(
        "m1", "Dockworkers <b>end</b> strike", [], ["AP"], ["a9"],
        sources=[Source("a9", "Dockworkers end strike", "AP", "https://ap.example/strike", "2024-10-04")],
    )  # fmt: skip
    told = StorySummary("s1", "Storm hits Florida", ["Milton made landfall. [1]"], ["AP"], ["a1"])
    cite = Citation(1, "a1", "a1:0", "Storm", "AP", "", "2024-10-02", "Milton made landfall.", 0, 21)
    brief = Briefing("2024-10-04", "2024-10-02", "2024-10-04", "extractive", [told], [cite], 3, more=[more])
    md = render(brief, "md")
    escaped = "Dockworkers &lt;b&gt;end&lt;/b&gt; strike"
    assert "## More stories" in md and f"- {escaped} — AP, 2024-10-04 <https://ap.example/strike>" in md
    assert "1 story and 1 more by headline" in md
    page = fragment(brief)
    assert "id=more" in page and f'<a href="https://ap.example/strike">{escaped}</a>' in page
    assert 'href="#more"' in page
    assert Briefing.from_dict(json.loads(render(brief, "json"))) == brief
    assert brief.words == 3 + 3 + 3  # both headlines and the told sentence
