"""Running ``rag eval``: the suites and datasets asked for become one job each; each job's report is written
where asked, the baseline kept or checked, and what failed is recorded (any failure makes the exit status 1)."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

from rag.errors import ConfigError
from rag.evals import evalbrief, evalchecks, evalclaims
from rag.evals.evalcases import Suite, load_dataset, load_suite
from rag.evals.evalreport import baseline_data, check, write_index, write_report
from rag.evals.evalscore import EvalReport
from rag.evals.evaluate import Log, run
from rag.settings import Settings

#: What a job produces: a QA report, a briefing report, or the claims suite's.
Report = EvalReport | evalbrief.BriefEvalReport | evalclaims.ClaimsReport
#: The suites (in the evals folder) run when none is named.
DEFAULT_SUITES = ("known_facts.yaml", "followups.yaml", "brief_known_facts.yaml", "brief_checks.yaml", "claims.yaml")


@dataclass(frozen=True)
class EvalRequest:
    """What ``rag eval`` was asked to do (its arguments)."""

    suites: tuple[Path, ...] = ()  #: YAML suite files; "claims" names the shipped claims suite
    datasets: tuple[Path, ...] = ()  #: dataset folders (articles.jsonl + questions.jsonl)
    limit: int = 0  #: only the first N questions of a dataset (0: all)
    sample: int = 0  #: N questions of a dataset spread evenly over it (0: all)
    reports: tuple[Path, ...] = ()  #: report files, .json or .html (with several jobs: one per job, and an index)
    check: bool = False  #: hold each report to its baseline
    update_baseline: bool = False  #: write each report's gated metrics as its new baseline
    baseline: Path | None = None  #: the baseline file (default: evals/baselines/<suite>.<engine>.json)
    tolerance: float = 0.02  #: how far a gated metric may fall below its baseline
    textbook: bool = True  #: also run the textbook pipeline for comparison
    judge: bool = False  #: also grade answers with the LLM
    briefs: bool = True  #: with datasets: also the weekly briefing coverage
    unanswerable: bool = False  #: with datasets: also each question with its answer's articles hidden


@dataclass
class Job:
    """One suite or dataset to run: ``run`` produces its report, or None when its data is not here."""

    name: str
    run: Callable[[], Report | None]


@dataclass
class Outcome:
    """One job's report and what became of it."""

    name: str
    report: Report | None  #: None: the job's dataset is not present (skipped, not failed)
    written: list[Path] = field(default_factory=list)  #: report files written
    baseline_written: Path | None = None  #: with ``update_baseline``
    checked_against: Path | None = None  #: the baseline a ``check`` held the report to
    problems: list[str] = field(default_factory=list)  #: regressions or unresolved citations: the run fails


class EvalRun:
    """The jobs of one ``rag eval``, planned from its request; ``run`` each, then ``gate`` it, then
    ``write_indexes``. Planning raises ``ConfigError`` for what cannot work (an LLM needed and none set, a
    report file that is neither JSON nor HTML) before any job runs."""

    def __init__(self, request: EvalRequest, settings: Settings, *, chat_model: Any = None, log: Log) -> None:
        self.request, self.settings, self.chat_model, self.log = request, settings, chat_model, log
        self.judge: Any = None  #: grades answers with the LLM (``--judge``)
        if request.judge:
            if chat_model is None:
                raise ConfigError("--judge needs an LLM: set OPENAI_API_KEY or OPENAI_BASE_URL")
            from rag.evals.judge import Judge

            self.judge = Judge(settings, chat_model)
        #: suites over data that is not shipped (the development set), skipped where it is absent: (name, path)
        self.skipped: list[tuple[str, Path]] = []
        self.jobs = self._plan()
        for path in request.reports:
            if path.suffix.lower() not in {".json", ".html", ".htm"}:
                raise ConfigError(f"--report {path}: use a .json or .html file name")
        self._written: dict[Path, list[tuple[str, Path]]] = {path: [] for path in request.reports}
        self.outcomes: list[Outcome] = []

    @property
    def failed(self) -> bool:
        return any(o.problems for o in self.outcomes)

    def _plan(self) -> list[Job]:
        request, settings = self.request, self.settings
        evals = settings.evals_dir
        paths = [evals / "claims.yaml" if p == Path("claims") and not p.exists() else p for p in request.suites]
        paths = paths or [evals / name for name in DEFAULT_SUITES]
        if request.datasets and not request.suites:
            paths = []
        claims_only = bool(paths) and all(evalclaims.is_claims_suite(p) for p in paths)
        jobs: list[Job] = []
        for path in paths:
            if evalclaims.is_claims_suite(path):
                verifier = None
                if settings.verify == "llm":
                    if self.chat_model is None:
                        raise ConfigError("--verify llm needs an LLM: set OPENAI_API_KEY or OPENAI_BASE_URL")
                    from rag.cite.verify import LLMVerifier

                    verifier = LLMVerifier(settings, self.chat_model)
                data = request.datasets[0] if request.datasets else None
                jobs.append(
                    Job(path.stem, partial(evalclaims.run_claims, path, settings, dataset=data, verifier=verifier))
                )
            elif evalbrief.is_brief_suite(path):
                jobs.append(Job(path.stem, partial(evalbrief.run_known_facts, path, settings)))
            elif evalchecks.is_check_suite(path):
                jobs.append(Job(path.stem, partial(evalchecks.run_checks, path, settings)))
            else:
                suite = load_suite(path)
                if suite.missing:
                    self.skipped.append((suite.name, suite.missing[0]))
                    continue
                jobs.append(Job(suite.name, partial(self._qa, suite)))
        for d in [] if claims_only else request.datasets:
            for hidden in (False, True) if request.unanswerable else (False,):
                suite = load_dataset(d, request.limit, unanswerable=hidden, sample=request.sample)
                jobs.append(Job(suite.name, partial(self._qa, suite)))
            if request.briefs:
                briefs = partial(evalbrief.run_dataset, d, settings, limit=request.limit, log=self.log)
                jobs.append(Job(f"briefs:{d.name}", briefs))
        return jobs

    def _qa(self, suite: Suite) -> EvalReport:
        return run(
            suite,
            self.settings,
            chat_model=self.chat_model,
            vanilla=self.request.textbook,
            judge=self.judge,
            log=self.log,
        )

    def run(self, job: Job) -> Outcome:
        """Run the job and write its report files (with several jobs, FILE.<job>.json or .html each)."""
        outcome = Outcome(job.name, job.run())
        self.outcomes.append(outcome)
        report = outcome.report
        if report is None:
            return outcome
        for path in self.request.reports:
            # Several jobs in one run: one file each, named after the job (report.json → report.<job>.json).
            out = path if len(self.jobs) == 1 else path.with_name(f"{path.stem}.{_slug(job.name)}{path.suffix}")
            if isinstance(report, evalclaims.ClaimsReport):
                out = out.with_suffix(".json")
                evalclaims.write_claims_report(report, out)
            elif isinstance(report, evalbrief.BriefEvalReport):
                evalbrief.write_brief_report(report, out)
            else:
                write_report(report, out)
            self._written[path].append((job.name, out))
            outcome.written.append(out)
        return outcome

    def gate(self, outcome: Outcome) -> None:
        """Keep the baseline (``update_baseline``) and record the outcome's problems: with ``check``, the
        metrics that fell below the baseline; always, citations that do not resolve. The claims suite has
        targets of its own instead of a baseline."""
        request, report = self.request, outcome.report
        if report is None:
            return
        if isinstance(report, evalclaims.ClaimsReport):
            outcome.problems = report.problems() if request.check else []
            return
        engine = report.meta["engine"]
        baseline = request.baseline or (
            self.settings.evals_dir / "baselines" / f"{_slug(report.meta['suite'])}.{engine}.json"
        )
        if request.update_baseline:
            baseline.parent.mkdir(parents=True, exist_ok=True)
            baseline.write_text(json.dumps(baseline_data(report), indent=2) + "\n", encoding="utf-8")
            outcome.baseline_written = baseline
        if request.check:
            if not baseline.exists():
                raise ConfigError(f"no baseline at {baseline}; create it with `rag eval --update-baseline`")
            outcome.problems = check(report, json.loads(baseline.read_text(encoding="utf-8")), request.tolerance)
            outcome.checked_against = baseline
        elif report.unresolved:
            outcome.problems = [f"{report.unresolved} citation(s) do not resolve to article text"]

    def write_indexes(self) -> list[Path]:
        """With several jobs, each ``--report FILE`` becomes an index of the jobs' reports; the files written."""
        written = []
        for path, reports in self._written.items():
            if len(self.jobs) > 1 and reports:
                write_index(path, reports)
                written.append(path)
        return written


def _slug(name: str) -> str:
    """A job or suite name as part of a file name."""
    return "".join(ch if ch.isalnum() else "-" for ch in name.lower()).strip("-") or "suite"
