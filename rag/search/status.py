"""What a store holds, as ``rag status --json`` prints it and ``GET /api/status`` serves it: where it is, its
collection, counts, date range, outlets with their article counts, the newest article and the index fingerprint."""

from __future__ import annotations

from typing import Any

from rag.search.store import Store


def status(store: Store) -> dict[str, Any]:
    """The store's holdings (from article metadata alone: no text is read) with its location and fingerprint."""
    held = store.holdings()
    return {
        "location": store.location,
        "collection": store.settings.collection,
        **held.to_dict(),
        "fingerprint": store.fingerprint,
    }
