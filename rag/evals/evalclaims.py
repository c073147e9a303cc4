"""The adversarial claims suite (``evals/claims.yaml``, ``rag eval claims``): perturbed claims the checks
must catch and faithful ones they must let through, scored per kind against the claim checker of
``rag/cite/cite.py`` (and, with ``--verify llm``, the optional LLM pass beside it).

Claims over the bundled sample article are written out in the suite. Claims over development articles
are made at run time from the dataset by article id, sentence number and kind (``rag/evals/perturb.py``), so no
article text is stored in the repository; without the dataset those claims are skipped and said to be.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import yaml

from rag.cite.cite import check
from rag.errors import ConfigError
from rag.evals.perturb import FAITHFUL, PERTURBATIONS
from rag.ingest.load import load_file
from rag.settings import Settings
from rag.types import Article, Citation, ClaimCheck

KINDS = tuple(PERTURBATIONS)
TARGETS = {"catch": 0.95, "catch_per_kind": 0.90, "false_flags": 0.05}
Log = Callable[[str], None]


@dataclass
class ClaimResult:
    id: str
    kind: str  #: a perturbation kind, or "faithful"
    how: str  #: for faithful claims, the rewording (verbatim, drop_clause, …)
    claim: str
    span: str  #: the aligned span of the cited chunk
    flagged: bool  #: the rules found a disagreement
    reasons: list[str]
    llm: str = ""  #: the optional LLM verdict (holds / fails / unclear)
    llm_reason: str = ""

    @property
    def faithful(self) -> bool:
        return self.kind == "faithful"


@dataclass
class ClaimsReport:
    results: list[ClaimResult]
    skipped: list[str] = field(default_factory=list)  #: specs that could not be made, with the reason
    meta: dict[str, Any] = field(default_factory=dict)

    def summary(self) -> dict[str, Any]:
        per_kind: dict[str, dict[str, float]] = {}
        by_kind: dict[str, list[ClaimResult]] = defaultdict(list)
        for r in self.results:
            by_kind[r.kind].append(r)
        for kind in [*KINDS, "faithful"]:
            rs = by_kind.get(kind, [])
            if not rs:
                continue
            row: dict[str, float] = {"n": len(rs), "flagged": sum(r.flagged for r in rs)}
            row["rate"] = row["flagged"] / len(rs)
            if any(r.llm for r in rs):
                row["llm_flagged"] = sum(r.llm == "fails" for r in rs)
                row["llm_rate"] = row["llm_flagged"] / len(rs)
                row["either_rate"] = sum(r.flagged or r.llm == "fails" for r in rs) / len(rs)
            per_kind[kind] = row
        perturbed = [r for r in self.results if not r.faithful]
        faithful = by_kind.get("faithful", [])
        out: dict[str, Any] = {
            "perturbed": len(perturbed),
            "faithful": len(faithful),
            "articles": len({r.id.split(":")[0] for r in self.results}),
            "catch": sum(r.flagged for r in perturbed) / len(perturbed) if perturbed else None,
            "false_flags": sum(r.flagged for r in faithful) / len(faithful) if faithful else None,
            "per_kind": per_kind,
        }
        if any(r.llm for r in self.results):
            out["llm_catch"] = sum(r.llm == "fails" for r in perturbed) / len(perturbed) if perturbed else None
            out["llm_false_flags"] = sum(r.llm == "fails" for r in faithful) / len(faithful) if faithful else None
        return out

    def problems(self) -> list[str]:
        """Targets missed: catch ≥ 0.95 overall and ≥ 0.90 per kind, false flags ≤ 0.05."""
        s = self.summary()
        out = []
        if s["catch"] is not None and s["catch"] < TARGETS["catch"]:
            out.append(f"catch rate {s['catch']:.3f} is below {TARGETS['catch']}")
        for kind, row in s["per_kind"].items():
            if kind != "faithful" and row["rate"] < TARGETS["catch_per_kind"]:
                out.append(f"catch rate for {kind} {row['rate']:.3f} is below {TARGETS['catch_per_kind']}")
        if s["false_flags"] is not None and s["false_flags"] > TARGETS["false_flags"]:
            out.append(f"false-flag rate {s['false_flags']:.3f} is above {TARGETS['false_flags']}")
        return out

    def to_dict(self) -> dict[str, Any]:
        return {"meta": self.meta, "summary": self.summary(), "skipped": self.skipped,
                "results": [asdict(r) for r in self.results]}  # fmt: skip


def is_claims_suite(path: Path) -> bool:
    try:
        return path.suffix in {".yaml", ".yml"} and re.search(r"^claims:", path.read_text("utf-8"), re.M) is not None
    except OSError:
        return False


@dataclass
class _Source:
    """Where a claim's sentence is: the chunk that holds it (what the claim cites)."""

    article: Article
    chunks: list[tuple[int, int]]  #: chunk offsets in the article text

    def chunk_of(self, lo: int, hi: int) -> str:
        for a, b in self.chunks:
            if a <= lo and hi <= b:
                return self.article.text[a:b]
        return self.article.text[lo:hi]


def run_claims(
    path: Path,
    settings: Settings,
    *,
    dataset: Path | None = None,
    verifier: Any = None,
    log: Log | None = None,
) -> ClaimsReport:
    """Make every claim of the suite, check it against the chunk holding its sentence, and score it."""
    from rag.ingest.chunk import make_chunker
    from rag.ingest.sentences import split_spans
    from rag.search.embed import LocalMiniLM

    data = _read(path)
    chunker = make_chunker(settings.chunk_tokens, settings.chunk_overlap, LocalMiniLM())
    sample = _load_sample((path.parent / str(data.get("sample", ""))).resolve())
    data_dir = dataset or (path.parent / str(data.get("dataset", ""))).resolve()
    articles = _load_dataset(data_dir) if (data_dir / "articles.jsonl").is_file() else None
    report = ClaimsReport([], meta={"suite": str(path), "dataset": str(data_dir) if articles else ""})
    if articles is None:
        report.skipped.append(f"claims over development articles: no dataset at {data_dir}")
    sources: dict[str, _Source] = {}
    for raw in data["claims"]:
        cid, kind = str(raw["id"]), str(raw["kind"])
        article_id = str(raw.get("article", "sample"))
        article = sample if article_id == "sample" else (articles or {}).get(article_id)
        if article is None:
            if articles is not None:
                report.skipped.append(f"{cid}: no article {article_id} in the dataset")
            continue
        if article.id not in sources:
            sources[article.id] = _Source(article, [(c.start, c.end) for c in chunker.split(article)])
        spans = split_spans(article.text)
        n = int(raw["sentence"])
        if not 0 <= n < len(spans):
            report.skipped.append(f"{cid}: {article_id} has no sentence {n}")
            continue
        lo, hi = spans[n]
        chunk = sources[article.id].chunk_of(lo, hi)
        how = str(raw.get("how", ""))
        claim = raw.get("claim")
        if claim is None:
            make = FAITHFUL.get(how) if kind == "faithful" else PERTURBATIONS.get(kind)
            if make is None:
                raise ConfigError(f"{path}: claim {cid} has an unknown kind {kind!r} / how {how!r}")
            claim = make(article.text[lo:hi], chunk)
            if claim is None or (kind != "faithful" and claim == article.text[lo:hi]):
                report.skipped.append(f"{cid}: {kind} does not apply to sentence {n} of {article_id}")
                continue
        verdict = check(str(claim), chunk)
        report.results.append(
            ClaimResult(
                f"{article_id}:{cid}",
                kind,
                how,
                str(claim),
                chunk[verdict.lo : verdict.hi],
                not verdict.supported,
                list(verdict.reasons),
            )
        )
    if verifier is not None:
        _verify(report.results, verifier, log)
    if log:
        log(f"claims: {len(report.results)} checked, {len(report.skipped)} skipped")
    return report


def _verify(results: list[ClaimResult], verifier: Any, log: Log | None, batch: int = 20) -> None:
    """The LLM pass: each (claim, aligned span) pair judged by the model, beside the rules' verdict."""
    for s in range(0, len(results), batch):
        group = results[s : s + batch]
        claims = [ClaimCheck(r.claim, [i], not r.flagged) for i, r in enumerate(group, start=1)]
        cites = [Citation(i, "", "", "", "", "", "", r.span, 0, len(r.span)) for i, r in enumerate(group, start=1)]
        verifier.judge(claims, cites)
        for r, c in zip(group, claims, strict=True):
            r.llm, r.llm_reason = c.llm, c.llm_reason
        if log:
            log(f"claims: LLM verified {min(s + batch, len(results))}/{len(results)}")


def _read(path: Path) -> dict[str, Any]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"cannot read claims suite {path}: {exc}") from None
    if not isinstance(data, dict) or not isinstance(data.get("claims"), list):
        raise ConfigError(f"claims suite {path} needs a list of `claims`")
    return data


def _load_sample(path: Path) -> Article:
    for item in load_file(path):
        if isinstance(item, Article):
            return item
    raise ConfigError(f"the claims suite's sample article {path} cannot be read")


def _load_dataset(directory: Path) -> dict[str, Article]:
    out = {}
    for item in load_file(directory / "articles.jsonl"):
        if isinstance(item, Article):
            out[item.id] = item
    return out


def print_claims_report(report: ClaimsReport, out: Callable[[str], None] = print) -> None:
    s = report.summary()
    llm = "llm_catch" in s
    out(f"claims suite: {s['perturbed']} perturbed, {s['faithful']} faithful claims over {s['articles']} articles")
    head = f"{'kind':<12} {'n':>4} {'caught':>7} {'rate':>6}" + (f" {'llm':>6} {'either':>7}" if llm else "")
    out(head)
    for kind, row in s["per_kind"].items():
        label = "faithful*" if kind == "faithful" else kind
        line = f"{label:<12} {row['n']:>4.0f} {row['flagged']:>7.0f} {row['rate']:>6.3f}"
        if llm:
            line += f" {row.get('llm_rate', 0):>6.3f} {row.get('either_rate', 0):>7.3f}"
        out(line)
    if s["catch"] is not None:
        out(f"catch rate {s['catch']:.3f} (target ≥ {TARGETS['catch']}, ≥ {TARGETS['catch_per_kind']} per kind)")
    if s["false_flags"] is not None:
        out(f"false-flag rate {s['false_flags']:.3f} (target ≤ {TARGETS['false_flags']}; * = flagged faithful claims)")
    if llm:
        out(f"LLM pass: catch {s['llm_catch']:.3f}, false flags {s['llm_false_flags']:.3f} (beside, never instead)")
    for line in report.skipped:
        out(f"skipped {line}")


def write_claims_report(report: ClaimsReport, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report.to_dict(), indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
