"""What a brief may quote and how it titles things: sentence quality (fragments, headings, captions, bylines,
page furniture, quotations and their speakers, background), headlines from article titles, window titles."""

from __future__ import annotations

import datetime as dt

import pytest

from rag.brief import headline, sentence_quality
from rag.brief.briefrender import window_title
from rag.types import Article, Briefing


@pytest.mark.parametrize(
    ("sentence", "why"),
    [
        (': This new drink "combines the Cran-Merry flavours with a festive twist," the chain said.', "fragment"),
        ("and then the council voted to approve the budget for next year.", "fragment"),
        ("Council passes budget", "heading"),
        ("Taylor Wilson:", "heading"),
        ("HIGH GAS PRICES: Gas prices top $4 a gallon nationwide for the first time.", "furniture"),
        ("Sign up for our newsletter to get the morning briefing in your inbox.", "furniture"),
        ("You can find out more about our legitimate interest activity in our Privacy Policy.", "furniture"),
        ("More:Can Louisiana eliminate income tax facing a budget shortfall next year?", "question"),
        ("(Photo by KIM Won Jin / AFP) (Photo by KIM WON JIN/AFP via Getty Images)", "caption"),
        ("Sean O'Brien speaks during a union meeting in this November 2021 file photo.", "caption"),
        ("By Jane Smith and Tom Jones, USA TODAY, with reporting from the wire.", "byline"),
        ("What time will the total solar eclipse happen in Dallas?", "question"),
        ("Starts Here (And Continues Somewhere Else Entirely, Like This.", "fragment"),
        ("“We will rebuild every home in this town, and we will do it together, the mayor told us.", "fragment"),
        ("Hit play to listen to the full interview with the senator from Ohio.", "furniture"),
        ("This transcript was automatically generated and may contain errors in places.", "furniture"),
        ("Listen to this episode of The Daily podcast on Apple or Spotify today.", "furniture"),
        ("For the latest, view our live coverage of the storm as it moves north.", "furniture"),
        ("Sign-up to receive the morning newsletter every day from our team.", "furniture"),
    ],
)
def test_sentences_that_cannot_stand_alone(sentence: str, why: str) -> None:
    assert sentence_quality.problem(sentence) == why
    assert not sentence_quality.quotable(sentence)


@pytest.mark.parametrize(
    "sentence",
    [
        "Dockworkers at 36 ports walked off the job on Tuesday after contract talks collapsed.",
        "By Tuesday morning, the video had more than 1.7 million likes on the platform.",
        '"It went well," Mayor Karen Bass said after the meeting on Friday.',
        "“It is a severe, often fatal illness,” the broadcaster added in its report.",
        'Officials said the storm "could be the strongest in a century" for the coast.',
        "Bingeing “Yellowstone,” “The Bear” or “They Cloned Tyrone” is about to get more expensive.",
        "The Super Bowl will be played at Hard Rock Stadium in Miami Gardens, Florida, on Feb. 2.",
        'Forecasters named the system "potential tropical cyclone nine" on Monday afternoon.',  # a term, not speech
    ],
)
def test_quotable_sentences(sentence: str) -> None:
    assert sentence_quality.problem(sentence) == ""
    assert sentence_quality.quotable(sentence)


@pytest.mark.parametrize(
    "sentence",
    [
        "“Congratulations, and I’m looking forward to working with you on the transition.”",
        '"Now that he is president, we are hopeful that he still comes to town," he said.',
        "The sport has been “relying on wealthy benefactors for some time”.",
        "If we keep doing that, we are going to do some special things in this league.”",
    ],
)
def test_a_quotation_needs_a_speaker_a_reader_can_place(sentence: str) -> None:
    assert not sentence_quality.quote_attributed(sentence)
    assert not sentence_quality.quotable(sentence)


def test_background_and_context_dependence() -> None:
    assert sentence_quality.background("In 2023, the company changed its logo to a dog.", 2024)
    assert sentence_quality.background("The festival was founded by local farmers.", 2024)
    assert not sentence_quality.background("The company changed its logo to a dog on Tuesday, citing 2023 sales.", 2024)
    assert not sentence_quality.background("Musk said the logo would change again.", 2024)
    assert sentence_quality.leans_on_context("But the council did not say when the vote would be held.")
    assert sentence_quality.leans_on_context("He was charged with attempted murder on Monday.")
    assert not sentence_quality.leans_on_context("Helene made landfall in Florida on Thursday night.")


@pytest.mark.parametrize(
    ("sentence", "rest"),
    [
        ("WASHINGTON (AP) — The Senate passed the bill late on Tuesday night.", "The Senate"),
        ("Kyiv, Ukraine (CNN) — Russian drones struck the capital overnight, officials said.", "Russian drones"),
        ("(CNN) — Bitcoin is off to a dismal start in the new year, tumbling again.", "Bitcoin"),
        ("NASHVILLE, Tenn. – Loretta Lynn, the country music star, has died at 90.", "Loretta Lynn"),
        ("Dockworkers walked off the job on Tuesday at 36 ports.", "Dockworkers"),
    ],
)
def test_datelines_are_cut_off(sentence: str, rest: str) -> None:
    assert sentence[sentence_quality.dateline_end(sentence) :].startswith(rest)


@pytest.mark.parametrize(
    ("title", "cleaned"),
    [
        (
            "Jamie Lee Curtis, Don Lemon ditch Twitter as Trump appoints Elon ...",
            "Jamie Lee Curtis, Don Lemon ditch Twitter",
        ),
        (
            "Biden to send 3,000 US troops to Europe as tensions with Russia ...",
            "Biden to send 3,000 US troops to Europe",
        ),
        (
            "MD, WV and NE hold tough primaries on Tuesday. Here's what to ...",
            "MD, WV and NE hold tough primaries on Tuesday.",
        ),
        (
            "UK interest rate: The Bank of England just made its biggest hike in ...",
            "UK interest rate: The Bank of England just made its biggest hike",
        ),
        (
            "Suspect identified in Trump assassination attempt | The Excerpt",
            "Suspect identified in Trump assassination attempt",
        ),
        ("Tony Dow, 'Leave It to Beaver' star, has died - CNN", "Tony Dow, 'Leave It to Beaver' star, has died"),
        (
            "Emmy nominations 2022: The full list by category - CNN ...",
            "Emmy nominations 2022: The full list by category",
        ),
        (
            "Hurricane Ian live updates: Death toll rises; 1,000 rescued in Florida",
            "Hurricane Ian: Death toll rises; 1,000 rescued in Florida",
        ),
        (
            "Iranian President Raisi killed in helicopter crash: Live updates",
            "Iranian President Raisi killed in helicopter crash",
        ),
        ("Hatching of rare bird good news: Our View", "Hatching of rare bird good news"),
        ("Judge blocks Biden's student loan plan in Missouri's ...", "Judge blocks Biden's student loan plan"),
        ("Which contestant was voted off?", "Which contestant was voted off?"),
        (
            "Three Mile Island nuclear plant to reopen, sell power to Microsoft",
            "Three Mile Island nuclear plant to reopen, sell power to Microsoft",
        ),
    ],
)
def test_titles_lose_site_names_live_labels_and_truncation(title: str, cleaned: str) -> None:
    assert headline.clean_title(title) == cleaned
    assert headline.complete(cleaned)


def test_incomplete_headlines_are_recognised() -> None:
    for h in (
        "Pfizer launches Lyme disease vaccine trial with ...",
        "Storm live updates: rain",
        "Biden meets the",
        "A | B",
    ):
        assert not headline.complete(h), h


def _article(i: int, title: str, text: str, day: int = 20) -> Article:
    return Article(id=f"a{i}", title=title, text=text, outlet=f"outlet{i}", published=dt.date(2024, 9, day))


def test_the_headline_is_the_most_informative_complete_title() -> None:
    body = "Hurricane Helene made landfall in Florida's Big Bend region late on Thursday as a Category 4 storm."
    story = [
        _article(1, "Hurricane Helene makes landfall in Florida's Big Bend as a Category 4 ...", body),
        _article(2, "What to know about the storm", body),
        _article(3, "Helene slams into Florida's Big Bend as Category 4 hurricane | The Week", body),
    ]
    assert headline.choose(story) == "Helene slams into Florida's Big Bend as Category 4 hurricane"
    # Only a cut title: it is trimmed back to what it finished.
    assert headline.choose(story[:1]) == "Hurricane Helene makes landfall in Florida's Big Bend"


def test_service_pieces_do_not_make_the_headline() -> None:
    body = "Kamala Harris and Donald Trump met in Philadelphia on Tuesday night for their first and only debate."
    story = [
        _article(1, "How to watch the Harris Trump debate in Philadelphia on Tuesday night", body),
        _article(2, "Harris and Trump clash in Philadelphia debate", body),
    ]
    assert headline.choose(story) == "Harris and Trump clash in Philadelphia debate"


def _brief(since: str, until: str) -> Briefing:
    return Briefing(date=until, since=since, until=until, engine="extractive", stories=[], citations=[], n_articles=0)


def test_window_titles_say_the_dates_and_the_length() -> None:
    assert window_title(_brief("2024-09-24", "2024-09-24")) == "Briefing — 24 Sep 2024"
    assert window_title(_brief("2024-09-16", "2024-09-24")) == "Briefing — 16–24 Sep 2024 (9 days)"
    assert window_title(_brief("2024-09-28", "2024-10-03")) == "Briefing — 28 Sep – 3 Oct 2024 (6 days)"
    assert window_title(_brief("2024-12-28", "2025-01-03")) == "Briefing — 28 Dec 2024 – 3 Jan 2025 (7 days)"
