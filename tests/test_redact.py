"""Secrets never leave in any form: as is, another case, an 8+ character prefix, base64, URL-encoded, URL
credentials; redacted after a message is assembled and before it is cut short."""

from __future__ import annotations

import base64
import urllib.parse

import openai
import pytest

from rag.provider import provider_error
from rag.settings import Settings

KEY = "sk-test-SECRET-0123456789abcdef"
SLASHY = "sk/+=SECRET:0123456789"


@pytest.mark.parametrize(
    "form",
    [
        KEY,
        KEY.upper(),
        KEY.lower(),
        KEY[:8],
        KEY[:15] + "…",
        base64.b64encode(KEY.encode()).decode(),
        base64.urlsafe_b64encode(KEY.encode()).decode(),
        "Basic " + base64.b64encode(f"user:{KEY}".encode()).decode(),
    ],
)
def test_every_form_of_the_key_is_redacted(form: str) -> None:
    settings = Settings.from_env(env={}, openai_api_key=KEY)
    out = settings.redact(f"before {form} after")
    assert KEY[:8].lower() not in out.lower()
    assert base64.b64encode(KEY.encode()).decode()[:12] not in out
    assert out.startswith("before ") and out.endswith(" after")


def test_url_encoded_key_is_redacted() -> None:
    settings = Settings.from_env(env={}, openai_api_key=SLASHY)
    for form in (urllib.parse.quote(SLASHY, safe=""), urllib.parse.quote_plus(SLASHY)):
        assert "SECRET" not in settings.redact(f"?key={form}&x=1")


def test_url_credentials_are_redacted_in_text_and_in_config() -> None:
    settings = Settings.from_env(env={}, openai_base_url="https://alice:hunter2-long-pass@llm.example/v1")
    assert (
        settings.redact("at https://alice:hunter2-long-pass@llm.example/v1 now") == "at https://****@llm.example/v1 now"
    )
    assert "hunter2-long-pass" not in settings.redact("the password hunter2-long-pass leaked")
    shown = dict((env, value) for env, value, _, _ in settings.display())
    assert shown["OPENAI_BASE_URL"] == "https://****@llm.example/v1"


def test_errors_are_redacted_before_they_are_cut_short() -> None:
    # The server echoes the key far past 200 characters, and in capitals: neither survives.
    settings = Settings.from_env(
        env={}, openai_api_key=KEY, openai_base_url="http://bob:hunter2-long-pass@127.0.0.1:9/v1"
    )
    body = {"error": {"message": "x" * 190 + " bad key " + KEY.upper() + " " + KEY[:10]}}
    response = openai.APIStatusError(
        "bad",
        response=__import__("httpx").Response(401, request=__import__("httpx").Request("POST", "http://x")),
        body=body,
    )
    message = str(provider_error(response, settings))
    assert "SK-TEST-" not in message and KEY[:8] not in message and "hunter2" not in message and "bob" not in message
    assert "HTTP 401" in message and "\n" not in message
