"""The default answerer on the shipped sample article: right sentence, verbatim, cited; refusals."""

from __future__ import annotations

import zlib
from typing import cast

import numpy as np
import pytest

from rag.embed import Embedder
from rag.extractive import ExtractiveGenerator
from rag.lexical import terms
from rag.pipeline import Pipeline
from rag.question import Kind, kind_of, names_a_place
from rag.types import CANNOT_ANSWER, Chunk, Hit
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
def test_answers_quote_the_supporting_sentence(sample_pipeline: Pipeline, question: str, must_contain: str) -> None:
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


@pytest.mark.parametrize(
    ("question", "kind"),
    [
        ("Which US state banned plastic bags?", Kind.PLACE),
        ("What city hosted the debate?", Kind.PLACE),
        ("Which African country did Biden visit?", Kind.PLACE),
        ("Which NFL player was handcuffed?", Kind.PERSON),
        ("Which automaker ended its robotaxi effort?", Kind.ENTITY),
    ],
)
def test_question_kinds_with_a_modifier(question: str, kind: Kind) -> None:
    assert kind_of(question) is kind


@pytest.mark.parametrize(
    ("sentence", "question", "expected"),
    [
        ("The show will air live from the Peacock Theater in Los Angeles.", "Where did the show take place?", True),
        ("VANCOUVER, British Columbia – Taylor Swift played her last show.", "In which city was the show?", True),
        ("Louisiana health officials confirmed the case.", "In which state was the case confirmed?", True),
        ("Health officials confirmed the case on Friday.", "In which state was the case confirmed?", False),
        ("The debate was held in New York.", "Where in New York was the debate held?", False),
    ],
)
def test_names_a_place(sentence: str, question: str, expected: bool) -> None:
    assert names_a_place(sentence, question) is expected


class _BagOfWords:
    """A stand-in embedder: hashed bag of words, so similarity follows shared words."""

    def embed(self, texts: list[str]) -> np.ndarray:
        out = np.zeros((len(texts), 64))
        for i, text in enumerate(texts):
            for t in terms(text):
                out[i, zlib.crc32(t.encode()) % 64] += 1.0
        return out / np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-9)


def _hit(article_id: str, title: str, text: str) -> Hit:
    chunk = Chunk(id=f"{article_id}:0", article_id=article_id, index=0, text=text, start=0, end=len(text), title=title)
    return Hit(chunk=chunk, score=1.0)


def test_extractive_quotes_at_most_three_verbatim_sentences_with_the_answer() -> None:
    text = (
        "The automaker said on Tuesday it would stop funding its robotaxi program. "
        "General Motors announced the change in a statement to investors. "
        "Its Cruise unit had been testing robotaxies in San Francisco since 2022. "
        "Analysts said the robotaxi business had cost the automaker billions. "
        "Shares rose two percent after the announcement on Tuesday."
    )
    hits = [
        _hit("a", "General Motors ends its Cruise robotaxi program", text),
        _hit("b", "General Motors pulls the plug on robotaxis", "Weather was mild across the Midwest this week."),
    ]
    generator = ExtractiveGenerator(cast(Embedder, _BagOfWords()))
    question = "Which automaker announced it will stop funding its robotaxi program?"
    answer = generator.generate(question, hits)
    assert not answer.refused
    # The best match restates the question; the name is in the next sentence, which is quoted too.
    assert answer.citations[0].quote.startswith("The automaker said")
    assert "General Motors" in answer.text
    assert len(answer.citations) <= 3
    for c in answer.citations:
        assert text[c.start : c.end] == c.quote
        assert f"{c.quote} [{c.key}]" in answer.text
    # "robotaxies" still counts as the question's "robotaxi".
    testing = next(c for c in generator.candidates(question, hits) if c.text.startswith("Its Cruise unit"))
    assert testing.coverage > 0


def test_extractive_answer_signals_never_override_a_refusal() -> None:
    hits = [_hit("a", "Paris hosts a summit", "Leaders met in Paris on Monday to discuss trade and tariffs.")]
    answer = ExtractiveGenerator(cast(Embedder, _BagOfWords())).generate("Which team won the World Series?", hits)
    assert answer.refused and answer.text == CANNOT_ANSWER
