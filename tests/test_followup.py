"""Follow-ups without an LLM: pronouns resolved against the previous answer's entity, the subject carried."""

from __future__ import annotations

import pytest

from rag.answer.followup import Turn, is_follow_up, resolve


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


@pytest.mark.parametrize(
    ("question", "previous", "expected"),
    [
        ("At what strength?", "Where did Hurricane Francine make landfall?",
         "At what strength did Hurricane Francine make landfall?"),
        ("And after how many shows?", "Where did Taylor Swift play the final show of the Eras Tour?",
         "After how many shows did Taylor Swift play the final show of the Eras Tour?"),
        ("in which year?", "When was the treaty signed?", "In which year was the treaty signed?"),
    ],
)  # fmt: skip
def test_a_question_phrase_alone_asks_the_previous_clause_again(question: str, previous: str, expected: str) -> None:
    assert resolve(question, Turn(previous)) == expected


def test_a_fragment_needs_a_clause_to_borrow() -> None:
    # A question phrase with a verb of its own is not a fragment; a previous question without an auxiliary has no
    # clause to borrow: the subject is carried as before.
    assert resolve("Which ingredient is suspected?", Turn("Which burger is linked to the outbreak?")).startswith(
        "Which ingredient is suspected? ("
    )
    assert (
        resolve("At what strength?", Turn("Hurricane Francine landfall"))
        == "At what strength? (Hurricane Francine landfall)"
    )


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


def test_the_person_is_the_name_in_the_answer_not_a_word_of_the_question() -> None:
    # "US" is not who "he" is; the marked phrase is cut to the person's name.
    carter = Turn("Which former US president turned 100 in October 2024?", entity="Jimmy Carter of Georgia")
    assert resolve("Where was he born?", carter).startswith("Where was Jimmy Carter born?")
    ceo = Turn("Which former Abercrombie & Fitch CEO was arrested?", entity="Michael Jeffries")
    assert resolve("Where was he arrested?", ceo).startswith("Where was Michael Jeffries arrested?")
    titled = Turn("Who did Trump pick for the UN?", entity="President-elect Donald Trump")
    assert resolve("How old is he?", titled).startswith("How old is Donald Trump?")


def test_a_possessive_mark_gives_way_to_the_person_the_answer_names() -> None:
    previous = Turn(
        "Who became the first openly transgender person elected to Congress?",
        entity="Delaware's",
        answer="NEW CASTLE, Del. – Sarah McBride will be Delaware's next representative in Congress.",
    )
    assert resolve("Who did she defeat?", previous).startswith("Who did Sarah McBride defeat?")
    surname = Turn("Who voiced Darth Vader?", entity="Jones", answer="James Earl Jones, the voice of Vader, died.")
    assert resolve("How old was he?", surname).startswith("How old was James Earl Jones?")
    # The marked surname is the person, not another full name the answer happens to quote.
    other = Turn(
        "Who was the voice of Darth Vader?",
        entity="Jones",
        answer="Jones told USA TODAY he was honored. Director Craig Brewer said that when Jones appeared on the "
        "set, it was like royalty visiting.",
    )
    assert resolve("How old was he when he died?", other).startswith("How old was Jones when Jones died?")
    # A marked word the answer only uses inside a longer name ("South Korean President …") or after an article
    # ("The Korean won") is not the person.
    korean = Turn(
        "Who declared martial law in South Korea?",
        entity="Korean",
        answer="South Korean President Yoon Suk Yeol declared martial law on Tuesday night. The Korean won plunged.",
    )
    assert resolve("What are lawmakers trying to do to him?", korean).startswith(
        "What are lawmakers trying to do to him?"
    )


def test_it_after_a_place_or_a_long_phrase_is_left_to_the_carried_subject() -> None:
    where = Turn("Where was the September 2024 presidential debate held?", entity="Philadelphia")
    out = resolve("Which network hosted it?", where)
    assert out.startswith("Which network hosted it?") and "debate" in out
    state = Turn("In which state was the first severe bird flu case confirmed?", entity="Louisiana")
    assert resolve("How did the patient catch it?", state).startswith("How did the patient catch it?")
    long = Turn("What did Coca-Cola recall?", entity="Thousands of Coca-Cola's Minute Maid Zero Sugar Lemonade")
    assert resolve("Which states was it shipped to?", long).startswith("Which states was it shipped to?")
    costco = Turn("Which retailer raised its membership fees?", entity="Costco's")
    assert resolve("How much will its Gold Star membership cost?", costco).startswith("How much will Costco's Gold")


def test_without_a_trusted_referent_the_pronoun_stays() -> None:
    previous = Turn("Who won the race?", entity="", answer="")
    assert resolve("How old is he?", previous).startswith("How old is he?")
