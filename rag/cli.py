"""The ``rag`` command: parse, call the library, print. Errors become one line and an exit status here.

Exit status: 0 success; 1 a library error (message says what to do); 2 bad usage or configuration;
3 ingest finished but skipped some input; 130 interrupted.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from rag import render
from rag.errors import ConfigError, RagError
from rag.settings import Settings

EXIT_SKIPPED = 3


def _date(value: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date: {value!r} (use YYYY-MM-DD)") from None


def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    g = common.add_argument_group("store and engine (also settable by environment, see `rag config`)")
    g.add_argument(
        "--data-dir", type=Path, default=argparse.SUPPRESS, help="local store and caches (RAG_DATA_DIR)"
    )
    g.add_argument("--chroma-url", default=argparse.SUPPRESS, help="use a Chroma server (RAG_CHROMA_URL)")
    g.add_argument("--collection", default=argparse.SUPPRESS, help="collection name (RAG_COLLECTION)")
    g.add_argument(
        "--engine",
        choices=["auto", "extractive", "llm"],
        default=argparse.SUPPRESS,
        help="answerer: extractive quotes sources verbatim; llm needs OPENAI_API_KEY or OPENAI_BASE_URL",
    )

    filters = argparse.ArgumentParser(add_help=False)
    f = filters.add_argument_group("filters")
    f.add_argument("--since", type=_date, help="only articles published on or after this date (YYYY-MM-DD)")
    f.add_argument("--until", type=_date, help="only articles published on or before this date (YYYY-MM-DD)")
    f.add_argument("--outlet", action="append", default=[], help="only this outlet (repeatable)")

    parser = argparse.ArgumentParser(
        prog="rag",
        description="A news desk in a box: ingest news articles, ask questions, get answers quoted from "
        "dated sources. Works offline by default; set OPENAI_API_KEY (or OPENAI_BASE_URL) to use an LLM.",
        parents=[common],
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    p = sub.add_parser(
        "ingest",
        parents=[common],
        help="add articles to the store",
        description="Read Markdown/text files with YAML front matter, .jsonl article records and saved .html "
        "pages (files or folders) into the store. Unchanged articles are not re-embedded. Bad inputs are "
        "skipped with one line each and exit status 3.",
    )
    p.add_argument("paths", nargs="+", type=Path, metavar="PATH")
    p.add_argument("--prune", action="store_true", help="remove stored articles not found in these inputs")
    p.add_argument("--rebuild", action="store_true", help="drop the index and re-embed everything")
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")

    p = sub.add_parser(
        "ask",
        parents=[common, filters],
        help="answer a question from the articles, with sources",
        description="Answer one question from the stored articles. Every sentence is cited; a question "
        "the articles cannot answer gets a plain refusal. Ingests the bundled corpus first if the store "
        "is empty.",
    )
    p.add_argument("question", nargs="+", help="the question (quote it or not)")
    p.add_argument("--json", action="store_true", help="print the Answer as JSON")
    p.add_argument("--no-stream", action="store_true", help="print the answer only when complete")

    p = sub.add_parser(
        "chat",
        parents=[common, filters],
        help="ask questions in a conversation",
        description="An interactive conversation: follow-up questions are understood in context. "
        "Commands: /sources (full quotes for the last answer), /reset (forget the conversation), /quit.",
    )

    p = sub.add_parser("config", parents=[common], help="print the effective settings (key masked)")
    p.add_argument("--json", action="store_true")

    p = sub.add_parser("status", parents=[common], help="what the store holds and how it was built")
    p.add_argument("--json", action="store_true")

    p = sub.add_parser(
        "bench",
        parents=[common],
        help="time ingestion, retrieval and answering on a dataset",
        description="Ingest a dataset folder (articles.jsonl + questions.jsonl) into a fresh temporary store "
        "and print ingestion throughput, retrieval and answer latency (p50/p95), peak memory, and the "
        "speed of a naive embedding baseline run in the same process.",
    )
    p.add_argument("--dataset", type=Path, default=Path("../shared/data/realtimeqa-2024"))
    p.add_argument("--limit", type=int, default=0, help="use only the first N articles (0 = all)")
    p.add_argument("--json", action="store_true")
    return parser


def settings_from(args: argparse.Namespace) -> Settings:
    overrides: dict[str, Any] = {}
    for name in ("data_dir", "chroma_url", "collection"):
        if hasattr(args, name):
            overrides[name] = getattr(args, name)
    if hasattr(args, "engine"):
        overrides["generator"] = args.engine
    return Settings.from_env(**overrides)


def _filters(args: argparse.Namespace) -> Any:
    from rag.types import Filters

    if args.since and args.until and args.since > args.until:
        raise ConfigError("--since is after --until")
    return Filters(since=args.since, until=args.until, outlets=tuple(args.outlet))


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not args.command:
        parser.print_help()
        return 2
    try:
        settings = settings_from(args)
        handler = globals()[f"cmd_{args.command}"]
        return int(handler(args, settings) or 0)
    except RagError as exc:
        print(f"rag: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("\nrag: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1


# -- commands -------------------------------------------------------------------------------------------


def cmd_config(args: argparse.Namespace, settings: Settings) -> int:
    rows = settings.display()
    if args.json:
        print(json.dumps({env: value for env, value, _, _ in rows}, indent=2))
        return 0
    width = max(len(r[0]) for r in rows)
    for env, value, source, help_text in rows:
        print(f"{env:<{width}}  {value or '(empty)'}  [{source}]  {help_text}")
    print(f"answers by: {'LLM ' + settings.model if settings.use_llm else 'extractive (no LLM configured)'}")
    return 0


def cmd_ingest(args: argparse.Namespace, settings: Settings) -> int:
    from rag.pipeline import Pipeline
    from rag.progress import ProgressReporter

    missing = [p for p in args.paths if not p.exists()]
    if missing:
        raise ConfigError(f"no such file or folder: {missing[0]}")
    pipeline = Pipeline.from_settings(settings, generator=_NoGenerator())
    with ProgressReporter(enabled=not args.no_progress and not args.json) as progress:
        report = pipeline.ingest(
            args.paths,
            prune=args.prune,
            rebuild=args.rebuild,
            progress=progress.update,
            on_skip=lambda s: progress.log(f"skipped {s.source}: {s.reason}"),
        )
    if args.json:
        data = {k: v for k, v in vars(report).items() if k not in {"skipped", "duplicates"}}
        data["skipped"] = [{"source": s.source, "reason": s.reason} for s in report.skipped]
        data["duplicates"] = [{"source": s, "duplicate_of": d} for s, d in report.duplicates]
        data["store"] = {"articles": pipeline.store.count_articles(), "chunks": pipeline.store.count_chunks()}
        print(json.dumps(data, indent=2))
    else:
        for source, twin in report.duplicates:
            print(f"duplicate {source}: same text as {twin}, collapsed", file=sys.stderr)
        print(report.summary())
    return EXIT_SKIPPED if report.skipped else 0


def cmd_ask(args: argparse.Namespace, settings: Settings) -> int:
    from rag.pipeline import Pipeline

    question = " ".join(args.question).strip()
    if not question:
        raise ConfigError("the question is empty")
    pipeline = Pipeline.from_settings(settings)
    _ensure_corpus(pipeline, quiet=args.json)
    stream = not args.json and not args.no_stream
    answer = pipeline.ask(question, filters=_filters(args), on_text=_writer() if stream else None)
    if args.json:
        print(json.dumps(answer.to_dict(), indent=2, ensure_ascii=False))
    elif stream:
        print("\n")
        print(render.sources(answer))
    else:
        print(render.answer_text(answer))
    return 0


def cmd_chat(args: argparse.Namespace, settings: Settings) -> int:
    from rag.chat import Conversation
    from rag.pipeline import Pipeline

    pipeline = Pipeline.from_settings(settings)
    _ensure_corpus(pipeline, quiet=False)
    chat_model = None
    if settings.use_llm:
        from rag.provider import chat_model as make_chat_model

        chat_model = make_chat_model(settings)
    convo = Conversation(pipeline, chat_model=chat_model, filters=_filters(args))
    interactive = sys.stdin.isatty()
    engine = f"LLM {settings.model}" if settings.use_llm else "extractive answers"
    print(f"rag chat ({engine}, {pipeline.store.count_articles()} articles). /sources /reset /quit")
    while True:
        try:
            line = input("you> " if interactive else "")
        except EOFError:
            print()
            return 0
        line = line.strip()
        if not line:
            continue
        if not interactive:
            print(f"you> {line}")
        if line in {"/quit", "/exit", "/q"}:
            return 0
        if line == "/reset":
            convo.reset()
            print("(conversation forgotten)")
            continue
        if line == "/sources":
            last = convo.last
            print(render.sources(last) if last else "(nothing asked yet)")
            continue
        if line.startswith("/"):
            print("commands: /sources /reset /quit")
            continue
        try:
            print("rag> ", end="", flush=True)
            answer = convo.ask(line, on_text=_writer())
        except RagError as exc:
            print(f"\nrag: error: {exc}", file=sys.stderr)
            continue
        print()
        if answer.standalone_question != line:
            print(f"    (searched for: {answer.standalone_question})")
        for c in answer.citations:
            print("    " + render.source_line(c).replace("\n", "\n    "))


def cmd_status(args: argparse.Namespace, settings: Settings) -> int:
    from rag.pipeline import Pipeline

    pipeline = Pipeline.from_settings(settings, generator=_NoGenerator())
    store = pipeline.store
    data = {
        "location": store.location,
        "collection": settings.collection,
        "articles": store.count_articles(),
        "chunks": store.count_chunks(),
        "fingerprint": store.fingerprint,
    }
    if args.json:
        print(json.dumps(data, indent=2))
    else:
        for key, value in data.items():
            print(f"{key:<12} {value}")
    return 0


def cmd_bench(args: argparse.Namespace, settings: Settings) -> int:
    from rag.bench import run_bench

    result = run_bench(args.dataset, settings, limit=args.limit, log=lambda m: print(m, file=sys.stderr))
    print(json.dumps(result, indent=2) if args.json else result["table"])
    return 0


# -- helpers --------------------------------------------------------------------------------------------


class _NoGenerator:
    """Commands that never answer do not need to build (or configure) an answerer."""

    name = "none"

    def generate(self, *args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("this command does not answer questions")


def _writer() -> Any:
    def write(text: str) -> None:
        sys.stdout.write(text)
        sys.stdout.flush()

    return write


def _ensure_corpus(pipeline: Any, quiet: bool) -> None:
    report = pipeline.ensure_corpus()
    if report is not None and not quiet:
        print(
            f"(the store was empty: ingested {pipeline.settings.corpus_dir}: {report.summary()})",
            file=sys.stderr,
        )
