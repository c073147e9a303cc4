"""Loading: every supported format, stable ids, and every kind of bad input skipped with a reason."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from rag.ingest.load import LoadError as _LoadError
from rag.ingest.load import Skipped, load_paths, parse_date
from rag.types import Article
from tests.conftest import PROJECT, SAMPLE_ID, article_md, write

BODY = "The city council approved the new budget on Monday after a long debate. " * 3

HTML = """<html><head><title>Budget passes | Daily Planet</title>
<meta property="og:site_name" content="Daily Planet">
<meta property="article:published_time" content="2024-10-28T09:00:00Z"></head>
<body><nav>Home | World | Sport</nav><article><h1>Budget passes</h1>
<p>The city council approved the new budget on Monday after a debate that lasted eleven hours.</p>
<p>Council members voted seven to two in favour, with the mayor calling the result a fair compromise.</p>
<p>The budget includes money for two new libraries and repairs to the harbour bridge.</p>
</article><footer>Copyright Daily Planet. Subscribe now!</footer></body></html>"""


def load(*paths: Path) -> tuple[list[Article], list[Skipped]]:
    items = list(load_paths(paths))
    return [i for i in items if isinstance(i, Article)], [i for i in items if isinstance(i, Skipped)]


def test_shipped_corpus_has_the_sample_article_with_its_date_and_no_invented_outlet() -> None:
    articles, skipped = load(PROJECT / "corpus")
    assert not skipped
    [a] = articles
    assert a.id == SAMPLE_ID
    assert a.published == dt.date(2024, 10, 29)
    assert a.outlet == "" and a.url == ""
    assert "approximately 10,000 North Korean soldiers" in a.text


def test_markdown_front_matter_fields(tmp_path: Path) -> None:
    write(
        tmp_path / "a.md",
        article_md("Budget passes", BODY, url="https://example.com/budget", authors="[A. Writer]"),
    )
    [a], _ = load(tmp_path)
    assert (a.title, a.outlet, a.published) == ("Budget passes", "Test Wire", dt.date(2024, 10, 30))
    assert a.url == "https://example.com/budget" and a.authors == ("A. Writer",)
    assert a.id.startswith("u-")  # derived from the URL: stable wherever the file lives


def test_ids_are_stable_across_runs_and_locations(tmp_path: Path) -> None:
    write(tmp_path / "x" / "story.md", article_md("T", BODY))
    first, _ = load(tmp_path / "x")
    again, _ = load(tmp_path / "x")
    assert first[0].id == again[0].id == "story"


def test_jsonl_records_like_the_development_set(tmp_path: Path) -> None:
    record = {
        "id": "rtqa-1",
        "url": "https://www.usatoday.com/story/x",
        "title": "A story",
        "published": "2024/10/03",
        "authors": ["Jane Roe"],
        "text": BODY,
    }
    write(tmp_path / "a.jsonl", json.dumps(record) + "\n\n" + "{not json\n" + json.dumps([1, 2]) + "\n")
    articles, skipped = load(tmp_path / "a.jsonl")
    [a] = articles
    assert (a.id, a.published, a.outlet) == ("rtqa-1", dt.date(2024, 10, 3), "usatoday.com")
    assert [s.source.rsplit(":", 1)[1] for s in skipped] == ["3", "4"]
    assert "invalid JSON" in skipped[0].reason and "JSON object" in skipped[1].reason


def test_saved_html_main_text_without_boilerplate(tmp_path: Path) -> None:
    write(tmp_path / "page.html", HTML)
    [a], skipped = load(tmp_path)
    assert not skipped
    assert "seven to two" in a.text and "harbour bridge" in a.text
    assert "Subscribe now" not in a.text and "Home | World" not in a.text
    assert a.title.startswith("Budget passes") and a.outlet == "Daily Planet"
    assert a.published == dt.date(2024, 10, 28)


@pytest.mark.parametrize(
    ("name", "content", "reason"),
    [
        ("empty.md", "", "empty file"),
        ("blank.txt", "   \n\n", "empty file"),
        ("binary.txt", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)), "binary"),
        (
            "latin1.txt",
            "Caf\xe9 owners say the new rules hurt business badly this year.".encode("latin-1"),
            "UTF-8",
        ),
        ("broken.md", "---\ntitle: [unclosed\n---\n" + BODY, "broken front matter"),
        ("notmap.md", "---\n- a\n- b\n---\n" + BODY, "broken front matter"),
        ("unclosed.md", "---\ntitle: x\n" + BODY, "no closing"),
        ("feb30.md", article_md("T", BODY, published="2024-02-30"), "impossible date"),
        ("future.md", article_md("T", BODY, published="2999-01-01"), "impossible date"),
        ("words.md", article_md("T", BODY, published="last tuesday"), "unreadable date"),
        ("short.md", article_md("T", "Too short."), "too short"),
        ("photo.jpg", b"\xff\xd8\xff\xe0", "unsupported file type"),
        ("nothing.html", "<html><body><nav>menu</nav></body></html>", "too short"),
        ("script.html", "<html><body><script>var x = 1;</script></body></html>", "no article text"),
    ],
)
def test_bad_input_is_skipped_with_a_reason_and_the_rest_loads(
    tmp_path: Path, name: str, content: str | bytes, reason: str
) -> None:
    write(tmp_path / "good.md", article_md("Good", BODY))
    write(tmp_path / name, content)
    articles, skipped = load(tmp_path)
    assert [a.title for a in articles] == ["Good"]
    [s] = skipped
    assert s.source.endswith(name)
    assert reason in s.reason
    assert "\n" not in s.reason


def test_hidden_files_are_ignored(tmp_path: Path) -> None:
    write(tmp_path / ".DS_Store", b"\x00\x01")
    write(tmp_path / ".git" / "config", "x")
    write(tmp_path / "a.md", article_md("A", BODY))
    articles, skipped = load(tmp_path)
    assert len(articles) == 1 and not skipped


def test_parse_date_forms() -> None:
    assert parse_date("2024-10-29") == dt.date(2024, 10, 29)
    assert parse_date("2024/10/29") == dt.date(2024, 10, 29)
    assert parse_date("2024-10-29T08:00:00Z") == dt.date(2024, 10, 29)
    assert parse_date(dt.date(2024, 1, 2)) == dt.date(2024, 1, 2)
    assert parse_date(None) is None
    with pytest.raises(_LoadError):
        parse_date("1850-01-01")


def test_paths_are_resolved_so_any_spelling_names_the_same_input(tmp_path: Path) -> None:
    write(tmp_path / "p7c" / "a.md", article_md("A", BODY))
    (tmp_path / "alias").symlink_to(tmp_path / "p7c")
    absolute, _ = load(tmp_path / "p7c")
    dotted, _ = load(tmp_path / "p7c" / ".." / "p7c")
    linked, _ = load(tmp_path / "alias")
    assert absolute[0].source == dotted[0].source == linked[0].source == str((tmp_path / "p7c" / "a.md").resolve())
    assert absolute[0].id == dotted[0].id == linked[0].id == "a"


def test_symlinks_are_followed_and_loops_broken_links_reported(tmp_path: Path) -> None:
    root = tmp_path / "news"
    write(root / "a.md", article_md("A", BODY))
    write(tmp_path / "elsewhere" / "b.md", article_md("B", BODY + " Elsewhere."))
    (root / "linked").symlink_to(tmp_path / "elsewhere")  # a folder outside, followed
    (root / "again.md").symlink_to(root / "a.md")  # the same file twice: read once
    (root / "loop").symlink_to(root)  # back to an ancestor
    (root / "self.md").symlink_to(root / "self.md")  # a link to itself
    (root / "dangling.md").symlink_to(tmp_path / "missing.md")
    articles, skipped = load(root)
    assert sorted(a.id for a in articles) == ["a", "linked-b"]
    reasons = {Path(s.source).name: s.reason for s in skipped}
    assert reasons["loop"].startswith("symlink loop: leads back to")
    assert reasons["self.md"].startswith("symlink loop")
    assert reasons["dangling.md"].startswith("broken symlink (points to")
    assert len(skipped) == 3


def test_over_the_size_cap_skipped_before_reading_jsonl_streamed(tmp_path: Path) -> None:
    write(tmp_path / "ok.md", article_md("Ok", BODY))
    write(tmp_path / "big.md", article_md("Big", BODY * 60))
    big_record = json.dumps({"id": "big", "text": BODY * 60})
    lines = [json.dumps({"id": "one", "text": BODY}), big_record, "", json.dumps({"id": "two", "text": BODY + "2"})]
    write(tmp_path / "records.jsonl", "\ufeff" + "\n".join(lines))  # a BOM, a blank line, no final newline
    items = list(load_paths([tmp_path], max_bytes=4000))
    assert sorted(a.id for a in items if isinstance(a, Article)) == ["ok", "one", "two"]
    skipped = {s.source.rsplit("/", 1)[1]: s.reason for s in items if isinstance(s, Skipped)}
    assert skipped == {
        "big.md": "13,022 bytes, over the 4,000 bytes limit (RAG_MAX_ARTICLE_BYTES); split it, or raise the limit",
        "records.jsonl:2": "over the 4,000 bytes limit (RAG_MAX_ARTICLE_BYTES); split it, or raise the limit",
    }
