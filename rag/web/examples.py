"""Example questions for the web page before its first question: drawn from the newest articles' ledes, and
kept only when the extractive answerer answers them from that very article.

A lede sentence gives a question by a fixed rewrite: "approximately 10,000 North Korean soldiers have been
deployed to eastern Russia" → "How many North Korean soldiers have been deployed to eastern Russia?", and
"Prime Minister Justin Trudeau held discussions with …" → "Who held discussions with …?". A title that is a
question is a candidate as it stands. Each candidate is then asked: one the store does not answer from its
article (the rewrite misread the sentence, or another article answers better) is dropped, so every example a
user clicks gets an answer citing the article it came from.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from itertools import islice
from typing import TYPE_CHECKING

from rag.brief.sentence_quality import dateline_end, quotable
from rag.ingest.sentences import split_spans
from rag.text import STOPWORDS, terms
from rag.types import Article, Filters

if TYPE_CHECKING:
    from rag.pipeline import Pipeline
    from rag.search.store import Store

MAX_EXAMPLES = 4
NEWEST = 16  #: articles looked at, newest first
RECENT_DAYS = (7, 60, 366)  #: windows (days before the newest date) read in turn to find the newest
LEDE_SENTENCES = 3
MIN_WORDS, MAX_WORDS = 5, 18  #: a question's length in words

_APPROX = r"(?:(?:about|approximately|nearly|almost|roughly|around|some|over|more than|at least|up to)\s+)?"
_COUNT = r"(?:\d{1,3}(?:,\d{3})+|\d+|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|dozens of|hundreds of)"
#: Verbs (finite forms and auxiliaries) that may follow a subject; any lowercase "-ed" word may too.
_VERBS = frozenset(
    """is are was were has have had will would could can may might must should did does remain remains became
    becomes took takes made makes won wins lost loses began begins gave gives met meets spoke speaks held holds
    told tells sent sends saw sees left leaves ran runs got gets went goes came comes led leads set sets hit hits
    kept keeps paid pays brought brings found finds broke breaks chose chooses drew draws fell falls rose rises
    grew grows sought seeks struck strikes overtook swept sweeps fled flees sold sells bought buys built builds
    caught catches fought fights shot shoots spent spends won't""".split()
)
_HOW_MANY = re.compile(
    rf"\b{_APPROX}(?P<count>{_COUNT})\s+(?P<noun>(?:[A-Za-z][\w'-]*\s+){{0,3}}?[a-z][\w-]*[^s\W]s)\s+"
    rf"(?P<rest>(?:reportedly\s+|also\s+|now\s+)?(?:is|are|was|were|has|have|had|will|would|could|can|may)\b.*)",
    re.IGNORECASE,
)
#: Sentence openings that are not the subject of what follows ("One thing Americans can…", "If it seems…").
_NOT_SUBJECT = frozenset(
    """this that these those in on at after before when as it it's he she they we i you there here if while
    whether from with for one every everyone each some many most all what who why how but and or so yet
    thus still even also just now then both neither either another other such""".split()
)
_SPEECH = frozenset("said says told tells added wrote writes asked asks".split())
_PRONOUNS = re.compile(r"\b(?:he|she|they|him|them|it|we|you|I)\b")
#: Where a question built from a sentence may end: a clause boundary.
_BOUNDARY = re.compile(
    r",|;|:| — | – | - |\(|\b(?:which|who|according to|as well as|once|when|while|as|after|because|since|until)\b"
)


def example_questions(pipeline: Pipeline, limit: int = MAX_EXAMPLES) -> list[str]:
    """Up to ``limit`` questions, at most one from each of the newest articles (newest first), each answered
    by the extractive answerer from the article it was drawn from."""
    from rag.pipeline import extractive

    generator = pipeline.generator if pipeline.generator.name == "extractive" else None
    answerer = generator or extractive(pipeline.settings, pipeline.retriever)
    out: list[str] = []
    for article in newest_articles(pipeline.store, NEWEST):
        for question in candidates(article):
            hits = pipeline.retriever.context(question, pipeline.settings.top_k, None)
            answer = answerer.generate(question, hits)
            if not answer.refused and any(c.article_id == article.id for c in answer.citations):
                out.append(question)
                break
        if len(out) >= limit:
            break
    return out


def newest_articles(store: Store, n: int) -> list[Article]:
    """The ``n`` newest articles (by publication date, then id), read from the store's last week, or a wider
    window when that holds fewer (undated articles only from a store with no dates at all)."""
    last = store.newest_date()
    if last is None:
        return list(islice(store.iter_articles(), n))
    found: list[Article] = []
    for days in RECENT_DAYS:
        found = list(store.iter_articles(Filters(since=last - dt.timedelta(days=days))))
        if len(found) >= n:
            break
    return sorted(found, key=lambda a: (a.published or dt.date.min, a.id), reverse=True)[:n]


def candidates(article: Article) -> list[str]:
    """Questions the lede of ``article`` answers, best first (none when no sentence fits a rewrite)."""
    out: list[str] = []
    for sentence in lede(article):
        out += [q for q in (how_many(sentence), who(sentence)) if q]
    title = article.title.strip()
    if re.fullmatch(r"[^?:|.…]+\?", title) and MIN_WORDS <= len(title.split()) <= MAX_WORDS:
        out.append(title)  # a headline that is one question
    return list(dict.fromkeys(out))


def lede(article: Article) -> Iterator[str]:
    """The first sentences of the article fit to quote on their own, their dateline cut off."""
    taken = 0
    for lo, hi in split_spans(article.text):
        if taken >= LEDE_SENTENCES:
            return
        sentence = article.text[lo:hi]
        sentence = sentence[dateline_end(sentence) :]
        if quotable(sentence):
            taken += 1
            yield sentence


def how_many(sentence: str) -> str:
    """ "… approximately 10,000 soldiers have been sent to …" → "How many soldiers have been sent to …?"."""
    m = _HOW_MANY.search(sentence)
    if m is None:
        return ""
    return _question("How many", f"{m['noun']} {m['rest']}")


def who(sentence: str) -> str:
    """ "Senate Majority Leader Chuck Schumer has requested …" → "Who has requested …?": the sentence opens
    with a named subject (a capitalised word after its first; "Syrian rebels", "The Supreme Court") and then
    its verb."""
    words = sentence.split()
    for n, word in enumerate(words[:9]):
        if n and (word in _VERBS or word in _SPEECH or re.fullmatch(r"[a-z]{3,}ed", word)):
            break
        if not re.fullmatch(r"[\w'’.()&-]+", word):
            return ""  # a comma, quotation or dash inside the subject: not a plain one
    else:
        return ""
    subject = words[:n]
    plural = len(subject) == 2 and subject[1].islower() and subject[1].endswith("s")  # "Syrian rebels"
    lowercase = [w for w in subject[:-1] if w[0].islower() and w not in {"of", "for", "and", "the", "de"}]
    if (
        not subject[0][0].isupper()
        or subject[0].lower() in _NOT_SUBJECT
        or (subject[0] in {"The", "A", "An"} and len(subject) > 1 and not subject[1][0].isupper())
        or not (plural or (len(subject) > 1 and subject[-1][0].isupper()) or subject[-1].endswith(")"))
        or len(lowercase) > 2
        or any(w in STOPWORDS for w in lowercase)  # "Work starts in January and …": not a name
        or word in _SPEECH
        or words[n + 1 : n + 2] == ["by"]  # "Rebel forces led by …": a participle, not the verb
    ):
        return ""
    rest = words[n:]
    # "T-Mobile Arena is the venue for …", "The Earth was ready for …": what, not who.
    thing = word in {"is", "are", "was", "were"} and len(rest) > 1 and not re.search(r"(?:ing|ed)$|^not$", rest[1])
    return _question("What" if thing else "Who", " ".join(rest))


def _question(wh: str, rest: str) -> str:
    """``wh`` and ``rest``, cut at the first clause boundary after ``MIN_WORDS`` words; "" when that is
    longer than ``MAX_WORDS``, or holds a quotation (cut in half, it reads as nonsense) or a pronoun (it
    needs the sentence it came from)."""
    rest = rest.strip().rstrip(".!\"”’'")
    text = f"{wh} {rest}"
    for m in _BOUNDARY.finditer(rest):
        head = f"{wh} {rest[: m.start()]}".rstrip(" ,;:—–-")
        if len(head.split()) >= MIN_WORDS:
            text = head
            break
    if not MIN_WORDS <= len(text.split()) <= MAX_WORDS or re.search(r"[\"“”]", text) or _PRONOUNS.search(text):
        return ""
    if len(terms(text)) < 3:
        return ""  # "Who has been on edge?": too little to search for
    return text + "?"
