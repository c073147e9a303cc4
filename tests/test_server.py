"""The HTTP API over real HTTP (uvicorn on loopback): every endpoint, every bad request, streaming, chat,
twenty questions at once, the token rule, and keys that never leave the server."""

from __future__ import annotations

import json
import logging
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest

from rag.errors import ConfigError
from rag.pipeline import Pipeline
from rag.search.embed import LocalMiniLM
from rag.web.server import create_app
from rag.web.sessions import Sessions
from rag.web.webguard import check_bind
from tests.appserver import serving
from tests.conftest import KEY, PROJECT, SAMPLE_ID, cli_env, llm_settings, make_settings
from tests.openai_server import FakeOpenAI, Reply

Q = "How many North Korean soldiers does the Pentagon estimate have been sent to eastern Russia?"
TOKEN = "tok-" + "s3cr3t-server-token-0123456789"
ERROR_ONLY = {"error"}


@pytest.fixture(scope="module")
def pipeline(tmp_path_factory: pytest.TempPathFactory, embedder: LocalMiniLM) -> Pipeline:
    p = Pipeline.from_settings(make_settings(tmp_path_factory.mktemp("server")), embedder=embedder)
    p.ensure_corpus()
    return p


@pytest.fixture(scope="module")
def client(pipeline: Pipeline) -> Iterator[httpx.Client]:
    with serving(create_app(pipeline.settings, pipeline=pipeline)) as url, httpx.Client(base_url=url, timeout=60) as c:
        yield c


def events(response: httpx.Response) -> list[tuple[str, Any]]:
    """The (event, data) pairs of a server-sent-events body."""
    out = []
    for block in response.text.split("\n\n"):
        lines = dict(line.split(": ", 1) for line in block.splitlines() if ": " in line)
        if "event" in lines:
            out.append((lines["event"], json.loads(lines["data"])))
    return out


def assert_error(response: httpx.Response, status: int, *words: str) -> None:
    assert response.status_code == status, response.text
    data = response.json()
    assert set(data) == ERROR_ONLY and "\n" not in data["error"] and "Traceback" not in data["error"]
    for word in words:
        assert word in data["error"]


# -- endpoints -------------------------------------------------------------------------------------------


def test_ask_returns_the_answer_as_json(client: httpx.Client) -> None:
    r = client.post("/api/ask", json={"question": f"  {Q}  "})
    assert r.status_code == 200 and r.headers["content-type"] == "application/json"
    data = r.json()
    assert data["refused"] is False and data["as_of"] == "2024-10-29" and data["engine"] == "extractive"
    assert "10,000" in data["text"] and "[1]" in data["text"]
    first = data["citations"][0]
    assert first["article_id"] == SAMPLE_ID and "10,000" in first["quote"] and "hits" not in data
    assert data["question"] == Q


def test_filters_narrow_what_is_searched(client: httpx.Client) -> None:
    assert client.post("/api/ask", json={"question": Q, "since": "2025-01-01"}).json()["refused"] is True
    assert client.post("/api/ask", json={"question": Q, "outlets": ["nowhere.example"]}).json()["refused"] is True
    assert client.post("/api/ask", json={"question": Q, "until": "2024-10-29"}).json()["refused"] is False


BAD_BODIES: list[tuple[str, bytes, int, tuple[str, ...]]] = [
    ("empty question", b'{"question": ""}', 422, ("question", "empty")),
    ("blank question", b'{"question": " \\n\\t "}', 422, ("empty",)),
    ("20,000 characters", json.dumps({"question": "x" * 20_000}).encode(), 422, ("20,000", "2,000")),
    ("malformed JSON", b'{"question": "x",', 400, ("malformed JSON",)),
    ("not an object", b'["a question"]', 422, ("JSON object",)),
    ("no body", b"", 422, ("JSON object",)),
    ("question not text", b'{"question": 5}', 422, ("question",)),
    ("impossible date", b'{"question": "q", "since": "2024-13-01"}', 422, ("since", "impossible date")),
    ("wrong-way window", b'{"question": "q", "since": "2024-11-01", "until": "2024-10-01"}', 422, ("since is after",)),
    ("unknown field", b'{"question": "q", "questions": "q"}', 422, ("questions",)),
]


@pytest.mark.parametrize("path", ["/api/ask", "/api/ask/stream", "/api/chat/t1", "/api/chat/t1/stream"])
@pytest.mark.parametrize(("name", "body", "status", "words"), BAD_BODIES, ids=[b[0] for b in BAD_BODIES])
def test_bad_requests_get_one_json_error(
    client: httpx.Client, path: str, name: str, body: bytes, status: int, words: tuple[str, ...]
) -> None:
    r = client.post(path, content=body, headers={"content-type": "application/json"})
    assert_error(r, status, *words)


def test_an_oversized_body_is_refused(client: httpx.Client) -> None:
    assert_error(client.post("/api/ask", json={"question": "x" * 100_000}), 413, "KiB")
    chunked = (b"x" * 1024 for _ in range(100))  # no Content-Length: counted as it arrives
    assert_error(client.post("/api/ask", content=chunked, headers={"content-type": "application/json"}), 413, "KiB")
    as_text = client.post("/api/ask", content=b'{"question": "q"}', headers={"content-type": "text/plain"})
    assert_error(as_text, 422, "application/json")


def test_streamed_answer_is_text_events_then_the_answer(client: httpx.Client) -> None:
    r = client.post("/api/ask/stream", json={"question": Q})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/event-stream")
    got = events(r)
    kinds = [k for k, _ in got]
    assert kinds[-1] == "answer" and set(kinds[:-1]) == {"text"} and len(kinds) >= 2
    answer = got[-1][1]
    streamed = "".join(d["text"] for _, d in got[:-1])
    assert streamed.strip() == answer["text"] and "10,000" in streamed
    assert answer["citations"] and answer["as_of"] == "2024-10-29"


def test_chat_understands_follow_ups_and_can_be_forgotten(client: httpx.Client) -> None:
    first = client.post("/api/chat/convo-1", json={"question": Q}).json()
    assert "10,000" in first["text"] and first["turns"] == 1 and first["conversation_id"] == "convo-1"
    follow = client.post("/api/chat/convo-1", json={"question": "and how many were there last week?"}).json()
    assert "3,000" in follow["text"] and follow["turns"] == 2
    assert "North Korean soldiers" in follow["standalone_question"]
    other = client.post("/api/chat/convo-2/stream", json={"question": "and how many were there last week?"})
    assert events(other)[-1][1]["turns"] == 1  # a separate conversation: nothing to carry over
    assert client.delete("/api/chat/convo-1").status_code == 204
    assert_error(client.delete("/api/chat/convo-1"), 404, "convo-1")
    assert client.post("/api/chat/convo-1", json={"question": "and last week?"}).json()["turns"] == 1
    assert_error(client.post("/api/chat/bad%20id!", json={"question": Q}), 422, "conversation_id")


def test_brief_for_the_newest_day_and_a_given_date(client: httpx.Client) -> None:
    newest = client.get("/api/brief")
    assert newest.status_code == 200
    data = newest.json()
    assert data["date"] == "2024-10-29" and data["stories"] and data["citations"]
    assert all("centroid" not in s for s in data["stories"])
    # The page's Briefing tab shows the HTML `rag brief --format html` writes, without the page around it.
    assert data["html"].startswith("<h1>Briefing — 29 Oct 2024</h1>") and "<nav class=toc" in data["html"]
    assert "<html" not in data["html"] and data["stories"][0]["signals"]["outlets"] == 1
    assert any("Kursk" in s for story in data["stories"] for s in story["sentences"])
    assert {(m["before"], m["after"]) for story in data["stories"] for m in story["moved"]} == {("3,000", "10,000")}
    assert client.get("/api/brief", params={"date": "2024-10-29"}).json()["date"] == "2024-10-29"
    empty = client.get("/api/brief", params={"date": "2020-01-01"})
    assert_error(empty, 404, "no articles published on 2020-01-01", "the newest day with articles is 2024-10-29")
    assert "--" not in empty.json()["error"] and "rag " not in empty.json()["error"]  # no CLI flags or commands
    assert_error(client.get("/api/brief", params={"date": "2024-13-01"}), 422, "impossible date")
    assert_error(client.get("/api/brief", params={"date": "yesterday"}), 422, "YYYY-MM-DD")


def test_article_with_the_span_to_highlight(client: httpx.Client) -> None:
    cited = client.post("/api/ask", json={"question": Q}).json()["citations"][0]
    r = client.get(f"/api/articles/{SAMPLE_ID}", params={"start": cited["start"], "end": cited["end"]})
    assert r.status_code == 200
    a = r.json()
    assert a["id"] == SAMPLE_ID and a["published"] == "2024-10-29" and a["outlet"] == ""
    assert a["highlight"]["quote"] == cited["quote"] == a["text"][cited["start"] : cited["end"]]
    assert client.get(f"/api/articles/{SAMPLE_ID}").json()["highlight"] is None
    size = len(a["text"])
    assert_error(client.get("/api/articles/no-such-article"), 404, "no-such-article")
    assert_error(client.get(f"/api/articles/{SAMPLE_ID}", params={"start": 5}), 400, "both start and end")
    assert_error(client.get(f"/api/articles/{SAMPLE_ID}", params={"start": 5, "end": size + 1}), 400, "not inside")
    assert_error(client.get(f"/api/articles/{SAMPLE_ID}", params={"start": 9, "end": 9}), 400, "not inside")
    assert_error(client.get(f"/api/articles/{SAMPLE_ID}", params={"start": -1, "end": 4}), 422, "start")
    assert_error(client.get(f"/api/articles/{SAMPLE_ID}", params={"start": "x", "end": 4}), 422, "start")


def test_health_docs_page_and_unknown_paths(client: httpx.Client) -> None:
    health = client.get("/api/health").json()
    assert health["status"] == "ok" and health["articles"] == 1 and health["chunks"] > 0
    assert health["engine"] == "extractive" and health["newest"] == "2024-10-29" and health["store"] == "embedded"
    schema = client.get("/openapi.json").json()
    assert {"/api/ask", "/api/ask/stream", "/api/chat/{conversation_id}", "/api/brief", "/api/health"} <= set(
        schema["paths"]
    )
    assert "/api/articles/{article_id}" in schema["paths"]
    docs = client.get("/docs")  # Swagger UI from the installed package: works offline, nothing from elsewhere
    assert docs.status_code == 200 and "/docs/assets/swagger-ui-bundle.js" in docs.text and "://" not in docs.text
    assert "script-src 'self' 'unsafe-inline'" in docs.headers["content-security-policy"]
    for asset in ("swagger-ui-bundle.js", "swagger-ui.css"):
        assert client.get(f"/docs/assets/{asset}").status_code == 200
    assert client.get("/redoc").status_code == 404
    page = client.get("/")
    assert page.status_code == 200 and "News desk" in page.text and "/static/app.js" in page.text
    csp = page.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "http" not in csp
    for name in ("app.js", "style.css"):
        served = client.get(f"/static/{name}")
        assert served.status_code == 200 and "://" not in served.text  # nothing loaded from elsewhere
    assert "://" not in page.text and "innerHTML" not in client.get("/static/app.js").text
    assert_error(client.get("/api/nothing"), 404, "/api/nothing")
    assert_error(client.get("/api/ask"), 405, "GET")
    assert_error(client.get("/static/nothing.js"), 404)
    assert_error(client.get("/api/health", headers={"host": "attacker.example"}), 400, "localhost only")


def test_twenty_concurrent_questions_are_all_answered(client: httpx.Client) -> None:
    questions = [
        Q,
        "What did Trudeau and Yoon discuss?",
        "Where have North Korean soldiers been deployed?",
        "Who won the 2024 World Series?",
        "What did Putin say about North Korean troops?",
    ] * 4

    def one(i_q: tuple[int, str]) -> tuple[int, dict[str, Any]]:
        i, q = i_q
        if i % 2:
            r = client.post("/api/ask/stream", json={"question": q})
            return r.status_code, events(r)[-1][1]
        r = client.post("/api/ask", json={"question": q})
        return r.status_code, r.json()

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=20) as pool:
        results = list(pool.map(one, enumerate(questions)))
    elapsed = time.perf_counter() - started
    assert [status for status, _ in results] == [200] * 20, results
    for q, (_, answer) in zip(questions, results, strict=True):
        assert answer["question"] == q and answer["text"]
        assert answer["refused"] == (q == "Who won the 2024 World Series?")
    assert "10,000" in results[0][1]["text"]
    print(f"20 concurrent questions answered in {elapsed:.2f}s")


def test_sessions_are_bounded_and_expire() -> None:
    now = [0.0]
    made: list[object] = []

    def make() -> Any:
        made.append(object())
        return made[-1]

    sessions = Sessions(make, max_sessions=2, ttl=60, clock=lambda: now[0])
    a = sessions.get("a").conversation
    sessions.get("b")
    assert sessions.get("a").conversation is a  # "a" is now the most recently used
    sessions.get("c")  # evicts "b"
    assert len(sessions) == 2 and sessions.delete("a") and not sessions.delete("b")
    now[0] = 61.0
    assert len(sessions) == 0 and sessions.get("c").conversation is not made[2]


# -- the LLM path: streaming and failures over a loopback OpenAI server --------------------------------


@pytest.fixture
def llm_client(tmp_path: Path, fake_openai: FakeOpenAI, embedder: LocalMiniLM) -> Iterator[httpx.Client]:
    settings = llm_settings(tmp_path, fake_openai, max_retries=0)
    p = Pipeline.from_settings(settings, embedder=embedder)
    p.ensure_corpus()
    with serving(create_app(settings, pipeline=p)) as url, httpx.Client(base_url=url, timeout=60) as c:
        yield c


def test_llm_answer_streams_sentence_by_sentence(llm_client: httpx.Client, fake_openai: FakeOpenAI) -> None:
    fake_openai.queue(
        Reply(
            "The Pentagon estimates about 10,000 North Korean soldiers are in eastern Russia [1]. "
            "That is up from an earlier estimate of 3,000 troops [1]. They are there for training [1].",
            chunk_size=4,
        )
    )
    got = events(llm_client.post("/api/ask/stream", json={"question": Q}))
    texts = [d["text"] for k, d in got if k == "text"]
    assert len(texts) == 3 and [k for k, _ in got][-1] == "answer"
    answer = got[-1][1]
    assert answer["engine"] == "llm" and answer["text"] == "".join(texts).strip() and answer["citations"]
    assert texts[0].startswith("The Pentagon estimates about 10,000")


def test_llm_failure_is_an_error_event_or_502_without_the_key(
    llm_client: httpx.Client, fake_openai: FakeOpenAI
) -> None:
    fake_openai.default = Reply(status=503)
    got = events(llm_client.post("/api/ask/stream", json={"question": Q}))
    assert [k for k, _ in got] == ["error"]
    assert got[0][1]["status"] == 502 and got[0][1]["error"].startswith("the LLM at")
    plain = llm_client.post("/api/ask", json={"question": Q})
    assert_error(plain, 502, "HTTP 503")
    assert KEY not in plain.text + json.dumps(got)


# -- security --------------------------------------------------------------------------------------------


def test_serving_beyond_loopback_needs_a_token(tmp_path: Path) -> None:
    bare = make_settings(tmp_path)
    for host in ("127.0.0.1", "localhost", "::1", "127.0.0.2"):
        check_bind(host, bare)
    for host in ("0.0.0.0", "::", "192.168.1.5", "example.com"):
        with pytest.raises(ConfigError, match="RAG_SERVER_TOKEN"):
            check_bind(host, bare)
    check_bind("0.0.0.0", make_settings(tmp_path, server_token=TOKEN))
    with pytest.raises(ConfigError, match="too short"):
        check_bind("127.0.0.1", make_settings(tmp_path, server_token="short"))
    with_token = make_settings(tmp_path, server_token=TOKEN)
    assert TOKEN not in repr(with_token) and TOKEN not in str(with_token.display())  # `rag config` masks it


def test_rag_serve_refuses_a_public_address_without_a_token(tmp_path: Path) -> None:
    from tests.conftest import run_cli

    proc = run_cli(tmp_path, "serve", "--host", "0.0.0.0", timeout=60)
    assert proc.returncode == 2 and "RAG_SERVER_TOKEN" in proc.stderr and "Traceback" not in proc.stderr


def test_with_a_token_every_api_request_needs_it(pipeline: Pipeline, tmp_path: Path) -> None:
    settings = pipeline.settings.replace(server_token=TOKEN)
    with serving(create_app(settings, pipeline=pipeline)) as url, httpx.Client(base_url=url, timeout=60) as c:
        assert_error(c.get("/api/health"), 401, "Authorization: Bearer")
        assert c.get("/api/health").headers["www-authenticate"] == "Bearer"
        assert_error(c.post("/api/ask", json={"question": Q}), 401)
        assert_error(c.get("/api/health", headers={"Authorization": "Bearer wrong-token-0123456789"}), 401)
        assert_error(c.get("/api/health", headers={"Authorization": TOKEN}), 401)
        ok = {"Authorization": f"Bearer {TOKEN}"}
        assert c.get("/api/health", headers=ok).status_code == 200
        assert c.post("/api/ask", json={"question": Q}, headers=ok).json()["refused"] is False
        page = c.get("/")  # the page itself holds nothing secret: it asks the user for the token
        assert page.status_code == 200 and TOKEN not in page.text
        assert c.get("/api/health", headers={**ok, "host": "news.example.org"}).status_code == 200
        schema = c.get("/openapi.json").json()
        assert "HTTPBearer" in schema["components"]["securitySchemes"]


class _Leaky:
    """A generator that fails with the key in its message (as a careless library might)."""

    name = "leaky"

    def generate(self, *args: Any, **kwargs: Any) -> Any:
        raise RuntimeError(f"boom with {KEY}")


def test_keys_never_reach_responses_pages_or_logs(
    tmp_path: Path, fake_openai: FakeOpenAI, embedder: LocalMiniLM, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    settings = llm_settings(tmp_path, fake_openai, max_retries=0, server_token=TOKEN)
    p = Pipeline.from_settings(settings, embedder=embedder)
    p.ensure_corpus()
    fake_openai.default = Reply("About 10,000 North Korean soldiers are in eastern Russia [1].")
    ok = {"Authorization": f"Bearer {TOKEN}"}
    seen: list[str] = []
    with serving(create_app(settings, pipeline=p)) as url, httpx.Client(base_url=url, timeout=60) as c:
        for method, path, body in [
            ("GET", "/", None),
            ("GET", "/static/app.js", None),
            ("GET", "/openapi.json", None),
            ("GET", "/docs", None),
            ("GET", "/api/health", None),
            ("POST", "/api/ask", {"question": Q}),
            ("POST", "/api/ask/stream", {"question": Q}),
            ("POST", "/api/chat/k1", {"question": Q}),
            ("POST", "/api/ask", {"question": ""}),
            ("GET", f"/api/articles/{SAMPLE_ID}?start=0&end=10", None),
        ]:
            r = c.request(method, path, json=body, headers=ok)
            assert r.status_code < 500, (path, r.text)
            seen.append(r.text + repr(r.headers))
        fake_openai.default = Reply(status=401)
        seen.append(c.post("/api/ask", json={"question": Q}, headers=ok).text)
    leaky = Pipeline.from_settings(settings, embedder=embedder, generator=_Leaky())
    with serving(create_app(settings, pipeline=leaky)) as url, httpx.Client(base_url=url, timeout=60) as c:
        r = c.post("/api/ask", json={"question": Q}, headers=ok)
        assert_error(r, 500, "internal error")
        seen.append(r.text)
    everything = "\n".join(seen) + caplog.text
    assert KEY not in everything and TOKEN not in everything
    assert "boom with ****" in caplog.text  # the failure is logged, the key redacted


# -- `rag serve`, as a user runs it ----------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.slow
def test_rag_serve_serves_the_page_and_the_api(tmp_path: Path) -> None:
    port = _free_port()
    (tmp_path / "home").mkdir()
    proc = subprocess.Popen(
        [sys.executable, "-m", "rag", "serve", "--port", str(port)],
        env=cli_env(tmp_path, RAG_SERVER_TOKEN=TOKEN),
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        ok = {"Authorization": f"Bearer {TOKEN}"}
        deadline = time.monotonic() + 90
        while True:
            assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
            try:
                if httpx.get(f"http://127.0.0.1:{port}/api/health", headers=ok, timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "rag serve did not come up"
            time.sleep(0.3)
        r = httpx.post(f"http://127.0.0.1:{port}/api/ask", json={"question": Q}, headers=ok, timeout=60)
        assert r.status_code == 200 and "10,000" in r.json()["text"]
        assert "<title>News desk</title>" in httpx.get(f"http://127.0.0.1:{port}/", timeout=10).text
    finally:
        proc.terminate()
        stdout, stderr = proc.communicate(timeout=30)
    assert "the store was empty" in stderr and f"http://127.0.0.1:{port}/" in stderr
    assert TOKEN not in stdout + stderr and "POST /api/ask" in stdout  # the access log shows requests, not the token


def test_the_web_files_ship_inside_the_package() -> None:
    from rag.web.server import WEB_DIR

    assert WEB_DIR.parent == PROJECT / "rag" / "web"
    assert {"index.html", "app.js", "style.css"} <= {p.name for p in WEB_DIR.iterdir()}
