"""Scoring primitives for evaluation: normalisation, fact matching, ranking metrics, percentiles and
bootstrap confidence intervals. Pure functions, no I/O."""

from __future__ import annotations

import random
import re
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np

_WORD_NUMBERS = {
    "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9,
    "ten": 10, "eleven": 11, "twelve": 12, "dozen": 12, "twenty": 20, "hundred": 100, "thousand": 1000,
}  # fmt: skip
_SCALE = {"thousand": 1e3, "million": 1e6, "billion": 1e9, "trillion": 1e12}
_NUMBER = re.compile(
    r"(?<![\w.])(\d{1,3}(?:,\d{3})+|\d+(?:\.\d+)?)(?:\s*(thousand|million|billion|trillion)\b)?",
    re.IGNORECASE,
)


@lru_cache(maxsize=1 << 14)
def normalise(text: str) -> str:
    """Lower-case, unify quotes and dashes, drop punctuation and thousands separators, squeeze spaces."""
    text = unicodedata.normalize("NFKC", text).lower()
    text = text.replace("’", "'").replace("‘", "'").replace("“", '"').replace("”", '"')
    text = re.sub(r"(?<=\d),(?=\d{3})", "", text)
    text = re.sub(r"\b((?:[a-z]\.){2,})", lambda m: m.group(1).replace(".", ""), text)  # "u.s." → "us"
    text = re.sub(r"'s\b", "", text)  # a possessive names its owner: "Louisiana's governor" holds "Louisiana"
    text = re.sub(r"[^\w\s.]|(?<!\d)\.|\.(?!\d)", " ", text)
    return " ".join(text.split())


def contains(haystack: str, needle: str) -> bool:
    """Whole-word containment after normalisation ("Ford" is not found in "Fordham")."""
    n, h = normalise(needle), normalise(haystack)
    return bool(n) and re.search(rf"(?<!\w){re.escape(n)}(?!\w)", h) is not None


def numbers_in(text: str) -> list[float]:
    """Numbers written with digits (with thousands separators or a scale word) or as small number words."""
    out = []
    for m in _NUMBER.finditer(text):
        value = float(m.group(1).replace(",", ""))
        if m.group(2):
            value *= _SCALE[m.group(2).lower()]
        out.append(value)
    for word in re.findall(r"[a-z]+", text.lower()):
        if word in _WORD_NUMBERS:
            out.append(float(_WORD_NUMBERS[word]))
    return out


@dataclass(frozen=True)
class Fact:
    """One thing an answer must state: any of some strings, a regex, or a number within a tolerance."""

    any: tuple[str, ...] = ()
    regex: str = ""
    number: float | None = None
    tolerance: float = 0.0

    @classmethod
    def parse(cls, spec: Any) -> Fact:
        if isinstance(spec, str):
            return cls(any=(spec,))
        if isinstance(spec, int | float):
            return cls(number=float(spec))
        if not isinstance(spec, dict) or not ({"any", "regex", "number"} & set(spec)):
            raise ValueError(f"a fact needs `any`, `regex` or `number`: {spec!r}")
        any_of = spec.get("any", ())
        return cls(
            any=tuple([any_of] if isinstance(any_of, str) else any_of),
            regex=str(spec.get("regex", "")),
            number=float(spec["number"]) if "number" in spec else None,
            tolerance=float(spec.get("tolerance", 0.0)),
        )

    def found_in(self, text: str) -> bool:
        if self.any and any(contains(text, s) for s in self.any):
            return True
        if self.regex and re.search(self.regex, text, re.IGNORECASE):
            return True
        if self.number is not None:
            return any(abs(n - self.number) <= self.tolerance for n in numbers_in(text))
        return False

    def describe(self) -> str:
        if self.any:
            return " | ".join(self.any)
        if self.regex:
            return f"/{self.regex}/"
        return f"{self.number:g}" + (f" ±{self.tolerance:g}" if self.tolerance else "")


def reciprocal_rank(relevant: Sequence[bool], k: int = 10) -> float:
    for i, rel in enumerate(relevant[:k], start=1):
        if rel:
            return 1.0 / i
    return 0.0


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0-100, linear interpolation); 0.0 for no values. The one implementation."""
    return float(np.percentile(np.asarray(values, dtype=float), q)) if len(values) else 0.0


def mean(values: Sequence[float]) -> float:
    return sum(values) / len(values) if values else 0.0


def bootstrap_ci(
    values: Sequence[float], stat: Callable[[Sequence[float]], float] = mean, n: int = 1000, seed: int = 0
) -> tuple[float, float] | None:
    """95% percentile-bootstrap interval of ``stat``; None when there are too few values to matter."""
    if len(values) < 30:
        return None
    rng = random.Random(seed)
    stats = sorted(stat([values[rng.randrange(len(values))] for _ in values]) for _ in range(n))
    return stats[int(0.025 * n)], stats[int(0.975 * n) - 1]


def percentile_ms(seconds: Sequence[float], q: float) -> float:
    """``percentile`` of timings in seconds, in milliseconds."""
    return percentile(seconds, q) * 1000
