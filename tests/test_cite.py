"""Claims checked for meaning against the span they align with (pure unit tests, no model, no store)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from rag.cite.cite import MARKER, CitationBook, ClaimChecker, check, claims_of
from rag.cite.numbers import find_numbers
from rag.ingest.load import load_file
from rag.types import Article, Chunk
from tests.conftest import PROJECT

ARTICLE = next(
    a for a in load_file(PROJECT / "corpus" / "trudeau-yoon-north-korea-troops.md") if isinstance(a, Article)
)
TEXT = ARTICLE.text


def chunk(text: str = TEXT, start: int = 0) -> Chunk:
    return Chunk(
        f"{ARTICLE.id}:0", ARTICLE.id, 0, text, start, start + len(text), ARTICLE.title, "", "", ARTICLE.published
    )


# The five lies the adversarial run told, each with the reason the check must give.
@pytest.mark.parametrize(
    ("claim", "reason"),
    [
        (
            "Recent Pentagon estimates indicate that approximately 3,000 North Korean soldiers have been deployed "
            "to eastern Russia for training.",
            "3,000 is not the cited sentence's figure for this (it says 10,000)",
        ),
        (
            "Pentagon estimates indicate that approximately thirty thousand North Korean soldiers have been deployed "
            "to eastern Russia.",
            "thirty thousand is not in the cited sentence",
        ),
        ("Putin said Russia's partnership is outlined in the treaty signed with Kim Jong Un in July.", "July"),
        ("Trudeau and Yoon welcomed North Korea's deployment.", "“welcomed” is the opposite"),
        (
            "Reports from the United States on Tuesday denied that North Korean soldiers have been deployed to "
            "Russia’s Kursk region.",
            "“denied” is the opposite of the cited sentence's “confirmed”",
        ),
    ],
)
def test_changed_meaning_is_caught_with_its_reason(claim: str, reason: str) -> None:
    verdict = check(claim, TEXT)
    assert not verdict.supported
    assert any(reason in r for r in verdict.reasons), verdict.reasons


@pytest.mark.parametrize(
    "claim",
    [
        "Approximately ten thousand North Korean soldiers have been deployed to eastern Russia, Pentagon figures say.",
        "Around 10k North Korean soldiers have been deployed to eastern Russia for training.",
        "The earlier estimate, reported last week, was 3,000 troops.",
        "North Korea’s involvement was condemned by both leaders.",
        "The presence of North Korean troops in the conflict has not been refuted by Russian President Vladimir Putin.",
        "On Tuesday, Prime Minister Justin Trudeau held discussions with South Korean President Yoon Suk Yeol.",
        "Some North Korean troops may already be stationed near the frontlines, South Korean officials noted.",
        # The way a model paraphrases: vague "now", dropped clauses, its own words for the rest.
        "The Pentagon now estimates that about 10,000 North Korean soldiers have been sent to eastern Russia.",
        "Putin has not denied that North Korean troops are present, saying the partnership is Russia's prerogative.",
        "Yoon said he was worried about how fast the deployment is happening.",
        "Russia and North Korea signed a treaty in June.",
    ],
)
def test_faithful_rewordings_pass(claim: str) -> None:
    verdict = check(claim, TEXT)
    assert verdict.supported, verdict.reasons


@pytest.mark.parametrize(
    ("claim", "reason"),
    [
        ("Russian President Vladimir Putin has refuted the presence of North Korean troops.", "negates"),
        ("South Korean officials noted that some North Korean troops are already stationed near the frontlines.",
         "may be so"),
        ("The inaugural Canada-Korea High-Level Foreign and Defence Policy Dialogue took place last week.",
         "time frame"),
        ("The Dialogue between Trudeau and Yoon occurred earlier this week.", "time frame"),
        ("Recent Pentagon estimates indicate that more than 10,000 North Korean soldiers have been deployed.",
         "more than"),
        ("Approximately 10,000 North Korean soldiers are in eastern Russia, down from the earlier estimate of 3,000 "
         "troops.", "down from"),
        ("Trudeau warned it could de-escalate the situation and stabilize both Europe and the Indo-Pacific.",
         "opposites"),
        ("Yoon proposed a joint approach to address the security challenges arising from North Korea’s actions.",
         "Yoon is not in the cited sentence"),
    ],
)  # fmt: skip
def test_polarity_time_frame_direction_and_names(claim: str, reason: str) -> None:
    verdict = check(claim, TEXT)
    assert not verdict.supported and any(reason in r for r in verdict.reasons), verdict.reasons


def test_numbers_read_as_a_reader_means_them() -> None:
    values = [(n.value, n.unit, n.comparator) for n in find_numbers("ten thousand, 10k, $2.5bn, more than 40 percent")]
    assert values == [(10000, "", ""), (10000, "", ""), (2.5e9, "usd", ""), (40, "percent", ">")]


def test_each_claim_shows_its_own_span_several_per_source() -> None:
    book = CitationBook()
    checker = ClaimChecker([chunk()], book.add)
    first, checks1 = checker.sentence("Both leaders condemned North Korea’s involvement [1].")
    second, checks2 = checker.sentence("Putin has not refuted the presence of North Korean troops [1].")
    assert checks1[0].supported and checks2[0].supported
    assert first.endswith("[1].") and second.endswith("[2].")  # one source, two spans, two keys
    assert "condemned" in book.citations[0].quote and "refuted" in book.citations[1].quote
    for c in book.citations:
        assert TEXT[c.start : c.end] == c.quote
    # The span shown for an unsupported claim is still its aligned sentence, never the chunk's shortest.
    _, bad = checker.sentence("Putin has refuted the presence of North Korean troops [1].")
    assert not bad[0].supported and "refuted" in book.citations[bad[0].keys[0] - 1].quote


def test_clauses_with_their_own_markers_are_separate_claims() -> None:
    parts = claims_of("Both leaders condemned the deployment [1], while Putin has not refuted it [2].")
    assert [k for _, k in parts] == [[1], [2]]
    assert parts[0][0] == "Both leaders condemned the deployment"


def test_cite_owns_the_marker_pattern() -> None:
    # The `[n]` regex is declared once, in the bottom layer rag/text.py; every other module imports it.
    declared = [
        p.name
        for p in (PROJECT / "rag").glob("*.py")
        if p.name not in {"text.py", "cite.py"} and re.search(r"""r["']\\\[\(?\\d""", p.read_text(encoding="utf-8"))
    ]
    assert declared == []
    assert MARKER.findall("a [1] b [23]") == ["1", "23"]


def test_a_quote_is_a_verbatim_span(tmp_path: Path) -> None:
    verdict = check("Both leaders condemned North Korea’s involvement.", TEXT)
    assert TEXT[verdict.lo : verdict.hi].startswith("Both leaders condemned")
