"""Claims made from a source sentence at run time, for the adversarial claims suite: perturbed ones that
change its meaning (a number, a scale or unit, a date, a name, polarity, direction, time frame) and
faithful ones that keep it (verbatim, a clause dropped or moved, synonyms, attribution moved).

The suite names an article, a sentence and a kind; the claim is made here, so no article text needs to be
stored with the suite. Each function returns the claim, or None when the sentence offers nothing to change.
The word tables here are the test writer's, kept apart from the checker's lexicon on purpose.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from rag.cite.lexicon import MONTHS, WEEKDAYS
from rag.cite.numbers import Number, find_numbers

_MONTH_NAMES = "January February March April May June July August September October November December".split()
_DAY_NAMES = "Monday Tuesday Wednesday Thursday Friday Saturday Sunday".split()
_SPELL = {1: "one", 2: "two", 3: "three", 4: "four", 5: "five", 6: "six", 7: "seven", 8: "eight", 9: "nine",
          10: "ten", 20: "twenty", 30: "thirty", 40: "forty", 50: "fifty", 60: "sixty", 70: "seventy",
          80: "eighty", 90: "ninety"}  # fmt: skip
#: Opposites a careless or hostile writer swaps in (the test writer's list, not the checker's).
FLIPS = {
    "confirmed": "denied", "denied": "confirmed", "confirms": "denies", "condemned": "welcomed",
    "welcomed": "condemned", "praised": "criticized", "criticized": "praised", "rose": "fell", "fell": "rose",
    "increased": "decreased", "decreased": "increased", "won": "lost", "lost": "won", "wins": "loses",
    "approved": "rejected", "rejected": "approved", "advanced": "retreated", "more": "fewer", "fewer": "more",
    "higher": "lower", "lower": "higher", "gained": "lost", "accepted": "refused", "supported": "opposed",
    "opposed": "supported", "allowed": "banned", "banned": "allowed", "opened": "closed", "closed": "opened",
    "started": "ended", "began": "ended", "ended": "began", "agreed": "refused", "strengthened": "weakened",
    "largest": "smallest", "biggest": "smallest", "highest": "lowest", "lowest": "highest", "best": "worst",
    "worst": "best", "first": "last", "passed": "failed", "success": "failure", "successful": "unsuccessful",
    "legal": "illegal", "illegal": "legal", "likely": "unlikely", "unlikely": "likely", "positive": "negative",
    "negative": "positive", "increase": "decrease", "decrease": "increase", "expanded": "narrowed",
    "boosted": "cut", "raised": "lowered", "hired": "fired", "joined": "left", "arrested": "released",
    "released": "arrested", "acquitted": "convicted", "convicted": "acquitted", "allies": "enemies",
    "strong": "weak", "stronger": "weaker", "safe": "dangerous", "included": "excluded", "surged": "plunged",
    "jumped": "dropped", "dropped": "jumped", "declined": "rose", "grew": "shrank", "improved": "worsened",
    "buy": "sell", "bought": "sold", "sold": "bought", "ahead": "behind", "lead": "trail", "peaceful": "violent",
}  # fmt: skip
#: Near-synonyms for non-key words (faithful rewording).
SYNONYMS = {
    "said": "stated", "says": "states", "told": "informed", "approximately": "about", "about": "roughly",
    "around": "about", "also": "additionally", "significant": "considerable", "however": "nevertheless",
    "recent": "latest", "began": "started", "begin": "start", "help": "assist", "helped": "assisted",
    "big": "large", "large": "big", "many": "numerous", "often": "frequently", "people": "individuals",
    "show": "indicate", "shows": "indicates", "showed": "indicated", "need": "require", "needs": "requires",
    "important": "key", "area": "region", "near": "close to", "because": "since", "quickly": "rapidly",
    "using": "employing", "use": "employ", "plan": "intend", "wants": "seeks", "want": "seek", "tried": "attempted",
    "try": "attempt", "major": "main", "nearly": "almost", "almost": "nearly", "whole": "entire",
    "stated": "said", "indicated": "showed", "noted": "observed", "added": "continued", "reported": "said",
}  # fmt: skip
_OPPOSITE_FRAME = [
    (r"\blater this (week|month|year)\b", r"last \1"), (r"\bearlier this (week|month|year)\b", r"next \1"),
    (r"\blast (week|month|year|night)\b", r"next \1"), (r"\bnext (week|month|year)\b", r"last \1"),
    (r"\bthis (week|month|year)\b", r"last \1"), (r"\byesterday\b", "tomorrow"), (r"\btomorrow\b", "yesterday"),
    (r"\btoday\b", "last week"), (r"\brecently\b", "soon"), (r"\bsoon\b", "last year"),
    (r"\b(\w+) (?:years|months|weeks|days) ago\b", r"in \1 years"), (r"\bupcoming\b", "past"),
    (r"\bpreviously\b", "next year"), (r"\bcurrently\b", "last year"),
]  # fmt: skip
_AUX = re.compile(r"\b(is|are|was|were|has|have|had|will|can|could|would|should|does|do|did|may|might|must)\b(?! not)")
_NEGATED = re.compile(
    r"\b(is|are|was|were|has|have|had|will|can|could|would|should|does|do|did)(?: not|n't)\b|\bnever "
)
_NAME = re.compile(r"(?<=[a-z,;:] )\b(?:[A-Z][a-z]+(?:[-’'][A-Za-z]+)?)(?: [A-Z][a-z]+(?:[-’'][A-Za-z]+)?)*")


def _digits_like(template: Number, value: float) -> str:
    text = template.text
    if "," in text or value >= 10000:
        core = f"{value:,.0f}" if value == int(value) else f"{value:,}"
    else:
        core = f"{value:.0f}" if value == int(value) else f"{value}"
    return core


def _swap(sentence: str, start: int, end: int, new: str) -> str:
    return sentence[:start] + new + sentence[end:]


def _first_quantity(sentence: str) -> Number | None:
    return next((n for n in find_numbers(sentence) if not n.year and n.text[0].isdigit()), None)


def number(sentence: str, context: str) -> str | None:
    """The first figure replaced: by another figure of the same chunk when there is one, else a nearby value."""
    n = _first_quantity(sentence)
    if n is None:
        return None
    in_sentence = {m.value for m in find_numbers(sentence)}
    others = [m for m in find_numbers(context) if not m.year and m.value not in in_sentence and m.value >= 1]
    m = re.match(r"[\d,.]+", n.text.lstrip("$€£"))
    if m is None:
        return None
    offset = n.start + n.text.index(m.group())
    plain = float(m.group().replace(",", ""))
    if others:
        value = others[0].value
        scale_words = re.search(r"\b(thousand|million|billion)\b", n.text)
        if scale_words:
            value = value / {"thousand": 1e3, "million": 1e6, "billion": 1e9}[scale_words.group()]
    else:
        value = plain + (1 if plain < 10 else 10 ** (len(str(int(plain))) - 1))
    if value == plain:
        value = plain * 2
    return _swap(sentence, offset, offset + len(m.group()), _digits_like(n, value))


def scale(sentence: str, context: str) -> str | None:
    """A scale word, a unit, or a figure spelled out with a different value: "$5 million" → "$5 billion"."""
    m = re.search(r"\b(thousand|million|billion|trillion)\b", sentence)
    if m:
        new = {"thousand": "million", "million": "billion", "billion": "million", "trillion": "billion"}[m.group()]
        return _swap(sentence, m.start(), m.end(), new)
    m = re.search(r"(?<=\d)\s?(%|percent\b|per cent\b|miles\b|kilometers\b|pounds\b|feet\b|degrees\b|hours\b|"
                  r"days\b|weeks\b|months\b|years\b|minutes\b|acres\b|tons\b)", sentence)  # fmt: skip
    if m:
        new = {"%": " percentage points", "percent": "percentage points", "per cent": "percentage points",
               "miles": "kilometers", "kilometers": "miles", "pounds": "kilograms", "feet": "meters",
               "degrees": "percent", "hours": "days", "days": "weeks", "weeks": "months", "months": "years",
               "years": "months", "minutes": "hours", "acres": "square miles",
               "tons": "pounds"}[m.group(1)]  # fmt: skip
        return _swap(sentence, m.start(), m.end(), " " + new.strip())
    n = _first_quantity(sentence)
    if n is None or n.unit:
        return None
    value = n.value * 3 if n.value < 30 else n.value * 10
    words = _spell(value)
    return _swap(sentence, n.start, n.end, words) if words else None


def _spell(value: float) -> str:
    for scale_value, word in ((1e9, "billion"), (1e6, "million"), (1e3, "thousand"), (1, "")):
        if value >= scale_value and value % scale_value == 0:
            head = int(value // scale_value)
            tens = (head // 10) * 10
            if head in _SPELL:
                lead = _SPELL[head]
            elif head < 100 and tens in _SPELL and head % 10 in _SPELL:
                lead = f"{_SPELL[tens]}-{_SPELL[head % 10]}"
            else:
                return ""
            return f"{lead} {word}".strip()
    return ""


def date(sentence: str, context: str) -> str | None:
    """A month, weekday or year changed (to another of the same article where it has one)."""
    for m in re.finditer(r"\b(" + "|".join(_MONTH_NAMES + _DAY_NAMES) + r")\b", sentence):
        if m.group() == "May" and not re.match(r"\s+\d", sentence[m.end() :]):
            continue
        names = _MONTH_NAMES if m.group() in _MONTH_NAMES else _DAY_NAMES
        used = set(re.findall(r"\b(" + "|".join(names) + r")\b", context)) - {m.group(), "May"}
        new = sorted(used)[0] if used else names[(names.index(m.group()) + 1) % len(names)]
        return _swap(sentence, m.start(), m.end(), new)
    for n in find_numbers(sentence):
        if n.year:
            return _swap(sentence, n.start, n.end, str(int(n.value) - 1))
    return None


def entity(sentence: str, context: str) -> str | None:
    """A name replaced by another name of the same chunk that the sentence does not mention."""
    names = [m for m in _NAME.finditer(sentence) if _plain_name(m.group())]
    if not names:
        return None
    target = names[0]
    pool = [m.group() for m in _NAME.finditer(context) if _plain_name(m.group())]
    words = {re.sub(r"['’]s$", "", w) for w in sentence.split()}
    fresh = [
        p
        for p in dict.fromkeys(pool)
        if p not in sentence and not {re.sub(r"['’]s$", "", w) for w in p.split()} & words
    ]
    same_size = [p for p in fresh if len(p.split()) == len(target.group().split())]
    new = (same_size or fresh or ["Jordan"])[0]
    return _swap(sentence, target.start(), target.end(), new)


def _plain_name(text: str) -> bool:
    words = text.split()
    return not any(w in MONTHS or w.lower() in MONTHS or w.lower() in WEEKDAYS for w in words) and text != "I"


def negation(sentence: str, context: str) -> str | None:
    """The claim's polarity reversed: a negation removed, or added after the first auxiliary."""
    m = _NEGATED.search(sentence)
    if m:
        if m.group().startswith("never"):
            return _swap(sentence, m.start(), m.end(), "")
        return _swap(sentence, m.start(), m.end(), m.group(1))
    m = _AUX.search(sentence)
    if m:
        return _swap(sentence, m.end(), m.end(), " not")
    m = re.search(r"(?<=[a-z] )([a-z]{3,}ed)\b", sentence)
    if m:
        return _swap(sentence, m.start(), m.start(), "never ")
    return None


def antonym(sentence: str, context: str) -> str | None:
    """A word replaced by its opposite ("confirmed" → "denied")."""
    for m in re.finditer(r"\b[a-z]+\b", sentence):
        if m.group() in FLIPS:
            return _swap(sentence, m.start(), m.end(), FLIPS[m.group()])
    return None


def direction(sentence: str, context: str) -> str | None:
    """Which way something moved: "from A to B" reversed, "up from" ↔ "down from", comparators flipped."""
    m = re.search(r"\bfrom (?:the )?([\w$€£.,%]+) to (?:the )?([\w$€£.,%]+)", sentence)
    if m and m.group(1) != m.group(2):
        return _swap(sentence, m.start(), m.end(), f"from {m.group(2)} to {m.group(1)}")
    for pattern, new in ((r"\bup from\b", "down from"), (r"\bdown from\b", "up from"),
                         (r"\bmore than\b", "fewer than"), (r"\bless than\b", "more than"),
                         (r"\bfewer than\b", "more than"), (r"\bat least\b", "at most"),
                         (r"\bover (?=\$?\d)", "under "), (r"\bunder (?=\$?\d)", "over "),
                         (r"\bnearly (?=\$?\d)", "more than "), (r"\balmost (?=\$?\d)", "more than "),
                         (r"\brose\b", "fell"), (r"\bfell\b", "rose"), (r"\bincreased\b", "decreased"),
                         (r"\bdecreased\b", "increased"), (r"\bhigher\b", "lower"),
                         (r"\blower\b", "higher")):  # fmt: skip
        m = re.search(pattern, sentence)
        if m:
            return _swap(sentence, m.start(), m.end(), new)
    return None


def time_frame(sentence: str, context: str) -> str | None:
    """A relative time moved ("later this week" → "last week"), or what will happen said to have happened."""
    for pattern, new in _OPPOSITE_FRAME:
        m = re.search(pattern, sentence, re.IGNORECASE)
        if m:
            return _swap(sentence, m.start(), m.end(), m.expand(new))
    m = re.search(r"\bwill (?:(also|only|still|now|soon) )?(be )?([a-z]{3,})\b", sentence)
    if m:
        verb = m.group(3)
        past = _PAST.get(verb) or (verb if verb.endswith("ed") else verb + ("d" if verb.endswith("e") else "ed"))
        adverb = f"{m.group(1)} " if m.group(1) else ""
        return _swap(sentence, m.start(), m.end(), adverb + ("was " if m.group(2) else "") + past)
    return None


_PAST = {"have": "had", "be": "was", "do": "did", "go": "went", "come": "came", "take": "took", "make": "made",
         "hold": "held", "meet": "met", "begin": "began", "become": "became", "bring": "brought", "get": "got",
         "give": "gave", "run": "ran", "see": "saw", "send": "sent", "spend": "spent", "win": "won",
         "lose": "lost", "keep": "kept", "leave": "left", "pay": "paid", "sell": "sold", "buy": "bought"}  # fmt: skip


# -- faithful -------------------------------------------------------------------------------------------


def verbatim(sentence: str, context: str) -> str | None:
    return sentence


def drop_clause(sentence: str, context: str) -> str | None:
    """The last comma-separated clause (a participle, relative or attribution clause) left out."""
    m = re.search(r",\s+(?:[a-z][^,]*|[A-Z][\w.]*(?: [A-Z][\w.]*)* (?:said|says|told \w+))([.!?]?)[\"”]?$", sentence)
    if not m or len(sentence[: m.start()].split()) < 6:
        return None
    return sentence[: m.start()].rstrip(" ,") + "."


def reorder(sentence: str, context: str) -> str | None:
    """An opening phrase or attribution moved: "On Tuesday, X did Y." → "X did Y on Tuesday."."""
    m = re.match(
        r"(In|On|At|During|After|Before|Since|By|For|Earlier|Later|Last|This) ([^,]{2,40}), (.+?)([.!?])$", sentence
    )
    if m:
        rest = m.group(3)
        return f"{rest[0].upper()}{rest[1:]} {m.group(1).lower()} {m.group(2)}{m.group(4)}"
    m = re.match(r"(.+?), according to ([^,]+?)([.!?])$", sentence)
    if m:
        return f"According to {m.group(2)}, {m.group(1)[0].lower()}{m.group(1)[1:]}{m.group(3)}"
    m = re.match(r"(?:[\"“])(.+?)[,.]?(?:[\"”]),? ([A-Z][\w.’' ]+?) (said|says|told [\w ]+?)\.$", sentence)
    if m:
        return f"{m.group(2)} {m.group(3)} that {m.group(1)[0].lower()}{m.group(1)[1:]}."
    return None


def synonym(sentence: str, context: str) -> str | None:
    """Non-key words replaced by near-synonyms (at most three)."""
    out, n = sentence, 0
    for m in reversed(list(re.finditer(r"\b[a-z]+\b", sentence))):
        if m.group() in SYNONYMS and n < 3:
            out = _swap(out, m.start(), m.end(), SYNONYMS[m.group()])
            n += 1
    return out if n else None


PERTURBATIONS: dict[str, Callable[[str, str], str | None]] = {
    "number": number, "scale": scale, "date": date, "entity": entity, "negation": negation,
    "antonym": antonym, "direction": direction, "time_frame": time_frame,
}  # fmt: skip
FAITHFUL: dict[str, Callable[[str, str], str | None]] = {
    "verbatim": verbatim,
    "drop_clause": drop_clause,
    "reorder": reorder,
    "synonym": synonym,
}
