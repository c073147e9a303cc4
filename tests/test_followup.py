"""Follow-ups without an LLM: pronouns resolved against the previous answer's entity, the subject carried."""

from __future__ import annotations

import pytest

from rag.followup import Turn, is_follow_up, resolve


def test_a_personal_pronoun_becomes_the_person_the_answer_named() -> None:
    previous = Turn("Who won Florida's 2024 Python Challenge?", entity="Ronald Kiger")
    out = resolve("How much prize money did he win?", previous)
    assert out.startswith("How much prize money did Ronald Kiger win?")
    assert "Python" in out and "Challenge" in out  # the story's words come along for retrieval


def test_a_possessive_pronoun_keeps_its_case() -> None:
    previous = Turn("Which actor voiced Darth Vader?", entity="James Earl Jones")
    assert resolve("How old was he when he died?", previous).startswith("How old was James Earl Jones when James Earl")
    assert resolve("What was his first film?", previous).startswith("What was James Earl Jones's first film?")


def test_without_a_person_answer_he_means_the_subject_of_the_question() -> None:
    previous = Turn("What did Trudeau discuss with Yoon on Tuesday?", entity="")
    assert resolve("What did he propose?", previous).startswith("What did Trudeau propose?")


def test_an_elliptical_question_carries_the_subject() -> None:
    previous = Turn("What caused the McDonald's E. coli outbreak?", entity="")
    out = resolve("Which ingredient is suspected?", previous)
    assert out.startswith("Which ingredient is suspected?")
    assert "McDonald's" in out and "outbreak" in out


def test_it_refers_to_a_named_thing_the_answer_gave_but_not_to_a_person() -> None:
    company = Turn("Which company is buying Nissan?", entity="Honda")
    assert resolve("When will it complete the deal?", company).startswith("When will Honda complete the deal?")
    person = Turn("Who leads the company?", entity="Mary Barra")
    assert "Mary Barra" not in resolve("When was it founded?", person)


@pytest.mark.parametrize(
    "question",
    ["Who is the president of South Korea?", "How many North Korean soldiers are in Russia?"],
)
def test_a_standalone_question_is_unchanged(question: str) -> None:
    previous = Turn("Who won Florida's 2024 Python Challenge?", entity="Ronald Kiger")
    assert not is_follow_up(question)
    assert resolve(question, previous) == question


def test_follow_up_detection() -> None:
    assert is_follow_up("and how many were there last week?")
    assert is_follow_up("What about them?")
    assert is_follow_up("What was the earlier estimate?")
    assert not is_follow_up("Who is the president of South Korea?")
    assert resolve("and then?", None) == "and then?"
