"""A tiny synthetic quiz dataset in the RealTime QA shape (articles.jsonl + questions.jsonl), for the training
commands' tests: each week a winner's article (the answer in its second sentence) and a weather article."""

from __future__ import annotations

import json
import random
from pathlib import Path

_PEOPLE = ["Maria Lopez", "Ahmed Khan", "Julia Novak", "Peter Osei", "Lena Berg", "Tom Reyes", "Ana Silva", "Ken Ito"]
_EVENTS = ["chess open", "marathon", "spelling bee", "film festival", "robotics cup", "baking contest"]
_CITIES = ["Denver", "Austin", "Boston", "Tampa", "Fresno", "Omaha", "Dayton", "Salem"]


def quiz_dataset(root: Path, n: int = 16) -> Path:
    rng = random.Random(7)
    articles, questions = [], []
    for i in range(n):
        person, event, city = rng.choice(_PEOPLE), rng.choice(_EVENTS), rng.choice(_CITIES)
        day = f"2024/0{1 + i % 8}/1{i % 9}"
        answer_id, other_id = f"rtqa-{i:04d}a", f"rtqa-{i:04d}b"
        prize = 1000 * (i + 2)
        articles.append(
            {
                "id": answer_id,
                "url": f"https://news.example.com/{i}/winner",
                "title": f"{city} {event} crowns a winner",
                "published": day,
                "authors": [],
                "text": f"The {city} {event} ended on Sunday after three days. {person} won the {city} {event} and "
                f"took home ${prize:,}. Organisers said {rng.randint(200, 900)} people entered this year.\n\n"
                f"The next {event} will be held in the spring.",
            }
        )
        articles.append(
            {
                "id": other_id,
                "url": f"https://news.example.com/{i}/weather",
                "title": f"Storms expected in {city}",
                "published": day,
                "authors": [],
                "text": f"Forecasters expect heavy storms in {city} this week. Residents of {city} were told to "
                f"prepare for flooding near the river.",
            }
        )
        questions.append(
            {
                "id": f"q{i}",
                "date": day,
                "source": "test",
                "question": f"Who won the {city} {event}?",
                "answer": person,
                "choices": [],
                "evidence_ids": [answer_id],
                "retrieved_ids": [answer_id, other_id],
            }
        )
    out = root / "tiny"
    out.mkdir(parents=True)
    (out / "articles.jsonl").write_text("\n".join(json.dumps(a) for a in articles) + "\n", encoding="utf-8")
    (out / "questions.jsonl").write_text("\n".join(json.dumps(q) for q in questions) + "\n", encoding="utf-8")
    return out
