"""The local engine (``--engine local``): the reader's quote at once, then a local llama.cpp model's short answer
from the reader's shortlist, checked claim by claim like every model's.

1. The reader reads the retrieved chunks (the same reading as the extractive engine) and its answerability
   gate decides, with this engine's own threshold, whether the model is asked at all.
2. The reader's quote (its best sentence, answer phrase marked) is shown first, as the extractive engine
   would answer: it costs a fraction of a second, the model several.
3. The model reads the reader's best sentences (a sentence that leans on the one before it, "He said…",
   comes with it), grouped by article with title and date and numbered, and answers in one short sentence
   that leads with the answer and cites the numbers it used. Sentences that address an assistant (planted
   instructions) are never shown to it.
4. Each claim is checked against the numbered sentence it cites (``rag.cite.cite.ClaimChecker``), for what it
   adds to the question (the question's own words are what was asked: ``ClaimChecker.premise``); a claim
   without a marker, or citing a sentence that does not say it, is cited to the shortlisted sentence that
   does. The citations are verbatim spans of the articles, as everywhere.
5. When something holds, the answer is the model's (``answered_by="model"``, the quote kept in ``quote``);
   when nothing does, the reader's quote stands and the model's text is kept aside as unverified; when the
   model finds no answer in the sentences, the answer is a refusal (the quote kept in ``quote``, the closest
   passages shown as every refusal shows them).
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import replace

from rag.answer.extractive import ExtractiveGenerator, refusal
from rag.answer.llm import UNVERIFIED, Answering, SentenceStream
from rag.brief.sentence_quality import leans_on_context
from rag.cite.cite import CitationBook, as_of, check_answer, markers, strip_markers, tidy
from rag.cite.planted import planted
from rag.prompts import Prompt
from rag.provider import ChatModel, Usage
from rag.read.candidates import Candidate
from rag.read.reader import Reading
from rag.settings import Settings
from rag.text import OnText
from rag.types import CANNOT_ANSWER, Answer, Chunk, FollowUp, Hit

#: The answerability threshold below which the local engine refuses without asking the model. Chosen on 40
#: training-week questions (realtimeqa-train-2023, spread over its weeks), each asked as it is and with its
#: answer's articles hidden, the gate open: the highest threshold whose false refusals stay at 0.10 (they are
#: 0.10 with the gate open: the model itself says "no answer" for some), where it refuses 0.525 of the hidden
#: ones; the reader's own 0.132 gives 0.125 and 0.575. The model reads what the reader's features miss.
LOCAL_THRESHOLD: float | None = 0.04
#: At most this many sentences of the model's reply are read: it is asked for one.
MAX_SENTENCES = 2
#: What the terminal and the page put before the model's part of an answer.
MODEL_LABEL = "Model"
_LABEL = re.compile(r"^\s*(?:ANSWER|Answer)\s*:\s*")
#: A small model's way of saying the sentences do not answer, in other words than the ones it was given.
_NO_ANSWER = re.compile(
    r"^\W*(?:I\s+(?:can['’]?t|cannot|could\s+not|am\s+unable\s+to)\s+answer|(?:the\s+)?(?:sentences|articles|"
    r"sources)\s+do\s+not\s+(?:say|answer|mention|contain|state)|there\s+is\s+no\s+(?:information|answer|mention))",
    re.IGNORECASE,
)
_FORBIDDEN = re.compile(r"[\u2028\u2029\r\n]+")


def sentence_chunk(cand: Candidate, lo: int | None = None) -> Chunk:
    """A candidate sentence (from ``lo``, an earlier offset of its chunk, when it carries the sentence it
    leans on) as a chunk of its own: its text and offsets a verbatim span of the article."""
    c = cand.chunk
    start = cand.lo if lo is None else lo
    return replace(c, id=f"{c.id}@{start}", text=c.text[start : cand.hi], start=c.start + start, end=c.start + cand.hi)


def shortlist(reading: Reading, n: int) -> list[Chunk]:
    """The reader's ``n`` best sentences, planted instructions left out, each with the sentence before it in
    its chunk when it leans on that one; grouped by article in order of their best sentence."""
    picked: list[Chunk] = []
    spans: list[tuple[str, int, int]] = []
    for s in reading.ranked:
        if len(picked) >= n:
            break
        cand = s.cand
        if planted(cand.text):
            continue
        lo = cand.lo
        if leans_on_context(cand.text):
            before = [c for c in reading.all_candidates if c.chunk.id == cand.chunk.id and c.hi <= cand.lo]
            if before:
                prev = max(before, key=lambda c: c.hi)
                if not planted(prev.text):
                    lo = prev.lo
        span = (cand.article_id, cand.chunk.start + lo, cand.chunk.start + cand.hi)
        if any(a == span[0] and s0 <= span[1] and span[2] <= e0 for a, s0, e0 in spans):
            continue  # already shown inside a wider span
        spans.append(span)
        picked.append(sentence_chunk(cand, lo))
    order: dict[str, int] = {}
    for c in picked:
        order.setdefault(c.article_id, len(order))
    return sorted(picked, key=lambda c: (order[c.article_id], c.start))


def format_sentences(sources: Sequence[Chunk]) -> str:
    """The numbered sentences, under a line per article with its title, outlet and date."""
    lines: list[str] = []
    article = None
    for i, c in enumerate(sources, start=1):
        if c.article_id != article:
            article = c.article_id
            dated = c.published.isoformat() if c.published else "date unknown"
            outlet = f"{c.outlet}, " if c.outlet else ""
            lines.append(f'{"" if not lines else chr(10)}Article "{_one_line(c.title)}" ({outlet}{dated}):')
        lines.append(f"[{i}] {_one_line(c.text)}")
    return "\n".join(lines)


def _one_line(text: str) -> str:
    return " ".join(_FORBIDDEN.sub(" ", text).split())


def align_uncited(sentence: str, sources: Sequence[Chunk], question: str = "") -> str:
    """A sentence without a marker, or whose markers cite no sentence that says it, cited to the shortlisted
    sentence that supports it (the first, in order of word overlap, whose checks pass): a small model often
    writes the right claim with the wrong number. When none does, it is cited to the closest sentence, whose
    check then fails saying what that sentence says instead ("20,000 is not … (it says 10,000)")."""
    claim = strip_markers(sentence)
    if not claim:
        return sentence
    keys = [k for k in markers(sentence) if 1 <= k <= len(sources)]
    if keys and any(check_answer(claim, sources[k - 1].text, question, sources[k - 1].title).supported for k in keys):
        return sentence
    verdicts = sorted(
        ((check_answer(claim, c.text, question, c.title), k) for k, c in enumerate(sources, start=1)),
        key=lambda vk: (not vk[0].supported, -vk[0].coverage),
    )
    if not verdicts:
        return sentence
    # The supporting sentence; else the closest one, so that the failed check says what that sentence says instead.
    k = verdicts[0][1]
    body, end = re.match(r"(.*?)([.!?…]*)$", claim.rstrip(), re.DOTALL).groups()  # type: ignore[union-attr]
    return f"{body} [{k}]{end or '.'}"


class LocalGenerator:
    """The reader's quote first, then a local model's checked short answer from the reader's shortlist."""

    name = "local"

    def __init__(
        self,
        settings: Settings,
        model: ChatModel,
        prompt: Prompt,
        reader: ExtractiveGenerator,
        *,
        threshold: float | None = LOCAL_THRESHOLD,
    ) -> None:
        self.settings = settings
        self.model = model
        self.prompt = prompt
        self.reader = reader  #: the extractive engine: its reading, its quote and its gate
        self.threshold = reader.threshold if threshold is None else threshold
        self.sentences = settings.local_sentences

    def generate(
        self,
        question: str,
        hits: Sequence[Hit],
        on_text: OnText | None = None,
        *,
        follow_up: FollowUp | None = None,
    ) -> Answer:
        t0 = time.perf_counter()
        reading = self.reader.reader.read(question, hits, seen=follow_up.seen if follow_up else ())
        timings = {"read": time.perf_counter() - t0}
        if reading.best is None or reading.answerable < self.threshold:
            answer = refusal(question, reading, hits, on_text, engine=self.name)
            answer.timings = timings
            return answer
        quote: Answer | None = None
        if reading.answerable >= self.reader.threshold:  # the reader would answer: its quote is shown at once
            quote = self.reader.quote(question, reading, hits, on_text)
            quote.engine = self.name
        sources = shortlist(reading, self.sentences)
        if on_text:
            on_text(("\n\n" if quote else "") + f"{MODEL_LABEL} ({self.model.name}, checked): ")
        usage = Usage()
        t1 = time.perf_counter()
        reply = self._timed(self.model.stream(self.prompt, self.inputs(question, sources), usage=usage), timings, t1)
        book = CitationBook()
        for c in quote.citations if quote else ():
            book.add(c)  # the quote's keys stay: a claim citing the quoted sentence shows the same [n]
        run = Answering([Hit(c, 0.0) for c in sources], self.settings.redact, on_text, book=book)
        run.checker.premise = question  # the question's own words are what was asked, not claims to support
        stream = SentenceStream()
        for sentences in _sentences(reply, stream):
            run.take(_reading_of(s, sources, question) for s in sentences)
            if len(run.sentences) >= MAX_SENTENCES or run.refused:
                break
        timings["model"] = time.perf_counter() - t1
        if self.settings.verify == "llm" and run.claims:  # the model also judges each claim, beside the rules
            from rag.cite.verify import LLMVerifier

            t2 = time.perf_counter()
            LLMVerifier(self.settings, self.model).judge(run.claims, run.book.citations)
            timings["verify"] = time.perf_counter() - t2
        answer = self._answer(question, hits, reading, quote, run, on_text)
        answer.timings = {**answer.timings, **timings}
        if usage.reported:
            answer.usage = {"prompt_tokens": usage.prompt_tokens, "completion_tokens": usage.completion_tokens}
        return answer

    def inputs(self, question: str, sources: Sequence[Chunk]) -> dict[str, str]:
        return {"question": question, "sentences": format_sentences(sources), "cannot_answer": CANNOT_ANSWER}

    @staticmethod
    def _timed(reply: Iterator[str], timings: dict[str, float], t1: float) -> Iterator[str]:
        for i, piece in enumerate(reply):
            if i == 0:
                timings["first_token"] = time.perf_counter() - t1
            yield piece

    def _answer(
        self,
        question: str,
        hits: Sequence[Hit],
        reading: Reading,
        quote: Answer | None,
        run: Answering,
        on_text: OnText | None,
    ) -> Answer:
        name = self.model.name
        model_text = strip_markers(" ".join(run.sentences).replace(UNVERIFIED, "")).strip()
        if run.holds and not run.refused:
            return Answer(
                question=question,
                text=" ".join(run.sentences),
                citations=run.book.citations,
                as_of=as_of(run.book.citations),
                engine=self.name,
                unsupported=run.unsupported,
                claims=run.claims,
                answerable=reading.answerable,
                answered_by="model",
                model=name,
                quote=quote,
                hits=list(hits),
            )
        found_none = run.refused or not run.sentences
        why = (
            "the local model found no answer in the reader's sentences"
            if found_none
            else "the local model's answer did not pass the checks"
        )
        if quote is None or found_none:
            # The reader would not answer alone, or the model read its sentences and found no answer: a refusal
            # (on the training weeks the model's "no answer" was right for 11 of 13 such questions).
            answer = refusal(question, reading, hits, None, engine=self.name)
            answer.quote = quote
            if on_text:
                on_text(CANNOT_ANSWER)
        else:
            answer = replace(quote, quote=None)
            if on_text:
                on_text(f"({why}; the quote above stands)")
        stands = quote is not None and not found_none
        answer.notes = [*answer.notes, why + ("; the reader's quote stands" if stands else "")]
        answer.unverified_text = tidy(model_text) if not run.refused else ""
        answer.claims = run.claims
        answer.model = name
        return answer


def _reading_of(sentence: str, sources: Sequence[Chunk], question: str) -> str:
    """A sentence of the model's reply as the checks read it: its "ANSWER:" label gone, a refusal in other
    words made the refusal, an uncited claim cited to the sentence that supports it."""
    sentence = _LABEL.sub("", sentence)
    if _NO_ANSWER.match(sentence):
        return CANNOT_ANSWER
    return align_uncited(sentence, sources, question)


def _sentences(reply: Iterable[str], stream: SentenceStream) -> Iterator[list[str]]:
    for delta in reply:
        done = stream.feed(delta)
        if done:
            yield done
    rest = stream.flush()
    if rest:
        yield rest
