"""The commands that ingest, answer and serve: each parses nothing, calls the library and prints."""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from rag import render
from rag.errors import ConfigError, RagError
from rag.phases import Phases
from rag.settings import Settings

EXIT_SKIPPED = 3


def filters_of(args: argparse.Namespace, store: Any) -> Any:
    """The --since/--until/--outlet filters; an outlet name is matched to the stored ones (see resolve_outlets)."""
    from rag.types import Filters, resolve_outlets

    if args.since and args.until and args.since > args.until:
        raise ConfigError("--since is after --until")
    outlets = resolve_outlets(tuple(args.outlet), store.holdings().outlets) if args.outlet else ()
    return Filters(since=args.since, until=args.until, outlets=outlets)


def cmd_config(args: argparse.Namespace, settings: Settings) -> int:
    rows = settings.display()
    if args.json:
        print(json.dumps({env: value for env, value, _, _ in rows}, indent=2))
        return 0
    width = max(len(r[0]) for r in rows)
    for env, value, source, help_text in rows:
        print(f"{env:<{width}}  {value or '(empty)'}  [{source}]  {help_text}")
    if settings.use_local:
        by = f"the reader's quote, then the {settings.model_label} model (llama.cpp on this machine)"
    else:
        by = "LLM " + settings.model if settings.use_llm else "extractive (no LLM configured)"
    print(f"answers by: {by}")
    return 0


def cmd_ingest(args: argparse.Namespace, settings: Settings) -> int:
    from rag.ingest import intake
    from rag.pipeline import Pipeline
    from rag.progress import ProgressReporter

    inputs = intake.Inputs.parse(args.paths, feeds=args.feeds, prune=args.prune, rebuild=args.rebuild)
    pipeline = Pipeline.from_settings(settings, generator=NoGenerator())
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
    from rag import warmup
    from rag.search.embed import make_embedder

    embedder = make_embedder(settings)
    warm = warmup.start(settings, embedder)  # the models load while the pipeline imports and the store opens
    local = local_client(settings)
    loading = local.warm_in_background() if local is not None else None  # the local model loads meanwhile too
    from rag.pipeline import Pipeline

    phases.mark("imports")
    try:
        pipeline = Pipeline.from_settings(settings, embedder=embedder, read_only=True, chat_model=local)
    except BaseException:
        # A store that cannot open ends the command, but not while the thread is still inside ONNX Runtime:
        # the interpreter's shutdown should not race a native session build.
        warm.wait()
        raise
    phases.mark("store open (the models load beside it)")
    warm.wait()
    phases.mark("models loaded (what the store open did not hide)")
    loaded = ensure_corpus(pipeline)  # on stderr: a --json caller's stdout stays JSON
    _ = pipeline.retriever.lexical
    phases.mark("index load")
    # The extractive answer takes a fraction of a second: printed whole, its answer phrase can be marked.
    stream = not args.json and not args.no_stream and pipeline.generator.name in STREAMING
    answer = pipeline.ask(question, filters=filters_of(args, pipeline.store), on_text=_writer() if stream else None)
    for note in answer.notes:
        print(f"rag: note: {note}", file=sys.stderr)
    phases.mark("answer")
    if local is not None and loading is not None:
        if local.cold_load_s is not None:
            phases.rows.append((f"of which: local model cold load (beside the rest), {local.cold_load_s:.1f}s", 0, 0))
        for step in ("read", "first_token", "model"):
            if f"generate:{step}" in answer.timings:
                seconds = answer.timings[f"generate:{step}"]
                phases.rows.append((f"of which: {step.replace('_', ' ')}, {seconds:.2f}s", 0.0, 0.0))
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
    # Nothing was written unless the sample was loaded (the lexical index's catch-up commits before it returns).
    args.read_only = not loaded
    return 0


def cmd_chat(args: argparse.Namespace, settings: Settings) -> int:
    with holding_local(settings):  # before the model starts loading: it is never left to idle out meanwhile
        return _chat(args, settings)


def _chat(args: argparse.Namespace, settings: Settings) -> int:
    from rag import warmup
    from rag.answer.chat import Conversation
    from rag.pipeline import Pipeline

    chat_model = llm_client(settings)  # one client for answers and follow-up rewriting
    pipeline = Pipeline.from_settings(settings, chat_model=chat_model)
    ensure_corpus(pipeline)
    warmup.start(settings, pipeline.embedder)  # the models load while the first question is typed
    convo = Conversation(pipeline, chat_model=chat_model, filters=filters_of(args, pipeline.store))
    interactive = sys.stdin.isatty()
    if settings.use_local:
        engine = f"the reader's quote, then {settings.model_label}"
    else:
        engine = f"LLM {settings.model}" if settings.use_llm else "extractive answers"
    print(f"rag chat ({engine}, {pipeline.store.count_articles()} articles). /sources /reset /quit")
    return _chat_loop(convo, pipeline, interactive)


def _chat_loop(convo: Any, pipeline: Any, interactive: bool) -> int:
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
        stream = pipeline.generator.name in STREAMING
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
    from rag.search.status import status

    pipeline = Pipeline.from_settings(settings, generator=NoGenerator())
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


def cmd_serve(args: argparse.Namespace, settings: Settings) -> int:
    from rag.web.webguard import check_bind

    check_bind(args.host, settings)
    if not 0 <= args.port <= 65535:
        raise ConfigError(f"--port must be between 0 and 65535, not {args.port}")
    with holding_local(settings):  # the local model stays loaded while the app serves
        return _serve(args, settings)


def _serve(args: argparse.Namespace, settings: Settings) -> int:
    import webbrowser

    import uvicorn

    from rag import warmup
    from rag.pipeline import Pipeline
    from rag.web.server import create_app

    chat_model = llm_client(settings)
    pipeline = Pipeline.from_settings(settings, chat_model=chat_model)
    ensure_corpus(pipeline)
    warmup.start(settings, pipeline.embedder)  # the models load while the server starts, not on the first question
    app = create_app(settings, pipeline=pipeline, chat_model=chat_model)
    shown = f"[{args.host}]" if ":" in args.host else args.host
    url = f"http://{'127.0.0.1' if args.host in {'0.0.0.0', '::'} else shown}:{args.port}/"
    token = " (API token required: RAG_SERVER_TOKEN)" if settings.server_token else ""
    print(f"rag serve: {url}{token}; API docs at {url}docs; Ctrl-C stops", file=sys.stderr)
    if args.open:
        threading.Timer(1.5, webbrowser.open, [url]).start()
    uvicorn.run(app, host=args.host, port=args.port, log_level="info")
    return 0


def cmd_local(args: argparse.Namespace, settings: Settings) -> int:
    """``rag local status|start|stop``: the local model's server."""
    from rag.local import client

    if args.action == "stop":
        stopped = client.stop(settings)
        if args.json:
            print(json.dumps({"stopped": stopped}))
        else:
            print("stopped the local model's server" if stopped else "no local model's server was running")
        return 0
    if args.action == "start":
        endpoint = client.ensure(settings, on_phase=_phase_line)
        loaded = f"loaded in {endpoint.cold_load_s:.1f}s" if endpoint.cold_load_s is not None else "already running"
        if not args.json:
            print(f"local model {endpoint.model.name}: {loaded} (pid {endpoint.pid}); `rag local stop` stops it")
    state = client.status(settings)
    if args.json:
        print(json.dumps(state, indent=2))
    elif args.action == "status":
        if not state["running"]:
            print(
                f"no local model's server is running ({state['folder']}); "
                "the first `--engine local` question starts one"
            )
        else:
            print(
                f"running: {Path(state['model']).name}, pid {state['pid']}, {state['threads']} threads, context "
                f"{state['ctx']} tokens; loaded in {state['load_s']:.1f}s, up {state['up_s']:.0f}s, idle "
                f"{state['idle_s']:.0f}s of {state['idle_limit_s']:.0f}s"
                + (f"; held by {len(state['leases'])} chat/serve process(es)" if state["leases"] else "")
            )
    return 0


class NoGenerator:
    """Commands that never answer do not need to build (or configure) an answerer."""

    name = "none"

    def generate(self, *args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("this command does not answer questions")


#: Engines whose answers are streamed as they are checked (the extractive one prints whole, its phrase marked).
STREAMING = frozenset({"llm", "local"})


def llm_client(settings: Settings) -> Any:
    """The configured LLM client (the local model's loads in the background at once), or None for extractive
    answers."""
    if not settings.use_llm:
        return None
    from rag.provider import chat_model

    model = chat_model(settings, on_phase=_phase_line)
    warm = getattr(model, "warm_in_background", None)
    if warm is not None:
        warm()
    return model


def local_client(settings: Settings) -> Any:
    """The local model's client for ``rag ask`` (None for other engines); its cold load is said on stderr. A
    ``RAG_LOCAL_MODEL`` file that cannot be a model ends the command here, before anything is answered."""
    if not settings.use_local:
        return None
    from rag.local import weights
    from rag.local.client import require_xllamacpp
    from rag.local.model import LocalChat

    require_xllamacpp()
    if settings.local_model and settings.local_model not in weights.MODELS:
        weights.custom_model(settings.local_model)

    return LocalChat(settings, on_phase=_phase_line)


def _phase_line(text: str) -> None:
    print(f"rag: {text}", file=sys.stderr, flush=True)


@contextlib.contextmanager
def holding_local(settings: Settings) -> Iterator[None]:
    """Keep the local model loaded while this command runs (``rag chat``, ``rag serve``)."""
    if not settings.use_local:
        yield
        return
    from rag.local import client

    with client.lease(settings):
        yield


def _writer() -> Any:
    def write(text: str) -> None:
        sys.stdout.write(text)
        sys.stdout.flush()

    return write


def ensure_corpus(pipeline: Any) -> bool:
    """Load the bundled sample into an empty store (saying so on stderr); whether it did."""
    report = pipeline.ensure_corpus()
    if report is not None:
        print(
            f"(the store was empty: loaded the bundled sample from {pipeline.settings.corpus_dir}: "
            f"{report.summary()}; your first `rag ingest` replaces it)",
            file=sys.stderr,
        )
    return report is not None
