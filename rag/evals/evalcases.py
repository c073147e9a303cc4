"""Evaluation cases: the known-facts suites in ``evals/`` (YAML) and real datasets in the shape of
``realtimeqa-2024`` (``articles.jsonl`` + ``questions.jsonl``), both turned into one ``Case`` type."""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

import yaml

from rag.errors import ConfigError
from rag.evals.metrics import Fact, normalise


def suite_type(path: Path) -> str:
    """The ``type:`` a YAML suite file declares ("" when it declares none or cannot be read)."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError):
        return ""
    return str(data.get("type") or "") if isinstance(data, dict) else ""


KINDS = (
    "single_fact", "number", "date", "who_where", "two_sentence", "paraphrase",
    "unanswerable", "false_premise", "quiz", "hidden", "follow_up",
)  # fmt: skip
EXPECTS = ("answer", "refusal", "correction")


@dataclass(frozen=True)
class Evidence:
    """Where the answer is: an article, and optionally a passage in it (for chunk-level retrieval hits)."""

    article: str
    quote: str = ""


@dataclass(frozen=True)
class Case:
    id: str
    question: str
    kind: str
    expect: str = "answer"  #: answer | refusal (unanswerable) | correction (false premise)
    facts: tuple[Fact, ...] = ()  #: all must be in the answer (for a correction: the corrected facts)
    forbid: tuple[Fact, ...] = ()  #: none may be in the answer (e.g. accepting a false premise)
    evidence: tuple[Evidence, ...] = ()
    as_of: dt.date | None = None  #: answer only from articles published up to this date
    note: str = ""
    #: Earlier questions of a conversation, asked first: the case's question is their follow-up.
    history: tuple[str, ...] = ()
    #: Articles hidden from retrieval for this case (``--unanswerable``: the ones holding the answer).
    hide: frozenset[str] = frozenset()
    #: With ``hide``: the gold answer those articles held, to tell whether the passages retrieved without them
    #: still hold its words (a wording the exact-string hide missed: "JetBlue" for "JetBlue Airways").
    hidden_answer: str = ""


@dataclass
class Suite:
    name: str
    cases: list[Case]
    corpus: list[Path] = field(default_factory=list)
    source: str = ""
    store: str = ""  #: the store to ingest into (suites over the same corpus share one); default: the name
    only: frozenset[str] = frozenset()  #: ingest only these article ids from the corpus (empty: all)

    @property
    def missing(self) -> list[Path]:
        """Corpus paths that do not exist (a suite over data that is not on this machine is skipped)."""
        return [p for p in self.corpus if not p.exists()]


def load_suite(path: Path) -> Suite:
    """A YAML suite: ``name``, ``corpus`` (paths relative to the file), ``cases``."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"cannot read eval suite {path}: {exc}") from None
    if not isinstance(data, dict) or not isinstance(data.get("cases"), list):
        raise ConfigError(f"eval suite {path} needs `name`, `corpus` and a list of `cases`")
    corpus = data.get("corpus") or []
    corpus = [corpus] if isinstance(corpus, str) else corpus
    cases = []
    seen: set[str] = set()
    for i, raw in enumerate(data["cases"]):
        try:
            case = _case(raw)
        except (KeyError, TypeError, ValueError) as exc:
            raise ConfigError(f"{path}: case {i + 1} is invalid: {exc}") from None
        if case.id in seen:
            raise ConfigError(f"{path}: duplicate case id {case.id!r}")
        seen.add(case.id)
        cases.append(case)
    only = frozenset(str(a) for a in _list(data.get("articles")))
    name = str(data.get("name") or path.stem)
    return Suite(name, cases, [(path.parent / c).resolve() for c in corpus], str(path), only=only)


def _case(raw: dict[str, object]) -> Case:
    kind = str(raw["kind"])
    if kind not in KINDS:
        raise ValueError(f"unknown kind {kind!r} (one of {', '.join(KINDS)})")
    expect = str(raw.get("expect") or {"unanswerable": "refusal", "false_premise": "correction"}.get(kind, "answer"))
    if expect not in EXPECTS:
        raise ValueError(f"unknown expect {expect!r}")
    facts = tuple(Fact.parse(f) for f in _list(raw.get("facts")))
    if expect != "refusal" and not facts:
        raise ValueError("an answerable case needs `facts`")
    evidence = tuple(
        Evidence(str(e["article"]), str(e.get("quote", ""))) if isinstance(e, dict) else Evidence(str(e))
        for e in _list(raw.get("evidence"))
    )
    as_of = raw.get("as_of")
    history = tuple(str(q) for q in _list(raw.get("history")))
    if kind == "follow_up" and not history:
        raise ValueError("a follow_up case needs `history`: the questions asked before it")
    return Case(
        id=str(raw["id"]),
        question=str(raw["question"]),
        kind=kind,
        expect=expect,
        facts=facts,
        forbid=tuple(Fact.parse(f) for f in _list(raw.get("forbid"))),
        evidence=evidence,
        as_of=dt.date.fromisoformat(str(as_of)) if as_of else None,
        note=str(raw.get("note", "")),
        history=history,
    )


def _list(value: object) -> list[object]:
    if value is None:
        return []
    return list(value) if isinstance(value, list | tuple) else [value]


def load_dataset(directory: Path, limit: int = 0, unanswerable: bool = False, sample: int = 0) -> Suite:
    """A dataset's quiz questions as cases: the gold answer is the fact, the question date the as-of.
    ``limit``: the first N questions; ``sample``: N questions spread evenly over the whole set (every week
    represented, the same ones every run).

    ``unanswerable``: every article holding a question's gold answer is hidden from it, so the right behaviour
    is a refusal (same store as the normal run)."""
    articles, questions = directory / "articles.jsonl", directory / "questions.jsonl"
    if not articles.exists() or not questions.exists():
        raise ConfigError(f"dataset {directory} needs articles.jsonl and questions.jsonl")
    holding = _answer_index(articles) if unanswerable else None
    cases = []
    for n, line in enumerate(questions.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            q = json.loads(line)
            case = Case(
                id=str(q.get("id") or n),
                question=str(q["question"]),
                kind="quiz",
                facts=(Fact(any=(str(q["answer"]),)),),
                evidence=tuple(Evidence(str(e)) for e in q.get("evidence_ids", [])),
                as_of=dt.date.fromisoformat(str(q["date"]).replace("/", "-")[:10]),
            )
            if holding is not None:
                hide = holding(str(q["answer"]))
                case = replace(
                    case, kind="hidden", expect="refusal", facts=(), evidence=(), hide=hide,
                    hidden_answer=str(q["answer"]),
                )  # fmt: skip
            cases.append(case)
        except (KeyError, ValueError, TypeError) as exc:
            raise ConfigError(f"{questions}:{n}: invalid question record ({exc})") from None
    name = f"dataset:{directory.name}" + (":unanswerable" if unanswerable else "")
    if sample and sample < len(cases):
        cases = [cases[i * len(cases) // sample] for i in range(sample)]
    return Suite(name, cases[:limit] if limit else cases, [articles], str(directory), store=f"dataset:{directory.name}")


def _answer_index(articles: Path) -> Callable[[str], frozenset[str]]:
    """answer → ids of the articles whose title or text contains it (normalised, whole words)."""
    texts: dict[str, str] = {}
    having: dict[str, set[str]] = {}  # word → articles: only those holding every word of an answer are searched
    for line in articles.read_text(encoding="utf-8").splitlines():
        if line.strip():
            a = json.loads(line)
            aid = str(a["id"])
            texts[aid] = normalise(f"{a.get('title', '')}\n{a.get('text', '')}")
            for word in set(texts[aid].split()):
                having.setdefault(word, set()).add(aid)

    def holding(answer: str) -> frozenset[str]:
        n = normalise(answer)
        if not n:
            return frozenset()
        pattern = re.compile(rf"(?<!\w){re.escape(n)}(?!\w)")
        pools = sorted((having.get(w, set()) for w in n.split()), key=len)
        return frozenset(aid for aid in set.intersection(*pools) if pattern.search(texts[aid]))

    return holding
