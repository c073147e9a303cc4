"""Follow-up questions without an LLM: a pronoun or an elliptical question is resolved against the previous
question and the entity its answer named, so retrieval and the reader see a standalone question.

"Who won Florida's 2024 Python Challenge?" → answer names "Ronald Kiger"; "How much prize money did he win?"
becomes "How much prize money did Ronald Kiger win? (Florida's 2024 Python Challenge)". A question that already
stands on its own is returned unchanged.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from rag.text import terms

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
_PERSON_NOUNS = (
    "person|people|man|woman|men|women|official|leader|president|actor|actress|singer|player|candidate|senator|"
    "ceo|executive|chief|minister|author|artist|athlete|coach|judge|rapper|musician|hunter|winner|star|doctor|"
    "lawmaker|governor|mayor|nominee|suspect|gunman|director|founder|billionaire|journalist|anchor|host|"
    "astronaut|pope|king|queen|prince|princess|chancellor|secretary|spokesperson|lawyer|attorney|"
    "comedian|writer|pitcher|quarterback|golfer|driver|champion|defendant|victim|boss|manager|chairman"
)
# The previous question asked for a person: "who …", or "which/what [up to four words] <person noun>".
_PERSON_HINT = re.compile(
    rf"^\s*(?:\w+\s+)?(?:who|whom|whose)\b|\b(?:which|what)\s+(?:[\w&'’.-]+\s+){{0,4}}?(?:{_PERSON_NOUNS})s?\b",
    re.IGNORECASE,
)
# "Which/what <noun> …" asking for a thing that "it"/"they" can later mean (not a place or a time).
_THING_HINT = re.compile(r"^\s*(?:\w+\s+)?(?:which|what)\s+(?:[\w&'’.-]+\s+){0,3}?([a-z]+)\b", re.IGNORECASE)
_NOT_THINGS = frozenset(
    "state states country countries city cities county town place places region year years month day date time "
    "is are was were did does do has have had will would can could".split()
)
# A Title-case word: "Carter", "McBride", "O'Neil", "J.", "Yeol"; not "NEW" or "iPhone".
_TITLE_WORD = r"[A-Z](?:[a-z]|\.(?=\s))[\w’'\-]*"
_TITLE_RUN = re.compile(rf"{_TITLE_WORD}(?:\s+{_TITLE_WORD})*")
# Words that start a sentence or stand before a name without being one.
_LEADING = frozenset(
    "the a an in on at after before when while but and as for from this that his her their it its he she they we "
    "i former president president-elect vice sen senator rep gov governor dr mr mrs ms judge ceo prime minister "
    "director actor actress singer star coach "
    "secretary pope king queen prince general chief".split()
)
# Words that make a capitalised run a place, an organisation or an event rather than a person.
_NOT_PERSON = frozenset(
    "county city state states university college department house senate court inc co corp company airlines "
    "news times post agency administration center centre centers party congress street avenue island beach park "
    "tour challenge cup prize award awards bank group league association council committee service hospital "
    "school church museum festival river lake mountain bay coast airport station bridge day week month united "
    "america american national federal international republic kingdom union north south east west".split()
)
_CALENDAR_WORDS = frozenset(
    "monday tuesday wednesday thursday friday saturday sunday january february march april may june july august "
    "september october november december today yesterday tomorrow".split()
)
# A calendar word as a capitalised name, with an optional day number: "Tuesday", "October 29".
_CALENDAR = re.compile(rf"(?:{'|'.join(sorted(w.capitalize() for w in _CALENDAR_WORDS))})(?:\s+\d+)?")


@dataclass(frozen=True)
class Turn:
    """What a follow-up can refer to: the question as searched, the answer's key entity ("" if none), the
    answer's text and the sentences it quoted (a follow-up asks for something new, not the same quote again)."""

    question: str
    entity: str = ""  #: the phrase the answer marked as the answer, e.g. "Ronald Kiger"
    answer: str = ""  #: the answer's text without citation markers
    quoted: tuple[str, ...] = ()  #: the sentences the answer quoted


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
    """The standalone form of ``question`` given the previous turn (unchanged when it is not a follow-up): its
    pronouns resolved, then the previous subject's words it lacks in parentheses, so retrieval and the reader
    stay on the same story."""
    if previous is None or not previous.question or not is_follow_up(question):
        return question
    person = _person(previous)
    thing = _thing(previous)

    def swap(m: re.Match[str]) -> str:
        word = m.group(1)
        low = word.lower()
        if low in _PERSONAL and person:
            return _PERSONAL[low].format(person)
        if low in _NEUTRAL and thing:
            return _NEUTRAL[low].format(thing)
        return word  # no referent we trust: the carried subject keeps retrieval on the story

    resolved = _PRONOUN.sub(swap, question)
    resolved = _elided_quantity(_OPENER_ONLY.sub("", resolved, count=1), previous.question)
    resolved = _elided_clause(resolved, previous.question)
    resolved = resolved[:1].upper() + resolved[1:]
    # Carry the previous subject's words the question lacks, so retrieval finds the same story.
    have = set(terms(resolved))
    carried: list[str] = []
    for w in re.findall(r"[\w’'-]+", _subject(previous.question)):
        t = terms(w)
        if t and t[0] not in have and w.lower() not in _QUESTION_WORDS and t[0] not in _TIME_WORDS:
            carried.append(w)
            have.add(t[0])
    return f"{resolved.rstrip()} ({' '.join(carried)})" if carried else resolved


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


_AUXILIARY = r"(?:is|are|was|were|did|does|do|has|have|had|will|would|can|could|should)"
# A bare question phrase with no verb of its own: "At what strength?", "After how many shows?", "Which year?"
# (at most two words after the question word, none an auxiliary, a pronoun or an -ed form: "Which network hosted
# it?" has a verb).
_FRAGMENT = re.compile(
    rf"^\s*(?:(?:and|but|so|then|also)\s+)?(?P<ask>(?:(?:at|after|in|on|by|for|from|to|with|since|until|of)\s+)?"
    r"(?:what|which|how many|how much|how long|how)\b"
    rf"(?:\s+(?!{_AUXILIARY}\b|{_PRONOUN.pattern})[\w'’-]+(?<!ed)){{0,2}})\s*\?\s*$",
    re.IGNORECASE,
)
# The clause of a question after its question phrase: "Where [did Hurricane Francine make landfall]?"
_CLAUSE = re.compile(rf"^\s*(?:[\w'’-]+\s+){{0,5}}?(?P<clause>{_AUXILIARY}\s+.+?)\s*\?*\s*$", re.IGNORECASE)


def _elided_clause(question: str, previous: str) -> str:
    """A question phrase alone asks the previous question's clause again: "At what strength?" after "Where did
    Hurricane Francine make landfall?" asks "At what strength did Hurricane Francine make landfall?"."""
    fragment = _FRAGMENT.match(question)
    clause = _CLAUSE.match(previous)
    if fragment is None or clause is None:
        return question
    ask = fragment.group("ask").strip()
    return f"{ask[:1].upper()}{ask[1:]} {clause.group('clause')}?"


def _is_person_question(question: str) -> bool:
    return bool(_PERSON_HINT.search(question))


def _person(previous: Turn) -> str:
    """Who "he"/"she" most likely means. After a question asking for a person: the person the answer marked,
    else the first person the answer names. Otherwise the first person the previous question names. "" when
    nothing looks like a person (a pronoun left alone is better than a wrong name)."""
    if _is_person_question(previous.question):
        marked = _person_names(previous.entity, phrase=True)
        named = _person_names(previous.answer)
        full = [n for n in named if " " in n]
        if marked and " " in marked[0]:
            return marked[0]
        if marked and not re.search(r"[’']s$", previous.entity.strip()):
            # A surname alone ("Jones"): the answer's fuller form of it when it has one, else the word itself
            # when the answer uses it as a name ("when Jones appeared"), not only inside a longer run ("South
            # Korean President …"). A possessive mark ("Delaware's") is more often a place or an organisation:
            # then the first person the answer names.
            longer = [n for n in full if n.endswith(" " + marked[0])]
            if longer or marked[0] in named:
                return longer[0] if longer else marked[0]
        if full:
            return full[0]
    names = _person_names(previous.question, skip_first=True)
    return names[0] if names else ""


def _thing(previous: Turn) -> str:
    """What "it"/"they" means: the short name the answer gave to a "which/what <thing>" question (a company, a
    product, a country), "" otherwise (after "where", "when", "who" or a place question the pronoun is the
    question's own subject, which the carried words already bring)."""
    m = _THING_HINT.search(previous.question)
    entity = _unpossessive(previous.entity.strip())
    if m is None or m.group(1).lower() in _NOT_THINGS or _is_person_question(previous.question):
        return ""
    if not entity or not entity[:1].isupper() or len(entity.split()) > 5:
        return ""
    return entity


def _unpossessive(name: str) -> str:
    return re.sub(r"[’']s?$", "", name)


_ARTICLE_BEFORE = re.compile(r"\b(?:the|a|an)\s+$", re.IGNORECASE)


def _person_names(text: str, *, skip_first: bool = False, phrase: bool = False) -> list[str]:
    """Capitalised runs that look like a person's name: titles and sentence-initial words dropped, places,
    organisations, events and calendar words left out ("President-elect Donald Trump" → "Donald Trump").
    A ``phrase`` (the answer's marked entity, not a sentence) keeps a lone capitalised word: "Jones"."""
    out: list[str] = []
    for m in _TITLE_RUN.finditer(text):
        words = [_unpossessive(w) for w in m.group().split()]
        dropped = []
        while words and words[0].lower().rstrip(".") in _LEADING:
            dropped.append(words.pop(0).lower())
        if not words:
            continue
        if len(words) == 1 and ({"the", "a", "an"} & set(dropped) or _ARTICLE_BEFORE.search(text[: m.start()])):
            continue  # "the Korean won", "a Democrat": one capitalised word after an article modifies a noun
        at_start = not phrase and (m.start() == 0 or bool(re.search(r"[.!?]\s*$", text[: m.start()])))
        if len(words) == 1 and (at_start and (skip_first or m.group().split()[0] == words[0])):
            continue  # one capitalised word opening a sentence is grammar, not a name
        low = {w.lower().rstrip(".") for w in words}
        if low & _NOT_PERSON or low & _CALENDAR_WORDS or any(len(w) < 2 for w in words):
            continue
        out.append(" ".join(words))
    return out


def _names(text: str) -> list[str]:
    """Capitalised names in the text, without days, months and other calendar words."""
    return [n for n in _NAME.findall(text) if not _CALENDAR.fullmatch(n)]


def _subject(question: str) -> str:
    """The previous question without its question words: what it was about."""
    return " ".join(w for w in question.split() if w.lower().strip("?,.") not in _QUESTION_WORDS)
