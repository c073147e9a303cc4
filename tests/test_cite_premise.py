"""A claim answering a question is checked for what it adds to the question: the question's own words are what
was asked ("this week" in the question is not a time frame the cited sentence must state), but the cited sentence
must still say most of what the claim takes from the question, hold its names and numbers, and hold what the claim
adds; a claim that only restates the question, or shares no word with it, never holds that way."""

from __future__ import annotations

from rag.cite.cite import CitationBook, ClaimChecker, beyond, check, check_answer, off_question
from rag.types import Chunk

QUESTION = "Fox News rocked the media world this week when it announced it would part ways with which host?"
CLAIM = "Fox News rocked the media world this week when it announced it would part ways with Tucker Carlson."
SENTENCE = (
    "Fox News announced on Monday that it has parted ways with Tucker Carlson, a move that rocked the media world."
)


def test_what_a_claim_adds_to_the_question() -> None:
    added = beyond(CLAIM, QUESTION)
    assert "Tucker Carlson" in added and "Fox" not in added and "rocked" not in added
    assert "not" in beyond("Liverpool did not lose 7-0.", "Did Liverpool lose 7-0?")  # a negation is kept


def test_the_question_s_own_words_are_not_claims_the_sentence_must_make() -> None:
    assert not check(CLAIM, SENTENCE).supported  # "this week" comes from the question, not the sentence
    assert check_answer(CLAIM, SENTENCE, QUESTION).supported
    other = "Fox News rocked the media world this week when it announced it would part ways with Sean Hannity."
    verdict = check_answer(other, SENTENCE, QUESTION)
    assert not verdict.supported and "0%" in verdict.reasons[0]  # what it adds (Sean Hannity) is not in the sentence


def test_the_cited_sentence_must_say_what_was_asked() -> None:
    question = (
        "Which US state was the first of seven key battleground states to start early voting for the 2024 election?"
    )
    claim = "Pennsylvania was the first of seven key battleground states to start early voting for the 2024 election."
    mentions = "Pennsylvania, a key battleground state for this election, could accept ballots in just 50 days."
    verdict = check_answer(claim, mentions, question, context="Early voting begins in 2024 battlegrounds")
    assert not verdict.supported and "not about what was asked" in verdict.reasons[0]
    named = "Arsenal beat Chelsea 3-1 on Sunday."
    arsenal = "Arsenal suffered a 7-0 defeat by Liverpool a week after winning the Carabao Cup."
    liverpool = "Which team suffered a 7-0 defeat by Liverpool a week after winning the Carabao Cup?"
    verdict = check_answer(arsenal, named, liverpool)
    assert not verdict.supported and "Liverpool" in verdict.reasons[0] and "from the question" in verdict.reasons[0]


def test_a_claim_that_only_restates_the_question_or_ignores_it_does_not_hold() -> None:
    restated = "Fox News rocked the media world this week when it announced it would part ways with a host."
    assert not check_answer(restated, SENTENCE, QUESTION).supported
    assert "restates" in off_question(restated, QUESTION)
    venue = "In which city will the Canada-Korea High-Level Foreign and Defence Policy Dialogue be held?"
    assert "restates" in off_question(
        "The Canada-Korea High-Level Foreign and Defence Policy Dialogue will be held in.", venue
    )
    hamlin = "Damar Hamlin suffered an on-field medical emergency this week. Which team does he play for?"
    assert off_question("The Short List is a snappy USA TODAY news roundup.", hamlin)
    assert not off_question("Tucker Carlson.", QUESTION)  # a short answer is judged by its span alone


def test_the_checker_uses_the_question_and_cites_the_answer_span() -> None:
    text = "Background sentence about the cable ratings of last year. " + SENTENCE
    chunk = Chunk("a:0", "a", 0, text, 100, 100 + len(text), "Fox News and Tucker Carlson part ways")
    claim = CLAIM.removesuffix(".") + " [1]."
    _, plain = ClaimChecker([chunk], CitationBook().add).sentence(claim)
    assert not plain[0].supported
    book = CitationBook()
    shown, checks = ClaimChecker([chunk], book.add, premise=QUESTION).sentence(claim)
    assert checks[0].supported and shown.endswith("[1].") and len(book.citations) == 1
    cited = book.citations[0]
    assert cited.quote == SENTENCE and cited.start == 100 + text.index(SENTENCE)
    off = ClaimChecker([chunk], CitationBook().add, premise=QUESTION).sentence(
        "Background sentence about the cable ratings of last year [1]."
    )[1]
    assert not off[0].supported and "does not answer the question" in off[0].reasons[0]
