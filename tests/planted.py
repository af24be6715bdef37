"""A generated corpus with one planted fact per page, and questions that paraphrase each fact.

Files are PDFs (reportlab, two pages each, text wrapped into lines and paragraphs), Markdown
and plain text, filled with sentences on the same topics (inspections, doors, buildings) so a
question's common words match everywhere and only the fact's own details single it out.
Deterministic for a seed. Used by the retrieval tests and by bench/extraction.py.
"""

from __future__ import annotations

import io
import random
from dataclasses import dataclass
from pathlib import Path

from reportlab.lib.pagesizes import A4
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.pdfgen import canvas

ITEMS = [
    "fire door",
    "boiler",
    "sprinkler valve",
    "smoke detector",
    "emergency exit",
    "roof hatch",
    "water heater",
    "elevator brake",
    "gas meter",
    "fuse board",
    "ventilation fan",
    "stair rail",
]
FLOORS = ["basement", "ground floor", "first floor", "second floor", "attic", "loading bay"]
NAMES = [
    "Okafor",
    "Lindqvist",
    "Moreau",
    "Tanaka",
    "Ferreira",
    "Kowalski",
    "Haddad",
    "Brennan",
    "Nakamura",
    "Petrov",
    "Oyelaran",
    "Castellanos",
    "Fitzgerald",
    "Abernathy",
    "Quispe",
]
FILLER = [
    "Inspections follow the building code and the maintenance plan of the site.",
    "Every door on the escape route was checked for damage and for signage.",
    "The contractor will send the updated drawings before the next site visit.",
    "Readings were logged in the facility register and reviewed by the manager.",
    "Access to the plant rooms is limited to trained maintenance staff.",
    "No further action is required for the items listed in the previous report.",
    "The building was occupied during the inspection and no alarms were raised.",
    "Photographs of each item are kept with the inspection records of the site.",
    "Spare parts for the ventilation system were ordered from the usual supplier.",
    "The safety officer confirmed that the fire drill took place as planned.",
]


@dataclass(frozen=True)
class Fact:
    key: str  # the document's external key
    page: int | None  # the PDF page, None for text files
    sentence: str
    question: str


def _fact(rng: random.Random, serial: int) -> tuple[str, str]:
    item, floor, name = rng.choice(ITEMS), rng.choice(FLOORS), rng.choice(NAMES)
    code = f"{rng.choice('BCDHKMRSTW')}{serial:04d}"
    score = rng.randint(11, 99)
    day = rng.randint(2, 28)
    sentence = (
        f"The {item} on the {floor} of block {code} was tested by inspector {name} "
        f"on day {day} and scored {score} points."
    )
    question = rng.choice(
        [
            f"Which inspector tested the {item} in block {code}?",
            f"What score did the {floor} {item} of block {code} get?",
            f"When was the {item} of block {code} checked by {name}?",
            f"How many points for the {item} test in block {code}?",
        ]
    )
    return sentence, question


def _paragraphs(rng: random.Random, fact: str) -> list[str]:
    before = " ".join(rng.sample(FILLER, 4))
    after = " ".join(rng.sample(FILLER, 4))
    return [before, f"{rng.choice(FILLER)} {fact} {rng.choice(FILLER)}", after]


def _pdf(pages: list[list[str]]) -> bytes:
    out = io.BytesIO()
    c = canvas.Canvas(out, pagesize=A4)
    for paragraphs in pages:
        text = c.beginText(60, 790)
        text.setFont("Helvetica", 10.5)
        text.setLeading(14)
        for paragraph in paragraphs:
            line = ""
            for word in paragraph.split():
                if stringWidth(f"{line} {word}", "Helvetica", 10.5) > 470:
                    text.textLine(line)
                    line = word
                else:
                    line = f"{line} {word}".strip()
            text.textLine(line)
            text.textLine("")
        c.drawText(text)
        c.showPage()
    c.save()
    return out.getvalue()


def write(folder: Path, files: int, seed: int = 1, start: int = 0) -> list[Fact]:
    """``files`` files into ``folder`` (60% two-page PDFs, 20% Markdown, 20% text)."""
    rng = random.Random(seed)
    folder.mkdir(parents=True, exist_ok=True)
    facts: list[Fact] = []
    serial = start * 10
    for n in range(start, start + files):
        kind = "pdf" if n % 5 < 3 else ("md" if n % 5 == 3 else "txt")
        key = f"{kind}/doc-{n:05d}.{kind}"
        target = folder / key
        target.parent.mkdir(parents=True, exist_ok=True)
        if kind == "pdf":
            pages = []
            for page in (1, 2):
                serial += 1
                sentence, question = _fact(rng, serial)
                facts.append(Fact(key, page, sentence, question))
                pages.append(_paragraphs(rng, sentence))
            target.write_bytes(_pdf(pages))
        else:
            serial += 1
            sentence, question = _fact(rng, serial)
            facts.append(Fact(key, None, sentence, question))
            body = "\n\n".join(_paragraphs(rng, sentence))
            title = f"# Site report {n}\n\n" if kind == "md" else ""
            target.write_text(title + body + "\n")
    return facts


def edit_distance(a: str, b: str) -> int:
    """Levenshtein distance (what a character error rate counts)."""
    row = list(range(len(b) + 1))
    for i, ca in enumerate(a, start=1):
        prev, row[0] = row[0], i
        for j, cb in enumerate(b, start=1):
            prev, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, prev + (ca != cb))
    return row[-1]
