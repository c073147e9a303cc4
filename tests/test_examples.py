"""Example questions drawn from ledes (pure rewrites; that each is answered from its article is checked over
HTTP on a real store in test_server_intake.py)."""

from __future__ import annotations

import datetime as dt

import pytest

from rag.types import Article
from rag.web.examples import candidates, how_many, who

REWRITES = [
    (
        "Recent Pentagon estimates indicate that approximately 10,000 North Korean soldiers have been deployed to "
        "eastern Russia for training, a significant increase.",
        "How many North Korean soldiers have been deployed to eastern Russia for training?",
    ),
    (
        "About 4,000 passengers are expected to use the terminal every day once it opens in March.",
        "How many passengers are expected to use the terminal every day?",  # cut before the clause with "it"
    ),
    (
        "Prime Minister Justin Trudeau held discussions with South Korean President Yoon Suk Yeol on Tuesday, "
        "addressing their shared concerns.",
        "Who held discussions with South Korean President Yoon Suk Yeol on Tuesday?",
    ),
    ("Syrian rebels seized Damascus on Sunday, and the president fled.", "Who seized Damascus on Sunday?"),
    (
        "The Centers for Disease Control (CDC) confirmed the first case of severe avian influenza in the US.",
        "Who confirmed the first case of severe avian influenza in the US?",
    ),
    ("The Earth was ready for its close-up this year.", "What was ready for its close-up this year?"),
]
NO_QUESTION = [
    "The FAA said reports are up 269% to 59 in the first half of December.",  # says who said, not who did
    "Rebel forces led by Hayat Tahrir al-Sham entered the city at dawn.",  # a participle, not the verb
    "Work starts in January and should take two years, the council said.",  # not a named subject
    "One thing Americans can be thankful for this year is a lower price tag on dinner.",
    "North Jersey has been on edge as mysterious drones reportedly fill the skies.",  # too little to search for
    "Tom Cruise accepted the award and said he was honoured to receive it from the Navy.",  # a pronoun
    'Mayor Ruiz told reporters "the library is back" on Saturday afternoon.',  # a quotation
]


@pytest.mark.parametrize(("sentence", "question"), REWRITES)
def test_a_lede_sentence_becomes_a_question(sentence: str, question: str) -> None:
    assert (how_many(sentence) or who(sentence)) == question


@pytest.mark.parametrize("sentence", NO_QUESTION)
def test_sentences_that_do_not_fit_a_rewrite_give_none(sentence: str) -> None:
    assert how_many(sentence) == who(sentence) == ""


def test_candidates_come_from_the_lede_after_its_dateline_and_a_headline_that_asks() -> None:
    article = Article(
        id="a",
        title="Will the harbour ferry terminal open on time?",
        published=dt.date(2024, 10, 30),
        text="HARBOURTON (AP) — The Harbour Council approved 40 million dollars for the ferry terminal on Monday. "
        "Sign up for our newsletter. About 4,000 passengers are expected to use the terminal every day. "
        "The council met twice in October to discuss the plans. Mayor Ana Ruiz opened the new central library on "
        "Saturday.",
    )
    assert candidates(article) == [
        "Who approved 40 million dollars for the ferry terminal on Monday?",
        "How many passengers are expected to use the terminal every day?",
        "Will the harbour ferry terminal open on time?",  # the lede is three sentences: Mayor Ruiz's is the fourth
    ]
