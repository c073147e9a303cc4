"""Numbers as a reader means them: digits, words or scale words ("10,000" = "ten thousand" = "10k"), with the
unit they measure ("$", "percent", "miles") and the comparator before them ("more than", "nearly")."""

from __future__ import annotations

import re
from dataclasses import dataclass

from rag.cite.lexicon import COMPARATORS, UNITS

_SMALL = {
    w: i
    for i, w in enumerate(
        "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen "
        "seventeen eighteen nineteen".split()
    )
}
_TENS = {w: 10 * i for i, w in enumerate("_ _ twenty thirty forty fifty sixty seventy eighty ninety".split()) if i > 1}
SCALES = {"hundred": 100, "thousand": 1e3, "million": 1e6, "billion": 1e9, "trillion": 1e12}
_SUFFIX = {"k": 1e3, "m": 1e6, "mn": 1e6, "mln": 1e6, "b": 1e9, "bn": 1e9, "tn": 1e12, "trn": 1e12}
_WORDS = "|".join(sorted([*_SMALL, *_TENS, *SCALES, "dozen", "a", "an", "and"], key=len, reverse=True))
_UNIT_AFTER = "|".join(sorted((re.escape(u) for u in UNITS if u[0].isalpha() or u == "%"), key=len, reverse=True))
_CURRENCY = r"(?P<cur>US\$|\$|€|£|¥)?"
_DIGITS = (
    _CURRENCY + r"(?P<num>(?<![\w.,])\d{1,3}(?:,\d{3})+(?:\.\d+)?|(?<![\w.,])\d+(?:\.\d+)?|(?<![\w.,])\.\d+)"
    r"(?:(?P<suffix>k|m|mn|mln|bn|b|tn|trn)\b|\s?(?P<scale>hundred|thousand|million|billion|trillion)s?\b)?"
)
_SPELLED = (
    r"(?P<wcur>US\$|\$|€|£|¥)?\b(?P<words>(?:(?:"
    + _WORDS
    + r")[\s-]+)*(?:"
    + "|".join([*_SMALL, *_TENS, *SCALES, "dozen"])
    + r"))\b"
)
_NUMBER = re.compile(f"{_DIGITS}|{_SPELLED}", re.IGNORECASE)
_UNIT = re.compile(rf"\s*(?:-\s*)?(?P<unit>{_UNIT_AFTER})(?![\w])", re.IGNORECASE)
_COMPARATOR = re.compile(
    r"(?:" + "|".join(sorted(map(re.escape, COMPARATORS), key=len, reverse=True)) + r")\s+$", re.IGNORECASE
)
_YEAR = re.compile(r"(?:1[89]|20)\d\d")


@dataclass(frozen=True)
class Number:
    """A number in a text: its value, where it is, what unit it is in and how it is qualified."""

    value: float
    start: int
    end: int
    text: str
    unit: str = ""  #: canonical unit ("percent", "usd", "mile"), "" for a plain count
    comparator: str = ""  #: ">" for "more than", "<" for "fewer than"/"nearly", "" for none or "about"
    year: bool = False  #: a four-digit year such as 2024 (checked as a date, not a quantity)

    def show(self) -> str:
        return self.text


def words_value(words: str) -> float | None:
    """The value of a spelled-out number ("thirty-five thousand" → 35000); None if it is not one."""
    tokens = [t for t in re.split(r"[\s-]+", words.lower()) if t and t != "and"]
    if not tokens or all(t in {"a", "an"} for t in tokens):
        return None
    total, current, seen = 0.0, 0.0, False
    for i, t in enumerate(tokens):
        if t in {"a", "an"}:
            if i + 1 >= len(tokens) or tokens[i + 1] not in {*SCALES, "dozen"}:
                return None
            current += 1
        elif t in _SMALL:
            current += _SMALL[t]
            seen = True
        elif t in _TENS:
            current += _TENS[t]
            seen = True
        elif t == "dozen":
            current = (current or 1) * 12
            seen = True
        elif t == "hundred":
            current = (current or 1) * 100
            seen = True
        elif t in SCALES:
            total += (current or 1) * SCALES[t]
            current, seen = 0.0, True
    return total + current if seen else None


def find_numbers(text: str) -> list[Number]:
    """Every number in ``text``, in order: "approximately 10,000", "ten thousand", "$2.5bn", "40 percent"."""
    out = []
    for m in _NUMBER.finditer(text):
        if m.group("num"):
            raw = m.group("num")
            value = float(raw.replace(",", ""))
            scale = m.group("scale")
            suffix = m.group("suffix")
            if suffix:
                # "5m" after a currency is millions; "5m" alone is usually metres: leave that to the unit.
                if suffix.lower() in {"m", "b"} and not m.group("cur"):
                    value, end = value, m.start("suffix")
                else:
                    value *= _SUFFIX[suffix.lower()]
                    end = m.end()
            else:
                end = m.end()
            if scale:
                value *= SCALES[scale.lower()]
            year = bool(_YEAR.fullmatch(raw)) and not scale and not suffix and not m.group("cur")
        else:
            words = m.group("words")
            v = words_value(words)
            if v is None or words.lower() in {"one", "an", "a"}:
                continue  # "one of them" is a pronoun far more often than a count
            value, end, year = v, m.end(), False
        start = m.start()
        unit = ""
        currency = m.group("cur") or m.group("wcur")
        if currency:
            unit = UNITS.get(currency.lower(), "")
        after = _UNIT.match(text, end)
        if after and not unit:
            unit = UNITS[after.group("unit").lower()]
            end = after.end()
        comp = _COMPARATOR.search(text, max(0, start - 20), start)
        comparator = COMPARATORS[comp.group().strip().lower()] if comp and comp.end() == start else ""
        if year:
            unit = ""
        out.append(Number(value, start, end, text[start:end].strip(), unit, comparator, year))
    return out


def same_value(a: float, b: float) -> bool:
    return abs(a - b) <= 1e-9 * max(1.0, abs(a), abs(b))


def show(value: float) -> str:
    return f"{value:,.0f}" if value == int(value) else f"{value:,}"
