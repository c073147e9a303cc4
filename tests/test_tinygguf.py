"""The tiny GGUF fixture (tests/tinygguf.py): llama.cpp loads it, serves it over HTTP, and at temperature 0 it
replies to a real RAG-sized chat prompt with the scripted reply, streamed or not, then stops."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import PROJECT, SAMPLE_ID
from tests.tinygguf import SPACE, reply_pieces, serve, write_tiny_gguf

KEY = "sk-tiny-0123456789abcdef"
REPLIES = [
    "Approximately 10,000 North Korean soldiers have been deployed to eastern Russia [1].",
    "The moon is made of cheese [1].",
    # repeated words and marks, newlines, unicode, an emoji, spaces at both ends
    " According to [1], the troops arrived. According to [1], the troops left.\n\n“Quoted” — émigré café 😀 [2]. ",
]


def messages() -> list[dict[str, str]]:
    """A system + user prompt as the answer prompt builds it: rules, a JSON source of ~460 words, a question."""
    article = (PROJECT / "corpus" / f"{SAMPLE_ID}.md").read_text(encoding="utf-8").split("---", 2)[2]
    sources = json.dumps([{"n": 1, "title": "Trudeau and Yoon", "date": "2024-10-29", "text": article}])
    return [
        {"role": "system", "content": "Answer from the SOURCES only and cite them as [n], e.g. “… Kursk [1].”"},
        {"role": "user", "content": f"SOURCES:\n{json.dumps(sources, ensure_ascii=False)}\n\nQUESTION: How many?"},
    ]


def _decode(text: str, kind: int) -> str:
    return chr(int(text[3:5], 16)) if kind == 6 else text.replace(SPACE, " ")


@pytest.mark.parametrize("reply", [*REPLIES, "", "a a a a a a a a a a a a", "." * 40, "x\n"])
def test_pieces_are_distinct_tokens_that_spell_the_reply(reply: str) -> None:
    pieces = reply_pieces(reply)
    assert "".join(_decode(text, kind) for text, kind in pieces) == reply
    assert len({text for text, _ in pieces}) == len(pieces)
    assert all(not (SPACE + "assistant\n").endswith(text) for text, _ in pieces)


def test_words_are_tokens() -> None:
    assert [t for t, _ in reply_pieces(REPLIES[1])] == [
        "The",
        *(SPACE + w for w in "moon is made of cheese [1]".split()),
        ".",
    ]


@pytest.mark.parametrize("reply", ["\n", "t\n", f"a{SPACE}b"])
def test_replies_it_cannot_write(tmp_path: Path, reply: str) -> None:
    with pytest.raises(ValueError, match="cannot"):
        write_tiny_gguf(tmp_path / "m.gguf", reply)


def test_file_is_tiny_and_quick(tmp_path: Path) -> None:
    start = time.perf_counter()
    path = write_tiny_gguf(tmp_path / "m.gguf", REPLIES[0])
    assert time.perf_counter() - start < 0.5
    assert path.read_bytes()[:8] == b"GGUF\x03\x00\x00\x00"
    assert path.stat().st_size < 400_000


def _post(base: str, body: dict[str, Any]) -> dict[str, Any]:
    # a new connection per request: the server closes one after a streamed reply, although it says Keep-Alive
    r = httpx.post(f"{base}/chat/completions", json=body, headers={"Authorization": f"Bearer {KEY}"}, timeout=60)
    r.raise_for_status()
    data: dict[str, Any] = r.json()
    return data


def _stream(base: str, body: dict[str, Any]) -> tuple[str, str | None]:
    parts: list[str] = []
    finish: str | None = None
    headers = {"Authorization": f"Bearer {KEY}"}
    with httpx.stream("POST", f"{base}/chat/completions", json={**body, "stream": True}, headers=headers) as r:
        r.raise_for_status()
        for line in r.iter_lines():
            if not line.startswith("data: {"):
                continue
            for choice in json.loads(line.removeprefix("data: ")).get("choices", []):
                parts.append(choice["delta"].get("content") or "")
                finish = choice.get("finish_reason") or finish
    return "".join(parts), finish


@pytest.mark.parametrize(("reply", "seed"), [(REPLIES[0], 0), (REPLIES[1], 1), (REPLIES[2], 2)])
def test_llama_cpp_serves_the_scripted_reply(tmp_path: Path, reply: str, seed: int) -> None:
    pytest.importorskip("xllamacpp")
    model = write_tiny_gguf(tmp_path / "tiny.gguf", reply, seed=seed)
    body = {"model": "tiny", "messages": messages(), "temperature": 0}
    with serve(model, api_key=KEY) as base:
        assert base.startswith("http://127.0.0.1:")
        assert httpx.post(f"{base}/chat/completions", json=body, timeout=60).status_code == 401  # no key
        plain = _post(base, body)
        assert plain["choices"][0]["message"]["content"] == reply
        assert plain["choices"][0]["finish_reason"] == "stop"
        assert plain["usage"]["completion_tokens"] == len(reply_pieces(reply)) + 1  # and <|im_end|>
        assert plain["usage"]["prompt_tokens"] > 1000  # about a token a byte: few words are in the vocabulary
        assert _stream(base, body) == (reply, "stop")
        # another prompt, with an earlier assistant turn: the reply does not depend on it
        other = [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "No."}, *messages()[1:]]
        assert _post(base, {**body, "messages": other})["choices"][0]["message"]["content"] == reply


def test_the_openai_client_reads_it(tmp_path: Path) -> None:
    pytest.importorskip("xllamacpp")
    openai = pytest.importorskip("openai")
    model = write_tiny_gguf(tmp_path / "tiny.gguf", REPLIES[0])
    with serve(model, api_key=KEY) as base:
        # one client per call, with no retries to hide a dropped keep-alive connection
        plain = openai.OpenAI(base_url=base, api_key=KEY, max_retries=0).chat.completions.create(
            model="tiny", messages=messages(), temperature=0
        )
        assert plain.choices[0].message.content == REPLIES[0]
        stream = openai.OpenAI(base_url=base, api_key=KEY, max_retries=0).chat.completions.create(
            model="tiny", messages=messages(), temperature=0, stream=True
        )
        assert "".join(c.choices[0].delta.content or "" for c in stream if c.choices) == REPLIES[0]
