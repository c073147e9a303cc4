"""Conversations: follow-ups become standalone questions (carried subject offline, a prompt with an LLM)."""

from __future__ import annotations

from pathlib import Path

from rag.answer.chat import Conversation, answer_entity
from rag.pipeline import Pipeline
from rag.provider import chat_model
from tests.conftest import llm_settings, run_cli
from tests.openai_server import FakeOpenAI

FIRST = "How many North Korean soldiers does the Pentagon estimate have been sent to eastern Russia?"


def test_offline_conversation_answers_the_follow_up(sample_pipeline: Pipeline) -> None:
    convo = Conversation(sample_pipeline)
    first = convo.ask(FIRST)
    assert "10,000" in first.text
    follow = convo.ask("and how many were there last week?")
    assert "3,000" in follow.text and "last week" in follow.text
    assert follow.question == "and how many were there last week?"
    assert "North Korean soldiers" in follow.standalone_question
    assert answer_entity(first) and answer_entity(first) in first.text  # what a pronoun would resolve to
    convo.reset()
    assert convo.last is None and convo.standalone("and then?") == "and then?"


def test_llm_rewrites_follow_ups_with_the_condense_prompt(
    tmp_path: Path, fake_openai: FakeOpenAI, embedder: object
) -> None:
    settings = llm_settings(tmp_path, fake_openai)
    p = Pipeline.from_settings(settings, embedder=embedder)  # type: ignore[arg-type]
    p.ensure_corpus()
    convo = Conversation(p, chat_model=chat_model(settings))
    fake_openai.queue("Approximately 10,000 North Korean soldiers are in eastern Russia [1].")
    convo.ask(FIRST)
    fake_openai.queue(
        "How many North Korean soldiers did the Pentagon estimate were in Russia the week before?",
        "The earlier estimate was 3,000 troops [1].",
    )
    answer = convo.ask("and last week?")
    assert answer.standalone_question.startswith("How many North Korean soldiers did the Pentagon")
    assert "3,000" in answer.text
    condense = fake_openai.chat_requests()[1].body["messages"]
    assert "FOLLOW-UP QUESTION: and last week?" in condense[-1]["content"]
    assert "10,000" in condense[-1]["content"]  # the history went with it


def test_chat_repl_as_a_user(tmp_path: Path) -> None:
    script = "\n".join([FIRST, "and how many were there last week?", "/sources", "/reset", "/nonsense", "/quit"])
    proc = run_cli(tmp_path, "chat", input=script + "\n")
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert "10,000" in out and "3,000" in out
    assert "(searched for: How many North Korean soldiers were there last week?" in out
    assert "Sources:" in out and "characters" in out  # /sources printed the full quotes
    assert "(conversation forgotten)" in out and "commands: /sources /reset /quit" in out
