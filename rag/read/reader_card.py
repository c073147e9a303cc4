"""A trained reader as shipped and measured: ``reader.json`` (the artifact and its sha256), the figures of a
reading policy (answer accuracy, refusals, words), and ``READER.md``, the model card."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from rag.evals.metrics import contains
from rag.read.pinned import write_pinned_json
from rag.read.reader import Reading
from rag.read.reader_contexts import Context


def write(out_dir: Path, data: dict[str, Any]) -> str:
    """Write reader.json (compact, stable key order); returns its sha256, to pin in rag/read/reader.py."""
    return write_pinned_json(out_dir / "reader.json", data)


# -- evaluation of a reading policy --------------------------------------------------------------------------------


def read_all(model: Any, contexts: Sequence[Context], cross: Any = None) -> list[tuple[Context, Reading, Reading]]:
    """Each context read by a loaded reader model, normally and with the answer hidden (validation): by the trees
    alone, or with a ``cross`` encoder rescoring their best sentences."""
    from rag.read.reader import Reader

    out = []
    for c in contexts:
        idf = c.idf
        reader = Reader(model, idf=lambda t, idf=idf: idf.get(t, 3.0), cross=cross, rerank=cross is not None)  # type: ignore[misc]
        out.append((c, reader.read(c.question, c.normal, c.date), reader.read(c.question, c.hidden, c.date)))
    return out


def score_readings(
    pairs: Sequence[tuple[Context, Reading, Reading]], threshold: float, support: dict[str, float]
) -> dict[str, float]:
    """The issue's figures for (context, normal reading, hidden reading) triples under one policy: answer accuracy,
    answer-first accuracy, words per answer, false refusals, refusals with the answer hidden, candidate ceiling."""
    from rag.answer.extractive import supporting

    right = first = refused = hidden_refused = ceiling = 0
    words: list[int] = []
    for ctx, normal, hidden in pairs:
        ceiling += any(contains(c.text, ctx.answer) for c in normal.all_candidates)
        hidden_refused += hidden.best is None or hidden.answerable < threshold
        if normal.best is None or normal.answerable < threshold:
            refused += 1
            continue
        chosen = [normal.ranked[0]]
        second = supporting(normal, support["gap"], support["below"])
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

`reader.json` (two forests, the answerability model, thresholds; no text), built by `rag train-reader` on
{meta["created"]} from commit {meta["commit"]}. `rag/read/reader.py` pins it by sha256.

## What it does
For a question and the retrieved chunks, it ranks every candidate sentence (gradient-boosted trees, LambdaRank,
over {meta["n_features"]} shallow features: overlap with the question, its rare words, names and focus noun, in
the sentence and its neighbours; what the sentence adds — numbers, dates, names, places; position, form,
retrieval ranks, agreement across articles). For the best {meta["shortlist"]} it scores every answer phrase
(numbers, dates, names, noun groups) with a second forest over phrase features (type against the question's
asked-for type, novelty, recurrence across articles); the answer is the sentence with the best ranker score
plus {meta["span_weight"]:g} × its best phrase, and that phrase is marked. A logistic regression over the
evidence (retrieval similarity, how much of the question the best sentences and articles cover, phrase agreement)
gives a calibrated probability that the articles answer the question; below the threshold
({meta["threshold"]:.3f}) the answerers refuse. Pure numpy at run time (no LightGBM, no second model file).

## Training data
`{meta["dataset"]}`: {meta["questions"]} weekly news-quiz questions (2022 and Jan–Aug 2024) with gold answers, and
the full-text articles a web search returned for them (RealTime QA, Kasai et al., NeurIPS 2023 Datasets and
Benchmarks; repository realtimeqa/realtimeqa_public). Each question is asked as the product asks it (articles up
to its date, our retrieval); a candidate sentence is positive when it contains the gold answer. Answerability is
labelled by whether the gold answer is among the candidates at all, over the normal runs and the same questions
asked with every article holding the answer hidden (always negative). Folds are contiguous blocks of weeks.

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
