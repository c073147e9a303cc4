"""The empty page's API over real HTTP: what the store holds with example questions (``GET /api/status``)."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator

import httpx
import pytest

from rag.embed import LocalMiniLM
from rag.examples import candidates
from rag.load import load_paths
from rag.pipeline import Pipeline
from rag.server import create_app
from rag.status import status
from rag.types import Article
from tests.appserver import serving
from tests.conftest import PROJECT, SAMPLE_ID, make_settings
from tests.test_server import TOKEN, assert_error

FERRY = Article(
    id="harbour-ferry",
    title="Harbour council approves ferry terminal",
    outlet="Harbour Gazette",
    published=dt.date(2024, 10, 30),
    text="The Harbour Council approved 40 million dollars for the Pier Street ferry terminal on Monday, ending a "
    "decade of debate. About 4,000 passengers are expected to use the terminal every day once it opens in March. "
    "Work starts in January and should take two years, the council said.",
)
LIBRARY = Article(
    id="library-reopens",
    title="Central library reopens",
    outlet="Daily Planet",
    published=dt.date(2024, 10, 31),
    text="Mayor Ana Ruiz reopened the central library on Saturday after a two-year renovation that added a "
    "children's wing. More than 1,200 new library cards were issued by the early afternoon of the first day. "
    "The renovation cost 23 million euros, most of it paid by the city.",
)


@pytest.fixture(scope="module")
def held(tmp_path_factory: pytest.TempPathFactory, embedder: LocalMiniLM) -> Pipeline:
    """A small real store: the sample article and two more, from three days."""
    p = Pipeline.from_settings(make_settings(tmp_path_factory.mktemp("intake")), embedder=embedder)
    p.ensure_corpus()
    p.ingest_items([FERRY, LIBRARY], sample=())
    return p


@pytest.fixture(scope="module")
def client(held: Pipeline) -> Iterator[httpx.Client]:
    with serving(create_app(held.settings, pipeline=held)) as url, httpx.Client(base_url=url, timeout=60) as c:
        yield c


# -- what the store holds --------------------------------------------------------------------------------


def test_status_is_rag_status_with_example_questions_each_answered_from_its_article(
    client: httpx.Client, held: Pipeline
) -> None:
    data = client.get("/api/status").json()
    examples = data.pop("examples")
    assert data == json.loads(json.dumps(status(held.store)))  # the dict `rag status --json` prints
    assert data["articles"] == 3 and (data["first"], data["last"]) == ("2024-10-29", "2024-10-31")
    assert data["outlets"] == {"Daily Planet": 1, "Harbour Gazette": 1, "": 1}
    assert data["newest"]["id"] == LIBRARY.id and data["fingerprint"]["embedder"]
    sample = next(a for a in load_paths([PROJECT / "corpus"]) if isinstance(a, Article))
    drawn = {q: a.id for a in (sample, FERRY, LIBRARY) for q in candidates(a)}
    # Newest article first, one question from each, every one a real question about its own article.
    assert [drawn[q] for q in examples] == [LIBRARY.id, FERRY.id, SAMPLE_ID], examples
    assert examples[0] == "Who reopened the central library on Saturday?"
    for question in examples:
        answer = client.post("/api/ask", json={"question": question}).json()
        assert not answer["refused"], question
        assert drawn[question] in {c["article_id"] for c in answer["citations"]}, question
    assert client.get("/api/status").json()["examples"] == examples


def test_status_needs_the_token(held: Pipeline) -> None:
    settings = held.settings.replace(server_token=TOKEN)
    with serving(create_app(settings, pipeline=held)) as url, httpx.Client(base_url=url, timeout=60) as c:
        assert_error(c.get("/api/status"), 401, "Authorization: Bearer")
        ok = {"Authorization": f"Bearer {TOKEN}"}
        assert c.get("/api/status", headers=ok).json()["articles"] == 3
