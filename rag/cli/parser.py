"""The ``rag`` command line: every command, its options and help."""

from __future__ import annotations

import argparse
import datetime as dt
import difflib
from pathlib import Path
from typing import Any

from rag import dates
from rag.cli.commands import cmd_ask, cmd_chat, cmd_config, cmd_ingest, cmd_local, cmd_serve, cmd_status
from rag.cli.reports import cmd_bench, cmd_brief, cmd_eval, cmd_train_briefer, cmd_train_reader


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
        choices=["auto", "extractive", "llm", "local"],
        default=argparse.SUPPRESS,
        help="answerer: extractive quotes sources verbatim; llm needs OPENAI_API_KEY or OPENAI_BASE_URL; local "
        "runs a llama.cpp model on this machine (pip install -e '.[local]') after the reader's quote (RAG_GENERATOR)",
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
    p.add_argument(
        "--max-stories",
        type=int,
        help="at most this many stories told in sentences (default RAG_BRIEF_STORIES, 24); "
        "up to 20 more are listed by headline",
    )
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
    p.add_argument(
        "--sample", type=int, default=0, help="N questions of a dataset spread evenly over it (every week represented)"
    )
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
        "--local",
        type=int,
        default=0,
        metavar="N",
        help="also answer N questions (spread over the set) with the local engine: its cold load and warm time "
        "per phase, beside the extractive engine on the same questions (needs the local extra)",
    )
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
        description="Fit the learned reader (sentence ranker, answer-span model, answerability model) on a dataset "
        "in the RealTime QA shape (articles.jsonl + questions.jsonl), with week-grouped cross-validation, and write "
        "reader.json and the model card READER.md; with --cross-encoder, also fine-tune the MiniLM cross-encoder "
        "that rescores the ranker's best sentences and write reader-ce.onnx and reader-ce.json. Needs the train "
        "extra: pip install -e '.[train]'. The dataset is ingested into its own cached store first (as `rag eval "
        "--dataset` does). Pin the printed sha256s in rag/read/reader.py (and rag/read/cross_encoder.py) to ship "
        "the new model.",
    )
    p.set_defaults(func=cmd_train_reader)
    _training_data(p)
    p.add_argument("--folds", type=int, default=5, help="cross-validation folds (default 5)")
    p.add_argument(
        "--cross-encoder",
        action="store_true",
        help="also fine-tune the cross-encoder on the first 80%% of question dates and choose its weight on the rest "
        "(torch on CPU: tens of minutes on the RealTime QA training set with 2 cores)",
    )
    p.add_argument("--ce-epochs", type=int, default=2, help="with --cross-encoder: epochs of fine-tuning (default 2)")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.add_argument("--json", action="store_true", help="print the result as JSON")

    p = sub.add_parser(
        "train-briefer",
        parents=[common],
        help="retrain the briefer's sentence-salience model on a quiz dataset and write its artifact",
        description="Fit the extractive briefer's salience model (which of a story's sentences to quote after its "
        "opener) on a dataset in the RealTime QA shape: each week of questions is briefed from its articles as "
        "`rag eval --dataset` does, and a candidate sentence is positive when it holds one of the week's gold "
        "answers. Reports quiz coverage out of fold (blocks of weeks held out), writes briefer.json and the model "
        "card BRIEFER.md (about 10 minutes on the RealTime QA training set with 2 cores; NumPy only, no extra "
        "needed). Pin the printed sha256 in rag/brief/salience.py to ship it.",
    )
    p.set_defaults(func=cmd_train_briefer)
    _training_data(p)
    p.add_argument("--folds", type=int, default=5, help="cross-validation folds over blocks of weeks (default 5)")
    p.add_argument("--json", action="store_true", help="print the result as JSON")

    p = sub.add_parser(
        "local",
        parents=[common],
        help="the local model's server: start (load) it, stop it, or show it",
        description="The local engine (--engine local) keeps its llama.cpp model loaded in a server on loopback "
        "between commands: the first question starts it (a cold load of several seconds), later ones reuse it, and it "
        "stops after RAG_LOCAL_IDLE seconds unused (default 900) unless a `rag chat` or `rag serve` holds it. "
        "`start` loads it now (joining the pinned model's parts the first time); `stop` stops it; `status` shows "
        "the model, its threads, uptime and idle time.",
    )
    p.set_defaults(func=cmd_local)
    p.add_argument("action", choices=["status", "start", "stop"], help="what to do")
    p.add_argument("--json", action="store_true", help="print the state as JSON")

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


def _training_data(p: argparse.ArgumentParser) -> None:
    """The arguments every training command takes: the dataset, an optional validation set, the output folder."""
    p.add_argument(
        "--dataset", type=Path, required=True, help="training dataset folder, e.g. ../shared/data/realtimeqa-train"
    )
    p.add_argument("--validate", type=Path, help="a second dataset to report on (validation only: nothing is fitted)")
    p.add_argument(
        "--out", type=Path, default=Path("rag/models"), help="where to write the artifact (default rag/models)"
    )
