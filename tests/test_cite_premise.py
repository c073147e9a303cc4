"""A claim answering a question is checked for what it adds to the question: the question's own words are what
was asked, not what the cited sentence must say; a claim that only restates the question never holds that way."""

from __future__ import annotations

from rag.cite.cite import CitationBook, ClaimChecker, beyond, check_answer
from rag.types import Chunk

SENTENCE = "Jurgen Klopp's Liverpool thrashed Manchester United 7-0 at Anfield on Sunday."
TITLE = "Carabao Cup winners Manchester United crushed 7-0 at Anfield"
QUESTION = "Which Premier League team suffered a 7-0 defeat by Liverpool a week after winning the Carabao Cup?"


def test_what_a_claim_adds_to_the_question() -> None:
    claim = "Manchester United suffered a 7-0 defeat by Liverpool a week after winning the Carabao Cup."
    added = beyond(claim, QUESTION)
    assert "Manchester United" in added and "Liverpool" not in added and "Carabao" not in added
    assert "not" in beyond("Liverpool did not lose 7-0.", "Did Liverpool lose 7-0?")  # a negation is kept


def test_the_answer_part_must_be_in_the_cited_sentence() -> None:
    claim = "Manchester United suffered a 7-0 defeat by Liverpool a week after winning the Carabao Cup."
    assert not check_answer(claim, SENTENCE).supported  # without the question: "suffered", "defeat" … are not there
    assert check_answer(claim, SENTENCE, QUESTION, TITLE).supported  # "Carabao Cup" is in the article's title
    verdict = check_answer(claim, SENTENCE, QUESTION)
    assert not verdict.supported and "Carabao" in verdict.reasons[0]  # the question's names must be in the source
    wrong = "Chelsea suffered a 7-0 defeat by Liverpool a week after winning the Carabao Cup."
    verdict = check_answer(wrong, SENTENCE, QUESTION, TITLE)
    assert not verdict.supported and "0%" in verdict.reasons[0]  # Chelsea, all it adds, is not there
    elsewhere = "Arsenal beat Chelsea 3-1 on Sunday."  # names the answer, says nothing of what was asked
    arsenal = "Arsenal suffered a 7-0 defeat by Liverpool a week after winning the Carabao Cup."
    verdict = check_answer(arsenal, elsewhere, QUESTION)
    assert not verdict.supported and "Liverpool" in verdict.reasons[0] and "from the question" in verdict.reasons[0]
    number = "Manchester United lost 5-0 to Liverpool at Anfield."
    assert not check_answer(number, SENTENCE, "Which team lost to Liverpool?").supported


def test_a_claim_that_only_restates_the_question_does_not_hold_by_it() -> None:
    restated = "A Premier League team suffered a 7-0 defeat by Liverpool a week after winning the Carabao Cup."
    assert not check_answer(restated, SENTENCE, QUESTION).supported


def test_the_checker_uses_the_question_and_cites_the_answer_span() -> None:
    text = "Background sentence about the league. " + SENTENCE
    chunk = Chunk("a:0", "a", 0, text, 100, 100 + len(text), TITLE)
    book = CitationBook()
    claim = "Manchester United suffered a 7-0 defeat by Liverpool a week after winning the Carabao Cup [1]."
    _, plain = ClaimChecker([chunk], book.add).sentence(claim)
    assert not plain[0].supported
    book = CitationBook()
    shown, checks = ClaimChecker([chunk], book.add, premise=QUESTION).sentence(claim)
    assert checks[0].supported and shown.endswith("[1].") and len(book.citations) == 1
    cited = book.citations[0]
    assert cited.quote == SENTENCE and cited.start == 100 + text.index(SENTENCE)
