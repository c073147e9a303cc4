"""Evaluation reports: a terminal table, JSON, a self-contained HTML page, and the regression gate
against a committed baseline."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Protocol

from rich.console import Console
from rich.table import Table

from rag import templating
from rag.evals.evalscore import EvalReport, K

#: (metric, label, higher is better); the gate checks the ones marked gated.
METRICS: list[tuple[str, str, bool]] = [
    ("accuracy", "all cases passed", True),
    ("answer_accuracy", "answer accuracy", True),
    ("answer_phrase_accuracy", "answer-phrase accuracy (marked phrase or short answer)", True),
    ("answer_first", "answer first (facts in sentence 1)", True),
    ("words_per_answer", "words per answer", False),
    ("follow_up_accuracy", "follow-up accuracy", True),
    (f"hit@{K}", f"hit@{K}", True),
    (f"recall@{K}", f"recall@{K}", True),
    ("mrr@10", "MRR@10", True),
    ("citation_precision", "citation precision", True),
    ("citation_recall", "citation recall", True),
    ("unresolved_citations", "unresolved citations", False),
    ("refusal_rate", "refusal rate", False),
    ("false_refusal_rate", "false refusals (answerable refused)", False),
    ("refusal_precision", "refusal precision", True),
    ("refusal_recall", "refusal recall", True),
    ("hidden_words_left", "answer's words still retrieved", False),
    ("refusal_recall_words_gone", "refusal recall, answer's words gone", True),
    ("false_premise_handled", "false premises handled", True),
    ("retrieve_p50_ms", "retrieve p50 ms", False),
    ("generate_p50_ms", "generate p50 ms", False),
    ("generate_p95_ms", "generate p95 ms", False),
    ("generate:read_p50_ms", "  of which read p50 ms", False),
    ("generate:first_token_p50_ms", "  of which model's first token p50 ms", False),
    ("generate:model_p50_ms", "  of which model p50 ms", False),
    ("generate:model_p95_ms", "  of which model p95 ms", False),
    ("total_p50_ms", "total p50 ms", False),
    ("total_p95_ms", "total p95 ms", False),
    ("prompt_tokens", "prompt tokens", False),
    ("completion_tokens", "completion tokens", False),
    ("cost_usd", "est. cost USD", False),
    ("judge_faithfulness", "judge: faithfulness (mean of 3)", True),
    ("judge_faithfulness_spread", "judge: faithfulness spread", False),
    ("judge_relevance", "judge: relevance (mean of 3)", True),
    ("judge_relevance_spread", "judge: relevance spread", False),
]


def _fmt(metric: str, value: float | None) -> str:
    if value is None:
        return "—"
    if metric.endswith("_ms"):
        return f"{value:.0f}"
    if metric in {"prompt_tokens", "completion_tokens", "unresolved_citations", "cases"}:
        return f"{value:,.0f}"
    if metric == "words_per_answer":
        return f"{value:.1f}"
    if metric == "cost_usd":
        return f"${value:.4f}"
    return f"{value:.3f}"


def _rows(report: EvalReport) -> list[tuple[str, str, list[float | None]]]:
    rows = []
    for metric, label, _ in METRICS:
        values = [a.summary.get(metric) for a in report.arms]
        if all(v is None for v in values) or (metric.endswith("tokens") and not any(values)):
            continue
        rows.append((metric, label, values))
    return rows


def _delta(values: list[float | None], metric: str) -> str:
    if len(values) < 2 or values[0] is None or values[1] is None:
        return ""
    d = values[0] - values[1]
    return f"{d:+.0f}" if metric.endswith("_ms") else f"{d:+.3f}"


def print_report(report: EvalReport, console: Console | None = None) -> None:
    console = console or Console()
    m = report.meta
    console.print(
        f"[bold]{m['suite']}[/bold]: {m['cases']} cases · engine {m['engine']} ({m['model']}) · "
        f"commit {m['commit']} · settings {m['settings_fingerprint']} · prompts " + ", ".join(m["prompts"].values())
    )
    table = Table(show_edge=False)
    table.add_column("metric")
    for a in report.arms:
        table.add_column(a.name, justify="right")
    if len(report.arms) > 1:
        table.add_column("Δ ours − textbook", justify="right")
    for metric, label, values in _rows(report):
        cells = [_fmt(metric, v) for v in values]
        ours = report.arms[0]
        if metric in ours.ci:
            lo, hi = ours.ci[metric]
            cells[0] += f" [dim]({lo:.2f}–{hi:.2f})[/dim]"
        table.add_row(label, *cells, *([_delta(values, metric)] if len(report.arms) > 1 else []))
    console.print(table)
    kinds = Table(title="by kind", show_edge=False)
    kinds.add_column("kind")
    kinds.add_column("cases", justify="right")
    for a in report.arms:
        kinds.add_column(f"{a.name} acc", justify="right")
        kinds.add_column(f"{a.name} hit@{K}", justify="right")
    for kind in report.arms[0].per_kind:
        row = [kind, _fmt("cases", report.arms[0].per_kind[kind]["cases"])]
        for a in report.arms:
            pk = a.per_kind.get(kind, {})
            row += [_fmt("accuracy", pk.get("accuracy")), _fmt("hit", pk.get(f"hit@{K}"))]
        kinds.add_row(*row)
    console.print(kinds)
    failed = [c for c in report.arms[0].cases if not c.passed]
    if failed:
        console.print(f"[bold]{len(failed)} failing case(s) ({report.arms[0].name}):[/bold]")
        for c in failed[:25]:
            console.print(f"  {c.id} [{c.kind}]: {c.reason}", markup=False, highlight=False)
        if len(failed) > 25:
            console.print(f"  … and {len(failed) - 25} more (see --report FILE.html)")


def write_json(report: EvalReport, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report.to_dict(), indent=2, ensure_ascii=False), encoding="utf-8")


# -- HTML ---------------------------------------------------------------------------------------------------

_COLOURS = ["#2f6fdf", "#b0b8c4"]


def _chart(report: EvalReport) -> dict[str, Any]:
    """Grouped bars: accuracy and hit@k per kind, one bar per pipeline (the geometry ``eval_report.html``
    draws)."""
    kinds = list(report.arms[0].per_kind)
    groups = [(kind, metric) for kind in kinds for metric in ("accuracy", f"hit@{K}")]
    groups = [g for g in groups if any(a.per_kind.get(g[0], {}).get(g[1]) is not None for a in report.arms)]
    bar, gap, height = 14, 18, 180
    width = 60 + len(groups) * (bar * len(report.arms) + gap)
    grid = []
    for t in (0, 0.5, 1):
        y = 10 + height * (1 - t)
        grid.append({"y": y, "label_y": y + 4, "label": f"{t:.1f}"})
    drawn = []
    x = 50
    for kind, metric in groups:
        bars = []
        for i, arm in enumerate(report.arms):
            v = arm.per_kind.get(kind, {}).get(metric) or 0.0
            h = height * v
            bars.append(
                {
                    "x": x + i * bar,
                    "y": f"{10 + height - h:.1f}",
                    "width": bar - 2,
                    "height": f"{h:.1f}",
                    "colour": _COLOURS[i % 2],
                    "arm": arm.name,
                    "value": f"{v:.2f}",
                }
            )
        label = f"{kind} {'acc' if metric == 'accuracy' else metric}"
        cx = x + bar * len(report.arms) / 2
        drawn.append({"kind": kind, "metric": metric, "bars": bars, "x": cx, "y": height + 16, "label": label})
        x += bar * len(report.arms) + gap
    legend = [{"colour": _COLOURS[i % 2], "name": a.name} for i, a in enumerate(report.arms)]
    return {"width": width, "height": height + 90, "grid": grid, "groups": drawn, "legend": legend}


def to_html(report: EvalReport) -> str:
    """A self-contained page (``eval_report.html``): summary, chart and table by kind, every case."""
    m = report.meta
    summary = []
    for metric, label, values in _rows(report):
        delta = _delta(values, metric)
        better = next(hb for name, _, hb in METRICS if name == metric)
        cls = ""
        if delta and float(delta) != 0:
            cls = "pos" if (float(delta) > 0) == better else "neg"
        cells = [_fmt(metric, v) for v in values]
        summary.append({"label": label, "cells": cells, "delta": delta, "delta_class": cls})
    kinds = [
        {
            "kind": kind,
            "cases": f"{stats['cases']:.0f}",
            "cells": [
                _fmt("accuracy", a.per_kind.get(kind, {}).get(metric))
                for a in report.arms
                for metric in ("accuracy", f"hit@{K}")
            ],
        }
        for kind, stats in report.arms[0].per_kind.items()
    ]
    meta_line = [
        str(x)
        for x in (
            f"{m['cases']} cases",
            f"engine {m['engine']} ({m['model']})",
            f"commit {m['commit']}",
            f"settings {m['settings_fingerprint']}",
            "prompts " + ", ".join(m["prompts"].values()),
            m["created"],
        )
    ]
    return templating.render(
        "eval_report.html",
        meta=m,
        meta_line=meta_line,
        arms=report.arms,
        compared=len(report.arms) > 1,
        summary=summary,
        chart=_chart(report),
        kinds=kinds,
        k=K,
    )


def write_report(report: EvalReport, path: Path) -> None:
    """By extension: ``.json`` or ``.html``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix.lower() == ".json":
        write_json(report, path)
    elif path.suffix.lower() in {".html", ".htm"}:
        path.write_text(to_html(report), encoding="utf-8")
    else:
        raise ValueError(f"unknown report format {path.suffix!r}: use .json or .html")


def write_index(path: Path, written: list[tuple[str, Path]]) -> None:
    """``--report FILE`` with several suites: FILE itself lists each suite's report (an HTML page of links, or
    JSON ``{"reports": [{"suite", "file"}]}``), with file names relative to FILE."""
    path.parent.mkdir(parents=True, exist_ok=True)
    rows = [(name, out.name) for name, out in written]
    if path.suffix.lower() == ".json":
        data = {"reports": [{"suite": name, "file": file} for name, file in rows]}
        path.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
        return
    path.write_text(templating.render("eval_index.html", reports=rows), encoding="utf-8")


# -- regression gate ----------------------------------------------------------------------------------------


class Gated(Protocol):
    """A report the regression gate can check (QA or briefing)."""

    meta: dict[str, Any]

    @property
    def unresolved(self) -> int: ...
    def gated(self) -> dict[str, float | None]: ...


def baseline_data(report: Gated) -> dict[str, Any]:
    return {"meta": report.meta, "summary": report.gated()}


def check(report: Gated, baseline: dict[str, Any], tolerance: float) -> list[str]:
    """Regressions: gated metrics more than ``tolerance`` below the baseline, and unresolved citations."""
    problems = []
    ours = report.gated()
    if report.unresolved:
        problems.append(f"{report.unresolved} citation(s) do not resolve to article text")
    if baseline.get("meta", {}).get("suite") != report.meta["suite"]:
        problems.append(
            f"baseline is for suite {baseline.get('meta', {}).get('suite')!r}, not {report.meta['suite']!r}"
        )
        return problems
    for metric in ours:
        was, now = baseline["summary"].get(metric), ours.get(metric)
        if was is None:
            continue
        if now is None or now < was - tolerance:
            problems.append(f"{metric} fell from {was:.3f} to {_fmt(metric, now)} (tolerance {tolerance:.3f})")
    return problems
