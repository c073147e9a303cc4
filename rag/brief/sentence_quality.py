"""Whether a sentence of an article can be quoted on its own: not a fragment, heading, caption, byline or
page furniture, and any quotation in it carries its speaker. Pure text rules, shared by the briefing (which
picks sentences) and its evaluation checks (which judge them)."""

from __future__ import annotations

import re

from rag.text import STOPWORDS

_SPEECH_VERBS = (
    "said|says|say|told|tells|added|adds|wrote|writes|stated|states|asked|asks|explained|noted|tweeted|posted|"
    "announced|declared|insisted|argued|warned|claimed|urged|recalled|continued|replied|acknowledged|admitted|"
    "answered|commented|remarked|testified|shouted|yelled|vowed|promised|conceded|cautioned|predicted|"
    "suggested|emphasi[sz]ed|stressed|described|called|according to"
)
#: Verbs that attribute speech or writing ("…,” Biden said." / "according to the ministry").
SPEECH = re.compile(rf"\b(?:{_SPEECH_VERBS})\b", re.IGNORECASE)
#: Who may be the speaker when not a name: an institution or role ("officials said", "the ministry said").
_AGENT = re.compile(
    r"\b(?:officials?|police|authorities|spokes(?:wo)?(?:man|person)|ministry|department|agency|company|"
    r"government|statement|report|court|prosecutors?|lawyers?|attorneys?|analysts?|experts?|researchers?|"
    r"scientists?|officers?|witnesses|residents|organizers|organisers|leaders?|representatives?|sources?|"
    r"campaign|administration|committee|commission|union|council|board|office|team|club|league|center|"
    r"centre|service|ministers?|president|governor|mayor|senator|secretary|chief|director|ceo|chair(?:man|woman)?)\b",
    re.IGNORECASE,
)
#: "the broadcaster added", "said a spokeswoman": a noun phrase next to the speech verb.
_NOUN_SPEAKER = re.compile(
    rf"\b(?:the|a|an|its|their|his|her)\s+[\w-]+(?:\s+[\w-]+)?,?\s+(?:{_SPEECH_VERBS})\b|"
    rf"\b(?:{_SPEECH_VERBS})\s+(?:the|a|an)\s+[\w-]+",
    re.IGNORECASE,
)
_NOT_NAMES = STOPWORDS | frozenset(
    """he she they it we i you his her their this that there monday tuesday wednesday thursday friday saturday
    sunday january february march april may june july august september october november december""".split()
)
#: Quotations: curly or straight double quotes around three or more words (a quoted term is not a quote).
_QUOTATION = re.compile(r"[“\"]([^”\"]*)[”\"]")
#: Page furniture at the start of a line: promotions, links, notes and credits.
_FURNITURE_START = re.compile(
    r"^(?:►|•|\*|_{2,}|More:|Read more\b|Related:|Watch:|Listen:|Sign[- ]up\b|Subscribe\b|Click\b|Follow us\b|"
    r"Hit play\b|"
    r"Download\b|(?i:Editor['’]s note)|Correction:|Photos?:|Video:|Image:|Credit:|Show caption|Hide caption|"
    r"Advertisement|Copyright|\(You can|Play the\b|JUST WATCHED|[A-Z]{2,}(?: [A-Z]{2,})+:)"
)
_FURNITURE = re.compile(
    r"privacy policy|newsletter|sign up (?:for|here)|subscribe (?:to|here)|in your inbox|all rights reserved|"
    r"contributed to this report|this (?:story|article) has been updated|crossword|episode of .{0,40}podcast|"
    r"transcript (?:was|is) (?:automatically )?generated|follow along with the transcript|"
    r"for the latest, (?:view|read|see)",
    re.IGNORECASE,
)
_CAPTION = re.compile(
    r"\b(?:AP Photo|Getty Images|file photo|Photo by|Photograph:|Image credit|courtesy of|"
    r"via (?:AP|Getty|Reuters|AFP))\b|, File\)|/(?:AP|AFP|Reuters)\b",
    re.IGNORECASE,
)
_DAYS = "Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday|the|a|an|then|now|early|late|mid|noon|night"
_BYLINE = re.compile(
    rf"^(?:Updated|Published|Posted|Story by|Written by|Reporting by)\b|^By (?!{_DAYS}\b)[A-Z]\w+ [A-Z]"
)
#: A dateline before the news: "WASHINGTON (AP) — ", "Kyiv, Ukraine (CNN) — ", "NEW YORK — ".
DATELINE = re.compile(
    r"^(?:[A-Z][A-Za-z.'’ ]{1,40}(?:,\s*[A-Z][A-Za-z.'’ ]{1,30})?\s*)?\((?:CNN|AP|Reuters|AFP|CNN Business)\)"
    r"\s*(?:[—–-]+\s*)?|^[A-Z][A-Z.'’ ]{2,30}(?:,\s*[A-Z][A-Za-z.'’ ]{1,30})?\s+[—–]\s+"
)


def dateline_end(sentence: str) -> int:
    """Characters of dateline ("WASHINGTON (AP) — ") at the start of ``sentence``; 0 when there is none."""
    m = DATELINE.match(sentence)
    return m.end() if m and len(sentence) - m.end() > 20 else 0


def quotations(sentence: str) -> list[str]:
    """The quoted passages of three or more words (curly or straight quotes, an unclosed one to the end)."""
    found = [q for q in _QUOTATION.findall(sentence) if _is_speech(q)]
    rest = _QUOTATION.sub(" ", sentence)
    if "“" in rest or rest.count('"') % 2 == 1:  # a quotation opened here runs on past the sentence
        tail = rest[max(rest.rfind("“"), rest.rfind('"')) + 1 :]
        if len(tail.split()) >= 3:
            found.append(tail)
    if "”" in rest:  # the end of a quotation that began in an earlier sentence
        found.append(rest[: rest.find("”")])
    return found


def _is_speech(quoted: str) -> bool:
    """Words someone said, not a quoted term ("potential tropical cyclone nine") or title ("The Bear"): six
    or more words, or a phrase ending in punctuation inside the quotes ("“It went well,” she said")."""
    words = quoted.split()
    if len(words) < 3 or _is_title(quoted):
        return False
    return len(words) >= 6 or quoted.rstrip()[-1:] in ",.!?…"


def _is_title(quoted: str) -> bool:
    """A quoted work or name ("The White Lotus", "They Cloned Tyrone"): every word capitalised."""
    words = re.findall(r"[^\W\d_][\w’'-]*", quoted)
    return bool(words) and all(
        w[0].isupper() or w.lower() in {"of", "the", "and", "a", "in", "on", "to"} for w in words
    )


def outside_quotes(sentence: str) -> str:
    """The words of ``sentence`` that are not inside a quotation."""
    text = _QUOTATION.sub(" … ", sentence)
    if "”" in text:
        text = text[text.find("”") + 1 :]
    cut = max(text.find("“"), text.find('"'))
    return text[:cut] if cut >= 0 else text


def speaker_named(sentence: str) -> bool:
    """Outside its quotations, next to a speech verb, the sentence names a speaker a reader can place: a
    name, an institution or role ("officials", "the ministry"), not just "he" or "they"."""
    rest = outside_quotes(sentence)
    for m in SPEECH.finditer(rest):
        before = re.split(r"[.;:!?]\s", rest[max(0, m.start() - 60) : m.start()])[-1]
        near = before + m.group() + re.split(r"[.;:!?](?:\s|$)", rest[m.end() : m.end() + 40])[0]
        if _AGENT.search(near) or _NOUN_SPEAKER.search(near):
            return True
        # A name: a capitalised word that is not a pronoun, a function word ("The", "But") or a date.
        if any(w.lower() not in _NOT_NAMES for w in re.findall(r"[A-Z][\w’'-]+", near)):
            return True
    return False


def quote_attributed(sentence: str) -> bool:
    """True when the sentence quotes nobody, or says who is being quoted."""
    return not quotations(sentence) or speaker_named(sentence)


def problem(sentence: str) -> str:
    """Why ``sentence`` cannot be quoted on its own ("" when it can): fragment, heading, caption, byline,
    furniture (page matter such as "Sign up for…"), or question."""
    s = sentence.strip()
    words = s.split()
    if s.endswith(("?", "?”", '?"', "?’")):
        return "question"
    if s[-1:] not in set(".!\"”’')"):
        return "heading" if 2 <= len(words) <= 20 else "fragment"
    if len(words) < 6 or not re.match(r"[\"“‘'(]?[A-Z0-9$£€]", s):
        return "fragment"  # too short, or starts mid-sentence: ": This new drink…", "and then…", "— said"
    if s.count("(") != s.count(")") or s.count("“") != s.count("”") or s.count('"') % 2:
        return "fragment"  # a piece of a parenthesis or quotation that runs on into another sentence
    if _BYLINE.match(s):
        return "byline"
    if _FURNITURE_START.match(s) or _FURNITURE.search(s):
        return "furniture"
    if _CAPTION.search(s):
        return "caption"
    letters = [w for w in words if re.match(r"[A-Za-z]", w)]
    capitalised = [w for w in letters if w[0].isupper()]
    if not re.search(r"\b[a-z]{3,}\b", s) or (len(words) <= 12 and len(capitalised) > 0.85 * len(letters)):
        return "heading"  # Title Case Or ALL CAPS, no sentence under it
    return ""


def quotable(sentence: str) -> bool:
    """Fit to quote on its own: no problem, and any quotation in it is attributed."""
    return not problem(sentence) and quote_attributed(sentence)


_BACKGROUND = re.compile(
    r"\b(?:last year|years? ago|decades?|for years|has long|have long|had long|was founded|were founded|"
    r"was established|history of|originally|back in|earlier this year|in the past|dates? back|long-running|"
    r"first (?:introduced|launched|announced|released|opened)|since (?:the )?(?:19|20)\d\d|in recent years)\b",
    re.IGNORECASE,
)
_NOW = re.compile(
    r"\b(?:today|tonight|yesterday|this (?:week|weekend|morning|afternoon|evening)|(?:on |late |early )?"
    r"(?:Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday))\b",
    re.IGNORECASE,
)


def background(sentence: str, year: int) -> bool:
    """Background rather than news as of ``year``: it dates itself to an earlier year ("In 2023, the
    company changed its logo") or speaks of the past ("for decades", "was founded"), and not of this week."""
    if _NOW.search(sentence):
        return False
    years = [int(y) for y in re.findall(r"\b(19\d\d|20\d\d)\b", sentence)]
    return any(y < year for y in years) or bool(_BACKGROUND.search(sentence))


def dated_now(sentence: str) -> bool:
    """It says when, in this week's terms ("on Tuesday", "yesterday", "this week")."""
    return bool(_NOW.search(sentence))


#: Openers that lean on a sentence the reader has not seen ("He said…", "But the…", "This is…").
_LEANING = re.compile(
    r"^[\"“‘']?(?:he|she|it|they|we|i|his|her|its|their|this|that|these|those|there|but|and|or|so|yet|also|"
    r"however|meanwhile|still|then|instead|now|here|the move|the decision|the incident)\b",
    re.IGNORECASE,
)


def leans_on_context(sentence: str) -> bool:
    """It begins by pointing at something said before it ("He said…", "But…", "The move…"): fine after
    another sentence, not as the first one."""
    return bool(_LEANING.match(sentence.strip()))
