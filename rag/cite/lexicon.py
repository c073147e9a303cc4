"""Word lists the claim checks read: negation and modality cues, news antonyms, units, months, weekdays,
relative time frames, and the common words that may start a sentence capitalised without being a name.

Lists, not rules: `rag/cite/meaning.py` owns how they are used. Words are lower case; verbs are given once and
their inflections generated (`forms`), irregular ones listed.
"""

from __future__ import annotations

import re

#: Words that negate the content word after them (skipping auxiliaries): "has not refuted", "no evidence".
NEGATIONS = frozenset("not n't never no without cannot nor neither hardly".split())
#: Words between a negation (or hedge) and the word it governs: "has not yet been refuted".
AUXILIARIES = frozenset(
    """be been being is are was were am have has had do does did will would shall should can could may might
    must yet ever already always fully even also necessarily really quite entirely officially formally
    immediately publicly directly explicitly a an the any to only i you he she it we they me him her us them this
    that these those there here his their its our your my""".split()
)
#: Cues that put the next verb in the future: "is set to occur", "will visit".
FUTURE_CUES = ("will", "'ll", "shall", "set to", "due to", "expected to", "scheduled to", "plans to", "planning to",
               "planned to", "going to", "about to", "is to", "are to", "slated to", "poised to")  # fmt: skip
#: Cues that make the next verb a possibility rather than a fact: "may already be stationed".
HEDGES = frozenset("may might could possibly perhaps reportedly allegedly likely potentially".split())
#: Irregular past forms to their base, so "held" matches "hold" and "had" matches "will have".
LEMMAS = {
    "was": "be", "were": "be", "had": "have", "got": "get", "gotten": "get", "did": "do", "went": "go",
    "came": "come", "took": "take",
    "made": "make", "held": "hold", "met": "meet", "began": "begin", "became": "become", "brought": "bring",
    "built": "build", "bought": "buy", "fell": "fall", "found": "find", "gave": "give", "grew": "grow",
    "kept": "keep", "knew": "know", "left": "leave", "led": "lead", "lost": "lose", "paid": "pay", "ran": "run",
    "rose": "rise", "saw": "see", "sent": "send", "sold": "sell", "spent": "spend", "stood": "stand",
    "told": "tell", "thought": "think", "won": "win", "wrote": "write", "spoke": "speak", "chose": "choose",
    "drew": "draw", "drove": "drive", "fought": "fight", "flew": "fly", "struck": "strike", "taught": "teach",
    "threw": "throw", "woke": "wake", "wore": "wear", "sank": "sink", "shrank": "shrink", "forbade": "forbid",
}  # fmt: skip
IRREGULAR_PAST = frozenset(
    """was were had did got went came took made held met said began became brought built bought caught chose drew
    drove fell felt fought found flew forgot froze gave grew hid hit hurt kept knew laid led left lent let lost
    meant paid put quit ran rang rose saw sent set shot shut sang sank sat slept spoke spent stood stole struck
    swore taught told thought threw understood woke wore won wrote sold""".split()
)

_IRREGULAR = {
    "rise": "rise rises rose risen rising", "fall": "fall falls fell fallen falling",
    "win": "win wins won winning", "lose": "lose loses lost losing", "grow": "grow grows grew grown growing",
    "shrink": "shrink shrinks shrank shrunk shrinking", "sink": "sink sinks sank sunk sinking",
    "begin": "begin begins began begun beginning", "leave": "leave leaves left leaving",
    "sell": "sell sells sold selling", "buy": "buy buys bought buying", "lead": "lead leads led leading",
    "cut": "cut cuts cutting", "quit": "quit quits quitting", "forbid": "forbid forbids forbade forbidden",
    "shut": "shut shuts shutting", "slide": "slide slides slid sliding", "split": "split splits splitting",
    "stop": "stop stops stopped stopping", "drop": "drop drops dropped dropping", "slip": "slip slips slipped slipping",
    "dip": "dip dips dipped dipping", "slump": "slump slumps slumped slumping", "ban": "ban bans banned banning",
    "plan": "plan plans planned planning", "admit": "admit admits admitted admitting",
    "permit": "permit permits permitted permitting", "acquit": "acquit acquits acquitted acquitting",
    "commit": "commit commits committed committing", "hold": "hold holds held holding",
    "set": "set sets setting", "spend": "spend spends spent spending", "widen": "widen widens widened widening",
}  # fmt: skip


def forms(word: str) -> set[str]:
    """A word and its regular inflections (deny → denies, denied, denying; close → closes, closed, closing)."""
    if word in _IRREGULAR:
        return set(_IRREGULAR[word].split())
    if " " in word or not word.isalpha():
        return {word}
    out = {word}
    if word.endswith("e"):
        out |= {word + "s", word + "d", word[:-1] + "ing"}
    elif word.endswith("y") and word[-2:-1] not in tuple("aeiou"):
        out |= {word[:-1] + "ies", word[:-1] + "ied", word + "ing"}
    else:
        out |= {word + ("es" if word.endswith(("s", "sh", "ch", "x")) else "s"), word + "ed", word + "ing"}
    return out


def _side(words: str) -> frozenset[str]:
    return frozenset(f for w in words.split(",") for f in forms(w.strip()) if w.strip())


#: Opposites common in news. A claim using one side where its source uses the other reverses the meaning.
#: Each pair is (side A, side B); a word may sit in several pairs (reject ↔ approve, reject ↔ accept).
_PAIRS = [
    ("confirm,acknowledge,admit,affirm,verify", "deny,refute,dispute,disavow"),
    ("condemn,criticize,criticise,denounce,decry,blast,slam,rebuke,deplore,oppose",
     "welcome,praise,applaud,hail,celebrate,commend,endorse,laud,embrace"),
    ("rise,increase,climb,grow,jump,surge,soar,gain,rebound,expand,swell,spike,rally,widen,boost",
     "fall,decrease,drop,decline,shrink,slump,plunge,sink,tumble,dip,slide,contract,fell,slip,narrow,reduce,cut,"
     "lower,slash,plummet"),
    ("increase,rise,gain,growth,jump,surge,hike", "decrease,decline,drop,fall,loss,reduction,cut,dip"),
    ("win,victory,triumph,prevail,beat", "lose,loss"),
    ("approve,pass,accept,adopt,ratify,authorize,authorise,grant",
     "reject,block,veto,deny,refuse,decline,oppose,overturn,strike down"),
    ("advance,gain,push forward,capture,seize", "retreat,withdraw,pull back,lose,cede,fall back"),
    ("more,additional,extra,greater,higher,larger,bigger,most,highest,largest,biggest,maximum,majority",
     "fewer,less,lower,smaller,least,fewest,lowest,smallest,minimum,minority"),
    ("allow,permit,legalize,legalise,lift,unblock,enable", "ban,prohibit,forbid,outlaw,impose,bar,block,restrict"),
    ("open,reopen", "close,shut,closure"),
    ("start,begin,launch,resume,open,initiate,restart", "end,stop,halt,suspend,cease,finish,conclude,pause,close"),
    ("hire,recruit,employ", "fire,dismiss,sack,lay off"),
    ("strengthen,bolster,improve,boost,tighten", "weaken,undermine,worsen,erode,ease,loosen,relax"),
    ("agree,accept,consent", "disagree,refuse,decline,reject"),
    ("acquit,exonerate", "convict"),
    ("guilty,culpable", "innocent,not guilty"),
    ("succeed,success,successful,successfully,pass", "fail,failure,unsuccessful,unsuccessfully"),
    ("ally,allied,friend,partner", "enemy,foe,adversary,rival,opponent"),
    ("include,add", "exclude,remove,omit"),
    ("best,better", "worst,worse"),
    ("first,earliest,initial,opening", "last,latest,final,closing"),
    ("upcoming,forthcoming,future", "past,previous,former,prior"),
    ("strong,stronger,strongest", "weak,weaker,weakest"),
    ("positive", "negative"),
    ("legal,lawful,legitimate", "illegal,unlawful,illegitimate"),
    ("likely,probable", "unlikely,improbable"),
    ("possible", "impossible"),
    ("safe,secure", "unsafe,dangerous,insecure"),
    ("alive,survive", "dead,die,kill"),
    ("join,enter", "leave,quit,exit"),
    ("arrive", "depart,leave"),
    ("release,freed", "detain,arrest,jail,imprison"),
    ("escalate,intensify,heighten,inflame", "de-escalate,ease,calm,defuse,reduce"),
    ("accelerate,speed up,quicken,hasten", "slow,decelerate,delay,slow down"),
    ("optimistic,bullish,upbeat", "pessimistic,bearish,gloomy"),
    ("surplus,profit,gain", "deficit,loss"),
    ("import", "export"),
    ("buy,purchase,acquire", "sell"),
    ("ahead", "behind"),
    ("rich,wealthy", "poor"),
    ("high", "low"),
    ("true,correct,accurate", "false,incorrect,inaccurate,untrue"),
    ("expand,extend,broaden", "narrow,shrink,curtail,limit"),
    ("raise,hike", "lower,cut,reduce,slash"),
    ("trust", "distrust,mistrust"),
    ("love", "hate"),
    ("attack,invade", "defend,protect"),
    ("peaceful,calm", "violent"),
]  # fmt: skip
ANTONYMS: list[tuple[frozenset[str], frozenset[str]]] = [(_side(a), _side(b)) for a, b in _PAIRS]
RISE, FALL = ANTONYMS[2]  #: which way a figure moved

#: Words that change the kind of a number's claim: "more than 10,000" is not "fewer than 10,000".
COMPARATORS = {
    "more than": ">", "over": ">", "above": ">", "at least": ">", "in excess of": ">", "upwards of": ">",
    "exceeding": ">", "greater than": ">", "higher than": ">", "nearly": "<", "almost": "<", "fewer than": "<",
    "less than": "<", "under": "<", "below": "<", "at most": "<", "up to": "<", "lower than": "<",
    "just under": "<", "just over": ">", "no more than": "<", "no fewer than": ">",
}  # fmt: skip

#: Measurement units after (or currency signs before) a number, to a canonical name.
UNITS = {
    "%": "percent", "percent": "percent", "per cent": "percent", "pct": "percent",
    "percentage point": "points", "percentage points": "points", "point": "points", "points": "points",
    "$": "usd", "us$": "usd", "dollar": "usd", "dollars": "usd", "€": "eur", "euro": "eur", "euros": "eur",
    "£": "gbp", "pound sterling": "gbp", "¥": "jpy", "yen": "jpy", "yuan": "cny", "rupees": "inr",
    "mile": "mile", "miles": "mile", "kilometer": "km", "kilometers": "km", "kilometre": "km", "kilometres": "km",
    "km": "km", "meter": "m", "meters": "m", "metre": "m", "metres": "m", "foot": "ft", "feet": "ft",
    "inch": "in", "inches": "in", "kilogram": "kg", "kilograms": "kg", "kg": "kg", "pound": "lb", "pounds": "lb",
    "ton": "ton", "tons": "ton", "tonne": "ton", "tonnes": "ton", "acre": "acre", "acres": "acre",
    "hectare": "ha", "hectares": "ha", "degree": "deg", "degrees": "deg", "mph": "mph",
    "second": "s", "seconds": "s", "minute": "min", "minutes": "min", "hour": "h", "hours": "h",
    "day": "day", "days": "day", "week": "week", "weeks": "week", "month": "month", "months": "month",
    "year": "year", "years": "year", "decade": "decade", "decades": "decade",
    "gallon": "gal", "gallons": "gal", "liter": "l", "liters": "l", "litre": "l", "litres": "l", "barrels": "bbl",
}  # fmt: skip
#: Counting nouns reporters use interchangeably for the thing a number counts.
COUNT_SYNONYMS = [
    frozenset("troop soldier force fighter personnel servicemember serviceman".split()),
    frozenset("people person individual resident citizen".split()),
    frozenset("vehicle car".split()),
    frozenset("child kid youngster".split()),
    frozenset("death fatality".split()),
    frozenset("worker employee staff".split()),
    frozenset("home house dwelling".split()),
]

MONTHS = {
    m: i
    for i, names in enumerate(
        ["january jan", "february feb", "march mar", "april apr", "may", "june jun", "july jul",
         "august aug", "september sep sept", "october oct", "november nov", "december dec"], start=1)
    for m in names.split()
}  # fmt: skip
WEEKDAYS = {
    d: i
    for i, names in enumerate(
        ["monday mon", "tuesday tue tues", "wednesday wed", "thursday thu thur thurs", "friday fri",
         "saturday sat", "sunday sun"])
    for d in names.split()
}  # fmt: skip

_UNIT = (
    r"(?:week|weekend|month|year|quarter|decade|season|spring|summer|fall|autumn|winter"
    r"|morning|afternoon|evening|night|day)"
)
#: Relative time expressions, each mapped to (which way from the article's date, the unit of time).
TIME_FRAMES: list[tuple[re.Pattern[str], str]] = [
    (re.compile(rf"\b(?:later|later on) (?:this|in the) {_UNIT}\b", re.I), "future"),
    (re.compile(rf"\bearlier (?:this|in the) {_UNIT}\b", re.I), "past"),
    (re.compile(rf"\b(?:last|past|previous|prior) {_UNIT}s?\b", re.I), "past"),
    (re.compile(rf"\b(?:next|coming|upcoming|following) {_UNIT}s?\b", re.I), "future"),
    (re.compile(rf"\bthis {_UNIT}\b", re.I), "present"),
    (re.compile(r"\b(?:yesterday|ago|recently|previously|formerly|last night)\b", re.I), "past"),
    (re.compile(r"\b(?:tomorrow|soon|upcoming|shortly|in the coming)\b", re.I), "future"),
    (re.compile(r"\b(?:today|tonight|currently|now|this morning)\b", re.I), "present"),
]

#: Common words that start sentences capitalised; such a word is not taken for a name.
COMMON_STARTERS = frozenset(
    """a about according across after again against all along also although among an and another any around
    as at because before both but by despite during each either even every few following for from further
    given here however if in instead it its last later many meanwhile more most much my nearly neither new
    next no nor not now of on once one only or other our over overall since so some still such than that
    the their then there these they this those though through thus to today together two under unlike
    until up what when where whether which while who why with within without yet officials reports
    experts analysts authorities sources critics residents police troops soldiers forces leaders
    researchers scientists witnesses observers lawmakers investigators prosecutors""".split()
)

#: Prefixes that turn a word into its opposite ("stabilize" / "destabilize", "likely" / "unlikely").
NEGATING_PREFIXES = ("un", "in", "im", "il", "ir", "dis", "de-", "de", "non-", "non", "anti-", "mis")
