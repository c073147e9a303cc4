"""Secrets out of text: an API key or token in any form it travels in (as is, in another case, cut to a
prefix of 8+ characters, base64, URL-encoded) and credentials inside URLs (``https://user:pass@host``).

Applied to whole texts after they are assembled and before they are cut short, at every way out: answers,
JSON, server-sent events, errors, ``rag config`` and logs.
"""

from __future__ import annotations

import base64
import re
import urllib.parse
from collections.abc import Iterable
from functools import lru_cache

MASK = "****"
MIN_PREFIX = 8  #: a prefix of a secret this long is as good as the secret to someone guessing the rest
_URL_CREDENTIALS = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)[^\s/@:]*(?::[^\s/@]*)?@")


def strip_credentials(url: str) -> str:
    """``url`` with any ``user:pass@`` replaced by ``****@``."""
    return _URL_CREDENTIALS.sub(lambda m: m.group(1) + MASK + "@", url)


def url_secrets(url: str) -> list[str]:
    """The password (and user:password) inside a URL, as secrets to redact wherever they appear."""
    try:
        parts = urllib.parse.urlsplit(url)
    except ValueError:
        return []
    out = []
    if parts.password:
        out += [parts.password, urllib.parse.unquote(parts.password)]
        if parts.username:
            out.append(f"{parts.username}:{parts.password}")
    return [s for s in out if len(s) >= MIN_PREFIX]


@lru_cache(maxsize=64)
def _patterns(secret: str) -> tuple[re.Pattern[str], ...]:
    """Regexes matching ``secret`` in its travelling forms."""
    raw = secret.encode()
    exact: set[str] = set()
    for quoted in {urllib.parse.quote(secret, safe=""), urllib.parse.quote_plus(secret)} - {secret}:
        exact.add(quoted)
    for encode in (base64.b64encode, base64.urlsafe_b64encode):
        for pad in range(3):
            # The secret inside a longer base64 blob (e.g. "Basic " + base64(user:key)) is encoded at one of
            # three alignments; keep the characters that depend on the secret alone.
            blob = encode(b"\0" * pad + raw).decode().rstrip("=")
            skip = -(-pad * 4 // 3)
            keep = ((pad + len(raw)) // 3) * 4
            core = blob[skip:keep]
            if len(core) >= MIN_PREFIX:
                exact.add(core)
    patterns = [re.compile("|".join(re.escape(e) for e in sorted(exact, key=len, reverse=True)))] if exact else []
    # The secret itself, any case, or any prefix of at least MIN_PREFIX characters of it.
    head = re.escape(secret[:MIN_PREFIX])
    tail = "".join(f"(?:{re.escape(c)}" for c in secret[MIN_PREFIX:]) + ")?" * len(secret[MIN_PREFIX:])
    patterns.append(re.compile(head + tail, re.IGNORECASE))
    return tuple(patterns)


def redact(text: str, secrets: Iterable[str]) -> str:
    """``text`` with every form of every secret (of 8+ characters) and URL credentials masked."""
    text = strip_credentials(text)
    for secret in sorted({s for s in secrets if s and len(s) >= MIN_PREFIX}, key=len, reverse=True):
        for pattern in _patterns(secret):
            text = pattern.sub(MASK, text)
    return text
