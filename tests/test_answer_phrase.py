"""Answer-phrase accuracy: the gold answer in the answer's fewest words (the reader's marked phrase, or a model's
short answer), scored beside answer accuracy for every engine so a two-word answer and a 43-word quote compare."""

from __future__ import annotations

from rag.evals.evalcases import Case
from rag.evals.evalscore import ArmResult, score_case, summarise
from rag.evals.metrics import Fact
from rag.types import CANNOT_ANSWER, Answer, Citation

QUOTE = "Officials said about 10,000 soldiers were sent east, up from 3,000 last week."


def _cite() -> Citation:
    return Citation(1, "a1", "a1:0", "T", "", "", "2024-10-29", QUOTE, 0, len(QUOTE))


def _case(gold: str) -> Case:
    return Case("c", "How many soldiers were sent?", "quiz", facts=(Fact(any=(gold,)),))


def test_the_phrase_is_the_marked_span_the_model_answer_or_nothing() -> None:
    lo = QUOTE.index("10,000")
    quoted = Answer("q", QUOTE + " [1]", [_cite()], answer_span=(lo, lo + len("10,000")), answered_by="reader")
    assert quoted.phrase == "10,000"
    unmarked = Answer("q", QUOTE + " [1]", [_cite()], answered_by="reader")
    assert unmarked.phrase == ""
    model = Answer("q", "About 10,000 soldiers were sent [1].", [_cite()], answered_by="model", quote=quoted)
    assert model.phrase == "About 10,000 soldiers were sent."
    assert Answer("q", CANNOT_ANSWER, refused=True).phrase == ""
    data = model.to_dict()
    assert data["answer_phrase"] == model.phrase and data["quote"]["answer_phrase"] == "10,000"
    assert "hits" not in data and "hits" not in data["quote"] and model.quote is quoted  # to_dict leaves it as it was


def test_a_quote_holding_the_gold_by_accident_is_right_only_by_answer_accuracy() -> None:
    resolve = {"a1": QUOTE}.get
    lo = QUOTE.index("3,000")
    wrong_phrase = Answer("q", QUOTE + " [1]", [_cite()], answer_span=(lo, lo + 5), answered_by="reader")
    at = QUOTE.index("10,000")
    right_phrase = Answer("q", QUOTE + " [1]", [_cite()], answer_span=(at, at + 6))
    model = Answer("q", "About 10,000 soldiers [1].", [_cite()], answered_by="model")
    refused = Answer("q", CANNOT_ANSWER, refused=True)
    results = [score_case(_case("10,000"), a, [], resolve) for a in (wrong_phrase, right_phrase, model, refused)]
    assert [r.passed for r in results] == [True, True, True, False]
    assert [r.phrase_passed for r in results] == [False, True, True, False]
    arm = ArmResult("ours", "", results)
    summarise(arm)
    assert arm.summary["answer_accuracy"] == 0.75 and arm.summary["answer_phrase_accuracy"] == 0.5


def test_case_time_counts_stages_not_their_parts() -> None:
    resolve = {"a1": QUOTE}.get
    answer = Answer("q", QUOTE + " [1]", [_cite()], timings={"retrieve": 0.1, "generate": 2.0, "generate:model": 1.8})
    arm = ArmResult("ours", "", [score_case(_case("10,000"), answer, [], resolve)])
    summarise(arm)
    assert arm.summary["total_p50_ms"] == 2100.0 and arm.summary["generate:model_p50_ms"] == 1800.0
