"""Question analysis: what kind of answer a question wants, and whether a sentence has that kind of thing."""

from __future__ import annotations

import itertools
import re
from enum import StrEnum

from rag.text import terms


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
            r"\b(who|whom|whose|(which|what) (\w+ )?(person|official|leader|president|justice|actor|"
            r"actress|singer|player|candidate|senator|ceo|executive|minister|author|"
            r"artist|athlete|coach|judge|celebrity|rapper|musician))\b"
        ),
    ),
    (
        Kind.PLACE,
        re.compile(
            r"\b(where|(which|what) (\w+ )?(city|country|state|nation|region|town|county|island|continent|"
            r"province|capital|port|location|place|area|territory|site))\b"
        ),
    ),
    (Kind.ENTITY, re.compile(r"\b(which|what)\b")),
]

# Which kind of place: a US state or a country can also be recognised by its name.
_PLACE_TYPE = re.compile(r"\b(?:which|what) (?:\w+ )?(state|country|nation)\b")
_US_STATES = (
    "Alabama|Alaska|Arizona|Arkansas|California|Colorado|Connecticut|Delaware|Florida|Georgia|Hawaii|Idaho|"
    "Illinois|Indiana|Iowa|Kansas|Kentucky|Louisiana|Maine|Maryland|Massachusetts|Michigan|Minnesota|"
    "Mississippi|Missouri|Montana|Nebraska|Nevada|New Hampshire|New Jersey|New Mexico|New York|North Carolina|"
    "North Dakota|Ohio|Oklahoma|Oregon|Pennsylvania|Rhode Island|South Carolina|South Dakota|Tennessee|Texas|"
    "Utah|Vermont|Virginia|Washington|West Virginia|Wisconsin|Wyoming"
)
_COUNTRIES = (
    "Afghanistan|Albania|Algeria|Andorra|Angola|Argentina|Armenia|Australia|Austria|Azerbaijan|Bahamas|Bahrain|"
    "Bangladesh|Barbados|Belarus|Belgium|Belize|Benin|Bhutan|Bolivia|Bosnia|Botswana|Brazil|Britain|Brunei|"
    "Bulgaria|Burkina Faso|Burundi|Cambodia|Cameroon|Canada|Chad|Chile|China|Colombia|Comoros|Congo|Costa Rica|"
    "Croatia|Cuba|Cyprus|Czech Republic|Czechia|Denmark|Djibouti|Dominica|Dominican Republic|Ecuador|Egypt|"
    "El Salvador|England|Eritrea|Estonia|Eswatini|Ethiopia|Fiji|Finland|France|Gabon|Gambia|Georgia|Germany|"
    "Ghana|Greece|Grenada|Guatemala|Guinea|Guyana|Haiti|Honduras|Hungary|Iceland|India|Indonesia|Iran|Iraq|"
    "Ireland|Israel|Italy|Ivory Coast|Jamaica|Japan|Jordan|Kazakhstan|Kenya|Kiribati|Kosovo|Kuwait|Kyrgyzstan|"
    "Laos|Latvia|Lebanon|Lesotho|Liberia|Libya|Liechtenstein|Lithuania|Luxembourg|Madagascar|Malawi|Malaysia|"
    "Maldives|Mali|Malta|Mauritania|Mauritius|Mexico|Micronesia|Moldova|Monaco|Mongolia|Montenegro|Morocco|"
    "Mozambique|Myanmar|Namibia|Nauru|Nepal|Netherlands|New Zealand|Nicaragua|Niger|Nigeria|North Korea|"
    "North Macedonia|Norway|Oman|Pakistan|Palau|Palestine|Panama|Papua New Guinea|Paraguay|Peru|Philippines|"
    "Poland|Portugal|Qatar|Romania|Russia|Rwanda|Samoa|San Marino|Saudi Arabia|Scotland|Senegal|Serbia|"
    "Seychelles|Sierra Leone|Singapore|Slovakia|Slovenia|Somalia|South Africa|South Korea|South Sudan|Spain|"
    "Sri Lanka|Sudan|Suriname|Sweden|Switzerland|Syria|Taiwan|Tajikistan|Tanzania|Thailand|Togo|Tonga|"
    "Trinidad|Tunisia|Turkey|Turkmenistan|Tuvalu|Uganda|Ukraine|United Arab Emirates|United Kingdom|"
    "United States|Uruguay|Uzbekistan|Vanuatu|Venezuela|Vietnam|Wales|Yemen|Zambia|Zimbabwe"
)
_COUNTRY_NAMES = re.compile(rf"\b(?:{_COUNTRIES})\b")
_PLACE_NAMES = {"state": re.compile(rf"\b(?:{_US_STATES})\b"), "country": _COUNTRY_NAMES, "nation": _COUNTRY_NAMES}

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
_CAPITALISED = re.compile(r"(?<![.!?]\s)(?<!^)\b[A-Z][a-zA-Z’'\-]+(?:\s+(?:[A-Z][a-zA-Z’'\-]+|of|de|la|van|von))*")

# A name after a locative preposition ("in Los Angeles", "from New York City"), or a dateline.
_PLACED = re.compile(r"\b(?:in|at|from|near|outside|to)\s+(?:the\s+)?([A-Z][a-zA-Z’'\-]+(?:\s+[A-Z][a-zA-Z’'\-]+)*)")
_DATELINE = re.compile(
    r"^([A-Z][a-zA-Z’'\-]+(?:\s+[A-Z][a-zA-Z’'\-]+)*)(?:,\s*[A-Z][a-zA-Z.]+(?:\s+[A-Z][a-zA-Z.]+)*)?\s+[–—-]\s"
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
    if kind is Kind.PLACE and _PLACE_TYPE.search(question.lower()):
        return names_a_place(sentence, question)
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


def names_a_place(sentence: str, question: str) -> bool:
    """Whether the sentence names a place the question does not contain: a name after a preposition ("… in Los
    Angeles"), in a dateline ("VANCOUVER, British Columbia – …") or, when the question asks which state or
    country, a US state or country by name."""
    q_terms = set(terms(question))
    m = _PLACE_TYPE.search(question.lower())
    names = [n.group(1) for n in itertools.chain(_PLACED.finditer(sentence), _DATELINE.finditer(sentence))]
    if m:
        names += [n.group() for n in _PLACE_NAMES[m.group(1)].finditer(sentence)]
    return any(set(terms(name)) - q_terms for name in names)
