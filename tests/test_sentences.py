from rag.ingest.sentences import split, split_spans


def test_news_abbreviations_initials_and_quotes() -> None:
    text = (
        'Mr. Smith met U.S. President Biden on Tuesday. "It went well," he said. J. R. Jones agreed! '
        "The rate rose 3.5 percent by 10 a.m. Friday. What next?\nA new paragraph starts here."
    )
    assert split(text) == [
        "Mr. Smith met U.S. President Biden on Tuesday.",
        '"It went well," he said.',
        "J. R. Jones agreed!",
        "The rate rose 3.5 percent by 10 a.m. Friday.",
        "What next?",
        "A new paragraph starts here.",
    ]


def test_spans_are_offsets_into_the_text() -> None:
    text = "  First one.  Second one.\n\nThird."
    assert [text[a:b] for a, b in split_spans(text)] == ["First one.", "Second one.", "Third."]
