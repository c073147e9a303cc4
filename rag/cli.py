"""The ``rag`` command: parse, call the library, print. Errors become one line and an exit status here.

Exit status: 0 success; 1 a library error (message says what to do); 2 bad usage or configuration;
3 ingest finished but skipped some input; 130 interrupted.
"""

from __future__ import annotations

import argparse
import datetime as dt
import difflib
import io
import json
import os
import signal
import sys
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from rag import dates, render
from rag.errors import ConfigError, EmptyWindowError, RagError
from rag.phases import Phases
from rag.settings import Settings

EXIT_SKIPPED = 3


def _date(value: str) -> dt.date:
    try:
        return dates.parse_date(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _since(value: str) -> dt.date:
    """A date, or a span back from today: 24h, 36h, 3d, 2w."""
    try:
        return dates.parse_since(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


class _Parser(argparse.ArgumentParser):
    """argparse, except that a mistyped command gets the closest one suggested."""

    def _check_value(self, action: argparse.Action, value: Any) -> None:
        if isinstance(action, argparse._SubParsersAction) and value not in action.choices:
            close = difflib.get_close_matches(str(value), list(action.choices), n=1, cutoff=0.5)
            hint = f"; did you mean `{close[0]}`?" if close else ""
            raise argparse.ArgumentError(action, f"unknown command {value!r}{hint} (see `rag --help`)")
        super()._check_value(action, value)


def build_parser() -> argparse.ArgumentParser:
    common = _Parser(add_help=False)
    g = common.add_argument_group("store and engine (also settable by environment, see `rag config`)")
    g.add_argument("--data-dir", type=Path, default=argparse.SUPPRESS, help="local store and caches (RAG_DATA_DIR)")
    g.add_argument("--chroma-url", default=argparse.SUPPRESS, help="use a Chroma server (RAG_CHROMA_URL)")
    g.add_argument("--collection", default=argparse.SUPPRESS, help="collection name (RAG_COLLECTION)")
    g.add_argument(
        "--verify",
        choices=["rules", "llm"],
        default=argparse.SUPPRESS,
        help="llm: the model also judges each claim, shown beside the rules' verdict (RAG_VERIFY)",
    )
    g.add_argument(
        "--engine",
        choices=["auto", "extractive", "llm"],
        default=argparse.SUPPRESS,
        help="answerer: extractive quotes sources verbatim; llm needs OPENAI_API_KEY or OPENAI_BASE_URL",
    )

    filters = _Parser(add_help=False)
    f = filters.add_argument_group("filters")
    f.add_argument("--since", type=_date, help="only articles published on or after this date (YYYY-MM-DD)")
    f.add_argument("--until", type=_date, help="only articles published on or before this date (YYYY-MM-DD)")
    f.add_argument("--outlet", action="append", default=[], help="only this outlet (repeatable)")

    parser = _Parser(
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
        "pages (files or folders), article URLs, and RSS/Atom feeds (--feeds) into the store. Unchanged articles "
        "are not re-embedded; feeds are polled with conditional requests. Bad inputs and dead feeds or pages "
        "are skipped with one line each and exit status 3.",
    )
    p.set_defaults(func=cmd_ingest)
    p.add_argument("paths", nargs="*", metavar="PATH", help="files, folders, or http(s) article URLs")
    p.add_argument("--feeds", type=Path, help="a feeds file (TOML: [[feed]] url/name, [[page]] url) to poll")
    p.add_argument("--prune", action="store_true", help="remove stored articles not found in these inputs")
    p.add_argument("--rebuild", action="store_true", help="drop the index and re-embed everything")
    p.add_argument(
        "--wait", action="store_true", help="if another run is writing to the store, wait for it (default: stop)"
    )
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
    p.set_defaults(func=cmd_ask)
    p.add_argument("question", nargs="+", help="the question (quote it or not)")
    p.add_argument("--json", action="store_true", help="print the Answer as JSON")
    p.add_argument("--no-stream", action="store_true", help="print the answer only when complete")
    p.add_argument(
        "--timings", action="store_true", help="print the time each phase took to stderr (in --json as 'phases')"
    )

    p = sub.add_parser(
        "chat",
        parents=[common, filters],
        help="ask questions in a conversation",
        description="An interactive conversation: follow-up questions are understood in context. "
        "Commands: /sources (full quotes for the last answer), /reset (forget the conversation), /quit.",
    )
    p.set_defaults(func=cmd_chat)

    p = sub.add_parser(
        "config",
        parents=[common],
        help="print the effective settings (key masked)",
        description="Print every setting with its value, where it came from (default, environment, flag) and "
        "what it does, then which engine answers. Secrets are masked. Settings come from RAG_* environment "
        "variables, OPENAI_API_KEY / OPENAI_BASE_URL, and the flags above.",
    )
    p.set_defaults(func=cmd_config)
    p.add_argument("--json", action="store_true", help="print the settings as JSON (environment name → value)")

    p = sub.add_parser(
        "status",
        parents=[common],
        help="what the store holds and how it was built",
        description="Print what the store holds: the number of articles and chunks, the range of publication "
        "dates, the outlets with their article counts, the newest article, and how the index was built "
        "(embedder and chunking fingerprint). Reads metadata only; nothing is embedded or changed.",
    )
    p.set_defaults(func=cmd_status)
    p.add_argument("--json", action="store_true", help="print the same as JSON")

    p = sub.add_parser(
        "brief",
        parents=[common],
        help="write the daily briefing: stories, cited summaries, what changed",
        description="Group the articles of a day (or window) into stories, rank them by newsworthiness (independent "
        "outlets, articles, recency, prominence, people and places named), and summarise each under a headline "
        "in 2-4 cited "
        "sentences, the newest development first (verbatim by default; an LLM when configured). Compares with "
        "the previous saved brief: stories are NEW or DEVELOPING and moved numbers are called out. Saves "
        "<date>.<format> (and <date>.json) in the briefs folder and prints the brief (for html: only the saved "
        "file's path). An empty window is an error (exit 1), never an empty file.",
    )
    p.set_defaults(func=cmd_brief)
    p.add_argument("--date", type=_date, help="the day to brief (default: the newest day in the store)")
    p.add_argument(
        "--since",
        type=_since,
        help=f"window start: YYYY-MM-DD, or a span back from today ({dates.RELATIVE_FORMS})",
    )
    p.add_argument("--until", type=_date, help="window end (default: --date, or today with --since)")
    p.add_argument("--format", choices=["md", "html", "json"], default="md", help="output format (default md)")
    p.add_argument("--out", type=Path, help="briefs folder (default: RAG_BRIEFS, ./briefs)")
    p.add_argument("--no-save", action="store_true", help="print only, save nothing")
    p.add_argument("--previous", type=Path, help="compare with this brief JSON (default: newest earlier one)")
    p.add_argument("--max-words", type=int, help="length budget in words (default RAG_BRIEF_WORDS, 1000)")
    p.add_argument("--max-stories", type=int, help="at most this many stories (default RAG_BRIEF_STORIES, 24)")
    p.add_argument("--refresh", action="store_true", help="poll the feeds file (RAG_FEEDS) first")
    p.add_argument("--feeds", type=Path, help="feeds file for --refresh (default: RAG_FEEDS, ./feeds.toml)")

    p = sub.add_parser(
        "eval",
        parents=[common],
        help="measure accuracy, retrieval, citations, refusals and speed on known facts or a dataset",
        description="Run evaluation suites (YAML cases in evals/; default: the known-facts suites of the sample "
        "article and the brief checks) or a dataset folder (articles.jsonl + questions.jsonl) through our pipeline "
        "and the textbook LangChain pipeline, and report both side by side. Each suite or dataset gets its own "
        "cached store. "
        "Exit status 1 when a citation does not resolve or --check finds a regression.",
    )
    p.set_defaults(func=cmd_eval)
    p.add_argument("suites", nargs="*", type=Path, metavar="SUITE", help="YAML suite files")
    p.add_argument("--dataset", type=Path, action="append", default=[], help="a dataset folder (repeatable)")
    p.add_argument("--limit", type=int, default=0, help="only the first N questions of a dataset")
    p.add_argument("--json", action="store_true", help="print the full report as JSON")
    p.add_argument(
        "--report",
        type=Path,
        action="append",
        default=[],
        help="write FILE.json or FILE.html (with several suites: FILE.<suite>.json …)",
    )
    p.add_argument("--check", action="store_true", help="fail if a metric falls below the baseline")
    p.add_argument("--update-baseline", action="store_true", help="write this run as the new baseline")
    p.add_argument("--baseline", type=Path, help="baseline file (default: evals/baselines/<suite>.<engine>.json)")
    p.add_argument("--tolerance", type=float, default=0.02, help="allowed drop below the baseline (default 0.02)")
    p.add_argument("--no-textbook", action="store_true", help="skip the textbook-pipeline comparison")
    p.add_argument("--judge", action="store_true", help="also grade answers with the LLM (needs one configured)")
    p.add_argument("--no-briefs", action="store_true", help="with --dataset: skip the weekly briefing coverage")
    p.add_argument(
        "--unanswerable",
        action="store_true",
        help="with --dataset: also ask every question with the articles holding its answer hidden (same store); "
        "the right answer is then a refusal",
    )

    p = sub.add_parser(
        "bench",
        parents=[common],
        help="time ingestion, retrieval and answering on a dataset",
        description="Ingest a dataset folder (articles.jsonl + questions.jsonl) into a fresh temporary store "
        "and print ingestion throughput, retrieval and answer latency (p50/p95), peak memory, and the "
        "speed of a naive embedding baseline run in the same process.",
    )
    p.set_defaults(func=cmd_bench)
    p.add_argument("--dataset", type=Path, default=Path("../shared/data/realtimeqa-2024"))
    p.add_argument("--limit", type=int, default=0, help="use only the first N articles (0 = all)")
    p.add_argument("--json", action="store_true", help="print the results as JSON")
    p.add_argument(
        "--scale",
        action="store_true",
        help="grow stores of --sizes chunks from the dataset's real chunks and vectors and measure how retrieval, "
        "adding an article, a cold ask, memory and disk grow (the 1M size takes long: see README)",
    )
    p.add_argument(
        "--sizes",
        default="10000,100000,1000000",
        help="with --scale: store sizes in chunks, comma-separated (default 10000,100000,1000000)",
    )
    p.add_argument("--keep", type=Path, help="with --scale: build the stores in this folder and keep them")

    p = sub.add_parser(
        "train-reader",
        parents=[common],
        help="retrain the extractive reader on a quiz dataset and write its artifact",
        description="Fit the learned reader (sentence ranker, answer-span and relevance heads, answerability model) "
        "on a dataset in the RealTime QA shape (articles.jsonl + questions.jsonl), with week-grouped "
        "cross-validation, and write reader.json, reader-head.npz and the model card READER.md. Needs the train "
        "extra: pip install -e '.[train]'. The dataset is ingested into its own cached store first (as `rag eval "
        "--dataset` does). Pin the printed sha256 in rag/reader.py to ship the new model.",
    )
    p.set_defaults(func=cmd_train_reader)
    p.add_argument(
        "--dataset", type=Path, required=True, help="training dataset folder, e.g. ../shared/data/realtimeqa-train"
    )
    p.add_argument("--validate", type=Path, help="a second dataset to report on (validation only: nothing is fitted)")
    p.add_argument(
        "--out", type=Path, default=Path("rag/models"), help="where to write the artifact (default rag/models)"
    )
    p.add_argument("--folds", type=int, default=5, help="cross-validation folds (default 5)")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.add_argument("--json", action="store_true", help="print the result as JSON")

    p = sub.add_parser(
        "serve",
        parents=[common],
        help="the web app and HTTP API: chat, cited sources, the briefing",
        description="Serve the chat page at / and the HTTP API under /api (OpenAPI docs at /docs). Listens on "
        "127.0.0.1 by default; any other address needs RAG_SERVER_TOKEN, which every /api request must then "
        "send as 'Authorization: Bearer <token>'. Ingests the bundled corpus first if the store is empty.",
    )
    p.set_defaults(func=cmd_serve)
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=8000, help="port (default 8000)")
    p.add_argument("--open", action="store_true", help="open the page in a web browser")
    return parser


def settings_from(args: argparse.Namespace) -> Settings:
    overrides: dict[str, Any] = {}
    for name in ("data_dir", "chroma_url", "collection"):
        if hasattr(args, name):
            overrides[name] = getattr(args, name)
    if hasattr(args, "engine"):
        overrides["generator"] = args.engine
    if hasattr(args, "verify"):
        overrides["verify"] = args.verify
    return Settings.from_env(**overrides)


def _filters(args: argparse.Namespace, store: Any) -> Any:
    """The --since/--until/--outlet filters; an outlet name is matched to the stored ones (see resolve_outlets)."""
    from rag.types import Filters, resolve_outlets

    if args.since and args.until and args.since > args.until:
        raise ConfigError("--since is after --until")
    outlets = resolve_outlets(tuple(args.outlet), store.holdings().outlets) if args.outlet else ()
    return Filters(since=args.since, until=args.until, outlets=outlets)


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not args.command:
        parser.print_help()
        return 2
    out, err = sys.stdout, sys.stderr
    if threading.current_thread() is threading.main_thread():
        # SIGTERM (a service manager, `timeout`) stops a run as Ctrl-C does: between store calls, lock released.
        # SIGINT too, explicitly: a process started in the background of a script inherits SIGINT ignored, and
        # Python then leaves it ignored, so `kill -INT` would let the run go on.
        signal.signal(signal.SIGTERM, signal.default_int_handler)
        signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        args.phases = Phases()
        settings = settings_from(args)
        # Every line printed passes the redactor: a key echoed by a model or an error never reaches the terminal.
        sys.stdout, sys.stderr = _Redacting(out, settings.redact), _Redacting(err, settings.redact)
        args.phases.mark("settings")
        return int(args.func(args, settings) or 0)
    except RagError as exc:
        print(f"rag: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("\nrag: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        os.dup2(os.open(os.devnull, os.O_WRONLY), out.fileno())
        return 1
    finally:
        sys.stdout, sys.stderr = out, err


class _Redacting(io.TextIOBase):
    """A text stream that passes everything written through ``redact`` first."""

    def __init__(self, inner: Any, redact: Any) -> None:
        self._inner = inner
        self._redact = redact

    def write(self, text: str) -> int:
        self._inner.write(self._redact(text))
        return len(text)

    def flush(self) -> None:
        self._inner.flush()

    def isatty(self) -> bool:
        return bool(self._inner.isatty())

    def fileno(self) -> int:
        return int(self._inner.fileno())


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
    from rag import intake
    from rag.pipeline import Pipeline
    from rag.progress import ProgressReporter

    inputs = intake.Inputs.parse(args.paths, feeds=args.feeds, prune=args.prune, rebuild=args.rebuild)
    pipeline = Pipeline.from_settings(settings, generator=_NoGenerator())
    with ProgressReporter(enabled=not args.no_progress and not args.json) as progress:
        report = intake.ingest(
            pipeline,
            inputs,
            progress=progress.update,
            on_skip=lambda s: progress.log(f"skipped {s.source}: {s.reason}"),
            on_wait=progress.log if args.wait else None,
        )
    if args.json:
        print(json.dumps(intake.report_dict(report, pipeline.store), indent=2))
    else:
        for source, twin in report.duplicates:
            print(f"duplicate {source}: same text as {twin}, collapsed", file=sys.stderr)
        print(report.summary())
    return EXIT_SKIPPED if report.skipped else 0


def cmd_ask(args: argparse.Namespace, settings: Settings) -> int:
    phases: Phases = args.phases
    question = " ".join(args.question).strip()
    if not question:
        raise ConfigError("the question is empty")
    from rag.pipeline import Pipeline

    phases.mark("imports")
    pipeline = Pipeline.from_settings(settings)
    _ensure_corpus(pipeline)  # on stderr: a --json caller's stdout stays JSON
    phases.mark("store open (imports chromadb)")
    _ = pipeline.retriever.lexical
    phases.mark("index load")
    if args.timings:  # otherwise the model loads with the first embedding, inside "answer"
        pipeline.embedder.embed_query(question)
        phases.mark("embedder load (imports onnxruntime)")
    # The extractive answer takes a fraction of a second: printed whole, its answer phrase can be marked.
    stream = not args.json and not args.no_stream and pipeline.generator.name == "llm"
    answer = pipeline.ask(question, filters=_filters(args, pipeline.store), on_text=_writer() if stream else None)
    for note in answer.notes:
        print(f"rag: note: {note}", file=sys.stderr)
    phases.mark("answer")
    if args.json:
        data = answer.to_dict()
        if args.timings:
            data["phases"] = phases.to_dict()
        print(json.dumps(data, indent=2, ensure_ascii=False))
    elif stream:
        print("\n")
        print(render.sources(answer))
    else:
        print(render.answer_text(answer, color=_color()))
    if args.timings and not args.json:
        print(phases.table(), file=sys.stderr)
    return 0


def cmd_chat(args: argparse.Namespace, settings: Settings) -> int:
    from rag.chat import Conversation
    from rag.pipeline import Pipeline

    chat_model = _chat_model(settings)  # one client for answers and follow-up rewriting
    pipeline = Pipeline.from_settings(settings, chat_model=chat_model)
    _ensure_corpus(pipeline)
    convo = Conversation(pipeline, chat_model=chat_model, filters=_filters(args, pipeline.store))
    interactive = sys.stdin.isatty()
    engine = f"LLM {settings.model}" if settings.use_llm else "extractive answers"
    print(f"rag chat ({engine}, {pipeline.store.count_articles()} articles). /sources /reset /quit")
    while True:
        try:
            line = input("you> " if interactive else "")
        except EOFError:
            print()
            return 0
        except UnicodeDecodeError:
            print("rag: error: that line is not valid UTF-8 text; retype it", file=sys.stderr)
            continue
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
            print(render.sources(last, full=True) if last else "(nothing asked yet)")
            continue
        if line.startswith("/"):
            print("commands: /sources /reset /quit")
            continue
        stream = pipeline.generator.name == "llm"
        try:
            print("rag> ", end="", flush=True)
            answer = convo.ask(line, on_text=_writer() if stream else None)
        except RagError as exc:
            print(f"\nrag: error: {exc}", file=sys.stderr)
            continue
        if not stream:
            print(render.highlighted(answer, _color()), end="")
        print()
        if answer.refused and answer.closest:
            print("    " + render.closest(answer).replace("\n", "\n    "))
        if answer.standalone_question != line:
            print(f"    (searched for: {answer.standalone_question})")
        for c in answer.citations:
            print("    " + render.source_line(c).replace("\n", "\n    "))
        if answer.as_of:
            print("    " + render.as_of(answer))


def _color() -> bool:
    return sys.stdout.isatty() and not os.environ.get("NO_COLOR")


def cmd_status(args: argparse.Namespace, settings: Settings) -> int:
    from rag.pipeline import Pipeline
    from rag.status import status

    pipeline = Pipeline.from_settings(settings, generator=_NoGenerator())
    data = status(pipeline.store)
    if args.json:
        print(json.dumps(data, indent=2, ensure_ascii=False))
        return 0
    for name in ("location", "collection", "articles", "chunks"):
        print(f"{name:<12} {data[name]}")
    if data["first"] and data["last"]:
        print(f"{'dates':<12} {data['first']} to {data['last']}")
    if data["outlets"]:
        listed = ", ".join(f"{name or 'outlet unknown'} ({n})" for name, n in data["outlets"].items())
        print(f"{'outlets':<12} {listed}")
    if data["newest"]:
        a = data["newest"]
        print(f"{'newest':<12} {a['published']} {a['title']} — {a['outlet'] or 'outlet unknown'} ({a['id']})")
    print(f"{'fingerprint':<12} {data['fingerprint']}")
    if not data["articles"]:
        print("the store is empty: add articles with `rag ingest PATH` (or ask a question to load the sample)")
    return 0


def cmd_brief(args: argparse.Namespace, settings: Settings) -> int:
    from rag.brief import brief_from_store
    from rag.brieffiles import read_brief, save
    from rag.briefrender import render
    from rag.pipeline import Pipeline

    max_words = settings.brief_max_words if args.max_words is None else args.max_words
    max_stories = settings.brief_max_stories if args.max_stories is None else args.max_stories
    if max_words < 50 or max_stories < 1:
        raise ConfigError("--max-words must be at least 50 and --max-stories at least 1")
    pipeline = Pipeline.from_settings(settings, generator=_NoGenerator())
    if args.refresh:
        _refresh(pipeline, args.feeds or settings.feeds_file)
    if args.since and args.until and args.since > args.until:
        raise ConfigError("--since is after --until")
    newest = pipeline.store.newest_date() if args.since and not (args.until or args.date) else None
    if newest and newest < args.since:
        age = (dt.date.today() - newest).days
        raise EmptyWindowError(
            f"no articles since {args.since}: the newest article is from {newest}, {age} days ago; "
            f"try --since {age + 1}d, or --date {newest}"
        )
    previous = read_brief(args.previous) if args.previous else None
    chat_model = _chat_model(settings)
    out_dir = args.out or settings.briefs_dir
    brief = brief_from_store(
        pipeline,
        date=args.date,
        since=args.since,
        until=args.until,
        previous=previous,
        previous_dir=out_dir,
        chat_model=chat_model,
        max_words=max_words,
        max_stories=max_stories,
    )
    if args.no_save:
        print(render(brief, args.format))
        return 0
    written = save(brief, out_dir, args.format)
    if args.format == "html":
        print(written[0])  # a page is for a browser, not the terminal: only where it is
        return 0
    print(render(brief, args.format))
    for path in written:
        print(f"saved {path}", file=sys.stderr)
    return 0


def _refresh(pipeline: Any, feeds_file: Path) -> None:
    """Poll the feeds file into the store before briefing."""
    from rag.feeds import load_feeds_file, poll_feeds

    config = load_feeds_file(feeds_file)
    known = frozenset(a.url for a in pipeline.store.iter_articles() if a.url)
    items = poll_feeds(config, pipeline.settings.feeds_state_path, known_urls=known)
    report = pipeline.ingest_items(items, on_skip=lambda s: log(f"skipped {s.source}: {s.reason}"), on_wait=log)
    print(f"refresh: {report.summary()}", file=sys.stderr)


def cmd_eval(args: argparse.Namespace, settings: Settings) -> int:
    from rag.evalrun import EvalRequest, EvalRun

    request = EvalRequest(
        suites=tuple(args.suites),
        datasets=tuple(args.dataset),
        limit=args.limit,
        reports=tuple(args.report),
        check=args.check,
        update_baseline=args.update_baseline,
        baseline=args.baseline,
        tolerance=args.tolerance,
        textbook=not args.no_textbook,
        judge=args.judge,
        briefs=not args.no_briefs,
        unanswerable=args.unanswerable,
    )
    runner = EvalRun(request, settings, chat_model=_chat_model(settings), log=log)
    for name, missing in runner.skipped:
        print(f"rag: eval: {name}: skipped ({missing} is not on this machine)", file=sys.stderr)
    for job in runner.jobs:
        outcome = runner.run(job)
        if outcome.report is None:
            print(f"{job.name}: skipped (its dataset is not present)", file=sys.stderr)
            continue
        for path in outcome.written:
            print(f"report written to {path}", file=sys.stderr)
        _print_eval_report(outcome.report, as_json=args.json)
        runner.gate(outcome)
        if outcome.baseline_written:
            print(f"baseline written to {outcome.baseline_written}", file=sys.stderr)
        for problem in outcome.problems:
            print(f"rag: eval: {job.name}: {problem}", file=sys.stderr)
        if outcome.checked_against and not outcome.problems:
            print(
                f"{job.name}: no metric below the baseline ({outcome.checked_against}) by more than {args.tolerance}",
                file=sys.stderr,
            )
    for path in runner.write_indexes():
        print(f"index written to {path}", file=sys.stderr)
    return 1 if runner.failed else 0


def _print_eval_report(report: Any, *, as_json: bool) -> None:
    from rag.evalbrief import BriefEvalReport, print_brief_report
    from rag.evalclaims import ClaimsReport, print_claims_report
    from rag.evalreport import print_report

    if as_json:
        print(json.dumps(report.to_dict(), indent=2, ensure_ascii=False))
    elif isinstance(report, ClaimsReport):
        print_claims_report(report)
    elif isinstance(report, BriefEvalReport):
        print_brief_report(report)
    else:
        print_report(report)


def log(message: str) -> None:
    print(message, file=sys.stderr)


def cmd_train_reader(args: argparse.Namespace, settings: Settings) -> int:
    from rag.train_reader import run as train

    for path in [args.dataset, *([args.validate] if args.validate else [])]:
        if not (path / "questions.jsonl").exists() or not (path / "articles.jsonl").exists():
            raise ConfigError(f"{path} is not a dataset folder (articles.jsonl + questions.jsonl)")
    result = train(
        args.dataset, settings, out_dir=args.out, validate=args.validate, folds=args.folds, seed=args.seed, log=log
    )
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print(f"reader written to {result['out']} (sha256 {result['sha256']})")
        for name in ("train", "dev"):
            if result[name]:
                print(f"{name}: " + ", ".join(f"{k} {v:.3f}" for k, v in result[name].items() if k != "questions"))
        print("to ship it, set READER_SHA256 in rag/reader.py to the sha256 above")
    return 0


def cmd_bench(args: argparse.Namespace, settings: Settings) -> int:
    if args.scale:
        from rag.scale import run_scale

        try:
            sizes = tuple(int(s.replace("_", "")) for s in args.sizes.split(",") if s.strip())
        except ValueError:
            raise ConfigError(f"--sizes must be chunk counts separated by commas, not {args.sizes!r}") from None
        if not sizes or min(sizes) < 1:
            raise ConfigError("--sizes needs at least one positive chunk count")
        if not (args.dataset / "articles.jsonl").exists():
            raise ConfigError(f"no dataset at {args.dataset} (needs articles.jsonl and questions.jsonl)")
        result = run_scale(args.dataset, settings, sizes=sizes, keep=args.keep, log=log)
    else:
        from rag.bench import run_bench

        result = run_bench(args.dataset, settings, limit=args.limit, log=log)
    print(json.dumps(result, indent=2, default=str) if args.json else result["table"])
    return 0


def cmd_serve(args: argparse.Namespace, settings: Settings) -> int:
    import threading
    import webbrowser

    import uvicorn

    from rag.pipeline import Pipeline
    from rag.server import create_app
    from rag.webguard import check_bind

    check_bind(args.host, settings)
    if not 0 <= args.port <= 65535:
        raise ConfigError(f"--port must be between 0 and 65535, not {args.port}")
    chat_model = _chat_model(settings)
    pipeline = Pipeline.from_settings(settings, chat_model=chat_model)
    _ensure_corpus(pipeline)
    app = create_app(settings, pipeline=pipeline, chat_model=chat_model)
    shown = f"[{args.host}]" if ":" in args.host else args.host
    url = f"http://{'127.0.0.1' if args.host in {'0.0.0.0', '::'} else shown}:{args.port}/"
    token = " (API token required: RAG_SERVER_TOKEN)" if settings.server_token else ""
    print(f"rag serve: {url}{token}; API docs at {url}docs; Ctrl-C stops", file=sys.stderr)
    if args.open:
        threading.Timer(1.5, webbrowser.open, [url]).start()
    uvicorn.run(app, host=args.host, port=args.port, log_level="info")
    return 0


# -- helpers --------------------------------------------------------------------------------------------


class _NoGenerator:
    """Commands that never answer do not need to build (or configure) an answerer."""

    name = "none"

    def generate(self, *args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("this command does not answer questions")


def _chat_model(settings: Settings) -> Any:
    """The configured LLM client, or None for extractive answers."""
    if not settings.use_llm:
        return None
    from rag.provider import chat_model

    return chat_model(settings)


def _writer() -> Any:
    def write(text: str) -> None:
        sys.stdout.write(text)
        sys.stdout.flush()

    return write


def _ensure_corpus(pipeline: Any) -> None:
    report = pipeline.ensure_corpus()
    if report is not None:
        print(
            f"(the store was empty: loaded the bundled sample from {pipeline.settings.corpus_dir}: "
            f"{report.summary()}; your first `rag ingest` replaces it)",
            file=sys.stderr,
        )
