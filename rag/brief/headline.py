"""Headlines for briefing stories (extractive): the story's most informative complete article title, without
site names, "live updates" labels or truncation marks.

Search-result titles are often cut ("… as Trump appoints Elon ..."): a complete title from another article of
the story is preferred, and when every title is cut, the cut one is trimmed back to its last whole clause."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

from rag.ingest.sentences import ABBREVIATIONS
from rag.text import STOPWORDS, terms
from rag.types import Article

#: Outlet and section names that titles carry after a separator ("… | The Week", "… - CNN Politics").
SITE_NAMES = (
    r"CNN(?:\s?(?:Business|Politics|Travel|Style|Health|Opinion|Underscored))?|The Week(?: UK| US)?|USA TODAY|"
    r"USA Today|The Excerpt|Cruising Altitude|AP News|Associated Press|Reuters|BBC News|NPR|Fox News|"
    r"The Guardian|Yahoo News|ABC News|CBS News|NBC News|Axios|Politico|Delaware Online|DelawareOnline|"
    r"The News Journal|The Indianapolis Star|IndyStar|24/7 Wall St\.|Our View"
)
TRUNCATED = re.compile(r"\s*(?:\.\.\.|…)\s*$")
_PIPE_SUFFIX = re.compile(r"\s+\|\s+[^|]{1,40}$")  #: after " | " comes the site or section, whatever its name
#: "… - CNN Politics", "…: Our View", and the same cut short ("… - CNN ...", "… | The ...").
_NAMED_SUFFIX = re.compile(rf"\s*(?:\s[|–—-]|:)\s*(?:{SITE_NAMES}|(?:The|CNN|AP)\s*(?:\.\.\.|…))\s*(?:\.\.\.|…)?$")
_LIVE = re.compile(
    r"\s*\b(?:live(?:\s+\w+)?\s+(?:updates?|results|blog|coverage|stream)|latest updates|updates)\b\s*",
    re.IGNORECASE,
)
#: A clause the cut title began and never finished starts with one of these ("… Twitter as Trump appoints Elon").
_CLAUSE = re.compile(
    r"\s(?=(?:as|after|amid|while|but|despite|following|ahead of|because|when|with|who|which|says|say)\s)"
)
#: Service pieces rather than news: "How to watch …", "… 4 things to know", "Here's what we know".
_SERVICE = re.compile(
    r"\b(?:how to|what to know|things to know|need to know|everything to know|what we know|here['’]s|explained|"
    r"when is|what time)\b",
    re.IGNORECASE,
)
_DANGLING = STOPWORDS | frozenset("including starting such like plus amid despite new more".split())


def clean_title(title: str) -> str:
    """The title without a site name, "live updates" label or truncation mark (a cut title is trimmed back
    to its last whole clause, see ``trim_cut``)."""
    t = re.sub(r"\s+", " ", title).strip()
    for _ in range(2):  # "Title - CNN | The Week"
        t = _NAMED_SUFFIX.sub("", _PIPE_SUFFIX.sub("", t))
    if _LIVE.search(t):
        t = _LIVE.sub(" ", t)
        t = re.sub(r"\s+([:;,])", r"\1", t).strip(" :;,-–—")
        t = re.sub(r"^\W+", "", t)
    t = trim_cut(t) if is_cut(t) else t
    t = t.strip()
    return t[:1].upper() + t[1:] if t else title.strip()


def is_cut(title: str) -> bool:
    return bool(TRUNCATED.search(title))


def trim_cut(title: str) -> str:
    """A cut title trimmed back to what it finished: its whole sentences if it has some ("MD, WV and NE hold
    tough primaries on Tuesday. Here's what to ..."), else up to the clause it began last ("Biden to send
    3,000 US troops to Europe as tensions with Russia ..." → "… to Europe"), never ending on "of", "the" or a
    bare number."""
    t = TRUNCATED.sub("", title).strip()
    ends = [
        m.end()
        for m in re.finditer(r"(\w*)[.!?](?=\s)", t)
        if len(t[: m.end()].split()) >= 4 and m.group(1).lower() not in ABBREVIATIONS
    ]
    if ends:
        return t[: ends[-1]]
    clauses = [m.start() for m in _CLAUSE.finditer(t) if len(t[: m.start()].split()) >= 4]
    if clauses:
        t = t[: clauses[0]]
    words = t.split()
    while len(words) > 3 and (
        re.sub(r"\W", "", words[-1]).lower() in _DANGLING or words[-1].isdigit() or re.search(r"['’]s?$", words[-1])
    ):
        words.pop()
    return " ".join(words).rstrip(" ,:;—–-")


def complete(headline: str) -> bool:
    """A headline a reader can take as finished: no truncation mark, site name or "live updates" label, and
    it does not end on a function word."""
    h = headline.strip()
    if not h or is_cut(h) or re.search(r"\b(?:live updates?|live blog)\b", h, re.IGNORECASE):
        return False
    if _NAMED_SUFFIX.search(h) or " | " in h:
        return False
    last = re.sub(r"\W", "", h.split()[-1]).lower()
    # A title that ends in its own full stop or question mark is finished ("… voted off?", "… weighs in.").
    return len(h.split()) >= 3 and (h[-1] in ".?!" or last not in STOPWORDS)


def choose(articles: Sequence[Article], idf: Callable[[str], float] = lambda _t: 1.0) -> str:
    """The story's most informative complete title: words the story's articles share, rare words and names
    count; a title that was cut, or is a question, counts less."""
    if not articles:
        return ""
    share: dict[str, float] = {}
    for a in articles:
        for t in set(terms(a.title + " " + a.text[:1500])):
            share[t] = share.get(t, 0.0) + 1.0 / len(articles)

    def score(a: Article) -> float:
        title = clean_title(a.title)
        words = set(terms(title))
        info = sum(min(max(idf(t), 0.5), 8.0) * (0.5 + share.get(t, 0.0)) for t in words)
        info *= 0.6 if is_cut(a.title) else 1.0
        info *= 0.6 if title.endswith("?") or _SERVICE.search(title) else 1.0
        info *= 0.7 if len(title.split()) > 16 else 1.0
        return info if complete(title) else info * 0.3

    best = max(articles, key=score)
    return clean_title(best.title)
