"""The commands that write reports: the brief, eval, train-reader and bench."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from pathlib import Path
from typing import Any

from rag.cli.commands import NoGenerator, llm_client
from rag.errors import ConfigError, EmptyWindowError
from rag.settings import Settings


def cmd_brief(args: argparse.Namespace, settings: Settings) -> int:
    from rag.brief.brief import brief_from_store
    from rag.brief.brieffiles import read_brief, save
    from rag.brief.briefrender import render
    from rag.pipeline import Pipeline

    max_words = settings.brief_max_words if args.max_words is None else args.max_words
    max_stories = settings.brief_max_stories if args.max_stories is None else args.max_stories
    if max_words < 50 or max_stories < 1:
        raise ConfigError("--max-words must be at least 50 and --max-stories at least 1")
    pipeline = Pipeline.from_settings(settings, generator=NoGenerator())
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
    chat_model = llm_client(settings)
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
    from rag.ingest.feeds import load_feeds_file, poll_feeds, stored_links

    config = load_feeds_file(feeds_file)
    items = poll_feeds(config, pipeline.settings.feeds_state_path, known=stored_links(pipeline.store))
    report = pipeline.ingest_items(items, on_skip=lambda s: log(f"skipped {s.source}: {s.reason}"), on_wait=log)
    print(f"refresh: {report.summary()}", file=sys.stderr)


def cmd_eval(args: argparse.Namespace, settings: Settings) -> int:
    from rag.evals.evalrun import EvalRequest, EvalRun

    request = EvalRequest(
        suites=tuple(args.suites),
        datasets=tuple(args.dataset),
        limit=args.limit,
        sample=args.sample,
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
    runner = EvalRun(request, settings, chat_model=llm_client(settings), log=log)
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
    from rag.evals.evalbrief import BriefEvalReport, print_brief_report
    from rag.evals.evalclaims import ClaimsReport, print_claims_report
    from rag.evals.evalreport import print_report

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


def _datasets(args: argparse.Namespace) -> None:
    for path in [args.dataset, *([args.validate] if args.validate else [])]:
        if not (path / "questions.jsonl").exists() or not (path / "articles.jsonl").exists():
            raise ConfigError(f"{path} is not a dataset folder (articles.jsonl + questions.jsonl)")


def cmd_train_briefer(args: argparse.Namespace, settings: Settings) -> int:
    from rag.brief.train_briefer import run as train

    _datasets(args)
    if args.folds < 2:
        raise ConfigError("--folds must be at least 2")
    try:
        result = train(args.dataset, settings, out_dir=args.out, validate=args.validate, folds=args.folds, log=log)
    except ValueError as exc:
        raise ConfigError(str(exc)) from None
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print(f"briefer model written to {result['out']} (sha256 {result['sha256']})")
        for name in ("train", "dev"):
            if r := result[name]:
                auc = f"{r['auc']:.3f}" if r["auc"] is not None else "–"
                print(f"{name}: quiz coverage {r['coverage']:.3f} at {r['words']:.0f} words per brief, AUC {auc}")
        print("to ship it, set BRIEFER_SHA256 in rag/brief/salience.py to the sha256 above")
    return 0


def cmd_train_reader(args: argparse.Namespace, settings: Settings) -> int:
    from rag.read.train_reader import run as train

    _datasets(args)
    result = train(
        args.dataset,
        settings,
        out_dir=args.out,
        validate=args.validate,
        folds=args.folds,
        seed=args.seed,
        cross_encoder=args.cross_encoder,
        ce_epochs=args.ce_epochs,
        log=log,
    )
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print(f"reader written to {result['out']} (sha256 {result['sha256']})")
        for name in ("train", "dev"):
            if result[name]:
                print(f"{name}: " + ", ".join(f"{k} {v:.3f}" for k, v in result[name].items() if k != "questions"))
        print("to ship it, set READER_SHA256 in rag/read/reader.py to the sha256 above")
        if cross := result["cross_encoder"]:
            top1 = cross["held_out_top1"]
            print(f"cross-encoder written to {cross['out']} (sha256 {cross['sha256']})")
            print(
                f"held-out top-1: {top1['trees']:.3f} trees alone, {top1['cross_encoder']:.3f} with the cross-encoder "
                f"(weight {cross['weight']})"
            )
            print("to ship it, set CROSS_SHA256 in rag/read/cross_encoder.py to the sha256 above")
    return 0


def cmd_bench(args: argparse.Namespace, settings: Settings) -> int:
    if args.scale:
        from rag.evals.scale import run_scale

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
        from rag.evals.bench import run_bench

        result = run_bench(args.dataset, settings, limit=args.limit, local=args.local, log=log)
    print(json.dumps(result, indent=2, default=str) if args.json else result["table"])
    return 0
