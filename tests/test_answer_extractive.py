"""The default answerer on the shipped sample article: right sentence, verbatim, cited; refusals."""

from __future__ import annotations

import pytest

from rag.pipeline import Pipeline
from rag.question import Kind, kind_of
from rag.types import CANNOT_ANSWER
from tests.conftest import SAMPLE_ID


@pytest.mark.parametrize(
    ("question", "kind"),
    [
        ("How many North Korean soldiers are in Russia?", Kind.NUMBER),
        ("When did Trudeau speak with Yoon?", Kind.DATE),
        ("Who is the president of South Korea?", Kind.PERSON),
        ("Where were the troops deployed?", Kind.PLACE),
        ("Which company launched the rocket?", Kind.ENTITY),
        ("Why did the leaders talk?", Kind.OTHER),
    ],
)
def test_question_kinds(question: str, kind: Kind) -> None:
    assert kind_of(question) is kind


@pytest.mark.parametrize(
    ("question", "must_contain"),
    [
        (
            "How many North Korean soldiers does the Pentagon estimate have been sent to eastern Russia?",
            "10,000",
        ),
        ("When did Trudeau and Yoon hold their discussions?", "on Tuesday"),
        ("Who is the president of South Korea?", "Yoon Suk Yeol"),
        ("Where in Russia have North Korean soldiers been deployed?", "Kursk"),
        (
            "What dialogue did the two leaders welcome?",
            "Canada-Korea High-Level Foreign and Defence Policy Dialogue",
        ),
        ("When was the treaty between Russia and North Korea signed?", "June"),
    ],
)
def test_answers_quote_the_supporting_sentence(
    sample_pipeline: Pipeline, question: str, must_contain: str
) -> None:
    answer = sample_pipeline.ask(question)
    assert not answer.refused
    assert must_contain in answer.text
    article = sample_pipeline.store.get_article(SAMPLE_ID)
    assert article is not None
    for c in answer.citations:
        assert article.text[c.start : c.end] == c.quote
        assert f"{c.quote} [{c.key}]" in answer.text
        assert c.published == "2024-10-29" and c.outlet == ""
    assert answer.as_of == "2024-10-29"


@pytest.mark.parametrize(
    "question",
    [
        "What is the capital of France?",
        "Who won the 2024 World Series?",
        "What did Trudeau say about tariffs on Chinese electric vehicles?",
        "How much did the new hospital in Toronto cost?",
    ],
)
def test_unanswerable_questions_get_the_refusal(sample_pipeline: Pipeline, question: str) -> None:
    answer = sample_pipeline.ask(question)
    assert answer.refused and answer.text == CANNOT_ANSWER and not answer.citations


def test_streaming_callback_receives_the_same_text(sample_pipeline: Pipeline) -> None:
    pieces: list[str] = []
    answer = sample_pipeline.ask("Where have North Korean soldiers been deployed?", on_text=pieces.append)
    assert "".join(pieces).strip() == answer.text


def test_answer_json_shape(sample_pipeline: Pipeline) -> None:
    data = sample_pipeline.ask("How many North Korean soldiers are in eastern Russia?").to_dict()
    assert set(data) >= {"question", "text", "citations", "as_of", "refused", "engine", "unsupported"}
    assert "hits" not in data
    assert set(data["citations"][0]) == {
        "key",
        "article_id",
        "chunk_id",
        "title",
        "outlet",
        "url",
        "published",
        "quote",
        "start",
        "end",
    }
