"""What a newcomer meets first, driven as a user would: status, outlet names, typos, front matter, --since."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from rag.dates import parse_date, parse_since
from tests.conftest import SAMPLE_QUESTION, article_md, run_cli, write

BRIDGE = "The council approved 12,000 pounds to repair the old river bridge in Portmere, the mayor said on Monday."
FERRY = "The island ferry service was cancelled for the winter after storms damaged the pier, the port said."
QUAKE = "A small earthquake shook Portmere overnight, cracking walls in the harbour district, officials said."


@pytest.fixture(scope="module")
def desk(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A store with three articles from two outlets, ingested through the CLI."""
    tmp = tmp_path_factory.mktemp("desk")
    write(tmp / "in" / "bridge.md", article_md("Bridge repairs", BRIDGE, "2024-10-01", "usatoday.com"))
    write(tmp / "in" / "ferry.md", article_md("Ferry cancelled", FERRY, "2024-10-20", "usatoday.com"))
    write(tmp / "in" / "quake.md", article_md("Quake in Portmere", QUAKE, "2024-10-12", "cnn.com"))
    proc = run_cli(tmp, "ingest", "--no-progress", "in")
    assert proc.returncode == 0, proc.stderr
    return tmp


def test_status_says_what_the_store_holds(desk: Path) -> None:
    data = json.loads(run_cli(desk, "status", "--json").stdout)
    assert (data["articles"], data["first"], data["last"]) == (3, "2024-10-01", "2024-10-20")
    assert data["outlets"] == {"usatoday.com": 2, "cnn.com": 1}
    assert data["newest"]["id"] == "ferry" and data["newest"]["published"] == "2024-10-20"
    assert data["chunks"] >= 3 and data["fingerprint"]["embedder"]
    text = run_cli(desk, "status").stdout
    assert "2024-10-01 to 2024-10-20" in text and "usatoday.com (2), cnn.com (1)" in text
    assert "2024-10-20 Ferry cancelled — usatoday.com (ferry)" in text


def test_an_outlet_is_matched_by_its_name_or_refused_with_the_known_ones(desk: Path) -> None:
    def passages(*flags: str) -> set[tuple[str, str]]:
        proc = run_cli(desk, "ask", "--json", *flags, "Where did an earthquake crack walls?")
        assert proc.returncode == 0, proc.stderr
        data = json.loads(proc.stdout)
        return {(c["article_id"], c["outlet"]) for c in data["citations"] + data["closest"]}

    assert ("quake", "cnn.com") in passages()
    assert {outlet for _, outlet in passages("--outlet", "usatoday")} == {"usatoday.com"}
    wrong = run_cli(desk, "ask", "--outlet", "nytimes", "What happened to the ferry?")
    assert wrong.returncode == 2 and wrong.stdout == ""
    assert wrong.stderr == "rag: error: no outlet 'nytimes' in the store; known outlets: usatoday.com, cnn.com\n"


def test_brief_since_a_span_on_an_older_store_says_how_old_the_news_is(desk: Path) -> None:
    proc = run_cli(desk, "brief", "--no-save", "--since", "24h")
    age = (dt.date.today() - dt.date(2024, 10, 20)).days
    assert proc.returncode == 1 and proc.stdout == ""
    assert f"the newest article is from 2024-10-20, {age} days ago; try --since {age + 1}d" in proc.stderr
    bad = run_cli(desk, "brief", "--since", "yesterday")
    assert bad.returncode == 2 and "24h" in bad.stderr and "3d" in bad.stderr
    assert "24h" in run_cli(desk, "brief", "--help").stdout


def test_a_mistyped_command_gets_the_closest_one(tmp_path: Path) -> None:
    proc = run_cli(tmp_path, "aks", "a question")
    assert proc.returncode == 2 and "unknown command 'aks'; did you mean `ask`?" in proc.stderr
    assert "did you mean" not in run_cli(tmp_path, "zzzzzz").stderr


def test_status_and_config_explain_themselves(tmp_path: Path) -> None:
    status = run_cli(tmp_path, "status", "--help").stdout
    assert "the outlets with their article counts" in status and "print the same as JSON" in status
    config = run_cli(tmp_path, "config", "--help").stdout
    assert "where it came from" in config and "print the settings as JSON" in config
    empty = run_cli(tmp_path, "status")
    assert empty.returncode == 0 and "articles     0" in empty.stdout and "rag ingest PATH" in empty.stdout


def test_an_unquoted_title_with_a_colon_is_refused_with_the_fix(tmp_path: Path) -> None:
    body = "The council approved the budget for the coming year after a long debate, the mayor said."
    write(tmp_path / "in" / "a.md", f"---\ntitle: Breaking: budget passes\npublished: 2024-10-01\n---\n{body}\n")
    proc = run_cli(tmp_path, "ingest", "--no-progress", "in")
    assert proc.returncode == 3
    assert 'the title contains a colon; put it in quotes: title: "Breaking: budget passes"' in proc.stderr


def test_chat_says_how_current_each_answer_is(tmp_path: Path) -> None:
    proc = run_cli(tmp_path, "chat", input=f"{SAMPLE_QUESTION}\nWhere have North Korean soldiers been deployed?\n")
    assert proc.returncode == 0, proc.stderr
    answers = proc.stdout.split("rag> ")[1:]
    assert len(answers) == 2
    for answer in answers:
        assert "As of 2024-10-29 (newest cited article)." in answer


def test_one_date_parser_for_files_flags_and_the_api() -> None:
    assert parse_date("2024-10-29") == parse_date("2024/10/29") == parse_date("2024-10-29T08:00:00Z")
    assert parse_date(dt.datetime(2024, 10, 29, 8)) == dt.date(2024, 10, 29)
    with pytest.raises(ValueError, match="impossible date"):
        parse_date("2024-02-30")
    with pytest.raises(ValueError, match="use YYYY-MM-DD"):
        parse_date("29 Oct")
    today = dt.date(2024, 10, 29)
    assert parse_since("24h", today=today) == dt.date(2024, 10, 28)
    assert parse_since("36h", today=today) == parse_since("2d", today=today) == dt.date(2024, 10, 27)
    assert parse_since("1w", today=today) == dt.date(2024, 10, 22)
    with pytest.raises(ValueError, match="24h, 36h, 3d, 2w"):
        parse_since("soon", today=today)


@pytest.mark.slow  # over 20 s: six CLI runs, the first loading the sample
def test_the_bundled_sample_lives_only_until_the_users_own_articles_arrive(tmp_path: Path) -> None:
    first = run_cli(tmp_path, "ask", "--json", "Who won the 2024 Nobel Peace Prize?")
    assert first.returncode == 0, first.stderr
    assert "(the store was empty: loaded the bundled sample" in first.stderr  # the command says so
    refused = json.loads(first.stdout)
    assert refused["refused"] and any("rag ingest FOLDER" in n for n in refused["notes"])
    write(tmp_path / "mine" / "bridge.md", article_md("Bridge repairs", BRIDGE, "2024-10-01", "usatoday.com"))
    ingest = run_cli(tmp_path, "ingest", "--no-progress", "--json", "mine")
    assert ingest.returncode == 0, ingest.stderr
    report = json.loads(ingest.stdout)
    assert report["added"] == 1 and report["sample_removed"] == 1 and report["store"]["articles"] == 1
    status = json.loads(run_cli(tmp_path, "status", "--json").stdout)
    assert status["newest"]["id"] == "bridge" and status["articles"] == 1
    own = json.loads(run_cli(tmp_path, "ask", "--json", "Who won the 2024 Nobel Peace Prize?").stdout)
    assert own["refused"] and not any("rag ingest FOLDER" in n for n in own["notes"])
    # Emptied by a prune, the store does not get the sample back unasked.
    (tmp_path / "mine" / "bridge.md").unlink()
    (tmp_path / "mine" / "note.txt").write_text("x", encoding="utf-8")
    assert run_cli(tmp_path, "ingest", "--no-progress", "--prune", "mine").returncode in (0, 3)
    empty = run_cli(tmp_path, "ask", "What did the council approve?")
    assert empty.returncode != 0 and "is empty (its articles were removed)" in empty.stderr
    assert "rag ingest PATH" in empty.stderr
