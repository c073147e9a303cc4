"""``rag train-briefer``: fit the briefer's salience model on a dataset in the RealTime QA shape and write
``briefer.json`` with its model card ``BRIEFER.md``.

Each week of questions is briefed as ``rag eval --dataset`` briefs it: the articles retrieved for that week's
questions, grouped into ranked stories, every story's candidate sentences featurised by the briefer itself
(``ExtractiveBriefer.story_candidates``). A candidate is positive when it holds the gold answer of one of the
week's questions. The logistic regression is fitted with contiguous blocks of weeks held out, and each held-out
week is briefed with the model that did not see it: the quiz coverage and length reported are out of fold.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from rag.brief import salience
from rag.brief.brief import make_brief
from rag.brief.brief_extractive import ExtractiveBriefer, Order, StoryCandidates, arrange, summaries
from rag.brief.briefselect import MAX_STORIES
from rag.brief.newsworthiness import rank
from rag.brief.stories import Story, group
from rag.cite.cite import CitationBook
from rag.evals.evalbrief import brief_text
from rag.evals.evaluate import source_commit
from rag.evals.metrics import contains
from rag.read.pinned import write_pinned_json
from rag.read.reader_contexts import dataset_pipeline
from rag.read.reader_fit import fit_logistic
from rag.types import Article, StorySummary

Log = Callable[[str], None]
L2 = 1.0


@dataclass
class Week:
    """One week of the dataset: its articles and their vectors, its gold answers, and every story's candidates
    with their labels."""

    day: dt.date
    articles: list[Article]
    vectors: dict[str, np.ndarray]
    answers: list[str]
    stories: list[Story]
    candidates: list[StoryCandidates | None]
    idf: Callable[[str], float]

    @property
    def window(self) -> tuple[dt.date, dt.date]:
        dates = [a.published for a in self.articles if a.published] or [self.day]
        return min(dates), max(dates)

    def labels(self) -> np.ndarray:
        return np.asarray(
            [float(any(contains(c.text, a) for a in self.answers)) for sc in self.candidates if sc for c in sc.cands]
        )

    def rows(self) -> np.ndarray:
        return np.concatenate(
            [sc.rows for sc in self.candidates if sc] or [np.zeros((0, len(salience.FEATURES)))], axis=0
        )


class _Precomputed:
    """A summarizer that reuses a week's featurised candidates (no second embedding pass)."""

    name = "extractive"

    def __init__(self, week: Week, model: salience.Salience) -> None:
        self.week, self.model = week, model
        self.order: Order = {}

    def summarize(self, stories: list[Story], book: CitationBook, date: dt.date) -> list[StorySummary]:
        by_id = {s.id: sc for s, sc in zip(self.week.stories, self.week.candidates, strict=True)}
        return summaries(stories, [by_id.get(s.id) for s in stories], self.model, book, self.order)

    def arrange(self, sentences: list[str]) -> list[str]:
        return arrange(sentences, self.order)


def weeks(pipeline: Any, dataset: Path, log: Log) -> list[Week]:
    """The dataset's weeks (questions grouped by date), each with its stories' featurised candidates."""
    questions = [
        json.loads(x) for x in (dataset / "questions.jsonl").read_text(encoding="utf-8").splitlines() if x.strip()
    ]
    by_day: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for q in questions:
        by_day[str(q["date"]).replace("/", "-")[:10]].append(q)

    def idf(term: str) -> float:
        return float(pipeline.retriever.lexical.idf(term))

    briefer = ExtractiveBriefer(pipeline.embedder, idf=idf)
    out = []
    for n, (day, qs) in enumerate(sorted(by_day.items()), start=1):
        ids = sorted({i for q in qs for i in q.get("retrieved_ids", [])})
        articles = [a for a in (pipeline.store.get_article(i) for i in ids) if a is not None]
        if not articles:
            continue
        date = dt.date.fromisoformat(day)
        vectors = pipeline.store.article_vectors([a.id for a in articles])
        dates = [a.published for a in articles if a.published]
        until = max(dates) if dates else date
        stories = rank(group(articles, vectors), articles, until, idf)[: 2 * MAX_STORIES]
        answers = [str(q["answer"]) for q in qs]
        out.append(Week(date, articles, vectors, answers, stories, briefer.story_candidates(stories, date), idf))
        if n % 10 == 0 or n == len(by_day):
            log(f"train-briefer: {dataset.name}: {n}/{len(by_day)} weeks featurised")
    return out


def fit(train: Sequence[Week]) -> salience.Salience:
    x = np.concatenate([w.rows() for w in train], axis=0)
    y = np.concatenate([w.labels() for w in train])
    if not len(y) or y.min() == y.max():
        raise ValueError("training needs candidate sentences with and without a gold answer")
    return salience.Salience(fit_logistic(x, y, l2=L2, steps=1500))


def auc(p: np.ndarray, y: np.ndarray) -> float | None:
    """Rank AUC (ties counted half): how well ``p`` puts answer-holding sentences above the others."""
    pos, neg = int(y.sum()), int(len(y) - y.sum())
    if not pos or not neg:
        return None
    order = np.argsort(p, kind="mergesort")
    ranks = np.empty(len(p))
    ranks[order] = np.arange(1, len(p) + 1)
    for v in np.unique(p):  # average ranks over ties
        tie = p == v
        ranks[tie] = ranks[tie].mean()
    return float((ranks[y > 0].sum() - pos * (pos + 1) / 2) / (pos * neg))


def score(weeks_: Sequence[Week], models: Sequence[salience.Salience]) -> dict[str, float | None]:
    """Quiz coverage, words per brief and candidate AUC of each week briefed with its own model."""
    hits, total, words, ps, ys = 0, 0, [], [], []
    for week, model in zip(weeks_, models, strict=True):
        since, until = week.window
        brief = make_brief(
            week.articles,
            week.vectors,
            _Precomputed(week, model),
            date=week.day,
            since=since,
            until=until,
            idf=week.idf,
        )
        text = brief_text(brief)
        hits += sum(contains(text, a) for a in week.answers)
        total += len(week.answers)
        words.append(brief.words)
        ps.append(model.probability(week.rows()))
        ys.append(week.labels())
    return {
        "coverage": hits / total if total else None,
        "words": float(np.mean(words)) if words else None,
        "auc": auc(np.concatenate(ps), np.concatenate(ys)) if ps else None,
        "weeks": float(len(weeks_)),
        "questions": float(total),
    }


def out_of_fold(weeks_: Sequence[Week], folds: int) -> dict[str, float | None]:
    """Each contiguous block of weeks briefed by a model fitted on the others."""
    n = len(weeks_)
    folds = max(2, min(folds, n))
    models: list[salience.Salience] = []
    for b in range(folds):
        lo, hi = b * n // folds, (b + 1) * n // folds
        model = fit([*weeks_[:lo], *weeks_[hi:]])
        models += [model] * (hi - lo)
    return score(weeks_, models)


def model_card(meta: dict[str, Any], dev: dict[str, Any] | None) -> str:
    def row(name: str, scores: dict[str, Any]) -> str:
        cells = [f"{scores[k]:.3f}" if scores.get(k) is not None else "–" for k in ("coverage", "words", "auc")]
        return f"| {name} | {int(scores['weeks'])} | {int(scores['questions'])} | " + " | ".join(cells) + " |"

    lines = [
        "# Model card: the briefer's salience model",
        "",
        f"`briefer.json` (a logistic regression over {len(salience.FEATURES)} features; no text), built by "
        f"`rag train-briefer` on {meta['created']} from commit {meta['commit']}. `rag/brief/salience.py` pins it by "
        "sha256. Rebuilt from the same data, the weights agree to about 1e-8 (floating-point summation order and "
        "thread count), but the date, commit and those last digits are in the file, so its sha256 differs: pin the "
        "new one.",
        "",
        "## What it does",
        "For every candidate sentence of a story (the quotable sentences among the first 15 of its 5 most central "
        "articles) it gives the probability that the sentence states a fact a weekly news quiz asks about. The "
        "extractive briefer opens each story with its newest development (of the fresh ledes that are neither "
        "background nor leaning on an earlier sentence, the best product of the news score and its salience "
        "relative to the story's most salient sentence), then adds one at a time the sentence with the best product "
        "of the story's important words it adds and its relative salience, never one that overlaps or repeats a "
        "chosen one. Features: position, "
        "article and story rank, "
        "length, names and figures, whether it reads as news or background, centrality to the story, how much of "
        "the story's weighted vocabulary it covers, the rarity of its words, their recurrence across the story's "
        "articles, overlap with the headline, and the story's newsworthiness signals. NumPy at run time.",
        "",
        "## Training data",
        f"`{meta['dataset']}`: {meta['weeks']} weeks of news-quiz questions with gold answers and the articles a web "
        "search returned for them (RealTime QA, Kasai et al., NeurIPS 2023 Datasets and Benchmarks). Each week is "
        "briefed as `rag eval --dataset` briefs it; a candidate sentence is positive when it holds one of the week's "
        f"gold answers ({meta['positives']} of {meta['candidates']} candidates). Folds are contiguous blocks of weeks.",
        "",
        "**Licence.** The RealTime QA repository carries no licence file. The data is read from `../shared/` at "
        "training time and never copied into this repository; this artifact holds only weights learned from it. "
        "Fine for internal evaluation; before distributing it commercially, retrain on data you hold rights to "
        "(`rag train-briefer --dataset DIR` takes any dataset of this shape).",
        "",
        "## Metrics",
        "Quiz coverage: the share of a week's gold answers that its brief states (headlines included); words per "
        "brief; AUC of the model over all candidate sentences. Training weeks are out of fold.",
        "",
        "| data | weeks | questions | quiz coverage | words per brief | candidate AUC |",
        "| --- | --- | --- | --- | --- | --- |",
        row(f"{meta['dataset']} (out of fold)", meta["train"]),
    ]
    if dev:
        lines.append(row(f"{meta.get('validated_on', 'validation')} (validation only)", dev))
    lines += [
        "",
        "## Limits",
        "A quiz asks about some facts of a week, not every fact a reader wants; the model learns what such quizzes "
        "ask (names, figures, the central event), so it can undervalue context.",
    ]
    return "\n".join(lines) + "\n"


def run(
    dataset: Path, settings: Any, *, out_dir: Path, validate: Path | None = None, folds: int = 5, log: Log
) -> dict[str, Any]:
    """Featurise, score out of fold, fit on every week, write the artifact and card; optionally validate."""
    train = weeks(dataset_pipeline(settings, dataset, log), dataset, log)
    if len(train) < 2:
        raise ValueError(f"{dataset} has fewer than two weeks of questions with articles")
    oof = out_of_fold(train, folds)
    log(f"train-briefer: out of fold: coverage {oof['coverage']:.3f} at {oof['words']:.0f} words")
    model = fit(train)
    labels = np.concatenate([w.labels() for w in train])
    meta: dict[str, Any] = {
        "created": dt.date.today().isoformat(),
        "commit": source_commit(),
        "dataset": dataset.name,
        "weeks": len(train),
        "candidates": len(labels),
        "positives": int(labels.sum()),
        "folds": folds,
        "train": oof,
    }
    # The validation weeks before anything is written: a validation set that cannot be read (or a store another
    # run is writing) leaves the shipped artifact as it was, not replaced by one whose hash nothing pins.
    dev_weeks = weeks(dataset_pipeline(settings, validate, log), validate, log) if validate else []
    sha = write_pinned_json(out_dir / "briefer.json", model.to_dict(meta))  # pin it in rag/brief/salience.py
    dev = None
    if validate is not None:
        loaded = salience.Salience.load(out_dir / "briefer.json", expected_sha256=sha)
        dev = score(dev_weeks, [loaded] * len(dev_weeks))
        meta["validated_on"] = validate.name
    (out_dir / "BRIEFER.md").write_text(model_card(meta, dev), encoding="utf-8")
    return {"sha256": sha, "train": oof, "dev": dev, "out": str(out_dir)}
