"""``rag train-reader``: fit the reader on a dataset in the RealTime QA shape and write its artifact.

The dataset's articles are ingested into their own store (the same cached store `rag eval --dataset` uses);
each question is asked as the product asks it (articles up to its date), once normally and once with every
article holding its gold answer hidden, which gives the answerability model its negatives. Candidate sentences
are labelled by whether they contain the gold answer. Every stage is fitted with question-grouped
cross-validation so that the next stage learns from out-of-fold outputs, as it will see them at run time.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from rag.candidates import Candidate, candidates
from rag.embed import LocalMiniLM, pair_states
from rag.evalcases import load_dataset
from rag.lexical import terms
from rag.metrics import contains, normalise
from rag.pairhead import HeadOutput, HeadWeights, pool
from rag.reader import (
    ANSWERABLE,
    ANSWERABLE_FORMS,
    COMBINER,
    Reading,
    Scored,
    _retrieved,
    answerable_row,
    combiner_rows,
)
from rag.reader_fit import HeadData, fit_forest, fit_head, fit_logistic, head_arrays
from rag.sentence_features import FEATURES, QuestionInfo, featurize
from rag.trees import Forest
from rag.types import Chunk, Filters, Hit

Log = Callable[[str], None]
SHORTLIST = 12


@dataclass
class Context:
    """One training question with what retrieval gave the answerer, normally and with the answer hidden."""

    id: str
    question: str
    answer: str
    date: dt.date
    idf: dict[str, float]
    normal: list[Hit]
    hidden: list[Hit]


# -- collecting ------------------------------------------------------------------------------------------------


def collect(pipeline: Any, dataset: Path, log: Log, cache: Path | None = None) -> list[Context]:
    """Each question's retrieved context (normal and answer-hidden), cached as JSON beside the store."""
    suite = load_dataset(dataset, unanswerable=True)
    key = hashlib.sha256(
        json.dumps([pipeline.store.fingerprint, pipeline.settings.top_k, str(dataset.resolve())]).encode()
    ).hexdigest()[:12]
    if cache is not None:
        path = cache / f"contexts-{key}.json"
        if path.exists():
            log(f"train-reader: contexts from cache {path}")
            return [_context_from(d) for d in json.loads(path.read_text(encoding="utf-8"))]
    normal = {c.id: c for c in load_dataset(dataset).cases}
    out = []
    for i, case in enumerate(suite.cases, start=1):
        q = " ".join(case.question.split())
        until = Filters(until=case.as_of)
        hits = pipeline.retriever.context(q, pipeline.settings.top_k, until)
        hidden = pipeline.retriever.context(q, pipeline.settings.top_k, Filters(until=case.as_of, exclude=case.hide))
        answer = normal[case.id].facts[0].any[0]
        idf = {t: float(pipeline.retriever.lexical.idf(t)) for t in terms(q)}
        out.append(Context(case.id, q, answer, case.as_of or dt.date.today(), idf, hits, hidden))
        if i % 50 == 0:
            log(f"train-reader: retrieved {i}/{len(suite.cases)} questions")
    if cache is not None:
        cache.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps([_context_dict(c) for c in out]), encoding="utf-8")
    return out


def _hit_dict(h: Hit) -> dict[str, Any]:
    c = h.chunk
    return {
        "id": c.id, "article_id": c.article_id, "index": c.index, "text": c.text, "start": c.start, "end": c.end,
        "title": c.title, "outlet": c.outlet, "url": c.url,
        "published": c.published.isoformat() if c.published else None, "score": h.score,
        "dense_rank": h.dense_rank, "lexical_rank": h.lexical_rank,
    }  # fmt: skip


def _hit_from(d: dict[str, Any]) -> Hit:
    published = dt.date.fromisoformat(d["published"]) if d["published"] else None
    chunk = Chunk(
        d["id"], d["article_id"], d["index"], d["text"], d["start"], d["end"], d["title"], d["outlet"], d["url"],
        published,
    )  # fmt: skip
    return Hit(chunk, d["score"], d["dense_rank"], d["lexical_rank"])


def _context_dict(c: Context) -> dict[str, Any]:
    return {
        "id": c.id, "question": c.question, "answer": c.answer, "date": c.date.isoformat(), "idf": c.idf,
        "normal": [_hit_dict(h) for h in c.normal], "hidden": [_hit_dict(h) for h in c.hidden],
    }  # fmt: skip


def _context_from(d: dict[str, Any]) -> Context:
    return Context(
        d["id"], d["question"], d["answer"], dt.date.fromisoformat(d["date"]), d["idf"],
        [_hit_from(h) for h in d["normal"]], [_hit_from(h) for h in d["hidden"]],
    )  # fmt: skip


# -- examples ----------------------------------------------------------------------------------------------------


@dataclass
class Example:
    """One (question, context) pair: its candidates, their features and labels, and cached head inputs."""

    ctx: Context
    hidden: bool
    q: QuestionInfo
    cands: list[Candidate]
    feats: np.ndarray
    labels: np.ndarray
    pooled: dict[int, tuple[np.ndarray, np.ndarray, list[tuple[int, int]]]] = field(default_factory=dict)
    ranker: np.ndarray | None = None
    short: list[int] = field(default_factory=list)
    heads: list[HeadOutput] = field(default_factory=list)


def examples(contexts: Sequence[Context]) -> list[Example]:
    out = []
    for ctx in contexts:
        q = QuestionInfo.of(ctx.question, lambda t, idf=ctx.idf: idf.get(t, 3.0))  # type: ignore[misc]
        for hidden, hits in ((False, ctx.normal), (True, ctx.hidden)):
            cands = candidates(hits)
            feats = featurize(q, cands, _retrieved(cands, hits), ctx.date)
            labels = np.asarray([contains(c.text, ctx.answer) for c in cands], dtype=np.float32)
            out.append(Example(ctx, hidden, q, cands, feats, labels))
    return out


def ensure_pooled(encoder: LocalMiniLM, ex: Example, idx: Sequence[int]) -> None:
    """Compute (and keep) the pair-head inputs of these candidates."""
    todo = [i for i in idx if i not in ex.pooled]
    if not todo:
        return
    states = pair_states(encoder, [(ex.ctx.question, ex.cands[i].text) for i in todo])
    pooled = pool(states)
    for j, i in enumerate(todo):
        q_len = states.segments[j] - 2
        ex.pooled[i] = (pooled.vectors[j], pooled.tokens[j], states.offsets[j][q_len:])


def _answer_tokens(sentence: str, answer: str, offsets: list[tuple[int, int]]) -> tuple[int, int] | None:
    """The first and last token of the answer's first occurrence in the sentence, if it can be located."""
    m = re.search(re.escape(answer.strip(" .\"“”'‘’")), sentence, re.IGNORECASE)
    if not m or not offsets:
        return None
    first = next((t for t, (a, b) in enumerate(offsets) if b > m.start()), None)
    last = max((t for t, (a, b) in enumerate(offsets) if a < m.end()), default=None)
    return (first, last) if first is not None and last is not None and last >= first else None


def _eligible(ex: Example) -> list[int]:
    return [i for i, c in enumerate(ex.cands) if c.form in ANSWERABLE_FORMS]


# -- cross-validated fitting --------------------------------------------------------------------------------------


def folds_of(contexts: Sequence[Context], k: int) -> dict[str, int]:
    """Contiguous blocks in date order: each fold holds out whole weeks, as new weeks arrive in use."""
    order = sorted(contexts, key=lambda c: (c.date, c.id))
    return {c.id: i * k // len(order) for i, c in enumerate(order)}


def _stack(exs: Sequence[Example]) -> tuple[np.ndarray, np.ndarray, list[int]]:
    exs = [e for e in exs if len(e.cands)]
    return np.vstack([e.feats for e in exs]), np.concatenate([e.labels for e in exs]), [len(e.cands) for e in exs]


def head_data(exs: Sequence[Example], extra_positives: int = 3) -> HeadData:
    vectors, tokens, labels, spans = [], [], [], []
    for e in exs:
        positives = [i for i in _eligible(e) if e.labels[i] and i not in e.short and i in e.pooled][:extra_positives]
        for i in [*e.short, *positives]:
            vec, rows, offsets = e.pooled[i]
            vectors.append(vec)
            tokens.append(rows)
            labels.append(e.labels[i])
            spans.append(_answer_tokens(e.cands[i].text, e.ctx.answer, offsets) if e.labels[i] else None)
    return HeadData(np.vstack(vectors), tokens, np.asarray(labels), spans)


def apply_head(w: HeadWeights, e: Example) -> list[HeadOutput]:
    from rag.pairhead import best_span, char_span, relevance, span_logits

    if not e.short:
        return []
    vectors = np.vstack([e.pooled[i][0] for i in e.short])
    logits = relevance(w, vectors)
    out = []
    for j, i in enumerate(e.short):
        first, last, score = best_span(span_logits(w, e.pooled[i][1]))
        out.append(HeadOutput(float(logits[j]), char_span(e.cands[i].text, e.pooled[i][2], first, last), score))
    return out


def combiner_data(exs: Sequence[Example]) -> tuple[np.ndarray, np.ndarray, list[int]]:
    rows, labels, groups = [], [], []
    for e in exs:
        if not e.short or e.ranker is None:
            continue
        rows.append(combiner_rows(e.q, e.cands, e.feats, e.ranker, e.short, e.heads))
        labels.append(e.labels[e.short])
        groups.append(len(e.short))
    return np.vstack(rows), np.concatenate(labels), groups


def reading_of(e: Example, combiner: Forest) -> Reading:
    if not e.short or e.ranker is None:
        return Reading(e.q, [], 0.0, answerable_row(e.q, []), e.cands)
    rows = combiner_rows(e.q, e.cands, e.feats, e.ranker, e.short, e.heads)
    scores = combiner.predict(rows)
    order = np.argsort(-scores, kind="stable")
    ranked = [Scored(e.cands[e.short[j]], rows[j], float(scores[j]), e.heads[j].span) for j in order]
    return Reading(e.q, ranked, 0.0, answerable_row(e.q, ranked), e.cands)


@dataclass
class Trained:
    ranker: Forest
    head: HeadWeights
    combiner: Forest
    answerable: Any
    threshold: float
    support: dict[str, float]
    oof: dict[str, Any]  #: out-of-fold readings and probabilities, for the model card


def train(
    exs: list[Example],
    *,
    folds: int = 5,
    seed: int = 0,
    rounds: int = 300,
    target_false_refusals: float = 0.08,
    log: Log = lambda _m: None,
    encoder: LocalMiniLM | None = None,
) -> Trained:
    encoder = encoder or LocalMiniLM()
    contexts = list({e.ctx.id: e.ctx for e in exs}.values())
    fold = folds_of(contexts, folds)
    log(f"train-reader: {len(exs)} examples, {sum(len(e.cands) for e in exs)} candidate sentences")

    # 1. The ranker, out of fold.
    for f in range(folds):
        train_x, train_y, groups = _stack([e for e in exs if not e.hidden and fold[e.ctx.id] != f])
        ranker = fit_forest(train_x, train_y, groups, rounds, seed)
        for e in exs:
            if fold[e.ctx.id] == f:
                e.ranker = ranker.predict(e.feats) if len(e.cands) else np.zeros(0)
                e.short = sorted(_eligible(e), key=lambda i: -e.ranker[i])[:SHORTLIST]  # type: ignore[index]
    log("train-reader: ranker fitted (out of fold)")

    # 2. The pair heads, out of fold.
    for n, e in enumerate(exs, start=1):
        extra = [] if e.hidden else [i for i in _eligible(e) if e.labels[i]][:6]
        ensure_pooled(encoder, e, [*e.short, *extra])
        if n % 200 == 0:
            log(f"train-reader: read {n}/{len(exs)} contexts with MiniLM")
    for f in range(folds):
        head = fit_head(head_data([e for e in exs if not e.hidden and fold[e.ctx.id] != f]), seed=seed)
        for e in exs:
            if fold[e.ctx.id] == f:
                e.heads = apply_head(head, e)
    log("train-reader: heads fitted (out of fold)")

    # 3. The combiner, out of fold; its readings train the answerability model.
    readings: dict[tuple[str, bool], Reading] = {}
    for f in range(folds):
        cx, cy, cg = combiner_data([e for e in exs if not e.hidden and fold[e.ctx.id] != f])
        combiner = fit_forest(cx, cy, cg, rounds, seed)
        for e in exs:
            if fold[e.ctx.id] == f:
                readings[(e.ctx.id, e.hidden)] = reading_of(e, combiner)
    log("train-reader: combiner fitted (out of fold)")

    # 4. Answerability: is the best candidate right? Hidden runs are all negatives.
    ax, ay, keys = [], [], []
    for e in exs:
        r = readings[(e.ctx.id, e.hidden)]
        right = bool(r.ranked) and not e.hidden and contains(r.ranked[0].text, e.ctx.answer)
        ax.append(r.evidence)
        ay.append(float(right))
        keys.append((e.ctx.id, e.hidden))
    ax_arr, ay_arr = np.vstack(ax), np.asarray(ay)
    prob = np.zeros(len(ay_arr))
    for f in range(folds):
        held = np.asarray([fold[k[0]] == f for k in keys])
        prob[held] = fit_logistic(ax_arr[~held], ay_arr[~held]).probability(ax_arr[held])
    normal = np.asarray([not k[1] for k in keys])
    threshold = float(np.quantile(prob[normal], target_false_refusals))
    answerable = fit_logistic(ax_arr, ay_arr)
    for key, p in zip(keys, prob, strict=True):
        readings[key].answerable = float(p)
    log(
        f"train-reader: answerability threshold {threshold:.3f}: refuses {np.mean(prob[normal] < threshold):.3f} "
        f"of normal and {np.mean(prob[~normal] < threshold):.3f} of answer-hidden runs (out of fold)"
    )

    support = choose_support(exs, readings, threshold)

    # 5. Final fits on everything (the combiner on the out-of-fold inputs, as in stacking).
    train_x, train_y, groups = _stack([e for e in exs if not e.hidden])
    ranker = fit_forest(train_x, train_y, groups, rounds, seed)
    head = fit_head(head_data([e for e in exs if not e.hidden]), seed=seed)
    cx, cy, cg = combiner_data([e for e in exs if not e.hidden])
    combiner = fit_forest(cx, cy, cg, rounds, seed)
    log("train-reader: final models fitted")
    oof = {"readings": readings, "prob": prob, "keys": keys}
    return Trained(ranker, head, combiner, answerable, threshold, support, oof)


def choose_support(
    exs: Sequence[Example], readings: dict[tuple[str, bool], Reading], threshold: float
) -> dict[str, float]:
    """The rule for a second sentence: best accuracy with answers of at most ~42 words on average."""
    answers = {e.ctx.id: e.ctx.answer for e in exs}
    best = (-1.0, {"ratio": 2.0, "below": 0.0})
    runs = [(k, r) for k, r in readings.items() if not k[1] and r.ranked and r.answerable >= threshold]
    for ratio in (0.5, 0.7, 0.8, 0.9, 1.0, 2.0):
        for below in (0.3, 0.5, 0.7, 0.9, 1.01):
            right, words = 0, []
            for (qid, _), r in runs:
                chosen = [r.ranked[0]]
                second = _second(r, ratio, below)
                if second is not None:
                    chosen.append(second)
                right += any(contains(s.text, answers[qid]) for s in chosen)
                words.append(sum(len(s.text.split()) for s in chosen))
            acc = right / max(len(runs), 1)
            if np.mean(words) <= 42 and acc > best[0]:
                best = (acc, {"ratio": ratio, "below": below})
    return best[1]


def _second(r: Reading, ratio: float, below: float) -> Scored | None:
    """The supporting sentence the rule would add, if any (from ``ranked[1:]``, not repeating the first)."""
    if len(r.ranked) < 2 or r.answerable >= below:
        return None
    top = r.ranked[0]
    for s in r.ranked[1:3]:
        if _redundant(s.text, top.text):
            continue
        return s if s.score >= top.score - (1 - ratio) * 10 else None
    return None


def _redundant(a: str, b: str) -> bool:
    ta, tb = set(terms(a)), set(terms(b))
    return bool(ta) and len(ta & tb) / len(ta) > 0.6


def normalised_answer(answer: str) -> str:
    return normalise(answer)


# -- the artifact ------------------------------------------------------------------------------------------------


def artifact(trained: Trained, meta: dict[str, Any]) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """reader.json's content and the head's arrays (their sha256 goes into the json by ``write``)."""
    return (
        {
            "format": 1,
            "features": FEATURES,
            "combiner_features": COMBINER,
            "answerable_features": ANSWERABLE,
            "shortlist": SHORTLIST,
            "threshold": trained.threshold,
            "support": trained.support,
            "ranker": trained.ranker.to_dict(),
            "combiner": trained.combiner.to_dict(),
            "answerable": trained.answerable.to_dict(),
            "meta": meta,
        },
        head_arrays(trained.head),
    )


def write(out_dir: Path, data: dict[str, Any], head: dict[str, np.ndarray]) -> str:
    """Write reader-head.npz and reader.json; returns reader.json's sha256 (to pin in rag/reader.py)."""
    import io

    out_dir.mkdir(parents=True, exist_ok=True)
    buf = io.BytesIO()
    np.savez(buf, **{k: v.astype(np.float32) for k, v in sorted(head.items())})
    head_bytes = buf.getvalue()
    (out_dir / "reader-head.npz").write_bytes(head_bytes)
    data = {**data, "head": {"file": "reader-head.npz", "sha256": hashlib.sha256(head_bytes).hexdigest()}}
    raw = (json.dumps(data, sort_keys=True, separators=(",", ":")) + "\n").encode()
    (out_dir / "reader.json").write_bytes(raw)
    return hashlib.sha256(raw).hexdigest()


# -- evaluation of a reading policy --------------------------------------------------------------------------------


def score_readings(
    pairs: Sequence[tuple[Context, Reading, Reading]], threshold: float, support: dict[str, float]
) -> dict[str, float]:
    """The issue's figures for (context, normal reading, hidden reading) triples under one policy: answer accuracy,
    answer-first accuracy, words per answer, false refusals, refusals with the answer hidden, candidate ceiling."""
    from rag.extractive import supporting

    right = first = refused = hidden_refused = ceiling = 0
    words: list[int] = []
    for ctx, normal, hidden in pairs:
        ceiling += any(contains(c.text, ctx.answer) for c in normal.all_candidates)
        hidden_refused += hidden.best is None or hidden.answerable < threshold
        if normal.best is None or normal.answerable < threshold:
            refused += 1
            continue
        chosen = [normal.ranked[0]]
        second = supporting(normal, support["ratio"], support["below"])
        if second is not None:
            chosen.append(second)
        first += contains(chosen[0].text, ctx.answer)
        right += any(contains(s.text, ctx.answer) for s in chosen)
        words.append(sum(len(s.text.split()) for s in chosen))
    n = max(len(pairs), 1)
    return {
        "questions": float(len(pairs)),
        "answer_accuracy": right / n,
        "answer_first": first / n,
        "words_per_answer": float(np.mean(words)) if words else 0.0,
        "false_refusal_rate": refused / n,
        "hidden_refusal_rate": hidden_refused / n,
        "candidate_ceiling": ceiling / n,
    }


def model_card(meta: dict[str, Any], train_scores: dict[str, float], dev_scores: dict[str, float] | None) -> str:
    """READER.md: what the shipped reader is, what it was trained on, how well it does, and its limits."""

    def table(scores: dict[str, float]) -> str:
        rows = [f"| {k.replace('_', ' ')} | {v:.3f} |" for k, v in scores.items() if k != "questions"]
        return "| metric | value |\n| --- | --- |\n" + "\n".join(rows)

    dev = (
        f"\n### Development set ({int(dev_scores['questions'])} questions, {meta.get('validated_on', '')})\n\n"
        "Validation only: nothing was fitted on it.\n\n" + table(dev_scores) + "\n"
        if dev_scores
        else "\nNo development-set validation was run with this build (`--validate DIR`).\n"
    )
    return f"""# Model card: the extractive reader

`reader.json` (forests, answerability model, thresholds) and `reader-head.npz` (the pair heads' weights), built
by `rag train-reader` on {meta["created"]} from commit {meta["commit"]}. `rag/reader.py` pins `reader.json` by
sha256, and `reader.json` pins `reader-head.npz`.

## What it does
For a question and the retrieved chunks, it ranks every candidate sentence (gradient-boosted trees over
{meta["n_features"]} shallow features: overlap with the question, its rare words, names and focus noun; what the
sentence adds — numbers, dates, names, places; position, form, retrieval ranks, agreement across articles), reads
the best {meta["shortlist"]} together with the question through the shipped all-MiniLM-L6-v2 (the retrieval model:
no second model file) with two small heads — relevance and the answer span — and combines everything in a second
forest. A logistic regression over the best candidate's evidence gives a calibrated probability that it answers
the question; below the threshold ({meta["threshold"]:.3f}) the answerers refuse.

## Training data
`{meta["dataset"]}`: {meta["questions"]} weekly news-quiz questions (2022 and Jan–Aug 2024) with gold answers, and
the full-text articles a web search returned for them (RealTime QA, Kasai et al., NeurIPS 2023 Datasets and
Benchmarks; repository realtimeqa/realtimeqa_public). Each question is asked as the product asks it (articles up
to its date, our retrieval); a candidate sentence is positive when it contains the gold answer. Answerability
negatives: the same question with every article holding its answer hidden. Folds are contiguous blocks of weeks.

**Licence.** The RealTime QA repository carries no licence file. The data is read from `../shared/` at training
time and never copied into this repository; this artifact holds only model weights and thresholds learned from
it, no text. Treat it as trained on unlicensed research data: fine for internal evaluation; before distributing
it commercially, retrain on data you hold rights to (`rag train-reader --dataset DIR` takes any dataset of this
shape).

## Metrics
### Training weeks, out of fold ({int(train_scores["questions"])} questions)

{table(train_scores)}
{dev}
Definitions: answer accuracy = the gold answer appears in the quoted sentence(s); answer first = in the first
sentence; false refusals = answerable questions refused; hidden refusal = refusals when every article holding the
answer is hidden (the right behaviour); candidate ceiling = the gold answer appears in some retrieved sentence.

## Limits
- It quotes, it does not paraphrase or combine: an answer spread over two sentences or needing arithmetic is out
  of reach, and the gold answer is among the retrieved sentences only as often as the ceiling says.
- Trained on US-centric weekly quiz questions; other question styles (long "why/how" questions) are further from
  what it has seen, and its refusals there are less calibrated.
- Deterministic for a given machine and seed (`--seed`); BLAS differences across machines can change the last
  digits of the weights, and so the file's hash.
"""


# -- the command ---------------------------------------------------------------------------------------------------


def dataset_pipeline(settings: Any, dataset: Path, log: Log) -> Any:
    """The dataset's own cached store (shared with `rag eval --dataset`), ingested if needed."""
    from rag.evaluate import build_arms, slug

    suite = load_dataset(dataset)
    pipeline = build_arms(settings, slug(suite.name), vanilla=False)[0].pipeline
    report = pipeline.ingest(suite.corpus)
    log(f"train-reader: store for {dataset.name} ready ({report.summary()})")
    return pipeline


def read_all(model: Any, contexts: Sequence[Context], encoder: LocalMiniLM) -> list[tuple[Context, Reading, Reading]]:
    from rag.reader import Reader

    out = []
    for c in contexts:
        reader = Reader(model, encoder=encoder, idf=lambda t, idf=c.idf: idf.get(t, 3.0))  # type: ignore[misc]
        out.append((c, reader.read(c.question, c.normal, c.date), reader.read(c.question, c.hidden, c.date)))
    return out


def run(
    dataset: Path,
    settings: Any,
    *,
    out_dir: Path,
    validate: Path | None = None,
    folds: int = 5,
    seed: int = 0,
    log: Log = lambda _m: None,
) -> dict[str, Any]:
    """Train on ``dataset``, write the artifact and its model card to ``out_dir``; optionally validate."""
    import subprocess

    from rag.reader import ReaderModel

    cache = settings.data_dir / "reader-cache"
    contexts = collect(dataset_pipeline(settings, dataset, log), dataset, log, cache=cache)
    encoder = LocalMiniLM()
    trained = train(examples(contexts), folds=folds, seed=seed, log=log, encoder=encoder)
    by_id = {c.id: c for c in contexts}
    readings = trained.oof["readings"]
    oof = [(by_id[q], readings[(q, False)], readings[(q, True)]) for q in by_id]
    train_scores = score_readings(oof, trained.threshold, trained.support)
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=Path(__file__).parent
    ).stdout.strip()
    meta = {
        "created": dt.date.today().isoformat(),
        "commit": commit or "unknown",
        "dataset": dataset.name,
        "questions": len(contexts),
        "folds": folds,
        "seed": seed,
        "top_k": settings.top_k,
        "n_features": len(FEATURES),
        "shortlist": SHORTLIST,
        "threshold": trained.threshold,
        "train": train_scores,
    }
    data, head = artifact(trained, meta)
    sha = write(out_dir, data, head)
    dev_scores = None
    if validate is not None:
        dev = collect(dataset_pipeline(settings, validate, log), validate, log, cache=cache)
        model = ReaderModel.load(out_dir / "reader.json", expected_sha256=sha)
        dev_scores = score_readings(read_all(model, dev, encoder), model.threshold, trained.support)
        meta["validated_on"] = validate.name
    (out_dir / "READER.md").write_text(model_card(meta, train_scores, dev_scores), encoding="utf-8")
    return {"sha256": sha, "train": train_scores, "dev": dev_scores, "out": str(out_dir)}
