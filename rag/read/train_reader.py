"""``rag train-reader``: fit the reader on a dataset in the RealTime QA shape and write its artifact.

The dataset's articles are ingested into their own store (the same cached store `rag eval --dataset` uses);
each question is asked as the product asks it (articles up to its date), once normally and once with every
article holding its gold answer hidden, which gives the answerability model its negatives. Candidate sentences
are labelled by whether they contain the gold answer. Every stage is fitted with question-grouped
cross-validation so that the next stage learns from out-of-fold outputs, as it will see them at run time.
The contexts are collected by ``rag.read.reader_contexts``; ``rag.read.reader_card`` writes and scores the result.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from rag.evals.metrics import contains, normalise
from rag.read.candidates import Candidate, candidates
from rag.read.reader import (
    ANSWERABLE,
    Logistic,
    Reading,
    answerable_row,
    rank,
    retrieved,
    shortlist,
)
from rag.read.reader_card import model_card, read_all, score_readings, write
from rag.read.reader_contexts import Context, collect, dataset_pipeline
from rag.read.reader_fit import fit_forest, fit_logistic
from rag.read.sentence_features import FEATURES, QuestionInfo, featurize
from rag.read.spans import SPAN_FEATURES, Span, span_features
from rag.read.trees import Forest
from rag.types import Hit

Log = Callable[[str], None]
SHORTLIST = 12
SPAN_WEIGHTS = (0.0, 0.25, 0.5, 1.0)
MAX_WORDS = 43  #: the support rule keeps answers to about this many words on average


# -- examples ----------------------------------------------------------------------------------------------------


@dataclass
class Example:
    """One (question, context) pair: its candidates, their features and labels, and each stage's outputs."""

    ctx: Context
    hidden: bool
    q: QuestionInfo
    hits: list[Hit]
    cands: list[Candidate]
    feats: np.ndarray
    labels: np.ndarray
    ranker: np.ndarray | None = None
    short: list[int] = field(default_factory=list)
    spans: list[Span] = field(default_factory=list)
    span_rows: np.ndarray | None = None
    span_labels: np.ndarray | None = None
    span_scores: np.ndarray | None = None

    def idf(self, term: str) -> float:
        return self.ctx.idf.get(term, 3.0)


def examples(contexts: Sequence[Context]) -> list[Example]:
    out = []
    for ctx in contexts:
        q = QuestionInfo.of(ctx.question, lambda t, idf=ctx.idf: idf.get(t, 3.0))  # type: ignore[misc]
        for hidden, hits in ((False, ctx.normal), (True, ctx.hidden)):
            cands = candidates(hits)
            feats = featurize(q, cands, retrieved(cands, hits), ctx.date)
            labels = np.asarray([contains(c.text, ctx.answer) for c in cands], dtype=np.float32)
            out.append(Example(ctx, hidden, q, hits, cands, feats, labels))
    return out


def span_label(text: str, answer: str) -> bool:
    """A phrase is the answer when it contains the gold answer, or is a part of it (a surname, "New Castle")."""
    return contains(text, answer) or (len(normalise(text)) >= 3 and contains(answer, text))


def with_spans(e: Example, ranker: np.ndarray) -> None:
    """Shortlist and candidate phrases of an example for these ranker scores."""
    e.ranker = ranker
    e.short = shortlist(e.cands, ranker, SHORTLIST)
    e.spans, e.span_rows = span_features(e.q, e.cands, e.short, ranker, e.idf)
    e.span_labels = np.asarray([span_label(sp.text, e.ctx.answer) for sp in e.spans], dtype=np.float32)


def reading_of(e: Example, span_weight: float) -> Reading:
    assert e.ranker is not None and e.span_rows is not None and e.span_scores is not None
    ranked = rank(e.cands, e.ranker, e.short, e.spans, e.span_scores, span_weight)
    evidence = answerable_row(e.q, e.cands, e.feats, e.ranker, e.short, e.spans, e.span_rows, e.span_scores, e.hits)
    return Reading(e.q, ranked, 0.0, evidence, e.cands)


# -- cross-validated fitting --------------------------------------------------------------------------------------


def folds_of(contexts: Sequence[Context], k: int) -> dict[str, int]:
    """Contiguous blocks in date order: each fold holds out whole weeks, as new weeks arrive in use."""
    order = sorted(contexts, key=lambda c: (c.date, c.id))
    return {c.id: i * k // len(order) for i, c in enumerate(order)}


def _stack(rows: Sequence[np.ndarray], labels: Sequence[np.ndarray]) -> tuple[np.ndarray, np.ndarray, list[int]]:
    keep = [i for i, r in enumerate(rows) if len(r)]
    return (
        np.vstack([rows[i] for i in keep]),
        np.concatenate([labels[i] for i in keep]),
        [len(rows[i]) for i in keep],
    )


@dataclass
class Trained:
    ranker: Forest
    spans: Forest
    answerable: Logistic
    threshold: float
    support: dict[str, float]
    oof: dict[tuple[str, bool], Reading]  #: out-of-fold readings (with probabilities), for the model card
    span_weight: float = 0.0


def train(
    exs: list[Example],
    *,
    folds: int = 5,
    seed: int = 0,
    rounds: int = 300,
    target_false_refusals: float = 0.08,
    log: Log = lambda _m: None,
) -> Trained:
    contexts = list({e.ctx.id: e.ctx for e in exs}.values())
    fold = folds_of(contexts, folds)
    normal = [e for e in exs if not e.hidden]
    log(f"train-reader: {len(exs)} examples, {sum(len(e.cands) for e in exs)} candidate sentences")

    def fitted(rows: Callable[[Example], np.ndarray], labels: Callable[[Example], np.ndarray], f: int) -> Forest:
        part = [e for e in normal if fold[e.ctx.id] != f]
        x, y, groups = _stack([rows(e) for e in part], [labels(e) for e in part])
        return fit_forest(x, y, groups, rounds, seed)

    # 1. The sentence ranker, out of fold; its scores pick each example's shortlist and phrases.
    for f in range(folds):
        ranker = fitted(lambda e: e.feats, lambda e: e.labels, f)
        for e in exs:
            if fold[e.ctx.id] == f:
                with_spans(e, ranker.predict(e.feats) if len(e.cands) else np.zeros(0))
    log("train-reader: sentence ranker fitted (out of fold)")

    # 2. The span model, out of fold.
    for f in range(folds):
        spans = fitted(lambda e: e.span_rows, lambda e: e.span_labels, f)  # type: ignore[arg-type,return-value]
        for e in exs:
            if fold[e.ctx.id] == f:
                e.span_scores = spans.predict(e.span_rows) if e.span_rows is not None and len(e.spans) else np.zeros(0)
    log("train-reader: span model fitted (out of fold)")
    # How much the best phrase counts in choosing the answer's sentence: the weight that puts the gold answer
    # first most often, out of fold.
    answers = {c.id: c.answer for c in contexts}

    def first_right(w: float) -> float:
        return float(
            np.mean(
                [
                    bool(r.ranked) and contains(r.ranked[0].text, answers[e.ctx.id])
                    for e in normal
                    for r in [reading_of(e, w)]
                ]
            )
        )

    span_weight = max(SPAN_WEIGHTS, key=first_right)
    readings = {(e.ctx.id, e.hidden): reading_of(e, span_weight) for e in exs}
    log(f"train-reader: span weight {span_weight} (answer first {first_right(span_weight):.3f} out of fold)")

    # 3. Answerability: do the retrieved articles hold the answer?
    keys = list(readings)
    x = np.vstack([readings[k].evidence for k in keys])
    # The articles answer a question when its gold answer is in the retrieved sentences; never with it hidden.
    y = np.asarray([float(not hidden and _in_context(readings[(q, hidden)], answers[q])) for q, hidden in keys])
    prob = np.zeros(len(keys))
    for f in range(folds):
        held = np.asarray([fold[q] == f for q, _ in keys])
        prob[held] = fit_logistic(x[~held], y[~held]).probability(x[held])
    for k, p in zip(keys, prob, strict=True):
        readings[k].answerable = float(p)
    is_normal = np.asarray([not hidden for _, hidden in keys])
    threshold = float(np.quantile(prob[is_normal], target_false_refusals))
    log(
        f"train-reader: answerability threshold {threshold:.3f} refuses {np.mean(prob[is_normal] < threshold):.3f} "
        f"of answerable and {np.mean(prob[~is_normal] < threshold):.3f} of answer-hidden runs (out of fold)"
    )
    support = choose_support(contexts, readings, threshold)

    # 4. Final fits on everything (the span model on out-of-fold ranker scores, as in stacking).
    ranker = fitted(lambda e: e.feats, lambda e: e.labels, -1)
    spans = fitted(lambda e: e.span_rows, lambda e: e.span_labels, -1)  # type: ignore[arg-type,return-value]
    answerable = fit_logistic(x, y)
    log("train-reader: final models fitted")
    return Trained(ranker, spans, answerable, threshold, support, readings, span_weight)


def _in_context(reading: Reading, answer: str) -> bool:
    return any(contains(c.text, answer) for c in reading.all_candidates)


def choose_support(
    contexts: Sequence[Context], readings: dict[tuple[str, bool], Reading], threshold: float
) -> dict[str, float]:
    """The rule for a second sentence: the best answer accuracy with answers of at most ~42 words on average."""
    from rag.answer.extractive import supporting

    answers = {c.id: c.answer for c in contexts}
    runs = [(q, r) for (q, hidden), r in readings.items() if not hidden and r.ranked and r.answerable >= threshold]
    best = (-1.0, {"gap": 0.0, "below": 0.0})
    for gap in (0.25, 0.5, 1.0, 2.0, 4.0):
        for below in (0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.01):
            right, words = 0, []
            for q, r in runs:
                chosen = [r.ranked[0]]
                second = supporting(r, gap, below)
                if second is not None:
                    chosen.append(second)
                right += any(contains(s.text, answers[q]) for s in chosen)
                words.append(sum(len(s.text.split()) for s in chosen))
            acc = right / max(len(runs), 1)
            if np.mean(words) <= MAX_WORDS and acc > best[0]:
                best = (acc, {"gap": gap, "below": below})
    return best[1]


# -- the artifact -----------------------------------------------------------------------------------------------


def artifact(trained: Trained, meta: dict[str, Any]) -> dict[str, Any]:
    """reader.json's content."""
    return {
        "format": 2,
        "features": FEATURES,
        "span_features": SPAN_FEATURES,
        "answerable_features": ANSWERABLE,
        "shortlist": SHORTLIST,
        "span_weight": trained.span_weight,
        "threshold": trained.threshold,
        "support": trained.support,
        "ranker": trained.ranker.to_dict(),
        "spans": trained.spans.to_dict(),
        "answerable": trained.answerable.to_dict(),
        "meta": meta,
    }


# -- the command ---------------------------------------------------------------------------------------------------


def run(
    dataset: Path,
    settings: Any,
    *,
    out_dir: Path,
    validate: Path | None = None,
    folds: int = 5,
    seed: int = 0,
    cross_encoder: bool = False,
    ce_epochs: int = 2,
    log: Log = lambda _m: None,
) -> dict[str, Any]:
    """Train on ``dataset``, write the artifact and its model card to ``out_dir``; optionally validate, and
    fine-tune the cross-encoder (``rag.read.train_cross``) on the trees' out-of-fold shortlists."""
    from rag.evals.evaluate import source_commit
    from rag.read.reader import ReaderModel
    from rag.read.train_cross import config_meta, require_extra, run_cross, write_cross_card

    if cross_encoder:
        require_extra()  # before the trees are fitted, not after
    cache = settings.data_dir / "reader-cache"
    contexts = collect(dataset_pipeline(settings, dataset, log), dataset, log, cache=cache)
    exs = examples(contexts)
    trained = train(exs, folds=folds, seed=seed, log=log)
    by_id = {c.id: c for c in contexts}
    oof = [(by_id[q], trained.oof[(q, False)], trained.oof[(q, True)]) for q in by_id]
    train_scores = score_readings(oof, trained.threshold, trained.support)
    meta = {
        "created": dt.date.today().isoformat(),
        "commit": source_commit(),
        "dataset": dataset.name,
        "questions": len(contexts),
        "folds": folds,
        "seed": seed,
        "top_k": settings.top_k,
        "n_features": len(FEATURES),
        "shortlist": SHORTLIST,
        "span_weight": trained.span_weight,
        "threshold": trained.threshold,
        "train": train_scores,
    }
    # The validation contexts before anything is written: a validation set that cannot be read (or a store another
    # run is writing) leaves the shipped artifact as it was, not replaced by one whose hash nothing pins.
    dev = collect(dataset_pipeline(settings, validate, log), validate, log, cache=cache) if validate else []
    sha = write(out_dir, artifact(trained, meta))
    dev_scores = None
    if validate is not None:
        model = ReaderModel.load(out_dir / "reader.json", expected_sha256=sha)
        dev_scores = score_readings(read_all(model, dev), model.threshold, trained.support)
        meta["validated_on"] = validate.name
    (out_dir / "READER.md").write_text(model_card(meta, train_scores, dev_scores), encoding="utf-8")
    cross = None
    if cross_encoder:
        cross = run_cross(
            exs, trained, dataset.name, out_dir, epochs=ce_epochs, seed=seed, commit=meta["commit"], log=log
        )
        cross_dev = None
        if validate is not None:
            from rag.read.cross_encoder import CrossConfig, CrossEncoder

            config = CrossConfig.load(out_dir / "reader-ce.json", expected_sha256=cross["sha256"])
            model = ReaderModel.load(out_dir / "reader.json", expected_sha256=sha)
            support = {"gap": config.support_gap, "below": config.support_below}
            cross_dev = score_readings(read_all(model, dev, cross=CrossEncoder(config)), model.threshold, support)
            cross["dev"] = cross_dev
        write_cross_card(out_dir, config_meta(out_dir), dev_scores, cross_dev, validate.name if validate else "")
    return {"sha256": sha, "train": train_scores, "dev": dev_scores, "out": str(out_dir), "cross_encoder": cross}
