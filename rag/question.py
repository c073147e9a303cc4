"""Question analysis: what kind of answer a question wants, and whether a sentence has that kind of thing."""

from __future__ import annotations

import re
from enum import StrEnum

from rag.lexical import terms


class Kind(StrEnum):
    NUMBER = "number"  # how many / how much / what percentage
    DATE = "date"  # when / what year / which month / what day
    PERSON = "person"  # who / whom / which person
    PLACE = "place"  # where / which city, country, state
    ENTITY = "entity"  # which/what + noun (company, team, group …)
    OTHER = "other"  # why / how / yes-no …


_RULES: list[tuple[Kind, re.Pattern[str]]] = [
    (
        Kind.NUMBER,
        re.compile(
            r"\b(how (many|much|long|old|far|big|large|tall|high|fast)|what (number|percentage|percent|share|"
            r"proportion|amount|rate|price|cost|age|size|total)|what is the (estimated )?(cost|number|price|"
            r"amount|total|rate|value|population)|"
            r"what was the (estimated )?(cost|number|price|amount|total|rate)|by how much|how many)\b"
        ),
    ),
    (
        Kind.DATE,
        re.compile(
            r"\b(when|what (year|date|day|month|time)|which (year|date|day|month|week)|on what (date|day)|"
            r"what day of the week|how recently)\b"
        ),
    ),
    (
        Kind.PERSON,
        re.compile(
            r"\b(who|whom|whose|which (person|official|leader|president|justice|actor|"
            r"actress|singer|player|candidate|senator|ceo|executive|minister|author|"
            r"artist|athlete|coach|judge|celebrity|rapper|musician))\b"
        ),
    ),
    (
        Kind.PLACE,
        re.compile(
            r"\b(where|which (city|country|state|nation|region|town|county|island|continent|"
            r"province|capital|port|location|place|area|territory|site)|in what (city|country|"
            r"state|region))\b"
        ),
    ),
    (Kind.ENTITY, re.compile(r"\b(which|what)\b")),
]

_NUMBER = re.compile(
    r"(\$|€|£)?\b\d[\d,]*(\.\d+)?\b|\b(one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|"
    r"dozens?|hundreds?|thousands?|millions?|billions?|trillions?|half|quarter|percent)\b",
    re.IGNORECASE,
)
_MONTHS = (
    r"jan(uary)?|feb(ruary)?|mar(ch)?|apr(il)?|may|june?|july?|aug(ust)?|sept?(ember)?|oct(ober)?|"
    r"nov(ember)?|dec(ember)?"
)
_DATE = re.compile(
    rf"\b(({_MONTHS})\.?( \d{{1,2}})?|(monday|tuesday|wednesday|thursday|friday|saturday|sunday)|"
    r"(19|20)\d\d|yesterday|today|tonight|tomorrow|last (week|month|year|night)|this (week|month|year)|"
    r"earlier this (week|month|year)|next (week|month|year)|\d{1,2}/\d{1,2}(/\d{2,4})?)\b",
    re.IGNORECASE,
)
_CAPITALISED = re.compile(
    r"(?<![.!?]\s)(?<!^)\b[A-Z][a-zA-Z’'\-]+(?:\s+(?:[A-Z][a-zA-Z’'\-]+|of|de|la|van|von))*"
)


def kind_of(question: str) -> Kind:
    q = question.lower()
    for kind, pattern in _RULES:
        if pattern.search(q):
            return kind
    return Kind.OTHER


def has_answer_shape(sentence: str, kind: Kind, question: str) -> bool:
    """Whether ``sentence`` contains something of the wanted kind that the question itself does not."""
    if kind is Kind.NUMBER:
        q_numbers = {m.group().lower() for m in _NUMBER.finditer(question)}
        return any(m.group().lower() not in q_numbers for m in _NUMBER.finditer(sentence))
    if kind is Kind.DATE:
        return bool(_DATE.search(sentence))
    if kind in {Kind.PERSON, Kind.PLACE, Kind.ENTITY}:
        return bool(new_names(sentence, question))
    return True


def new_names(sentence: str, question: str) -> list[str]:
    """Capitalised names in the sentence whose words the question does not already contain."""
    q_terms = set(terms(question))
    out = []
    for m in _CAPITALISED.finditer(sentence):
        name = m.group()
        if set(terms(name)) - q_terms and not _DATE.fullmatch(name):
            out.append(name)
    return out
