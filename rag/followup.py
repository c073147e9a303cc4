"""Follow-up questions without an LLM: a pronoun or an elliptical question is resolved against the previous
question and the entity its answer named, so retrieval and the reader see a standalone question.

"Who won Florida's 2024 Python Challenge?" → answer names "Ronald Kiger"; "How much prize money did he win?"
becomes "How much prize money did Ronald Kiger win? (Florida's 2024 Python Challenge)". A question that already
stands on its own is returned unchanged.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from rag.lexical import terms

_PERSONAL = {
    "he": "{}",
    "him": "{}",
    "his": "{}'s",
    "she": "{}",
    "her": "{}",
    "hers": "{}'s",
}
_NEUTRAL = {"it": "{}", "its": "{}'s", "they": "{}", "them": "{}", "their": "{}'s"}
_PRONOUN = re.compile(r"\b(he|him|his|she|her|hers|it|its|they|them|their)\b", re.IGNORECASE)
# A definite or demonstrative phrase pointing back ("the earlier estimate", "that company", "this event").
_ANAPHOR = re.compile(r"\b(?:this|that|these|those|the same|the earlier|the previous|the latest|the new)\s+\w+", re.I)
_OPENER = re.compile(r"^\s*(?:and|but|also|so|then|what about|how about|what of|same for|and what about)\b", re.I)
_QUESTION_WORDS = frozenset(
    "what which who whom whose when where why how many much does did do is are was were has have had will would "
    "can could should".split()
)
_TIME_WORDS = frozenset("week month year day today yesterday last earlier later now ago recent recently".split())
# Capitalised names: a run of capitalised words (with inner "of", "de" …), not at the start of a sentence.
_NAME = re.compile(r"(?<![.!?]\s)(?<!^)\b[A-Z][\w’'\-]+(?:\s+(?:of|de|la|van|von|bin|al)?\s*[A-Z][\w’'\-]+)*")
_CALENDAR = re.compile(
    r"(?:Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday|January|February|March|April|May|June|July|"
    r"August|September|October|November|December|Today|Yesterday|Tomorrow)(?:\s+\d+)?"
)
_PERSON_HINT = re.compile(
    r"\b(who|whom|whose|which (?:\w+ )?(?:person|man|woman|official|leader|president|actor|actress|singer|"
    r"player|candidate|senator|ceo|executive|minister|author|artist|athlete|coach|judge|rapper|musician|"
    r"hunter|winner|star))\b",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Turn:
    """What a follow-up can refer to: the question as searched, and the answer's key entity ("" if none)."""

    question: str
    entity: str = ""  #: the phrase the answer marked as the answer, e.g. "Ronald Kiger"


def is_follow_up(question: str) -> bool:
    """Whether a question leans on the conversation: a pronoun, a pointing phrase, an opener like "and", or too
    little of its own to stand alone (at most two content words and no name or number: "Which ingredient is
    suspected?")."""
    if _OPENER.search(question) or _PRONOUN.search(question) or _ANAPHOR.search(question):
        return True
    content = [t for t in terms(question) if t not in _TIME_WORDS]
    named = bool(_names(question)) or any(ch.isdigit() for ch in question)
    return len(content) < 2 or (len(content) <= 2 and not named)


def resolve(question: str, previous: Turn | None) -> str:
    """The standalone form of ``question`` given the previous turn (unchanged when it is not a follow-up)."""
    if previous is None or not previous.question or not is_follow_up(question):
        return question
    person = _person(previous)
    subject = _subject(previous.question)
    resolved = question
    replaced: set[str] = set()

    def swap(m: re.Match[str]) -> str:
        word = m.group(1)
        low = word.lower()
        if low in _PERSONAL and person:
            replaced.add(person)
            return _PERSONAL[low].format(person)
        if (
            low in _NEUTRAL
            and previous.entity
            and not _is_person_question(previous.question)
            and _looks_named(previous.entity)
        ):
            replaced.add(previous.entity)
            return _NEUTRAL[low].format(previous.entity)
        return word

    resolved = _PRONOUN.sub(swap, resolved)
    resolved = _elided_quantity(_OPENER_ONLY.sub("", resolved, count=1), previous.question)
    # Carry the previous subject's words the question lacks, so retrieval finds the same story.
    have = set(terms(resolved))
    carried: list[str] = []
    for w in re.findall(r"[\w’'-]+", subject):
        t = terms(w)
        if t and t[0] not in have and w.lower() not in _QUESTION_WORDS and t[0] not in _TIME_WORDS:
            carried.append(w)
            have.add(t[0])
    if carried:
        resolved = f"{resolved.rstrip()} ({' '.join(carried)})"
    return resolved


_OPENER_ONLY = re.compile(
    r"^\s*(?:and|but|also|so|then)\s+(?=(?:what|which|who|whom|whose|when|where|why|how)\b)", re.I
)
# "how many" / "how much" with no noun of its own: "how many were there", "how much did it cost"
_BARE_QUANTITY = re.compile(r"\bhow\s+(many|much)\s+(?=(?:were|was|are|is|did|do|does|had|have|has|will)\b|\?|$)", re.I)
_QUANTITY = re.compile(
    r"\bhow\s+(?:many|much)\s+(.+?)\s+(?:were|was|are|is|did|do|does|had|have|has|will|would|could|can)\b", re.I
)


def _elided_quantity(question: str, previous: str) -> str:
    """ "how many were there last week?" after "How many North Korean soldiers does …?" asks how many North
    Korean soldiers: the counted noun phrase of the previous question fills the gap (the question's own first
    letter keeps its case)."""
    bare = _BARE_QUANTITY.search(question)
    counted = _QUANTITY.search(previous)
    if bare is None or counted is None:
        return question
    out = f"{question[: bare.end()]}{counted.group(1)} {question[bare.end() :]}"
    return out[:1].upper() + out[1:]


def _is_person_question(question: str) -> bool:
    return bool(_PERSON_HINT.search(question))


def _looks_named(phrase: str) -> bool:
    return bool(phrase[:1].isupper())


def _person(previous: Turn) -> str:
    """Who "he"/"she" most likely means: the person the last answer named when the question asked for one, else
    the last name in the previous question."""
    if previous.entity and _is_person_question(previous.question):
        return previous.entity
    names = _names(previous.question)
    # The first name is most often the subject, whom a following "he" or "she" means.
    return names[0] if names else previous.entity if _looks_named(previous.entity) else ""


def _names(text: str) -> list[str]:
    """Capitalised names in the text, without days, months and other calendar words."""
    return [n for n in _NAME.findall(text) if not _CALENDAR.fullmatch(n)]


def _subject(question: str) -> str:
    """The previous question without its question words: what it was about."""
    return " ".join(w for w in question.split() if w.lower().strip("?,.") not in _QUESTION_WORDS)
